// insight/scorecard_store.h — agent (and team) scorecards (insight/scorecard.h) over the desk's
// stored facts for a period: the service KPIs of each agent's (or team's) tickets (insight/kpis.h)
// become the scorecard's figures, figures the desk does not hold (script compliance, improvement
// suggestions, knowledge articles) come from a CSV when given, and each card comes with the
// evidence behind each number. `touchpoint scorecard` and GET /v1/scorecards print the same.
//
// Figures from the desk (docs/measurement.md, "Scorecards"), over the tickets created in the
// period and assigned to the agent (or their team):
//   csat                        the CSAT share (answers 4–5 of 1–5)
//   personalised_service_score  the mean CSAT answer (1–5): the desk's stand-in for the documents'
//                               personalised-service rating
//   first_response_hours        the mean first-response time, business hours
//   plan_delivery_working_days  the mean resolution time ÷ the calendar's mean working day
//   handling_minutes            the mean handling time, minutes
//   tickets_per_working_day     the tickets ÷ the working days of the period on the calendar
//   basic_resolution            the resolution rate (solved ÷ tickets)
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/calendar/calendar.h>
#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/insight/kpis.h>
#include <touchpoint/insight/scorecard.h>

namespace touchpoint::insight {

struct ScorecardQuery {
  std::string by = "agent";  // agent | team
  std::string who;           // one agent's user id or one team; "": everyone with tickets
  std::string period;        // "2026-11" (a month) or "FROM..TO" as given
  Millis from = 0, to = 0;   // the period, in the company's zone
};

// period: "2026-11" (that month in `zone`), or from/to dates (their midnights in `zone`); by:
// agent (default) or team. kInvalidArgument naming the parameter and what is valid.
Result<ScorecardQuery> ParseScorecardQuery(std::string_view by, std::string_view who, std::string_view period,
                                           std::string_view from, std::string_view to,
                                           const calendar::TimeZone& zone);

// The KPI query whose report ScorecardsFromKpis needs (metrics, grouping, the period).
KpiQuery ScorecardKpiQuery(const ScorecardQuery& query);

// Figures the desk does not hold, per group (agent id or team) and metric id.
using ExtraFigures = std::map<std::string, std::map<std::string, MetricValue>>;

// A CSV with the header `agent,metric,value[,samples]` (`team` instead of `agent` for team
// cards). kInvalidArgument "FILE:LINE: reason" for a malformed row; kNotFound when unreadable.
Result<ExtraFigures> ReadExtraFigures(const std::string& path);

struct ScorecardRow {
  std::string group;  // the agent's user id or the team
  std::int64_t tickets = 0;
  Scorecard card;
};

struct ScorecardReport {
  ScorecardQuery query;
  double working_days = 0;
  std::vector<ScorecardRow> rows;  // by total, best first (no total last)
};

// The cards of `report` (ComputeKpis over ScorecardKpiQuery). `calendar`: the desk's (working
// days and the working-day length); null: every day is a working day of 24 hours.
Result<ScorecardReport> ScorecardsFromKpis(const ScorecardSpec& spec, const ScorecardQuery& query,
                                           const KpiReport& report, const calendar::Calendar* calendar,
                                           const ExtraFigures& extra);

// {"by":…,"period":…,"from":…,"to":…,"working_days":…,"scorecards":[{"agent"|"team":…,"tickets":…,
// "total":…,"level":…,"unmet":[…],"dimensions":[{"name":…,"weight":…,"score":…,"metrics":[{"id":…,
// "value":…,"target":…,"direction":…,"attainment":…,"met":…,"samples":…}]}]}]}; no data: absent.
std::string ScorecardReportJson(const ScorecardReport& report);
// One line per card (total, level, each dimension's score) on a terminal.
std::string ScorecardReportTable(const ScorecardReport& report);

}  // namespace touchpoint::insight
