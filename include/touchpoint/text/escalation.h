// text/escalation.h — escalation rules on each conversation message, and agent-script
// compliance (banned phrases).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/core/result.h>

namespace touchpoint::text {

enum class Author { kCustomer, kAgent, kBot };

// "customer" | "agent" | "bot"; kInvalidArgument otherwise.
Result<Author> ParseAuthor(std::string_view name);

struct ConversationMessage {
  std::string conversation_id;
  Author author = Author::kCustomer;
  std::string text;
  bool high_value_customer = false;
  // Sentiment score in [-1, 1] if the caller already has one; otherwise the engine scores the
  // text with the built-in lexicon.
  std::optional<double> sentiment_score;
  // When not empty: the Normalizer::Default() form of `text` (e.g. MessageAnalysis::normalized),
  // used instead of normalising `text` again; `text` may then be left empty.
  std::string_view normalized;
};

struct Firing {
  std::string rule;     // the rule's name from the TOML file
  std::string action;   // "handoff" | "high_risk" | "supervisor_alert" | "banned_phrase"
  std::string history;  // for "handoff": the history to attach (e.g. "refund_history")
  std::string reason;   // human-readable: which keyword/phrase/count triggered it
};

// The shipped defaults (data/text/escalation_rules.toml, compiled in).
std::string_view DefaultEscalationToml();

// Rules (TOML):
//   [[keyword]]            name, keywords = [...], history = "refund_history"  → handoff
//   [negative_streak]      name, threshold = 2, negative_below = -0.05        → high_risk (once)
//   [high_value_negative]  name, negative_below = -0.05                        → supervisor_alert
//   [banned_phrases]       name, phrases = [...]   (agent replies only)        → banned_phrase
// Keyword and streak rules look at customer messages only.
// Thread-safe: Process may be called concurrently; per-conversation state is kept under a
// mutex (memory grows with the number of conversations; call Forget when one closes).
class EscalationEngine {
 public:
  // kInvalidArgument with the TOML parser's message (line and column) or the bad field;
  // kFailedPrecondition when the lexicon/normalisation data is missing.
  static Result<std::unique_ptr<EscalationEngine>> FromToml(std::string_view toml);
  static Result<std::unique_ptr<EscalationEngine>> FromFile(const std::string& path);
  static Result<std::unique_ptr<EscalationEngine>> Default();
  ~EscalationEngine();
  EscalationEngine(const EscalationEngine&) = delete;
  EscalationEngine& operator=(const EscalationEngine&) = delete;

  // Returns the rules that fire on this message, in rule order (possibly none).
  std::vector<Firing> Process(const ConversationMessage& message);
  // Banned phrases found in an agent reply (normalised match), each once, in text order.
  std::vector<std::string> FindBannedPhrases(std::string_view reply) const;
  // The same on text already in Normalizer::Default() form.
  std::vector<std::string> FindBannedNormalized(std::string_view normalized_reply) const;
  // Whether the conversation's customer has been marked high-risk.
  bool IsHighRisk(std::string_view conversation_id) const;
  void Forget(std::string_view conversation_id);

 private:
  EscalationEngine();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace touchpoint::text
