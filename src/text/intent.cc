#include <touchpoint/text/intent.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <string>

#include <touchpoint/text/normalize.h>

#include "text/data_internal.h"
#include "text/matcher_internal.h"
#include "text/utf8_internal.h"

namespace touchpoint::text {

namespace {
constexpr size_t kMaxIntents = 32;

struct Rule {
  uint32_t intent;
  double weight;
};
}  // namespace

const std::vector<std::string>& BuiltinIntents() {
  static const std::vector<std::string> kIntents = {
      "refund",        "delivery_status", "change_address",   "cancel_order", "invoice",
      "account_login", "complaint",       "product_question", "praise",       "other"};
  return kIntents;
}

struct RuleIntentClassifier::Impl {
  const Normalizer* normalizer = nullptr;
  std::unique_ptr<LexiconSentiment> sentiment;
  std::vector<std::string> intents;
  internal::Matcher matcher;
  std::vector<Rule> rules;
  uint32_t other = 0;
  uint32_t praise = 0;
  uint32_t complaint = 0;
};

RuleIntentClassifier::RuleIntentClassifier() : impl_(std::make_unique<Impl>()) {}
RuleIntentClassifier::~RuleIntentClassifier() = default;

Result<std::unique_ptr<RuleIntentClassifier>> RuleIntentClassifier::Create() {
  auto r = FromTsv(internal::kIntentRulesTsv);
  if (!r.ok() && r.status().code() == StatusCode::kInvalidArgument) {
    return Status::Internal("built-in intent rules: " + r.status().message());
  }
  return r;
}

Result<std::unique_ptr<RuleIntentClassifier>> RuleIntentClassifier::FromTsv(std::string_view tsv) {
  TP_ASSIGN_OR_RETURN(const Normalizer* normalizer, Normalizer::Default());
  TP_ASSIGN_OR_RETURN(auto sentiment, LexiconSentiment::Create());
  std::unique_ptr<RuleIntentClassifier> c(new RuleIntentClassifier());
  Impl& impl = *c->impl_;
  impl.normalizer = normalizer;
  impl.sentiment = std::move(sentiment);
  impl.intents = BuiltinIntents();
  auto intent_index = [&](std::string_view name) -> int {
    for (size_t i = 0; i < impl.intents.size(); ++i) {
      if (impl.intents[i] == name) return static_cast<int>(i);
    }
    if (impl.intents.size() >= kMaxIntents) return -1;
    impl.intents.emplace_back(name);
    return static_cast<int>(impl.intents.size() - 1);
  };
  Status error;
  std::string norm;
  internal::ForEachTsvLine(tsv, [&](size_t line, const std::string_view* f, size_t n) {
    auto bad = [&](std::string_view why) {
      error = Status::InvalidArgument("intent rules line " + std::to_string(line) + ": " +
                                      std::string(why));
      return false;
    };
    if (n < 3) return bad("expected intent<TAB>keyword<TAB>weight");
    const int idx = intent_index(f[0]);
    if (idx < 0) return bad("too many intents");
    std::string w(f[2]);
    char* end = nullptr;
    const double weight = std::strtod(w.c_str(), &end);
    if (end == w.c_str() || *end != '\0') return bad("bad weight");
    normalizer->Normalize(f[1], &norm);
    if (norm.empty()) return bad("empty keyword");
    impl.matcher.Add(norm, static_cast<uint32_t>(impl.rules.size()));
    impl.rules.push_back({static_cast<uint32_t>(idx), weight});
    return true;
  });
  if (!error.ok()) return error;
  impl.other = static_cast<uint32_t>(intent_index("other"));
  impl.praise = static_cast<uint32_t>(intent_index("praise"));
  impl.complaint = static_cast<uint32_t>(intent_index("complaint"));
  return c;
}

IntentResult RuleIntentClassifier::Classify(std::string_view text, int top_k) const {
  thread_local std::string norm;
  impl_->normalizer->Normalize(text, &norm);
  return ClassifyNormalized(norm, top_k, nullptr);
}

IntentResult RuleIntentClassifier::ClassifyNormalized(std::string_view text, int top_k,
                                                      const SentimentResult* sentiment) const {
  std::array<double, kMaxIntents> score{};
  double sum = 0;
  size_t i = 0;
  internal::Matcher::Match m;
  while (i < text.size()) {
    if (impl_->matcher.LongestAt(text, i, &m)) {
      const Rule& r = impl_->rules[m.value];
      score[r.intent] += r.weight;
      sum += r.weight;
      i = m.end;
      continue;
    }
    if (internal::IsWordByte(text[i])) {
      while (i < text.size() && internal::IsWordByte(text[i])) ++i;
      continue;
    }
    char32_t cp;
    bool ok;
    i += internal::DecodeUtf8(text, i, &cp, &ok);
  }
  SentimentResult computed;
  auto get_sentiment = [&]() -> const SentimentResult& {
    if (sentiment == nullptr) {
      computed = impl_->sentiment->ScoreNormalized(text);
      sentiment = &computed;
    }
    return *sentiment;
  };
  const size_t n = impl_->intents.size();
  // Praise words in a negative message are sarcasm or thanks-but: count them as complaint.
  if (score[impl_->praise] > 0 && get_sentiment().score < -0.1) {
    score[impl_->complaint] += score[impl_->praise];
    score[impl_->praise] = 0;
  }
  IntentResult result;
  std::array<uint32_t, kMaxIntents> order{};
  for (uint32_t k = 0; k < n; ++k) order[k] = k;
  std::stable_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n),
                   [&](uint32_t a, uint32_t b) { return score[a] > score[b]; });
  if (score[order[0]] <= 0) {
    const double s = get_sentiment().score;
    if (s <= -0.5) {
      result.intent = impl_->intents[impl_->complaint];
      result.confidence = 0.4;
    } else if (s >= 0.5) {
      result.intent = impl_->intents[impl_->praise];
      result.confidence = 0.4;
    } else {
      result.intent = impl_->intents[impl_->other];
      result.confidence = 0.5;
    }
    return result;
  }
  // Confidence grows with the evidence for the winner and shrinks with competing evidence.
  const double best = score[order[0]];
  const double total = std::max(sum, best);
  auto conf = [&](double s) { return (s / (total + 1.0)) * (1.0 - std::exp(-s / 2.0)) * 1.0; };
  result.intent = impl_->intents[order[0]];
  result.confidence = std::clamp(0.3 + conf(best), 0.0, 1.0);
  for (size_t k = 1; k < n && static_cast<int>(k) < top_k; ++k) {
    if (score[order[k]] <= 0) break;
    result.alternatives.emplace_back(impl_->intents[order[k]],
                                     std::clamp(conf(score[order[k]]), 0.0, 1.0));
  }
  return result;
}

}  // namespace touchpoint::text
