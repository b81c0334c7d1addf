// text/analyzer.h — everything ingest needs from one message, in one call.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <touchpoint/core/result.h>

namespace touchpoint::text {

struct AnalyzerOptions {
  std::string sentiment_model_path;  // empty = built-in lexicon
  std::string intent_model_path;     // empty = built-in rules
};

struct MessageAnalysis {
  std::string language;         // "zh" | "en" | "mixed" | "unknown"
  std::string sentiment_label;  // "negative" | "neutral" | "positive"
  double sentiment_score = 0;   // [-1, 1]
  // "refund", "delivery_status", "change_address", "cancel_order", "invoice", "account_login",
  // "complaint", "product_question", "praise", "other" (or a trained model's labels)
  std::string intent;
  double intent_confidence = 0;
  std::string masked_text;  // PII masked for display (invalid UTF-8 repaired)
  // The Normalizer::Default() form the analysis matched on; escalation rules reuse it
  // (ConversationMessage::normalized) instead of normalising the text a second time.
  std::string normalized;
};

// Language, sentiment, intent and masked text of a message. No word segmentation is needed
// on this path (lexicon matching and character n-grams work on the normalised text).
// Thread-safe after Create(): many ingest threads call Analyze concurrently.
class Analyzer {
 public:
  // kNotFound / kInvalidArgument from loading a model file (naming it), kFailedPrecondition
  // when ICU/OpenCC data is missing.
  static Result<std::unique_ptr<Analyzer>> Create(const AnalyzerOptions& options);
  ~Analyzer();
  Analyzer(const Analyzer&) = delete;
  Analyzer& operator=(const Analyzer&) = delete;

  // Never fails: empty, emoji-only or invalid input gives language "unknown"/neutral/"other".
  MessageAnalysis Analyze(std::string_view text) const;

 private:
  Analyzer();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace touchpoint::text
