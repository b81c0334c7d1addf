// service/ticket.h — the vocabulary of a ticket: its status machine, priorities, types and
// channels, the default-priority rule, and the human ticket number (TP-000123). Pure functions,
// thread-safe; the desk (service/desk.h) applies them to stored tickets.
//
// Status machine (docs/service-desk.md has the diagram):
//   new → open
//   open → pending_customer | pending_third_party | solved
//   pending_customer | pending_third_party → open
//   solved → closed, and solved → open (a reopen: counted on the ticket)
//   closed: final
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <touchpoint/core/result.h>

namespace touchpoint::service {

enum class TicketStatus { kNew, kOpen, kPendingCustomer, kPendingThirdParty, kSolved, kClosed };
enum class Priority { kHigh, kMedium, kLow };
enum class TicketType { kRequest, kComplaint, kIncident };

// "new", "open", "pending_customer", …
std::string_view StatusName(TicketStatus status);
// kInvalidArgument naming `field` and the valid values otherwise.
Result<TicketStatus> ParseStatus(std::string_view name, std::string_view field = "status");
std::string_view PriorityName(Priority priority);
Result<Priority> ParsePriority(std::string_view name, std::string_view field = "priority");
std::string_view TypeName(TicketType type);
Result<TicketType> ParseType(std::string_view name, std::string_view field = "type");
// The channels a ticket may come from: chat, email, social, phone, ivr, app (as ingest accepts).
Status CheckChannel(std::string_view channel, std::string_view field = "channel");

// The statuses `from` may move to, in the order above.
std::span<const TicketStatus> AllowedTransitions(TicketStatus from);
// OK when from → to is allowed; kFailedPrecondition "ticket cannot go from solved to pending_customer
// (allowed: closed, open)" otherwise (the HTTP API answers 409 with it).
Status CheckTransition(TicketStatus from, TicketStatus to);
// Statuses whose time counts as handling time in the step report: new, open, pending_*.
bool IsHandling(TicketStatus status);

// "TP-000123" (at least six digits).
std::string FormatTicketNumber(std::int64_t number);
// Accepts "TP-000123", "tp-123" and "123"; kInvalidArgument naming `field` otherwise.
Result<std::int64_t> ParseTicketNumber(std::string_view text, std::string_view field = "number");

// What the default priority of a ticket is computed from (inbound analysis and the customer).
struct PrioritySignals {
  TicketType type = TicketType::kRequest;
  std::string intent;           // text module's intent of the first message; empty: unknown
  std::string sentiment_label;  // positive | neutral | negative; empty: unknown
  double sentiment_score = 0;   // -1 … 1
  double customer_revenue = 0;  // lifetime revenue of the customer
};

struct PriorityRule {
  double high_value_revenue = 20'000;  // as the escalation rules' high-value customer
  double very_negative = -0.6;         // a sentiment score at or below this is "very negative"
};

// The default priority (docs/service-desk.md, "Priority defaults"), first match wins:
//   high   — a complaint or incident with negative sentiment; a very negative message (score ≤
//            very_negative); a negative message from a high-value customer; a complaint intent
//            with negative sentiment;
//   low    — a praise intent, or a positive message of a request from a customer who is not
//            high-value;
//   medium — everything else.
Priority DefaultPriority(const PrioritySignals& signals, const PriorityRule& rule = {});

}  // namespace touchpoint::service
