// `touchpoint scorecard`: agent (or team) scorecards over the desk's stored facts for a period
// (insight/scorecard_store.h; docs/measurement.md "Scorecards") — the documents' weighted
// dimensions and levels with the evidence behind each number, as a table on a terminal or JSON
// (what GET /v1/scorecards answers). Figures the desk does not hold come from --figures.
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include <touchpoint/calendar/calendar.h>
#include <touchpoint/core/time.h>
#include <touchpoint/insight/kpis.h>
#include <touchpoint/insight/scorecard_store.h>
#include <touchpoint/service/sla.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/data_access.h"
#include "cli/desk_access.h"

namespace touchpoint::cli {
namespace {

struct ScorecardArgs {
  std::string data = DefaultDataDir();
  std::string by, who, period, from, to, figures, calendar, format;
};

Result<insight::ScorecardReport> BuildScorecards(const ScorecardArgs& a) {
  auto store = OpenReadOnly(a.data);
  if (!store.ok()) return Status::Unavailable(store.status().message());
  TP_ASSIGN_OR_RETURN(std::shared_ptr<service::SlaSetup> setup, CliSlaSetup(**store, a.data, a.calendar));
  const calendar::Calendar* cal = setup->default_calendar();
  static const calendar::TimeZone kUtc = calendar::TimeZone::Fixed("UTC", 0);
  const calendar::TimeZone& zone = cal != nullptr ? cal->zone() : kUtc;
  TP_ASSIGN_OR_RETURN(insight::ScorecardQuery query,
                      insight::ParseScorecardQuery(a.by, a.who, a.period, a.from, a.to, zone));
  insight::ExtraFigures extra;
  if (!a.figures.empty()) {
    TP_ASSIGN_OR_RETURN(extra, insight::ReadExtraFigures(a.figures));
  }
  insight::KpiQuery kq = insight::ScorecardKpiQuery(query);
  kq.as_of = SystemClock::Instance().Now();
  TP_ASSIGN_OR_RETURN(insight::KpiData data, insight::LoadKpiData(**store, kq));
  TP_ASSIGN_OR_RETURN(insight::KpiReport kpis, insight::ComputeKpis(kq, data, zone));
  return insight::ScorecardsFromKpis(insight::DefaultScorecard(), query, kpis, cal, extra);
}

}  // namespace

void RegisterScorecardCommands(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<ScorecardArgs>();
  CLI::App* cmd = app.add_subcommand(
      "scorecard", "Agent (or team) scorecards for a period: weighted dimensions, levels and the evidence");
  cmd->add_option("--data", a->data, "Data directory");
  cmd->add_option("--period", a->period, "A month (2026-11), in the desk calendar's zone");
  cmd->add_option("--from", a->from, "Instead of --period: tickets created at or after (a date: its midnight)");
  cmd->add_option("--to", a->to, "… and before");
  cmd->add_option("--by", a->by, "agent (default) or team");
  cmd->add_option("--agent,--team", a->who, "Only this agent (user id) or team");
  cmd->add_option("--figures", a->figures,
                  "CSV of figures the desk does not hold: agent,metric,value[,samples] (e.g. script_compliance)");
  cmd->add_option("--calendar", a->calendar, "The desk's calendar (default: [sla] calendar of DATA/touchpoint.toml)");
  cmd->add_option("--format", a->format, "json or table (default: table on a terminal, else json)");
  cmd->callback([a, exit_code] {
    auto chosen = ReportFormat(a->format);
    if (!chosen.ok()) {
      *exit_code = Fail(chosen.status());
      return;
    }
    const std::string& format = *chosen;
    auto report = BuildScorecards(*a);
    if (!report.ok()) {
      *exit_code = Fail(report.status());
      return;
    }
    const std::string out = format == "json" ? insight::ScorecardReportJson(*report) + "\n"
                                             : insight::ScorecardReportTable(*report);
    std::fwrite(out.data(), 1, out.size(), stdout);
  });
}

}  // namespace touchpoint::cli
