#include <touchpoint/service/ticket.h>

#include <array>
#include <charconv>
#include <cstdio>
#include <string>

namespace touchpoint::service {
namespace {

using enum TicketStatus;

constexpr std::array<TicketStatus, 6> kStatuses = {kNew, kOpen, kPendingCustomer, kPendingThirdParty, kSolved, kClosed};
constexpr TicketStatus kFromNew[] = {kOpen};
constexpr TicketStatus kFromOpen[] = {kPendingCustomer, kPendingThirdParty, kSolved};
constexpr TicketStatus kFromPending[] = {kOpen};
constexpr TicketStatus kFromSolved[] = {kOpen, kClosed};

constexpr const char* kChannels[] = {"chat", "email", "social", "phone", "ivr", "app"};

std::string Join(std::span<const TicketStatus> statuses) {
  std::string out;
  for (TicketStatus s : statuses) {
    if (!out.empty()) out += ", ";
    out += StatusName(s);
  }
  return out.empty() ? "none" : out;
}

}  // namespace

std::string_view StatusName(TicketStatus status) {
  switch (status) {
    case kNew: return "new";
    case kOpen: return "open";
    case kPendingCustomer: return "pending_customer";
    case kPendingThirdParty: return "pending_third_party";
    case kSolved: return "solved";
    case kClosed: return "closed";
  }
  return "unknown";
}

Result<TicketStatus> ParseStatus(std::string_view name, std::string_view field) {
  for (TicketStatus s : kStatuses) {
    if (name == StatusName(s)) return s;
  }
  return Status::InvalidArgument(std::string(field) + ": unknown status '" + std::string(name) +
                                 "' (new, open, pending_customer, pending_third_party, solved, closed)");
}

std::string_view PriorityName(Priority priority) {
  switch (priority) {
    case Priority::kHigh: return "high";
    case Priority::kMedium: return "medium";
    case Priority::kLow: return "low";
  }
  return "unknown";
}

Result<Priority> ParsePriority(std::string_view name, std::string_view field) {
  for (Priority p : {Priority::kHigh, Priority::kMedium, Priority::kLow}) {
    if (name == PriorityName(p)) return p;
  }
  return Status::InvalidArgument(std::string(field) + ": unknown priority '" + std::string(name) +
                                 "' (high, medium, low)");
}

std::string_view TypeName(TicketType type) {
  switch (type) {
    case TicketType::kRequest: return "request";
    case TicketType::kComplaint: return "complaint";
    case TicketType::kIncident: return "incident";
  }
  return "unknown";
}

Result<TicketType> ParseType(std::string_view name, std::string_view field) {
  for (TicketType t : {TicketType::kRequest, TicketType::kComplaint, TicketType::kIncident}) {
    if (name == TypeName(t)) return t;
  }
  return Status::InvalidArgument(std::string(field) + ": unknown type '" + std::string(name) +
                                 "' (request, complaint, incident)");
}

Status CheckChannel(std::string_view channel, std::string_view field) {
  for (const char* c : kChannels) {
    if (channel == c) return Status::Ok();
  }
  return Status::InvalidArgument(std::string(field) + ": unknown channel '" + std::string(channel) +
                                 "' (chat, email, social, phone, ivr, app)");
}

std::span<const TicketStatus> AllowedTransitions(TicketStatus from) {
  switch (from) {
    case kNew: return kFromNew;
    case kOpen: return kFromOpen;
    case kPendingCustomer:
    case kPendingThirdParty: return kFromPending;
    case kSolved: return kFromSolved;
    case kClosed: return {};
  }
  return {};
}

Status CheckTransition(TicketStatus from, TicketStatus to) {
  for (TicketStatus s : AllowedTransitions(from)) {
    if (s == to) return Status::Ok();
  }
  return Status::FailedPrecondition("ticket cannot go from " + std::string(StatusName(from)) + " to " +
                                    std::string(StatusName(to)) + " (allowed: " + Join(AllowedTransitions(from)) +
                                    ")");
}

bool IsHandling(TicketStatus status) {
  return status == kNew || status == kOpen || status == kPendingCustomer || status == kPendingThirdParty;
}

std::string FormatTicketNumber(std::int64_t number) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "TP-%06lld", static_cast<long long>(number));
  return buf;
}

Result<std::int64_t> ParseTicketNumber(std::string_view text, std::string_view field) {
  std::string_view digits = text;
  if (digits.size() > 3 && (digits[0] == 'T' || digits[0] == 't') && (digits[1] == 'P' || digits[1] == 'p') &&
      digits[2] == '-') {
    digits.remove_prefix(3);
  }
  std::int64_t n = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size() || n <= 0) {
    return Status::InvalidArgument(std::string(field) + ": '" + std::string(text) +
                                   "' is not a ticket number (TP-000123)");
  }
  return n;
}

Priority DefaultPriority(const PrioritySignals& s, const PriorityRule& rule) {
  const bool negative = s.sentiment_label == "negative";
  const bool high_value = s.customer_revenue >= rule.high_value_revenue;
  if (negative && (s.type == TicketType::kComplaint || s.type == TicketType::kIncident)) return Priority::kHigh;
  if (!s.sentiment_label.empty() && s.sentiment_score <= rule.very_negative) return Priority::kHigh;
  if (negative && high_value) return Priority::kHigh;
  if (negative && s.intent == "complaint") return Priority::kHigh;
  if (s.intent == "praise") return Priority::kLow;
  if (s.sentiment_label == "positive" && s.type == TicketType::kRequest && !high_value) return Priority::kLow;
  return Priority::kMedium;
}

}  // namespace touchpoint::service
