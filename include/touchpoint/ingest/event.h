// ingest/event.h — one validated, normalised tracking message (Segment spec + Touchpoint's own
// e-commerce, message and survey events).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <touchpoint/core/time.h>
#include <touchpoint/identity/identifier.h>
#include <touchpoint/store/event_log.h>

namespace touchpoint::ingest {

struct OrderLine {
  std::string product_id;
  std::string category;
  double price = 0;
  double quantity = 0;
};

struct OrderPayload {
  std::string order_id;
  double total = 0;
  std::string currency;
  std::vector<OrderLine> products;
};

struct ViewPayload {
  std::string product_id;
  std::string category;
  double dwell_seconds = -1;  // -1 when not given
};

struct MessagePayload {
  std::string conversation_id;
  std::string channel;  // chat | email | social | phone | ivr | app
  std::string author;   // customer | agent | bot
  std::string text;
  bool inbound = true;  // Message Received
  // Filled by text analysis when enabled.
  std::string language;
  std::string sentiment_label;
  double sentiment_score = 0;
  std::string intent;
  double intent_confidence = 0;
  std::string masked_text;
  std::string normalized_text;  // analysis scratch: the folded text escalation rules match on
};

struct SurveyPayload {
  int nps = -1;
  int csat = -1;
  std::string comment;
  std::string touchpoint;
};

struct Event {
  store::EventKind kind = store::EventKind::kTrack;
  std::string message_id;
  store::MessageHash hash;
  Millis timestamp = 0;
  // Ordered strongest first (user, member, external, open, phone, email, device, anon), no
  // duplicates; the first is the event's anchor.
  std::vector<identity::Identifier> identifiers;
  bool is_alias = false;
  std::string name;     // track event or page name
  std::string channel;  // context.channel
  // Traits as JSON-encoded values by name (identify traits, or context.traits).
  std::vector<std::pair<std::string, std::string>> traits;
  std::optional<OrderPayload> order;
  std::optional<ViewPayload> view;
  std::optional<MessagePayload> message;
  std::optional<SurveyPayload> survey;
  std::string body;  // the message as received (JSON), stored and replayed
};

// 128-bit hash of a messageId.
store::MessageHash HashMessageId(std::string_view message_id);

}  // namespace touchpoint::ingest
