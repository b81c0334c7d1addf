// Service KPI routes (docs/measurement.md "Service KPIs"; docs/http-api.md): GET /v1/kpis computes
// the asked metrics from the desk's stored facts and spans (insight/kpis.h), grouped by one
// dimension and bucketed in the company's time zone (the zone of the desk's calendar, [sla]
// calendar; UTC without one): from the in-memory roll-ups when they cover the query, else from
// the stored facts. Aggregates only, never a ticket's text: read_desk_reports.
#include <string>
#include <string_view>

#include <touchpoint/calendar/time_zone.h>
#include <touchpoint/core/time.h>
#include <touchpoint/http/query.h>
#include <touchpoint/insight/kpis.h>
#include <touchpoint/insight/scorecard_store.h>
#include <touchpoint/privacy/roles.h>
#include <touchpoint/service/desk.h>
#include <touchpoint/service/sla.h>

#include "server/routes.h"

namespace touchpoint::server {
namespace {

// The desk's calendar ([sla] calendar; null without one) and the company's zone it gives (UTC
// without one): KPI buckets, dates and scorecard periods are read in it.
const calendar::Calendar* DeskCalendar(const ServerContext& context) {
  return context.sla != nullptr ? context.sla->DefaultCalendar() : nullptr;
}
const calendar::TimeZone& DeskZone(const calendar::Calendar* cal) {
  static const calendar::TimeZone kUtc = calendar::TimeZone::Fixed("UTC", 0);
  return cal != nullptr ? cal->zone() : kUtc;
}

}  // namespace

void RegisterKpiRoutes(Router& router, const ServerContext& context) {
  router.Add({"GET", "/v1/kpis", privacy::Permission::kReadDeskReports,
              [&context](const http::Request& req, const RouteMatch&) {
                if (context.desk == nullptr) {
                  return http::JsonError(503, "unavailable", "the service desk is not running on this node");
                }
                auto p = QueryParams<6>(req, {"metrics", "by", "interval", "from", "to", "unit"});
                if (!p.ok()) return ResponseFromStatus(p.status());
                const auto& values = *p;
                const calendar::Calendar* cal = DeskCalendar(context);
                const calendar::TimeZone& zone = DeskZone(cal);
                auto query = insight::ParseKpiQuery(values[0], values[1], values[2], values[3], values[4], values[5], zone);
                if (!query.ok()) return ResponseFromStatus(query.status());
                query->as_of = SystemClock::Instance().Now();
                // The roll-ups answer what they hold; the rest reads the stored facts.
                if (context.kpi_rollup != nullptr && context.kpi_rollup->Covers(*query)) {
                  auto report = context.kpi_rollup->Compute(*query);
                  if (!report.ok()) return ResponseFromStatus(report.status());
                  return JsonResponse(200, insight::KpiReportJson(*report));
                }
                auto data = context.desk->WithStore(
                    [&](store::Store& store) -> Result<insight::KpiData> { return insight::LoadKpiData(store, *query); });
                if (!data.ok()) return ResponseFromStatus(data.status());
                auto report = insight::ComputeKpis(*query, *data, zone);
                if (!report.ok()) return ResponseFromStatus(report.status());
                return JsonResponse(200, insight::KpiReportJson(*report));
              }});

  // Agent (or team) scorecards for a period from the same stored facts (insight/scorecard_store.h):
  // the documents' dimensions and levels; figures the desk does not hold are "no data" here.
  router.Add({"GET", "/v1/scorecards", privacy::Permission::kReadDeskReports,
              [&context](const http::Request& req, const RouteMatch&) {
                if (context.desk == nullptr) {
                  return http::JsonError(503, "unavailable", "the service desk is not running on this node");
                }
                auto p = QueryParams<6>(req, {"by", "agent", "team", "period", "from", "to"});
                if (!p.ok()) return ResponseFromStatus(p.status());
                const auto& values = *p;
                if (!values[1].empty() && !values[2].empty()) {
                  return http::JsonError(400, "invalid_argument", "agent, team: give one of them");
                }
                std::string by = values[0];
                if (by.empty() && !values[2].empty()) by = "team";
                const calendar::Calendar* cal = DeskCalendar(context);
                const calendar::TimeZone& zone = DeskZone(cal);
                auto query = insight::ParseScorecardQuery(by, values[1].empty() ? values[2] : values[1], values[3],
                                                          values[4], values[5], zone);
                if (!query.ok()) return ResponseFromStatus(query.status());
                insight::KpiQuery kq = insight::ScorecardKpiQuery(*query);
                kq.as_of = SystemClock::Instance().Now();
                auto data = context.desk->WithStore(
                    [&](store::Store& store) -> Result<insight::KpiData> { return insight::LoadKpiData(store, kq); });
                if (!data.ok()) return ResponseFromStatus(data.status());
                auto kpis = insight::ComputeKpis(kq, *data, zone);
                if (!kpis.ok()) return ResponseFromStatus(kpis.status());
                auto report = insight::ScorecardsFromKpis(insight::DefaultScorecard(), *query, *kpis, cal, {});
                if (!report.ok()) return ResponseFromStatus(report.status());
                return JsonResponse(200, insight::ScorecardReportJson(*report));
              }});
}

}  // namespace touchpoint::server
