#include <touchpoint/text/escalation.h>

#include <fstream>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include <toml++/toml.h>

#include <touchpoint/text/normalize.h>
#include <touchpoint/text/sentiment.h>

#include "text/data_internal.h"
#include "text/matcher_internal.h"
#include "text/utf8_internal.h"

namespace touchpoint::text {

namespace {

struct KeywordRule {
  std::string name;
  std::string history;
  std::vector<std::string> keywords;  // as written (for reasons)
};

struct ConversationState {
  int negative_count = 0;
  bool high_risk = false;
};

char Buf(double v, char* buf, size_t n) {
  std::snprintf(buf, n, "%.2f", v);
  return buf[0];
}

}  // namespace

Result<Author> ParseAuthor(std::string_view name) {
  if (name == "customer") return Author::kCustomer;
  if (name == "agent") return Author::kAgent;
  if (name == "bot") return Author::kBot;
  return Status::InvalidArgument("author must be customer, agent or bot, not '" +
                                 std::string(name) + "'");
}

std::string_view DefaultEscalationToml() { return internal::kEscalationRulesToml; }

struct EscalationEngine::Impl {
  const Normalizer* normalizer = nullptr;
  std::unique_ptr<LexiconSentiment> sentiment;
  std::vector<KeywordRule> keyword_rules;
  internal::Matcher keywords;  // value = rule index << 16 | keyword index
  bool streak_enabled = false;
  std::string streak_name;
  int streak_threshold = 2;
  double streak_below = -0.1;
  bool vip_enabled = false;
  std::string vip_name;
  double vip_below = -0.1;
  std::string banned_name;
  std::vector<std::string> banned;  // as written
  internal::Matcher banned_matcher;  // value = phrase index

  mutable std::mutex mu;
  std::unordered_map<std::string, ConversationState> conversations;  // guarded by mu
};

EscalationEngine::EscalationEngine() : impl_(std::make_unique<Impl>()) {}
EscalationEngine::~EscalationEngine() = default;

Result<std::unique_ptr<EscalationEngine>> EscalationEngine::Default() {
  return FromToml(DefaultEscalationToml());
}

Result<std::unique_ptr<EscalationEngine>> EscalationEngine::FromFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("rules file " + path + " not found");
  std::stringstream ss;
  ss << in.rdbuf();
  auto r = FromToml(ss.str());
  if (!r.ok()) return r.status().WithContext(path);
  return r;
}

Result<std::unique_ptr<EscalationEngine>> EscalationEngine::FromToml(std::string_view toml_text) {
  TP_ASSIGN_OR_RETURN(const Normalizer* normalizer, Normalizer::Default());
  TP_ASSIGN_OR_RETURN(auto sentiment, LexiconSentiment::Create());
  std::unique_ptr<EscalationEngine> e(new EscalationEngine());
  Impl& impl = *e->impl_;
  impl.normalizer = normalizer;
  impl.sentiment = std::move(sentiment);
  toml::table root;
  try {
    root = toml::parse(toml_text);
  } catch (const toml::parse_error& err) {
    std::ostringstream msg;
    msg << "invalid TOML at line " << err.source().begin.line << ", column "
        << err.source().begin.column << ": " << err.description();
    return Status::InvalidArgument(msg.str());
  }
  auto strings = [](const toml::node* node, std::vector<std::string>* out,
                    const std::string& what) -> Status {
    const toml::array* arr = node ? node->as_array() : nullptr;
    if (arr == nullptr) return Status::InvalidArgument(what + " must be an array of strings");
    for (const auto& v : *arr) {
      auto s = v.value<std::string>();
      if (!s || s->empty()) return Status::InvalidArgument(what + " must hold non-empty strings");
      out->push_back(*s);
    }
    return Status::Ok();
  };
  std::string norm;
  if (const toml::node* kw = root.get("keyword")) {
    const toml::array* rules = kw->as_array();
    if (rules == nullptr) return Status::InvalidArgument("[[keyword]] must be an array of tables");
    for (size_t r = 0; r < rules->size(); ++r) {
      const toml::table* t = (*rules)[r].as_table();
      if (t == nullptr) return Status::InvalidArgument("[[keyword]] entries must be tables");
      KeywordRule rule;
      rule.name = (*t)["name"].value_or(std::string("keyword_") + std::to_string(r + 1));
      rule.history = (*t)["history"].value_or(std::string("conversation_history"));
      TP_RETURN_IF_ERROR(strings(t->get("keywords"), &rule.keywords,
                                 "keyword rule '" + rule.name + "': keywords"));
      for (size_t k = 0; k < rule.keywords.size(); ++k) {
        normalizer->Normalize(rule.keywords[k], &norm);
        impl.keywords.Add(norm, static_cast<uint32_t>(impl.keyword_rules.size() << 16 | k));
      }
      impl.keyword_rules.push_back(std::move(rule));
    }
  }
  if (const toml::table* t = root["negative_streak"].as_table()) {
    impl.streak_enabled = true;
    impl.streak_name = (*t)["name"].value_or(std::string("repeated_negative"));
    impl.streak_threshold = static_cast<int>((*t)["threshold"].value_or(int64_t{2}));
    impl.streak_below = (*t)["negative_below"].value_or(-0.1);
    if (impl.streak_threshold < 1) {
      return Status::InvalidArgument("negative_streak.threshold must be at least 1");
    }
  }
  if (const toml::table* t = root["high_value_negative"].as_table()) {
    impl.vip_enabled = true;
    impl.vip_name = (*t)["name"].value_or(std::string("high_value_negative"));
    impl.vip_below = (*t)["negative_below"].value_or(-0.1);
  }
  if (const toml::table* t = root["banned_phrases"].as_table()) {
    impl.banned_name = (*t)["name"].value_or(std::string("agent_script"));
    TP_RETURN_IF_ERROR(strings(t->get("phrases"), &impl.banned, "banned_phrases.phrases"));
    for (size_t k = 0; k < impl.banned.size(); ++k) {
      normalizer->Normalize(impl.banned[k], &norm);
      impl.banned_matcher.Add(norm, static_cast<uint32_t>(k));
    }
  }
  return e;
}

std::vector<std::string> EscalationEngine::FindBannedPhrases(std::string_view reply) const {
  if (impl_->banned.empty()) return {};
  thread_local std::string norm;
  impl_->normalizer->Normalize(reply, &norm);
  return FindBannedNormalized(norm);
}

std::vector<std::string> EscalationEngine::FindBannedNormalized(std::string_view norm) const {
  std::vector<std::string> found;
  if (impl_->banned.empty()) return found;
  std::vector<bool> seen(impl_->banned.size(), false);
  internal::Matcher::Match m;
  for (size_t i = 0; i < norm.size();) {
    if (impl_->banned_matcher.LongestAt(norm, i, &m)) {
      if (!seen[m.value]) found.push_back(impl_->banned[m.value]);
      seen[m.value] = true;
      i = m.end;
      continue;
    }
    char32_t cp;
    bool ok;
    i += internal::DecodeUtf8(norm, i, &cp, &ok);
  }
  return found;
}

std::vector<Firing> EscalationEngine::Process(const ConversationMessage& message) {
  std::vector<Firing> firings;
  const Impl& impl = *impl_;
  if (message.author == Author::kAgent) {
    for (const auto& phrase : message.normalized.empty() ? FindBannedPhrases(message.text)
                                                         : FindBannedNormalized(message.normalized)) {
      firings.push_back({impl.banned_name, "banned_phrase", "",
                         "agent reply contains banned phrase \"" + phrase + "\""});
    }
    return firings;
  }
  if (message.author != Author::kCustomer) return firings;
  thread_local std::string scratch;
  std::string_view norm = message.normalized;
  if (norm.empty()) {
    impl.normalizer->Normalize(message.text, &scratch);
    norm = scratch;
  }
  // Keyword hand-offs: each rule fires once per message, naming the first keyword found.
  std::vector<bool> fired(impl.keyword_rules.size(), false);
  internal::Matcher::Match m;
  for (size_t i = 0; i < norm.size();) {
    if (impl.keywords.LongestAt(norm, i, &m)) {
      const size_t r = m.value >> 16, k = m.value & 0xFFFF;
      if (!fired[r]) {
        fired[r] = true;
        const KeywordRule& rule = impl.keyword_rules[r];
        firings.push_back({rule.name, "handoff", rule.history,
                           "customer wrote \"" + rule.keywords[k] + "\"; hand off with " +
                               rule.history});
      }
      i = m.end;
      continue;
    }
    char32_t cp;
    bool ok;
    i += internal::DecodeUtf8(norm, i, &cp, &ok);
  }
  const double score = message.sentiment_score.has_value()
                           ? *message.sentiment_score
                           : impl.sentiment->ScoreNormalized(norm).score;
  char num[32];
  Buf(score, num, sizeof num);
  if (impl.streak_enabled && score <= impl.streak_below) {
    std::scoped_lock lock(impl_->mu);
    ConversationState& st = impl_->conversations[message.conversation_id];
    ++st.negative_count;
    if (!st.high_risk && st.negative_count >= impl.streak_threshold) {
      st.high_risk = true;
      firings.push_back({impl.streak_name, "high_risk", "",
                         std::to_string(st.negative_count) +
                             " negative customer messages in conversation " +
                             message.conversation_id + " (threshold " +
                             std::to_string(impl.streak_threshold) +
                             "); customer is high-risk, conversation jumps the queue"});
    }
  }
  if (impl.vip_enabled && message.high_value_customer && score <= impl.vip_below) {
    firings.push_back({impl.vip_name, "supervisor_alert", "",
                       std::string("negative message (sentiment ") + num +
                           ") from a high-value customer; alert a supervisor"});
  }
  return firings;
}

bool EscalationEngine::IsHighRisk(std::string_view conversation_id) const {
  std::scoped_lock lock(impl_->mu);
  auto it = impl_->conversations.find(std::string(conversation_id));
  return it != impl_->conversations.end() && it->second.high_risk;
}

void EscalationEngine::Forget(std::string_view conversation_id) {
  std::scoped_lock lock(impl_->mu);
  impl_->conversations.erase(std::string(conversation_id));
}

}  // namespace touchpoint::text
