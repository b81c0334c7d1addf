// text/sentiment.h — lexicon-and-rules sentiment for customer-service language.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <touchpoint/core/result.h>

namespace touchpoint::text {

enum class SentimentLabel { kNegative, kNeutral, kPositive };

// "negative", "neutral", "positive".
std::string_view SentimentLabelName(SentimentLabel label);

struct SentimentResult {
  SentimentLabel label = SentimentLabel::kNeutral;
  double score = 0;  // [-1, 1]; > 0 leans positive, < 0 negative
};

// Maps a score to a label: |score| < 0.1 is neutral.
SentimentLabel LabelForScore(double score);

// The built-in bilingual lexicon (compiled into the binary from data/text/sentiment_lexicon.tsv)
// with rules: negation (不/没/别/无/not/never/no) flips the next sentiment word within three
// units, degree adverbs scale it, contrast (但是/but/however …) halves what came before and
// weighs the following clause 1.5×, '!' strengthens a clause, repeated '!!'/'??' and
// rhetorical questions (难道/凭什么/…) push it negative, a plain question ("好用吗?") keeps
// only 30 % of its positive words, emoticons and emoji count as words.
// Thread-safe: immutable after Create().
class LexiconSentiment {
 public:
  // Fails with kFailedPrecondition when the normalisation data is missing, kInternal when the
  // compiled-in lexicon is malformed (a build bug).
  static Result<std::unique_ptr<LexiconSentiment>> Create();
  // Builds from lexicon text in the same TSV format (`term<TAB>kind<TAB>weight`, kind one of
  // word|neg|degree|contrast|rhetorical); kInvalidArgument names the bad line.
  static Result<std::unique_ptr<LexiconSentiment>> FromTsv(std::string_view tsv);
  ~LexiconSentiment();
  LexiconSentiment(const LexiconSentiment&) = delete;
  LexiconSentiment& operator=(const LexiconSentiment&) = delete;

  // Scores any UTF-8 text (invalid bytes are repaired; empty text is neutral 0).
  SentimentResult Score(std::string_view text) const;
  // Scores text already in analysis form (Normalizer::Normalize); no allocation.
  SentimentResult ScoreNormalized(std::string_view normalized) const;

 private:
  LexiconSentiment();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace touchpoint::text
