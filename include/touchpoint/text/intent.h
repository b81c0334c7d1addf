// text/intent.h — customer-service intents from built-in bilingual rules.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/text/sentiment.h>

namespace touchpoint::text {

// The built-in intents, in a fixed order: refund, delivery_status, change_address,
// cancel_order, invoice, account_login, complaint, product_question, praise, other.
const std::vector<std::string>& BuiltinIntents();

struct IntentResult {
  std::string intent = "other";
  double confidence = 0;  // [0, 1]
  // The best intents after the first, best first (filled up to the requested top-k).
  std::vector<std::pair<std::string, double>> alternatives;
};

// Keyword rules (compiled in from data/text/intent_rules.tsv, `intent<TAB>keyword<TAB>weight`):
// the weights of matched keywords are summed per intent (longest match wins; English keywords
// match whole words); no match gives "other". Sentiment refines the result: "praise" on a
// negative message becomes "complaint", and an unmatched message with a strongly negative
// (≤ -0.5) or positive (≥ 0.5) score becomes "complaint" / "praise" with low confidence.
// Thread-safe: immutable after Create().
class RuleIntentClassifier {
 public:
  // Fails with kFailedPrecondition when normalisation data is missing.
  static Result<std::unique_ptr<RuleIntentClassifier>> Create();
  // kInvalidArgument names the bad line.
  static Result<std::unique_ptr<RuleIntentClassifier>> FromTsv(std::string_view tsv);
  ~RuleIntentClassifier();
  RuleIntentClassifier(const RuleIntentClassifier&) = delete;
  RuleIntentClassifier& operator=(const RuleIntentClassifier&) = delete;

  // top_k ≥ 1: alternatives holds up to top_k - 1 further intents with a score > 0.
  IntentResult Classify(std::string_view text, int top_k = 1) const;
  // `sentiment` may be null (then it is computed with the built-in lexicon).
  IntentResult ClassifyNormalized(std::string_view normalized, int top_k = 1,
                                  const SentimentResult* sentiment = nullptr) const;

 private:
  RuleIntentClassifier();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace touchpoint::text
