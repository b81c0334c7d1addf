#include <touchpoint/insight/job_contacts.h>

#include <string>

#include <nlohmann/json.hpp>
#include <touchpoint/insight/customer_features.h>
#include <touchpoint/ml/tabular.h>

#include "insight/job_params_internal.h"

namespace touchpoint::insight {
namespace {

using Json = nlohmann::ordered_json;

void ReadForecastParams(internal::ParamReader& r, ContactForecastParams* p) {
  r.Int("season", 2, 100'000, &p->season);
  r.Int("horizon", 1, 100'000, &p->horizon);
  r.Time("since", [](std::string_view t) { return ParseTimestamp(t); }, &p->since);
}

}  // namespace

Result<ContactForecastParams> ParseForecastJobParams(std::string_view json) {
  TP_ASSIGN_OR_RETURN(internal::ParamReader r, internal::ParamReader::Parse(json));
  ContactForecastParams p;
  ReadForecastParams(r, &p);
  TP_RETURN_IF_ERROR(r.Finish());
  return p;
}

ActivityRequest ContactActivityRequest() {
  return {.orders = false, .order_ids = false, .items = false, .messages = true, .seen = false};
}

Result<ForecastJobResult> RunForecastJob(const ContactForecastParams& params, ActivitySource& source,
                                         const JobContext& context) {
  context.Report("loading");
  TP_ASSIGN_OR_RETURN(Activity activity, source.Load(ContactActivityRequest()));
  return RunForecastJob(params, activity, context);
}

Result<ForecastJobResult> RunForecastJob(const ContactForecastParams& params, const Activity& activity,
                                         const JobContext& context) {
  TP_RETURN_IF_ERROR(context.CheckCancelled());
  context.Report("computing");
  const std::vector<SeriesPoint> series = HourlyContactVolume(activity.messages, params.since);
  if (series.empty()) {
    std::string since;
    if (params.since != 0) {
      since = " since " + (context.param_style == ParamStyle::kCliFlag ? context.Param("since")
                                                                         : FormatTimestamp(params.since));
    }
    return Status::InvalidArgument(context.Where() + "no customer messages ingested" + since);
  }
  ForecastRequest request;
  request.season = params.season;
  request.horizon = params.horizon;
  auto report = RunForecast(series, request);
  if (!report.ok()) {
    return Status::InvalidArgument(context.Where() + "hourly contact volume (" + std::to_string(series.size()) +
                                   " hours): " + report.status().message());
  }
  return ForecastJobResult{.params = params, .hours = series.size(), .report = std::move(*report)};
}

std::string ForecastJobResult::ToJson() const {
  Json j = Json::parse(ForecastSummaryJson(report));
  j["series"] = "contacts per hour (messages from customers)";
  j["hours"] = hours;
  Json rows = Json::array();
  for (const auto& r : report.rows) {
    rows.push_back({{"time", report.dates_only ? FormatDate(r.time) : FormatTimestamp(r.time)},
                    {"forecast", r.forecast},
                    {"lower", r.lower},
                    {"upper", r.upper}});
  }
  j["forecast"] = std::move(rows);
  return j.dump();
}

Result<StaffingJobParams> ParseStaffingJobParams(std::string_view json) {
  TP_ASSIGN_OR_RETURN(internal::ParamReader r, internal::ParamReader::Parse(json));
  StaffingJobParams p;
  ReadForecastParams(r, &p.forecast);
  if (!r.Has("aht_seconds")) r.Fail("aht_seconds", "required (the average handling time in seconds)");
  r.Number("aht_seconds", &p.request.aht_seconds);
  r.Number("target_level", &p.request.target_level);
  r.Number("target_seconds", &p.request.target_seconds);
  r.Number("max_occupancy", &p.request.max_occupancy);
  r.Number("shrinkage", &p.request.shrinkage);
  TP_RETURN_IF_ERROR(r.Finish());
  TP_RETURN_IF_ERROR(ValidateStaffingRequest(p.request));
  return p;
}

Result<StaffingJobResult> RunStaffingJob(const StaffingJobParams& params, ActivitySource& source,
                                         const JobContext& context) {
  TP_RETURN_IF_ERROR(ValidateStaffingRequest(params.request));
  context.Report("loading");
  TP_ASSIGN_OR_RETURN(Activity activity, source.Load(ContactActivityRequest()));
  return RunStaffingJob(params, activity, context);
}

Result<StaffingJobResult> RunStaffingJob(const StaffingJobParams& params, const Activity& activity,
                                         const JobContext& context) {
  TP_RETURN_IF_ERROR(ValidateStaffingRequest(params.request));
  TP_ASSIGN_OR_RETURN(ForecastJobResult forecast, RunForecastJob(params.forecast, activity, context));
  // Through the forecast's CSV text, as `staffing --forecast FILE` reads it: the plans are
  // computed from the same rounded values a user sees.
  TP_ASSIGN_OR_RETURN(ml::RawTable table,
                      ml::ParseCsvTable(ForecastCsv(forecast.report),
                                        context.source.empty() ? "contact forecast" : context.source + " (contact forecast)"));
  TP_ASSIGN_OR_RETURN(std::vector<HourlyStaffing> plans, PlanStaffingForForecast(table, params.request));
  return StaffingJobResult{.forecast = std::move(forecast), .plans = std::move(plans)};
}

std::string StaffingJobResult::ToJson() const {
  std::string text = "{\"forecast\":" + ForecastSummaryJson(forecast.report) + ",\"plans\":[";
  for (size_t i = 0; i < plans.size(); ++i) {
    if (i > 0) text += ',';
    text += StaffingPlanJson(plans[i].plan, plans[i].time);
  }
  return text + "]}";
}

}  // namespace touchpoint::insight
