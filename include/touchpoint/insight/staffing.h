// insight/staffing.h — contact-centre staffing with Erlang C: the fewest agents that meet a
// service-level target (X % of calls answered within T seconds) under an occupancy cap, and
// the head count to schedule after shrinkage. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/ml/tabular.h>

namespace touchpoint::insight {

struct StaffingRequest {
  double calls_per_hour = 0;
  double aht_seconds = 0;       // average handling time
  double target_level = 0.8;    // fraction answered within target_seconds, in (0, 1)
  double target_seconds = 20;
  double max_occupancy = 0.85;  // in (0, 1]; 1 = no cap
  double shrinkage = 0.3;       // fraction of paid time not on the phones, in [0, 1)
};

struct StaffingPlan {
  double calls_per_hour = 0;
  double traffic_erlangs = 0;
  std::int64_t agents = 0;            // on the phones
  double service_level = 1;
  double occupancy = 0;
  double asa_seconds = 0;             // average speed of answer
  std::int64_t scheduled_agents = 0;  // agents / (1 − shrinkage), rounded up
};

// kInvalidArgument naming the first out-of-range field.
Status ValidateStaffingRequest(const StaffingRequest& request);

// The smallest agent count n > traffic with service level ≥ target and occupancy ≤ cap.
// Zero calls need zero agents. Fails with kInvalidArgument for an invalid request.
Result<StaffingPlan> PlanStaffing(const StaffingRequest& request);

// {"agents":N,"service_level":…,"occupancy":…,"asa_seconds":…,"scheduled_agents":…,
//  "traffic_erlangs":…,"calls_per_hour":…} with "time" first when `time` is not empty.
std::string StaffingPlanJson(const StaffingPlan& plan, std::string_view time = {});

struct HourlyStaffing {
  std::string time;
  StaffingPlan plan;
};

// One plan per row of a forecast table (columns `time` and `forecast`, as written by
// `touchpoint forecast`), the forecast being calls per hour (negative values count as 0).
// Fails with kInvalidArgument naming file, line and column for a missing column or a bad number.
Result<std::vector<HourlyStaffing>> PlanStaffingForForecast(const ml::RawTable& forecast,
                                                            const StaffingRequest& request);

}  // namespace touchpoint::insight
