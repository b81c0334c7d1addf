// insight/job_contacts.h — the `forecast` and `staffing` jobs over the hourly contact volume
// (messages from customers, insight/customer_features.h): a Holt-Winters forecast, and an
// Erlang C staffing plan for each forecast hour. Write no tags. Thread-compatible.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/insight/forecast_job.h>
#include <touchpoint/insight/jobs.h>
#include <touchpoint/insight/staffing.h>

namespace touchpoint::insight {

struct ContactForecastParams {
  size_t season = 168;  // hours (168 = weekly), in [2, 100000]
  size_t horizon = 24;  // hours to forecast, in [1, 100000]
  Millis since = 0;     // only contacts at or after this (0 = all)
};

// {"season": 168, "horizon": 24, "since": "2026-09-01" (core ParseTimestamp forms)}
Result<ContactForecastParams> ParseForecastJobParams(std::string_view json);

struct ForecastJobResult {
  ContactForecastParams params;
  size_t hours = 0;  // points of the hourly series
  ForecastReport report;
  // ForecastSummaryJson's fields, "series", "hours", "forecast":[{"time","forecast","lower","upper"}]
  std::string ToJson() const;
};

// kInvalidArgument "SOURCE: no customer messages ingested[ since …]", or "SOURCE: hourly contact
// volume (N hours): <the forecast's error>".
ActivityRequest ContactActivityRequest();
Result<ForecastJobResult> RunForecastJob(const ContactForecastParams& params, ActivitySource& source,
                                         const JobContext& context);
Result<ForecastJobResult> RunForecastJob(const ContactForecastParams& params, const Activity& activity,
                                         const JobContext& context);

struct StaffingJobParams {
  ContactForecastParams forecast;
  StaffingRequest request;  // calls_per_hour unused: each hour's forecast
};

// The forecast's parameters plus {"aht_seconds" (required), "target_level": 0.8,
// "target_seconds": 20, "max_occupancy": 0.85, "shrinkage": 0.3}; also ValidateStaffingRequest.
Result<StaffingJobParams> ParseStaffingJobParams(std::string_view json);

struct StaffingJobResult {
  ForecastJobResult forecast;
  std::vector<HourlyStaffing> plans;  // one per forecast hour
  // {"forecast": ForecastSummaryJson, "plans":[StaffingPlanJson with "time"]}
  std::string ToJson() const;
};

// ValidateStaffingRequest's errors first, then the forecast's.
Result<StaffingJobResult> RunStaffingJob(const StaffingJobParams& params, ActivitySource& source,
                                         const JobContext& context);
Result<StaffingJobResult> RunStaffingJob(const StaffingJobParams& params, const Activity& activity,
                                         const JobContext& context);

}  // namespace touchpoint::insight
