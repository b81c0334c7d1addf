// Private: a byte trie with a flat open-addressing edge table, for longest-match scanning of
// lexicon terms over normalised UTF-8 text. Immutable (and thread-safe) once filled.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace touchpoint::text::internal {

class Matcher {
 public:
  Matcher();
  // Adds a (normalised, non-empty) pattern with a value; a repeated pattern keeps the last value.
  void Add(std::string_view pattern, uint32_t value);

  struct Match {
    size_t end = 0;
    uint32_t value = 0;
  };
  // Longest pattern starting at text[pos]. Patterns that begin (end) with an ASCII letter or
  // digit match only where the text has no ASCII letter or digit just before (after) them.
  bool LongestAt(std::string_view text, size_t pos, Match* match) const;
  size_t size() const { return patterns_; }

 private:
  uint32_t Child(uint32_t node, unsigned char byte) const;
  uint32_t AddChild(uint32_t node, unsigned char byte);
  void Grow();

  static constexpr uint32_t kNone = 0xFFFFFFFFu;
  std::vector<uint64_t> keys_;    // (node + 1) << 8 | byte; 0 = empty slot
  std::vector<uint32_t> values_;  // child node
  size_t edges_ = 0;
  std::vector<uint32_t> node_value_;  // kNone when no pattern ends here
  size_t patterns_ = 0;
};

inline bool IsWordByte(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

}  // namespace touchpoint::text::internal
