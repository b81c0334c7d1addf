// `touchpoint kpi`: the service KPIs over the desk's stored facts and spans (insight/kpis.h;
// docs/measurement.md "Service KPIs") — the same report GET /v1/kpis answers, as JSON, CSV or a
// table — and `touchpoint kpi rebuild`, which recomputes every ticket's spans from its history
// (insight/kpi_facts.h) on the stored SLA policies' calendars.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <touchpoint/calendar/calendar.h>
#include <touchpoint/calendar/calendar_file.h>
#include <touchpoint/calendar/time_zone.h>
#include <touchpoint/core/time.h>
#include <touchpoint/insight/kpi_facts.h>
#include <touchpoint/insight/kpis.h>
#include <touchpoint/insight/report_html.h>
#include <touchpoint/server/config.h>
#include <touchpoint/service/desk.h>
#include <touchpoint/service/sla.h>
#include <touchpoint/store/sla_repository.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/data_access.h"
#include "cli/desk_access.h"
#include "cli/report_assets.h"

namespace touchpoint::cli {
namespace {

// The measure of the CLI's desk and of `kpi rebuild`, as the server's (CliSlaSetup: the stored
// SLA policies, then [[sla.policies]] of DATA/touchpoint.toml, their calendars, [sla] calendar or
// `calendar_override`). Customer tiers are not known here ("").
Result<insight::MeasureFn> CliKpiMeasure(store::Store& store, const std::string& data_dir,
                                         const std::string& calendar_override) {
  TP_ASSIGN_OR_RETURN(std::shared_ptr<service::SlaSetup> setup, CliSlaSetup(store, data_dir, calendar_override));
  return insight::MeasureFn([setup](const store::TicketRecord& ticket) {
    const service::SlaClock c = setup->ClockOf(ticket);
    return insight::TicketMeasure{c.calendar, c.policy, c.target_calendar, c.policy->name, ""};
  });
}

// KpiSpanListener whose measure is read from the desk's store at its first change.
class CliListener final : public service::ChangeListener {
 public:
  explicit CliListener(std::string data_dir) : data_dir_(std::move(data_dir)) {}
  Status BeforeCommit(store::Store& store, store::Transaction& txn, std::span<const service::TicketChange> changes) override {
    if (!loaded_) {
      TP_ASSIGN_OR_RETURN(insight::MeasureFn measure, CliKpiMeasure(store, data_dir_, ""));
      inner_.SetMeasure(std::move(measure));
      loaded_ = true;
    }
    return inner_.BeforeCommit(store, txn, changes);
  }
  void AfterCommit(std::span<const service::TicketChange> changes) override { inner_.AfterCommit(changes); }

 private:
  std::string data_dir_;
  insight::KpiSpanListener inner_{SystemClock::Instance()};
  bool loaded_ = false;  // called under the desk's lock only
};

}  // namespace

std::shared_ptr<service::ChangeListener> CliKpiListener(const std::string& data_dir) {
  return std::make_shared<CliListener>(data_dir);
}

namespace {

struct KpiArgs {
  std::string data = DefaultDataDir();
  std::string metrics, by, interval, from, to, unit, format, zone, calendar;
  std::string out, echarts;  // report kpi
};

void AddQueryOptions(CLI::App* cmd, KpiArgs& a) {
  cmd->add_option("--data", a.data, "Data directory");
  cmd->add_option("--metrics", a.metrics, "Comma-separated: csat,csat_mean,nps,fcr,frt,nrt,art,aht,sla,"
                                          "resolution_rate,deflection,repeat_rate,escalation_rate,sentiment");
  cmd->add_option("--by", a.by, "Group by one of channel, agent, team, queue, intent, priority, tier, type");
  cmd->add_option("--interval", a.interval, "Bucket by hour, day, week or month (in --zone)");
  cmd->add_option("--from", a.from, "Tickets created at or after (ISO 8601 date-time, or a date: its midnight)");
  cmd->add_option("--to", a.to, "… and before");
  cmd->add_option("--unit", a.unit, "Durations in business (default) or wall seconds");
  cmd->add_option("--zone", a.zone, "The company's time zone for buckets and dates (default: the zone of --calendar, "
                                    "else of [sla] calendar in DATA/touchpoint.toml, else UTC)");
  cmd->add_option("--calendar", a.calendar, "The desk's calendar (built-in name or file): its zone, and for rebuild "
                                            "the business time of tickets whose SLA policy names none");
}

// The report `kpi` prints and `report kpi` writes: the query over DATA's stored facts.
Result<insight::KpiReport> BuildKpiReport(const KpiArgs& a) {
  auto store = OpenReadOnly(a.data);
  if (!store.ok()) return Status::Unavailable(store.status().message());
  // Days in --zone, else in the zone of the desk's calendar (--calendar, else [sla] calendar).
  std::optional<calendar::TimeZone> zone;
  if (!a.zone.empty()) {
    auto z = calendar::TimeZone::Load(a.zone);
    if (!z.ok()) return Status::InvalidArgument("zone: " + std::string(z.status().message()));
    zone = std::move(*z);
  } else {
    TP_ASSIGN_OR_RETURN(std::shared_ptr<service::SlaSetup> setup, CliSlaSetup(**store, a.data, a.calendar));
    const calendar::Calendar* desk_calendar = setup->default_calendar();
    zone = desk_calendar != nullptr ? desk_calendar->zone() : calendar::TimeZone::Fixed("UTC", 0);
  }
  TP_ASSIGN_OR_RETURN(insight::KpiQuery query,
                      insight::ParseKpiQuery(a.metrics, a.by, a.interval, a.from, a.to, a.unit, *zone));
  query.as_of = SystemClock::Instance().Now();
  TP_ASSIGN_OR_RETURN(insight::KpiData data, insight::LoadKpiData(**store, query));
  return insight::ComputeKpis(query, data, *zone);
}

}  // namespace

Result<std::string> ReadEcharts(const std::string& given) {
  const std::string path = !given.empty() ? given : std::string(TP_WEB_DIR) + "/node_modules/echarts/dist/echarts.min.js";
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::NotFound("echarts: cannot read " + path +
                            " (run scripts/setup.sh, which installs web/node_modules, or give --echarts FILE)");
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

namespace {

}  // namespace

void RegisterKpiCommands(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<KpiArgs>();
  CLI::App* kpi = app.add_subcommand(
      "kpi", "Service KPIs over the desk's stored spans (the report of GET /v1/kpis); `kpi rebuild` recomputes the spans");
  AddQueryOptions(kpi, *a);
  kpi->add_option("--format", a->format, "json, csv or table (default: table on a terminal, else json)");
  CLI::App* rebuild = kpi->add_subcommand("rebuild", "Recompute every ticket's spans and facts from its history");
  rebuild->add_option("--data", a->data, "Data directory");
  rebuild->add_option("--calendar", a->calendar, "Business time of tickets whose SLA policy names no calendar");
  rebuild->callback([a, exit_code] {
    auto store = OpenForKeys(a->data);
    if (!store.ok()) {
      *exit_code = Fail(Status::Unavailable(store.status().message()));
      return;
    }
    auto measure = CliKpiMeasure(**store, a->data, a->calendar);
    if (!measure.ok()) {
      *exit_code = Fail(measure.status());
      return;
    }
    auto n = insight::RebuildKpiFacts(**store, *measure, SystemClock::Instance().Now());
    if (!n.ok()) {
      *exit_code = Fail(n.status());
      return;
    }
    std::printf("measured %lld tickets\n", static_cast<long long>(*n));
  });
  kpi->callback([a, exit_code, kpi, rebuild] {
    if (kpi->got_subcommand(rebuild)) return;
    std::string format = a->format;
    if (format.empty()) format = isatty(STDOUT_FILENO) != 0 ? "table" : "json";
    if (format != "json" && format != "csv" && format != "table") {
      *exit_code = Fail(Status::InvalidArgument("format: unknown format \"" + format + "\"; valid: json, csv, table"));
      return;
    }
    auto report = BuildKpiReport(*a);
    if (!report.ok()) {
      *exit_code = Fail(report.status());
      return;
    }
    const std::string out = format == "json"  ? insight::KpiReportJson(*report) + "\n"
                            : format == "csv" ? insight::KpiReportCsv(*report)
                                              : insight::KpiReportTable(*report);
    std::fwrite(out.data(), 1, out.size(), stdout);
  });

  // report kpi: the same report as a file — JSON, CSV, or self-contained HTML with charts.
  auto found = app.get_subcommands([](CLI::App* sub) { return sub->get_name() == "report"; });
  CLI::App* report_cmd = !found.empty() ? found.front()
                                        : app.add_subcommand("report", "Reports as JSON, CSV or self-contained HTML");
  auto r = std::make_shared<KpiArgs>();
  CLI::App* kpi_report = report_cmd->add_subcommand("kpi", "The service KPIs as a report file (the figures of `kpi`)");
  AddQueryOptions(kpi_report, *r);
  kpi_report->add_option("--format", r->format, "html, json or csv (default html)");
  kpi_report->add_option("--out", r->out, "The file to write (default: stdout)");
  kpi_report->add_option("--echarts", r->echarts, "ECharts' echarts.min.js to embed (default: web/node_modules)");
  kpi_report->callback([r, exit_code] {
    const std::string format = r->format.empty() ? "html" : r->format;
    if (format != "html" && format != "json" && format != "csv") {
      *exit_code = Fail(Status::InvalidArgument("format: unknown format \"" + format + "\"; valid: html, json, csv"));
      return;
    }
    auto report = BuildKpiReport(*r);
    if (!report.ok()) {
      *exit_code = Fail(report.status());
      return;
    }
    std::string text;
    if (format == "html") {
      auto echarts = ReadEcharts(r->echarts);
      if (!echarts.ok()) {
        *exit_code = Fail(echarts.status());
        return;
      }
      std::vector<std::pair<std::string, std::string>> params{{"data", r->data}};
      for (const auto& [name, value] : {std::pair<const char*, const std::string*>{"metrics", &r->metrics},
                                        {"by", &r->by}, {"interval", &r->interval}, {"from", &r->from},
                                        {"to", &r->to}, {"unit", &r->unit}}) {
        if (!value->empty()) params.emplace_back(name, *value);
      }
      auto html = insight::RenderHtml(insight::KpiHtmlReport(*report, std::move(params), SystemClock::Instance().Now()),
                                      *echarts);
      if (!html.ok()) {
        *exit_code = Fail(html.status());
        return;
      }
      text = std::move(*html);
    } else {
      text = format == "json" ? insight::KpiReportJson(*report) + "\n" : insight::KpiReportCsv(*report);
    }
    if (r->out.empty()) {
      std::fwrite(text.data(), 1, text.size(), stdout);
      return;
    }
    std::ofstream file(r->out, std::ios::binary | std::ios::trunc);
    file.write(text.data(), static_cast<std::streamsize>(text.size()));
    file.close();
    if (!file) {
      *exit_code = Fail(Status::Unavailable("out: cannot write " + r->out));
      return;
    }
    std::fprintf(stderr, "wrote %s (%zu bytes)\n", r->out.c_str(), text.size());
  });
}

}  // namespace touchpoint::cli
