// Analytics over the stored events (docs/measurement.md "Funnels" and "Journeys"; docs/http-api.md):
// GET /v1/funnels and GET /v1/journeys[/{name}]. Each reads the event log, the messages and the
// surveys in one scan on a read-only connection of the analytics pool (ServerContext::analytics),
// never the writer's: any node answers them, and a long scan does not hold the writer up.
// Aggregates only (counts, shares, durations): read_analytics.
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <touchpoint/http/query.h>
#include <touchpoint/insight/funnel_store.h>
#include <touchpoint/insight/journey_store.h>
#include <touchpoint/privacy/roles.h>

#include "server/read_pool_internal.h"
#include "server/routes.h"

namespace touchpoint::server {
namespace {

// Runs `fn` on a store borrowed from the analytics pool.
template <typename T, typename F>
Result<T> OnReader(const ServerContext& context, F&& fn) {
  if (context.analytics == nullptr) return Status::Unavailable("analytics are not available on this node");
  TP_ASSIGN_OR_RETURN(ReadPool::Borrowed store, context.analytics->Borrow());
  Result<T> r = fn(*store);
  if (!r.ok() && r.status().code() == StatusCode::kUnavailable) store.Discard();
  return r;
}

std::vector<insight::JourneySpec> Journeys(const ServerContext& context) {
  return insight::KnownJourneys(context.config != nullptr ? context.config->journeys
                                                          : std::vector<insight::JourneySpec>{});
}

}  // namespace

void RegisterAnalyticsRoutes(Router& router, const ServerContext& context) {
  router.Add({"GET", "/v1/funnels", privacy::Permission::kReadAnalytics,
              [&context](const http::Request& req, const RouteMatch&) {
                auto p = QueryParams<6>(req, {"steps", "mode", "window", "by", "from", "to"});
                if (!p.ok()) return ResponseFromStatus(p.status());
                const auto& v = *p;
                if (v[0].empty()) {
                  return http::JsonError(400, "invalid_argument",
                                         "steps: required — comma-separated event names, in order (e.g. "
                                         "steps=Product Viewed,Order Completed)");
                }
                auto query = insight::ParseFunnelQuery(v[0], v[1], v[2], v[3], v[4], v[5]);
                if (!query.ok()) return ResponseFromStatus(query.status());
                auto groups = OnReader<std::vector<insight::FunnelGroup>>(
                    context, [&](store::Store& store) { return insight::FunnelOverStore(store, *query); });
                if (!groups.ok()) return ResponseFromStatus(groups.status());
                return JsonResponse(200, insight::FunnelJson(*query, *groups));
              },
              Served::kByAnyNode});

  router.Add({"GET", "/v1/journeys", privacy::Permission::kReadAnalytics,
              [&context](const http::Request&, const RouteMatch&) {
                nlohmann::ordered_json list = nlohmann::ordered_json::array();
                for (const auto& j : Journeys(context)) {
                  nlohmann::ordered_json stages = nlohmann::ordered_json::array();
                  for (const auto& s : j.stages) {
                    nlohmann::ordered_json st = {{"name", s.name}, {"events", s.events}};
                    if (s.target_dwell_seconds) st["target_dwell_seconds"] = *s.target_dwell_seconds;
                    stages.push_back(std::move(st));
                  }
                  list.push_back({{"name", j.name}, {"stages", std::move(stages)}});
                }
                return JsonResponse(200, nlohmann::ordered_json{{"journeys", std::move(list)}}.dump());
              },
              Served::kByAnyNode});

  router.Add({"GET", "/v1/journeys/{name}", privacy::Permission::kReadAnalytics,
              [&context](const http::Request& req, const RouteMatch& match) {
                const std::string name(match.Param("name"));
                const auto journeys = Journeys(context);
                const insight::JourneySpec* spec = insight::FindJourney(journeys, name);
                if (spec == nullptr) {
                  return http::JsonError(404, "not_found",
                                         "no journey named \"" + name + "\"; configured: " + insight::JourneyNames(journeys) +
                                             " ([[journeys]] in the config, docs/measurement.md)");
                }
                auto p = QueryParams<2>(req, {"from", "to"});
                if (!p.ok()) return ResponseFromStatus(p.status());
                auto query = insight::MakeJourneyQuery(*spec, (*p)[0], (*p)[1]);
                if (!query.ok()) return ResponseFromStatus(query.status());
                auto result = OnReader<insight::JourneyResult>(
                    context, [&](store::Store& store) { return insight::JourneyOverStore(store, *query); });
                if (!result.ok()) return ResponseFromStatus(result.status());
                return JsonResponse(200, insight::JourneyJson(*query, *result));
              },
              Served::kByAnyNode});
}

}  // namespace touchpoint::server
