// insight/funnel.h — funnels over any ordered list of event names (issue 16 item 3): how many
// people reach each step within a conversion window, step-to-step conversion and drop-off, and
// the time between steps, optionally broken down by a property of the person's first step.
//
// The definitions (docs/measurement.md, "Funnels"), per person, over their events in time order:
//  - an **attempt** starts at an occurrence of step 1 and must reach every later step before
//    start + window (inclusive);
//  - **ordered**: the steps occur in order, other events in between allowed; each step is taken
//    at its earliest occurrence after the previous step (which reaches every step as early as
//    any other choice could);
//  - **strict**: the steps are consecutive events of the person (any other event in between
//    ends the attempt);
//  - **any order**: the steps occur in any order, each counted once; step k is reached when k
//    distinct steps have occurred (the attempt starts at any event of a step);
//  - the person reaches the furthest step of any attempt; the attempt counted (its times and its
//    breakdown value) is the earliest one that reaches it.
// Events at the same millisecond keep their input order.
//
// Pure; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/insight/kpi_stats.h>

namespace touchpoint::insight {

enum class FunnelMode { kOrdered, kStrict, kAnyOrder };

struct FunnelEvent {
  std::string name;
  Millis at = 0;
  std::string breakdown;  // the property value to group by (used from the attempt's start)
};

// One person's events, in time order (REQUIRES: sorted by `at`).
using FunnelPath = std::vector<FunnelEvent>;

struct FunnelSpec {
  std::vector<std::string> steps;  // ≥ 2 names (a name may repeat in ordered/strict mode)
  FunnelMode mode = FunnelMode::kOrdered;
  Millis window = Millis{14} * 24 * 3600 * 1000;  // 14 days
};

// What one person reached: 0 when they never did step 1; the times of the steps reached.
struct FunnelOutcome {
  int reached = 0;
  std::vector<Millis> times;  // reached entries
  std::string breakdown;
};
FunnelOutcome EvaluateFunnel(const FunnelSpec& spec, std::span<const FunnelEvent> path);

struct FunnelStep {
  std::string name;
  std::int64_t count = 0;            // people who reached this step
  double conversion_from_previous = 0;  // count / previous count (1 for step 1; 0 when previous is 0)
  double conversion_from_first = 0;
  std::int64_t drop_off = 0;         // previous count − count (0 for step 1)
  DurationSummary seconds_from_previous;  // of the people who reached this step
};
struct FunnelGroup {
  std::string breakdown;  // "" without a breakdown
  std::vector<FunnelStep> steps;
  DurationSummary seconds_to_convert;  // first step → last step, of those who converted
};

// Accumulates outcomes into per-breakdown groups (in first-seen order, the overall group first
// when `overall`).
class FunnelReport {
 public:
  // kInvalidArgument for fewer than two steps, an empty step name or a non-positive window.
  static Result<FunnelReport> Create(FunnelSpec spec, bool by_breakdown);
  void Add(std::span<const FunnelEvent> path);
  std::vector<FunnelGroup> Groups() const;
  const FunnelSpec& spec() const { return spec_; }

 private:
  struct Acc {
    std::string breakdown;
    std::vector<std::int64_t> counts;
    std::vector<std::vector<double>> gaps;  // seconds from the previous step, per step
    std::vector<double> total;
  };
  FunnelReport(FunnelSpec spec, bool by_breakdown) : spec_(std::move(spec)), by_breakdown_(by_breakdown) {}
  Acc& Group(const std::string& breakdown);
  FunnelSpec spec_;
  bool by_breakdown_ = false;
  std::vector<Acc> groups_;
};

}  // namespace touchpoint::insight
