// cli/demo_desk.h — the demo's service desk: teams, agents with skills and shifts on the `cn`
// calendar, SLA policies, and a few thousand tickets with their whole history, made by replaying a
// year of contacts through the desk's real code paths (the engine's inbound feed, service::Desk,
// the router, the SLA timer and the complaint loop) on a simulated clock, so every row is one the
// desk itself wrote at the back-dated time (docs/service-desk.md, "The demo desk").
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>

namespace touchpoint::cli {

struct DemoDeskOptions {
  std::int64_t tickets = 3000;  // about this many tickets (first contacts, repeats and phone tickets)
  std::uint64_t seed = 42;      // same seed and data: the same desk
  Millis end = 0;               // exclusive end of the simulated window (the demo data's end)
  int days = 365;               // window length
};

struct DemoDeskStats {
  bool skipped = false;  // the store holds tickets already: nothing was done
  std::int64_t teams = 0;
  std::int64_t agents = 0;
  std::int64_t tickets = 0;
  std::int64_t customer_messages = 0;
  std::int64_t agent_actions = 0;
  std::int64_t complaints = 0;
  std::int64_t refunds = 0;  // tickets that went through the refund approval
  std::int64_t repeats = 0;  // contacts scheduled as 2nd or 3rd about the same intent
  std::int64_t reopens = 0;
  std::int64_t warnings = 0;
  std::int64_t breaches = 0;
  std::int64_t overdue_tasks = 0;
  std::int64_t routing_example = 0;  // a ticket whose routing was decided by a rule above least_loaded
  double seconds = 0;
};

// Builds the demo desk in the data directory (its store as cli/data_access.h opens it), over the
// demo's customers `users` (user ids of the ingested demo data). Takes the writer lock while it
// runs. Deterministic for a given seed, data set and options. skipped when tickets exist.
Result<DemoDeskStats> BuildDemoDesk(const std::string& data_dir, std::span<const std::string> users,
                                    const DemoDeskOptions& options);

}  // namespace touchpoint::cli
