#include "text/matcher_internal.h"

namespace touchpoint::text::internal {

namespace {
inline size_t Slot(uint64_t key, size_t mask) {
  uint64_t h = key * 0x9E3779B97F4A7C15ull;
  return static_cast<size_t>(h >> 20) & mask;
}
}  // namespace

Matcher::Matcher() : keys_(1024, 0), values_(1024, 0), node_value_(1, kNone) {}

uint32_t Matcher::Child(uint32_t node, unsigned char byte) const {
  const uint64_t key = (static_cast<uint64_t>(node) + 1) << 8 | byte;
  const size_t mask = keys_.size() - 1;
  for (size_t s = Slot(key, mask);; s = (s + 1) & mask) {
    if (keys_[s] == key) return values_[s];
    if (keys_[s] == 0) return kNone;
  }
}

void Matcher::Grow() {
  std::vector<uint64_t> old_keys(keys_.size() * 2, 0);
  std::vector<uint32_t> old_values(values_.size() * 2, 0);
  old_keys.swap(keys_);
  old_values.swap(values_);
  const size_t mask = keys_.size() - 1;
  for (size_t i = 0; i < old_keys.size(); ++i) {
    if (old_keys[i] == 0) continue;
    size_t s = Slot(old_keys[i], mask);
    while (keys_[s] != 0) s = (s + 1) & mask;
    keys_[s] = old_keys[i];
    values_[s] = old_values[i];
  }
}

uint32_t Matcher::AddChild(uint32_t node, unsigned char byte) {
  uint32_t c = Child(node, byte);
  if (c != kNone) return c;
  if ((edges_ + 1) * 2 > keys_.size()) Grow();
  const uint64_t key = (static_cast<uint64_t>(node) + 1) << 8 | byte;
  const size_t mask = keys_.size() - 1;
  size_t s = Slot(key, mask);
  while (keys_[s] != 0) s = (s + 1) & mask;
  c = static_cast<uint32_t>(node_value_.size());
  node_value_.push_back(kNone);
  keys_[s] = key;
  values_[s] = c;
  ++edges_;
  return c;
}

void Matcher::Add(std::string_view pattern, uint32_t value) {
  if (pattern.empty()) return;
  uint32_t node = 0;
  for (char ch : pattern) node = AddChild(node, static_cast<unsigned char>(ch));
  if (node_value_[node] == kNone) ++patterns_;
  node_value_[node] = value;
}

bool Matcher::LongestAt(std::string_view text, size_t pos, Match* match) const {
  if (pos >= text.size()) return false;
  if (IsWordByte(text[pos]) && pos > 0 && IsWordByte(text[pos - 1])) return false;
  uint32_t node = 0;
  bool found = false;
  for (size_t i = pos; i < text.size(); ++i) {
    node = Child(node, static_cast<unsigned char>(text[i]));
    if (node == kNone) break;
    const uint32_t v = node_value_[node];
    if (v != kNone) {
      const size_t end = i + 1;
      if (IsWordByte(text[i]) && end < text.size() && IsWordByte(text[end])) continue;
      match->end = end;
      match->value = v;
      found = true;
    }
  }
  return found;
}

}  // namespace touchpoint::text::internal
