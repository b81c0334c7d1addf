// insight/fcr.h — first-contact resolution, one rule (issue 16 item 2; docs/measurement.md,
// "First-contact resolution"):
//
//   a ticket is resolved at first contact when it was solved with exactly one agent reply, was
//   not reopened within the window after it was solved, and the same customer opened no new
//   ticket about the same intent within the window after it was solved (default 7 days).
//
// The rate is over the tickets solved in the period whose window has closed by `as_of` (a
// ticket solved yesterday cannot be judged yet, so it is left out rather than counted as a
// success), with a Wilson interval.
//
// Pure; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <touchpoint/core/ids.h>
#include <touchpoint/core/time.h>
#include <touchpoint/insight/kpi_stats.h>

namespace touchpoint::insight {

// What the rule needs of one ticket (the desk's records reduced).
struct TicketFacts {
  std::int64_t number = 0;
  CustomerId customer;
  std::string intent;           // of the first customer message; "" when none
  Millis created_at = 0;
  Millis first_solved_at = 0;   // 0: never solved
  std::int32_t agent_replies_before_solved = 0;  // public agent replies up to the first solve
  std::vector<Millis> reopened_at;               // every reopen
};

struct FcrResult {
  std::int64_t judged = 0;    // solved tickets whose window had closed
  std::int64_t resolved = 0;  // of them, resolved at first contact
  std::int64_t pending = 0;   // solved, window still open: not judged
  std::optional<double> rate;
  std::optional<Interval> ci;
  std::vector<std::int64_t> failed_numbers;  // evidence: the judged tickets that were not (first 100)
};

// `tickets` may be in any order; the rule looks up each customer's later tickets among them.
FcrResult FirstContactResolution(std::span<const TicketFacts> tickets, Millis as_of,
                                 Millis window = Millis{7} * 24 * 3600 * 1000);

}  // namespace touchpoint::insight
