// insight/kpis.h — the service KPIs (issue 16 item 2; docs/measurement.md "Service KPIs"):
// computed from the stored facts and spans (insight/kpi_facts.h), the CSAT surveys of the desk's
// channels, the NPS answers of survey events and the desk's repeat contacts; grouped by one
// dimension and bucketed by hour/day/week/month in the company's time zone. GET /v1/kpis and
// `touchpoint kpi` print the same report (KpiReportJson / Csv / Table).
//
// A ticket counts in the bucket of its creation (its facts, spans, surveys, repeat contact); an
// NPS answer in the bucket of its time. Durations are business seconds on the ticket's calendar
// (wall-clock seconds without one, or with unit = wall).
//
// Thread safety: the functions are pure (LoadKpiData reads the store it is given, from one thread);
// KpiRollup is safe for concurrent use.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <touchpoint/calendar/time_zone.h>
#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/insight/kpi_facts.h>
#include <touchpoint/store/activity_repository.h>
#include <touchpoint/store/channel_repository.h>
#include <touchpoint/store/kpi_repository.h>
#include <touchpoint/store/store.h>

namespace touchpoint::insight {

// The valid names, in the order the docs list them.
std::span<const std::string_view> KpiMetricIds();  // csat csat_mean nps fcr frt nrt art aht sla resolution_rate deflection repeat_rate escalation_rate sentiment
std::span<const std::string_view> KpiDimensions();  // channel agent team queue intent priority tier type
std::span<const std::string_view> KpiIntervals();   // hour day week month

// The documents' thresholds: reply within 24 h; resolution rate at least 95 %.
inline constexpr std::int64_t kReplyTargetSeconds = 24 * 3600;
inline constexpr double kResolutionRateTarget = 0.95;

struct KpiQuery {
  std::vector<std::string> metrics;  // ids, in the order asked
  std::string by;                    // a dimension; "": one group, "all"
  std::string interval;              // hour | day | week | month; "": one bucket, "all"
  Millis from = 0;                   // tickets created at or after; 0: no bound
  Millis to = 0;                     // … and before; 0: no bound
  bool wall = false;                 // durations in wall-clock seconds instead of business seconds
  Millis as_of = 0;                  // FCR: windows closed by this instant (the report's time)
  Millis fcr_window = Millis{7} * kMillisPerDay;
};

// Parses the request's parameters (comma-separated metrics; empty by/interval allowed; from/to as
// ISO 8601 date-times or dates, a date meaning its midnight in `zone`; unit wall|business).
// kInvalidArgument naming the unknown metric, dimension or interval and listing the valid ones.
Result<KpiQuery> ParseKpiQuery(std::string_view metrics, std::string_view by, std::string_view interval,
                               std::string_view from, std::string_view to, std::string_view unit,
                               const calendar::TimeZone& zone);

// One part of a metric (SLA compliance per target).
struct KpiPart {
  std::string name;
  std::int64_t count = 0;
  std::optional<double> value, ci_low, ci_high;
};

// A metric's figures in one row; what does not apply stays unset (absent in JSON, never NaN).
struct KpiValue {
  std::int64_t count = 0;
  std::optional<double> value, mean, median, p90, ci_low, ci_high;
  std::vector<std::pair<std::string, double>> extra;  // response_rate, surveys_sent, pending, negative_share, …
  std::optional<double> target;
  std::optional<bool> met;
  std::vector<KpiPart> parts;
};

struct KpiRow {
  std::string bucket;  // the bucket's start in the zone ("2026-11-02T00:00:00+08:00"), or "all"
  std::string group;   // the dimension's value ("(none)" when empty), or "all"
  std::map<std::string, KpiValue> metrics;
};

struct KpiReport {
  std::vector<std::string> metrics;
  std::string by, interval;
  Millis from = 0, to = 0;
  std::string zone;
  std::string unit;  // "business seconds" | "wall-clock seconds"
  std::vector<KpiRow> rows;  // by bucket, then group
  std::vector<std::pair<std::string, std::string>> notes;  // metric → why it has no figures
};

// What the KPIs are computed from.
struct KpiData {
  std::vector<store::KpiTicketRecord> tickets;  // created in [from, to + FCR window)
  std::unordered_map<std::int64_t, std::vector<store::KpiSpanRecord>> spans;  // by ticket
  std::unordered_map<std::int64_t, std::vector<store::CsatSurveyRecord>> csat;  // by ticket
  std::vector<store::SurveyRecord> nps;                          // answers with an NPS
  std::unordered_map<std::int64_t, std::int32_t> contacts;       // repeat contacts: ticket → ordinal
};

// Reads what `query` needs from `store` (reads only the metrics' sources).
Result<KpiData> LoadKpiData(store::Store& store, const KpiQuery& query);

// The report. `zone` buckets (and names) the intervals.
Result<KpiReport> ComputeKpis(const KpiQuery& query, const KpiData& data, const calendar::TimeZone& zone);

// Each ticket's value of `metric` as one unit's outcome (an experiment's, insight/experiments.h):
// the report's definitions applied to one ticket at a time, over the tickets of `data` created in
// [q.from, q.to). Durations in the query's unit: frt, art, aht (the ticket's one span), nrt (the
// mean of its next responses); shares as the ticket's 0/1 (resolution_rate: solved;
// escalation_rate; fcr: judged tickets only, by q.as_of and q.fcr_window; repeat_rate: tickets with
// a contact record, 1 for a repeat; csat: its answered surveys' share of 4–5); sla: its spans'
// share of targets met; csat_mean: its answers' mean; sentiment: its messages' mean score. A
// ticket without a value (no reply yet, no answer, …) is absent. kInvalidArgument for nps and
// deflection (no value per ticket) and unknown ids.
Result<std::unordered_map<std::int64_t, double>> KpiTicketValues(std::string_view metric, const KpiQuery& q,
                                                                 const KpiData& data);
// Whether KpiTicketValues' values of `metric` are 0/1 (a share of tickets): csat, fcr,
// resolution_rate, escalation_rate, repeat_rate.
bool KpiMetricIsShare(std::string_view metric);

// The report as GET /v1/kpis answers it: {"metrics":[…],"by":…,"interval":…,"rows":[{"bucket":…,
// "group":…,"<metric>":{"count":…,"value":…,"mean":…,"median":…,"p90":…,"ci_low":…,"ci_high":…}}]}.
std::string KpiReportJson(const KpiReport& report);
// One line per row and metric: bucket,group,metric,count,value,mean,median,p90,ci_low,ci_high,target,met.
std::string KpiReportCsv(const KpiReport& report);
// The same as an aligned table for a terminal.
std::string KpiReportTable(const KpiReport& report);

// The incremental roll-ups (issue 16, "Performance"; docs/measurement.md "Roll-ups"): per
// dimension, group and day (in the company's zone), the sufficient statistics of the ticket and
// span metrics — counts, met counts, sums, and histograms of durations in log bins 2 % wide, so a
// median or p90 is within 1 % of the exact one — built once from the stored facts (Load) and kept
// current from each change's facts (Apply: the ticket's old contribution out, the new one in). A
// query the roll-ups cover (Covers: their metrics; interval day, week, month or none; from/to at
// midnights of the zone) is answered in time proportional to days × groups, not tickets; the
// others (csat, csat_mean, nps, fcr, repeat_rate, hours, ranges within a day) read the store.
// Thread-safe: Apply and Load exclude queries.
class KpiRollup {
 public:
  // The metrics the roll-ups hold.
  static std::span<const std::string_view> Metrics();  // frt nrt art aht sla resolution_rate escalation_rate sentiment

  // `zone` must outlive the roll-up: its days are the zone's.
  explicit KpiRollup(const calendar::TimeZone& zone);
  ~KpiRollup();
  KpiRollup(const KpiRollup&) = delete;
  KpiRollup& operator=(const KpiRollup&) = delete;

  // Replaces the contents with every stored ticket's facts and spans.
  Status Load(store::KpiRepository& repo);
  // The facts of changed tickets (KpiSpanListener's observer).
  void Apply(std::span<const KpiFacts> facts);
  bool Covers(const KpiQuery& query) const;
  // REQUIRES: Covers(query). The report as ComputeKpis would give it (durations from histograms).
  Result<KpiReport> Compute(const KpiQuery& query) const;
  size_t tickets() const;

  struct State;  // the cells and each ticket's contribution (kpis.cc)

 private:
  const calendar::TimeZone& zone_;
  mutable std::shared_mutex mu_;
  std::unique_ptr<State> state_;  // guarded by mu_
};

}  // namespace touchpoint::insight
