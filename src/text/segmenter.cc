#include <touchpoint/text/segmenter.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

#include <unicode/uchar.h>

#include <touchpoint/text/normalize.h>

#include "text/data_internal.h"
#include "text/utf8_internal.h"

namespace touchpoint::text {

namespace {

// A trie over code points with a flat open-addressing edge table.
class CodepointTrie {
 public:
  CodepointTrie() : keys_(1u << 16, 0), values_(1u << 16, 0), logp_(1, kNoWord) {}
  static constexpr float kNoWord = std::numeric_limits<float>::quiet_NaN();

  uint32_t Child(uint32_t node, char32_t cp) const {
    const uint64_t key = (static_cast<uint64_t>(node) + 1) << 21 | cp;
    const size_t mask = keys_.size() - 1;
    for (size_t s = Slot(key, mask);; s = (s + 1) & mask) {
      if (keys_[s] == key) return values_[s];
      if (keys_[s] == 0) return kNone;
    }
  }
  void Add(std::u32string_view word, float logp) {
    uint32_t node = 0;
    for (char32_t cp : word) {
      uint32_t c = Child(node, cp);
      if (c == kNone) {
        if ((edges_ + 1) * 2 > keys_.size()) Grow();
        c = static_cast<uint32_t>(logp_.size());
        logp_.push_back(kNoWord);
        Insert((static_cast<uint64_t>(node) + 1) << 21 | cp, c);
        ++edges_;
      }
      node = c;
    }
    if (std::isnan(logp_[node])) ++words_;
    logp_[node] = logp;
  }
  float LogP(uint32_t node) const { return logp_[node]; }
  size_t words() const { return words_; }
  static constexpr uint32_t kNone = 0xFFFFFFFFu;

 private:
  static size_t Slot(uint64_t key, size_t mask) {
    return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> 24) & mask;
  }
  void Insert(uint64_t key, uint32_t value) {
    const size_t mask = keys_.size() - 1;
    size_t s = Slot(key, mask);
    while (keys_[s] != 0) s = (s + 1) & mask;
    keys_[s] = key;
    values_[s] = value;
  }
  void Grow() {
    std::vector<uint64_t> old_keys(keys_.size() * 2, 0);
    std::vector<uint32_t> old_values(values_.size() * 2, 0);
    old_keys.swap(keys_);
    old_values.swap(values_);
    for (size_t i = 0; i < old_keys.size(); ++i) {
      if (old_keys[i] != 0) Insert(old_keys[i], old_values[i]);
    }
  }
  std::vector<uint64_t> keys_;
  std::vector<uint32_t> values_;
  std::vector<float> logp_;
  size_t edges_ = 0;
  size_t words_ = 0;
};

enum class CharClass { kHan, kWord, kEmoji, kSpace, kPunct, kOther };

CharClass Classify(char32_t cp) {
  if (internal::IsHan(cp)) return CharClass::kHan;
  if (internal::IsAsciiAlnum(cp) || internal::IsLatinExtended(cp)) return CharClass::kWord;
  if (internal::IsEmoji(cp)) return CharClass::kEmoji;
  if (cp < 0x80) {
    if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp < 0x20) return CharClass::kSpace;
    return CharClass::kPunct;
  }
  const auto c = static_cast<UChar32>(cp);
  if (u_isUWhiteSpace(c)) return CharClass::kSpace;
  if (u_ispunct(c) || u_hasBinaryProperty(c, UCHAR_PATTERN_SYNTAX)) return CharClass::kPunct;
  if (u_isalnum(c)) return CharClass::kWord;
  return CharClass::kOther;
}

}  // namespace

struct Segmenter::Impl {
  const Normalizer* normalizer = nullptr;
  CodepointTrie trie;
  float unknown_logp = 0;
  bool keep_punctuation = false;

  void SegmentHan(std::string_view text, const std::vector<size_t>& offsets,
                  const std::u32string& cps, std::vector<std::string>* out) const;
};

Segmenter::Segmenter() : impl_(std::make_unique<Impl>()) {}
Segmenter::~Segmenter() = default;

Result<std::unique_ptr<Segmenter>> Segmenter::Create(const Options& options) {
  TP_ASSIGN_OR_RETURN(const Normalizer* normalizer, Normalizer::Default());
  std::ifstream in(options.dict_path);
  if (!in) {
    return Status::NotFound("segmentation dictionary " + options.dict_path +
                            " not found (install the python3-jieba package)");
  }
  std::unique_ptr<Segmenter> s(new Segmenter());
  s->impl_->normalizer = normalizer;
  s->impl_->keep_punctuation = options.keep_punctuation;
  std::vector<std::pair<std::u32string, double>> words;
  words.reserve(350000);
  double total = 0;
  std::string line, norm;
  // The project's own words (compiled in) follow the system dictionary and win on repeats.
  std::istringstream extra{std::string(internal::kUserDictTxt)};
  bool in_extra = false;
  while (true) {
    if (!in_extra && !std::getline(in, line)) in_extra = true;
    if (in_extra && !std::getline(extra, line)) break;
    if (line.empty() || line[0] == '#') continue;
    const size_t sp = line.find(' ');
    if (sp == 0 || sp == std::string::npos) continue;
    const size_t sp2 = line.find(' ', sp + 1);
    const std::string freq_s = line.substr(sp + 1, sp2 == std::string::npos ? std::string::npos
                                                                            : sp2 - sp - 1);
    char* end = nullptr;
    const double freq = std::strtod(freq_s.c_str(), &end);
    if (end == freq_s.c_str() || freq <= 0) continue;
    normalizer->Normalize(std::string_view(line).substr(0, sp), &norm);
    std::u32string w;
    for (size_t i = 0; i < norm.size();) {
      char32_t cp;
      bool ok;
      i += internal::DecodeUtf8(norm, i, &cp, &ok);
      w.push_back(cp);
    }
    if (w.empty() || !internal::IsHan(w[0])) continue;  // only Han words drive the DAG
    total += freq;
    words.emplace_back(std::move(w), freq);
  }
  if (words.empty()) {
    return Status::InvalidArgument("segmentation dictionary " + options.dict_path +
                                   " has no `word freq` lines");
  }
  const double log_total = std::log(total);
  for (const auto& [w, f] : words) {
    s->impl_->trie.Add(w, static_cast<float>(std::log(f) - log_total));
  }
  s->impl_->unknown_logp = static_cast<float>(std::log(1.0) - log_total);
  return s;
}

size_t Segmenter::dictionary_size() const { return impl_->trie.words(); }

void Segmenter::Impl::SegmentHan(std::string_view text, const std::vector<size_t>& offsets,
                                 const std::u32string& cps, std::vector<std::string>* out) const {
  const size_t n = cps.size();
  thread_local std::vector<double> route;
  thread_local std::vector<size_t> next;
  route.assign(n + 1, 0.0);
  next.assign(n + 1, 0);
  for (size_t i = n; i-- > 0;) {
    double best = unknown_logp + route[i + 1];
    size_t best_end = i + 1;
    uint32_t node = 0;
    for (size_t j = i; j < n; ++j) {
      node = trie.Child(node, cps[j]);
      if (node == CodepointTrie::kNone) break;
      const float lp = trie.LogP(node);
      if (std::isnan(lp)) continue;
      const double v = lp + route[j + 1];
      if (v > best || (j + 1 == i + 1 && v >= best)) {
        best = v;
        best_end = j + 1;
      }
    }
    route[i] = best;
    next[i] = best_end;
  }
  for (size_t i = 0; i < n; i = next[i]) {
    out->emplace_back(text.substr(offsets[i], offsets[next[i]] - offsets[i]));
  }
}

void Segmenter::SegmentNormalized(std::string_view text, std::vector<std::string>* tokens) const {
  thread_local std::u32string han;
  thread_local std::vector<size_t> offsets;
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    char32_t cp;
    bool ok;
    size_t len = internal::DecodeUtf8(text, i, &cp, &ok);
    const CharClass cls = Classify(cp);
    const size_t start = i;
    switch (cls) {
      case CharClass::kHan: {
        han.clear();
        offsets.clear();
        while (i < n) {
          len = internal::DecodeUtf8(text, i, &cp, &ok);
          if (!internal::IsHan(cp)) break;
          han.push_back(cp);
          offsets.push_back(i - start);
          i += len;
        }
        offsets.push_back(i - start);
        impl_->SegmentHan(text.substr(start, i - start), offsets, han, tokens);
        break;
      }
      case CharClass::kWord: {
        i += len;
        while (i < n) {
          len = internal::DecodeUtf8(text, i, &cp, &ok);
          // Keep "don't", "e-mail", "3.5" together.
          if (Classify(cp) == CharClass::kWord) {
            i += len;
            continue;
          }
          if ((cp == '\'' || cp == '-' || cp == '.') && i + 1 < n &&
              internal::IsAsciiAlnum(static_cast<unsigned char>(text[i + 1]))) {
            i += 1;
            continue;
          }
          break;
        }
        tokens->emplace_back(text.substr(start, i - start));
        break;
      }
      case CharClass::kEmoji: {
        i += len;
        while (i < n) {
          len = internal::DecodeUtf8(text, i, &cp, &ok);
          if (!internal::IsEmojiModifier(cp)) break;
          i += len;
          // A ZWJ joins the next pictograph into the same emoji.
          if (cp == 0x200D && i < n) i += internal::DecodeUtf8(text, i, &cp, &ok);
        }
        tokens->emplace_back(text.substr(start, i - start));
        break;
      }
      case CharClass::kPunct:
        i += len;
        if (impl_->keep_punctuation) tokens->emplace_back(text.substr(start, len));
        break;
      case CharClass::kSpace:
        i += len;
        break;
      case CharClass::kOther:
        i += len;
        if (!internal::IsEmojiModifier(cp)) tokens->emplace_back(text.substr(start, len));
        break;
    }
  }
}

std::vector<std::string> Segmenter::Segment(std::string_view text) const {
  thread_local std::string norm;
  impl_->normalizer->Normalize(text, &norm);
  std::vector<std::string> tokens;
  SegmentNormalized(norm, &tokens);
  return tokens;
}

}  // namespace touchpoint::text
