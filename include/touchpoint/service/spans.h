// service/spans.h — the spans of a ticket's clock, defined once: first response, next response,
// resolution (and resolution since the last reopen). Pure functions over a ticket's history and
// messages, so a corrected history gives the corrected answer (nothing is stored or shifted); the
// SLA timer (service/sla.h) and the measurement reports use these.
//
// Definitions (docs/service-desk.md, "Spans"):
//  - first response: from the first inbound customer message (no customer message: the ticket's
//    creation) to the first agent reply (not an internal note). Where a bot answered first (a bot
//    message before any agent reply), it runs from the bot's hand-off instead: the first history
//    row `handoff` (or an escalation firing `handoff`), or the customer's first message after the
//    bot's, whichever comes first; without either the bot has the conversation and there is no
//    span yet. Bot replies never stop it.
//  - next response: after the first agent reply, each customer turn: from the customer's oldest
//    unanswered message to the next agent reply.
//  - resolution: from creation to solved; the time spent solved before a reopen does not count.
//    resolution_since_reopen: from the last reopen to solved (only for reopened tickets).
//  - pauses: time in pending_customer and pending_third_party (their reasons are the history's
//    `pause_reason` rows) never counts; a span's clock stops at solved (a response span still
//    waiting when the ticket is solved ends there, ended_by "solved").
//  - every span has wall-clock seconds and business seconds on the ticket's calendar (wall-clock
//    seconds when there is no calendar), pauses excluded; a running span counts up to `now`.
//
// Thread safety: pure functions; CalendarMeter is immutable.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/calendar/calendar.h>
#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/service/desk.h>
#include <touchpoint/store/ticket_repository.h>

namespace touchpoint::service {

// A pause of the clock: [from, to) in the ticket's history; to = 0 while it lasts.
struct PauseSpan {
  Millis from = 0;
  Millis to = 0;
  std::string status;  // pending_customer | pending_third_party | solved (resolution only)
  std::string reason;  // the history's pause_reason, if any
};

struct Span {
  Millis start = 0;
  Millis stop = 0;       // 0: still running
  std::string ended_by;  // "" running, "reply" (responses), "solved"
  std::int64_t wall_seconds = 0;      // start → stop (or now), pauses excluded
  std::int64_t business_seconds = 0;  // the same on the calendar
  bool running() const { return stop == 0; }
};

struct TicketSpans {
  std::optional<Span> first_response;
  std::vector<Span> next_responses;  // oldest first; the last may be running
  std::optional<Span> resolution;
  std::optional<Span> resolution_since_reopen;
  std::vector<PauseSpan> pauses;  // pending_* pauses, oldest first
  std::vector<PauseSpan> solved;  // solved periods (the resolution clock stands still)
};

struct SpanOptions {
  const calendar::Calendar* calendar = nullptr;  // null: business seconds = wall-clock seconds
  Millis now = 0;                                // where running spans are measured to
};

// The spans of `ticket`. kInvalidArgument when an instant lies outside the calendar's years.
Result<TicketSpans> ComputeSpans(const store::TicketRecord& ticket, std::span<const store::TicketHistoryRecord> history,
                                 std::span<const store::TicketMessageRecord> messages, const SpanOptions& options);

// The pending_* pauses of a history, oldest first (to = 0 for one still lasting), and the solved
// periods (from solved to the reopen; to = 0 while solved).
std::vector<PauseSpan> PausesOf(std::span<const store::TicketHistoryRecord> history);
std::vector<PauseSpan> SolvedPeriodsOf(std::span<const store::TicketHistoryRecord> history);

// The instant at which `seconds` of clock time have elapsed since `start` (business seconds on
// `calendar`, wall-clock without one), the pauses not counting. nullopt while a pause that began
// before that instant still lasts (the due time is unknown until it ends). kInvalidArgument
// outside the calendar's years.
Result<std::optional<Millis>> DueAfter(Millis start, std::int64_t seconds, std::span<const PauseSpan> pauses,
                                       const calendar::Calendar* calendar);

// The step report's business time (Desk::Steps): business seconds on a calendar. `calendar` must
// outlive the meter. Instants outside its years count as 0.
class CalendarMeter final : public StepMeter {
 public:
  explicit CalendarMeter(const calendar::Calendar& calendar) : calendar_(calendar) {}
  double Seconds(Millis from, Millis to) const override;
  std::string_view unit() const override { return "business seconds"; }

 private:
  const calendar::Calendar& calendar_;
};

}  // namespace touchpoint::service
