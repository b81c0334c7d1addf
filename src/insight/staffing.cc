#include <touchpoint/insight/staffing.h>

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include <touchpoint/ml/erlang.h>

namespace touchpoint::insight {

Status ValidateStaffingRequest(const StaffingRequest& r) {
  auto bad = [](const std::string& what) { return Status::InvalidArgument("staffing: " + what); };
  if (!std::isfinite(r.calls_per_hour) || r.calls_per_hour < 0) {
    return bad("calls per hour must be ≥ 0");
  }
  if (!std::isfinite(r.aht_seconds) || r.aht_seconds <= 0) return bad("AHT must be > 0 seconds");
  if (!(r.target_level > 0 && r.target_level < 1)) {
    return bad("target level must be between 0 and 1 (exclusive), e.g. 0.8");
  }
  if (!std::isfinite(r.target_seconds) || r.target_seconds < 0) {
    return bad("target seconds must be ≥ 0");
  }
  if (!(r.max_occupancy > 0 && r.max_occupancy <= 1)) {
    return bad("max occupancy must be in (0, 1]; 1 means no cap");
  }
  if (!(r.shrinkage >= 0 && r.shrinkage < 1)) return bad("shrinkage must be in [0, 1)");
  return Status::Ok();
}

Result<StaffingPlan> PlanStaffing(const StaffingRequest& r) {
  TP_RETURN_IF_ERROR(ValidateStaffingRequest(r));
  StaffingPlan plan;
  plan.calls_per_hour = r.calls_per_hour;
  const double a = r.calls_per_hour * r.aht_seconds / 3600.0;
  plan.traffic_erlangs = a;
  if (a <= 0) return plan;
  // Lower bound: a stable queue (n > a) within the occupancy cap (a / n ≤ cap).
  std::int64_t n = static_cast<std::int64_t>(std::floor(a)) + 1;
  if (r.max_occupancy < 1) {
    n = std::max(n, static_cast<std::int64_t>(std::ceil(a / r.max_occupancy - 1e-9)));
  }
  double b = ml::ErlangB(n, a);
  while (true) {
    double nn = static_cast<double>(n);
    double c = ml::ErlangCFromB(n, a, b);
    double sl = 1.0 - c * std::exp(-(nn - a) * r.target_seconds / r.aht_seconds);
    if (sl >= r.target_level) {
      plan.agents = n;
      plan.service_level = sl;
      plan.occupancy = a / nn;
      plan.asa_seconds = c * r.aht_seconds / (nn - a);
      break;
    }
    ++n;
    double ab = a * b;  // Erlang B recursion one step up
    b = ab / (static_cast<double>(n) + ab);
  }
  plan.scheduled_agents = static_cast<std::int64_t>(
      std::ceil(static_cast<double>(plan.agents) / (1.0 - r.shrinkage) - 1e-9));
  return plan;
}

std::string StaffingPlanJson(const StaffingPlan& plan, std::string_view time) {
  nlohmann::ordered_json j;
  if (!time.empty()) j["time"] = std::string(time);
  j["agents"] = plan.agents;
  j["service_level"] = plan.service_level;
  j["occupancy"] = plan.occupancy;
  j["asa_seconds"] = plan.asa_seconds;
  j["scheduled_agents"] = plan.scheduled_agents;
  j["traffic_erlangs"] = plan.traffic_erlangs;
  j["calls_per_hour"] = plan.calls_per_hour;
  return j.dump();
}

Result<std::vector<HourlyStaffing>> PlanStaffingForForecast(const ml::RawTable& forecast,
                                                            const StaffingRequest& request) {
  TP_ASSIGN_OR_RETURN(size_t time_col, forecast.Require("time"));
  TP_ASSIGN_OR_RETURN(size_t value_col, forecast.Require("forecast"));
  std::vector<HourlyStaffing> out;
  out.reserve(forecast.rows.size());
  for (size_t r = 0; r < forecast.rows.size(); ++r) {
    double calls = 0;
    const std::string& cell = forecast.rows[r][value_col];
    if (!ml::ParseNumberCell(cell, &calls)) {
      return Status::InvalidArgument(forecast.source + ":" + std::to_string(forecast.lines[r]) +
                                     ": column 'forecast': cannot parse '" + cell +
                                     "' as a number");
    }
    StaffingRequest hour = request;
    hour.calls_per_hour = std::max(0.0, calls);
    TP_ASSIGN_OR_RETURN(StaffingPlan plan, PlanStaffing(hour));
    out.push_back({forecast.rows[r][time_col], plan});
  }
  return out;
}

}  // namespace touchpoint::insight
