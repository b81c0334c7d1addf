// text/segmenter.h — word segmentation of Chinese, English and mixed text.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/core/result.h>

namespace touchpoint::text {

// Debian path of python3-jieba's prefix dictionary (MIT), `word freq pos` per line.
inline constexpr std::string_view kJiebaDictPath = "/usr/lib/python3/dist-packages/jieba/dict.txt";

// A jieba-style segmenter: maximum-probability path over the DAG of dictionary words (unigram
// model, log frequencies), with runs of unknown single Han characters left as single tokens.
// Latin words and digits become one lower-cased token each; emoji are kept as tokens;
// whitespace and punctuation are dropped unless keep_punctuation. The input is normalised
// first (NFKC, Traditional → Simplified, case folding).
// Thread-safe: immutable after Create().
class Segmenter {
 public:
  struct Options {
    std::string dict_path = std::string(kJiebaDictPath);
    bool keep_punctuation = false;
  };
  // Fails with kNotFound naming the path when the dictionary is absent, kInvalidArgument when
  // it has no usable entry, kFailedPrecondition when normalisation data is missing.
  static Result<std::unique_ptr<Segmenter>> Create(const Options& options);
  ~Segmenter();
  Segmenter(const Segmenter&) = delete;
  Segmenter& operator=(const Segmenter&) = delete;

  // Tokens of `text` (any UTF-8; invalid bytes are repaired first).
  std::vector<std::string> Segment(std::string_view text) const;
  // Appends the tokens of already-normalised text to *tokens.
  void SegmentNormalized(std::string_view normalized, std::vector<std::string>* tokens) const;
  size_t dictionary_size() const;

 private:
  Segmenter();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace touchpoint::text
