#include <touchpoint/text/analyzer.h>

#include <touchpoint/text/classifier.h>
#include <touchpoint/text/intent.h>
#include <touchpoint/text/normalize.h>
#include <touchpoint/text/pii.h>
#include <touchpoint/text/sentiment.h>

namespace touchpoint::text {

struct Analyzer::Impl {
  const Normalizer* normalizer = nullptr;
  std::unique_ptr<LexiconSentiment> lexicon;
  std::unique_ptr<RuleIntentClassifier> rules;
  std::unique_ptr<TextClassifier> sentiment_model;
  std::unique_ptr<TextClassifier> intent_model;
};

Analyzer::Analyzer() : impl_(std::make_unique<Impl>()) {}
Analyzer::~Analyzer() = default;

// Score of a trained sentiment model: P(positive) - P(negative) over its labels.
SentimentResult SentimentFromModel(const TextClassifier& model, std::string_view normalized) {
  Prediction p = model.PredictNormalized(normalized, static_cast<int>(model.labels().size()));
  double pos = 0, neg = 0;
  auto add = [&](const std::string& label, double prob) {
    if (label == "positive" || label == "pos" || label == "1") pos += prob;
    if (label == "negative" || label == "neg" || label == "0" || label == "-1") neg += prob;
  };
  add(p.label, p.confidence);
  for (const auto& [l, prob] : p.alternatives) add(l, prob);
  SentimentResult r;
  r.score = pos - neg;
  if (p.label == "positive" || p.label == "pos" || p.label == "1") {
    r.label = SentimentLabel::kPositive;
  } else if (p.label == "negative" || p.label == "neg" || p.label == "0" || p.label == "-1") {
    r.label = SentimentLabel::kNegative;
  } else {
    r.label = SentimentLabel::kNeutral;
  }
  return r;
}

Result<std::unique_ptr<Analyzer>> Analyzer::Create(const AnalyzerOptions& options) {
  std::unique_ptr<Analyzer> a(new Analyzer());
  Impl& impl = *a->impl_;
  TP_ASSIGN_OR_RETURN(impl.normalizer, Normalizer::Default());
  TP_ASSIGN_OR_RETURN(impl.lexicon, LexiconSentiment::Create());
  TP_ASSIGN_OR_RETURN(impl.rules, RuleIntentClassifier::Create());
  if (!options.sentiment_model_path.empty()) {
    TP_ASSIGN_OR_RETURN(impl.sentiment_model, TextClassifier::Load(options.sentiment_model_path));
  }
  if (!options.intent_model_path.empty()) {
    TP_ASSIGN_OR_RETURN(impl.intent_model, TextClassifier::Load(options.intent_model_path));
  }
  return a;
}

MessageAnalysis Analyzer::Analyze(std::string_view text) const {
  const Impl& impl = *impl_;
  thread_local std::string norm;
  impl.normalizer->Normalize(text, &norm);
  MessageAnalysis out;
  out.language = LanguageName(DetectLanguage(norm));
  const SentimentResult s = impl.sentiment_model ? SentimentFromModel(*impl.sentiment_model, norm)
                                                 : impl.lexicon->ScoreNormalized(norm);
  out.sentiment_label = SentimentLabelName(s.label);
  out.sentiment_score = s.score;
  if (impl.intent_model) {
    Prediction p = impl.intent_model->PredictNormalized(norm);
    out.intent = std::move(p.label);
    out.intent_confidence = p.confidence;
  } else {
    IntentResult r = impl.rules->ClassifyNormalized(norm, 1, &s);
    out.intent = std::move(r.intent);
    out.intent_confidence = r.confidence;
  }
  // Mask the original (repaired) text, not the folded one: display keeps the customer's words.
  bool valid = IsValidUtf8(text);
  if (valid) {
    out.masked_text = MaskPii(text);
  } else {
    out.masked_text = MaskPii(SanitizeUtf8(text));
  }
  out.normalized = norm;
  return out;
}

}  // namespace touchpoint::text
