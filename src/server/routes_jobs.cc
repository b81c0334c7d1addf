// Analytics jobs over HTTP: start one in the background, read its record, list recent ones. The
// jobs themselves, their parameters and results: insight/jobs.h and docs/analytics.md ("Jobs").
#include <charconv>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>
#include <touchpoint/core/strings.h>
#include <touchpoint/insight/job_runner.h>

#include "server/routes.h"

namespace touchpoint::server {
namespace {

// The job runner's statuses as the API documents them (job_runner.h).
http::Response StartError(const Status& s) {
  switch (s.code()) {
    case StatusCode::kNotFound: return http::JsonError(404, "unknown_job", s.message());
    case StatusCode::kInvalidArgument: return http::JsonError(400, "invalid_parameters", s.message());
    case StatusCode::kAlreadyExists: return http::JsonError(409, "job_running", s.message());
    default: return ResponseFromStatus(s);
  }
}

}  // namespace

void RegisterJobsRoutes(Router& router, const ServerContext& context) {
  // POST /v1/jobs/{job}: `job` is a job name (rfm, ltv, kmeans, churn, rules, forecast, staffing);
  // the body is its parameters as a JSON object (empty: defaults).
  router.Add({"POST", "/v1/jobs/{job}", privacy::Permission::kRunJobs,
              [&context](const http::Request& req, const RouteMatch& match) {
                std::string params = req.body;
                if (TrimView(params, kJsonWhitespace).empty()) params = "{}";
                auto id = context.jobs->Start(match.Param("job"), std::move(params), "api");
                if (!id.ok()) return StartError(id.status());
                RecordAudit(context, req, match, "job.start", "job:" + std::to_string(*id),
                            nlohmann::json({{"name", std::string(match.Param("job"))}}).dump());
                nlohmann::ordered_json body = {
                    {"id", *id}, {"name", std::string(match.Param("job"))}, {"state", "queued"}};
                http::Response r = JsonResponse(202, body.dump());
                r.headers.emplace_back("Location", "/v1/jobs/" + std::to_string(*id));
                return r;
              }});

  // GET /v1/jobs/{job}: `job` is a job id.
  router.Add({"GET", "/v1/jobs/{job}", privacy::Permission::kReadJobs,
              [&context](const http::Request&, const RouteMatch& match) {
                const std::string_view text = match.Param("job");
                std::int64_t id = 0;
                auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), id);
                if (err != std::errc() || end != text.data() + text.size() || id <= 0) {
                  return http::JsonError(404, "not_found", "no job with this id (ids are positive integers)");
                }
                auto record = context.jobs->Find(id);
                if (!record.ok()) return ResponseFromStatus(record.status());
                if (!record->has_value()) return http::JsonError(404, "not_found", "no job with this id");
                return JsonResponse(200, insight::JobRecordJson(**record));
              }});

  router.Add({"GET", "/v1/jobs", privacy::Permission::kReadJobs,
              [&context](const http::Request&, const RouteMatch&) {
                auto recent = context.jobs->Recent(50);
                if (!recent.ok()) return ResponseFromStatus(recent.status());
                std::string body = "{\"jobs\":[";
                for (size_t i = 0; i < recent->size(); ++i) {
                  if (i > 0) body += ',';
                  body += insight::JobRecordJson((*recent)[i]);
                }
                body += "],\"next_scheduled_run\":";
                const auto next = context.jobs->next_scheduled_run();
                body += next ? nlohmann::json(FormatTimestamp(*next)).dump() : "null";
                body += '}';
                return JsonResponse(200, std::move(body));
              }});
}

}  // namespace touchpoint::server
