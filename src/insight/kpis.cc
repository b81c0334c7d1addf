#include <touchpoint/insight/kpis.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include <touchpoint/insight/fcr.h>
#include <touchpoint/insight/kpi_stats.h>
#include <touchpoint/ml/stats.h>
#include <touchpoint/store/deskflow_repository.h>

namespace touchpoint::insight {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::array<std::string_view, 14> kMetrics = {
    "csat", "csat_mean", "nps", "fcr", "frt", "nrt", "art", "aht", "sla", "resolution_rate", "deflection",
    "repeat_rate", "escalation_rate", "sentiment"};
constexpr std::array<std::string_view, 8> kDimensions = {"channel", "agent", "team", "queue",
                                                         "intent",  "priority", "tier", "type"};
constexpr std::array<std::string_view, 4> kIntervals = {"hour", "day", "week", "month"};
constexpr std::int64_t kMaxBuckets = 10'000;

template <size_t N>
std::string List(const std::array<std::string_view, N>& names) {
  std::string out;
  for (std::string_view n : names) out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}

template <size_t N>
bool Known(const std::array<std::string_view, N>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::int64_t FloorDiv(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0); }

// Days since 1970-01-01 of a proleptic Gregorian date, and back (H. Hinnant's algorithms).
std::int64_t DaysFromCivil(std::int64_t y, std::int64_t m, std::int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = FloorDiv(y, 400);
  const std::int64_t yoe = y - era * 400;
  const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}
void CivilFromDays(std::int64_t z, std::int64_t& y, std::int64_t& m, std::int64_t& d) {
  z += 719468;
  const std::int64_t era = FloorDiv(z, 146097);
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = yoe + era * 400;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2 ? 1 : 0;
}

// Buckets are named by their start in local seconds (seconds since 1970-01-01T00:00 local).
class Bucketer {
 public:
  Bucketer(const calendar::TimeZone& zone, std::string_view interval) : zone_(zone), interval_(interval) {}
  std::int64_t Of(Millis t) const {
    if (interval_.empty()) return 0;
    const std::int64_t s = FloorDiv(t, 1000);
    const std::int64_t local = s + zone_.OffsetAt(s);
    if (interval_ == "hour") return FloorDiv(local, 3600) * 3600;
    const std::int64_t days = FloorDiv(local, 86400);
    if (interval_ == "day") return days * 86400;
    if (interval_ == "week") {
      const std::int64_t monday = days - ((days + 3) % 7 + 7) % 7;  // 1970-01-01 was a Thursday
      return monday * 86400;
    }
    std::int64_t y = 0, m = 0, d = 0;
    CivilFromDays(days, y, m, d);
    return DaysFromCivil(y, m, 1) * 86400;
  }
  std::int64_t Next(std::int64_t start) const {
    if (interval_ == "hour") return start + 3600;
    if (interval_ == "day") return start + 86400;
    if (interval_ == "week") return start + 7 * 86400;
    std::int64_t y = 0, m = 0, d = 0;
    CivilFromDays(FloorDiv(start, 86400), y, m, d);
    if (++m > 12) {
      m = 1;
      ++y;
    }
    return DaysFromCivil(y, m, 1) * 86400;
  }
  Millis UtcMillis(std::int64_t local_start) const { return zone_.LocalToUtc(local_start) * 1000; }
  std::string Label(std::int64_t local_start) const {
    if (interval_.empty()) return "all";
    const std::int64_t offset = local_start - zone_.LocalToUtc(local_start);
    std::int64_t y = 0, m = 0, d = 0;
    const std::int64_t days = FloorDiv(local_start, 86400);
    CivilFromDays(days, y, m, d);
    const std::int64_t secs = local_start - days * 86400;
    const std::int64_t off = offset < 0 ? -offset : offset;
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld%c%02lld:%02lld",
                  static_cast<long long>(y), static_cast<long long>(m), static_cast<long long>(d),
                  static_cast<long long>(secs / 3600), static_cast<long long>(secs / 60 % 60),
                  static_cast<long long>(secs % 60), offset < 0 ? '-' : '+', static_cast<long long>(off / 3600),
                  static_cast<long long>(off / 60 % 60));
    return buf;
  }

 private:
  const calendar::TimeZone& zone_;
  std::string interval_;
};

Result<Millis> ParseInstant(std::string_view field, std::string_view text, const calendar::TimeZone& zone) {
  // A date alone: its midnight in the company's zone.
  if (text.size() == 10 && text[4] == '-' && text[7] == '-') {
    std::int64_t y = 0, m = 0, d = 0;
    bool ok = true;
    auto num = [&](size_t pos, size_t len, std::int64_t& out) {
      for (size_t i = pos; i < pos + len; ++i) {
        if (text[i] < '0' || text[i] > '9') ok = false;
        out = out * 10 + (text[i] - '0');
      }
    };
    num(0, 4, y);
    num(5, 2, m);
    num(8, 2, d);
    if (ok && m >= 1 && m <= 12 && d >= 1 && d <= 31) return zone.LocalToUtc(DaysFromCivil(y, m, d) * 86400) * 1000;
  }
  auto t = ParseTimestamp(text);
  if (!t.ok()) return Status::InvalidArgument(std::string(field) + ": " + std::string(t.status().message()));
  return *t;
}

bool Wants(const KpiQuery& q, std::string_view metric) {
  return std::find(q.metrics.begin(), q.metrics.end(), metric) != q.metrics.end();
}

std::string GroupOf(const store::KpiTicketRecord& t, std::string_view by) {
  std::string g;
  if (by.empty()) return "all";
  if (by == "channel") g = t.channel;
  if (by == "agent") g = t.agent != 0 ? std::to_string(t.agent) : "";
  if (by == "team") g = t.team;
  if (by == "queue") g = t.queue;
  if (by == "intent") g = t.intent;
  if (by == "priority") g = t.priority;
  if (by == "tier") g = t.tier;
  if (by == "type") g = t.type;
  return g.empty() ? "(none)" : g;
}

bool InRange(Millis t, Millis from, Millis to) { return (from == 0 || t >= from) && (to == 0 || t < to); }

// The duration metrics, in the order of the roll-ups' histograms.
enum DurationMetric : std::uint8_t { kFrt = 0, kNrt = 1, kArt = 2, kAht = 3 };
constexpr std::array<std::string_view, 4> kDurationIds = {"frt", "nrt", "art", "aht"};

struct Duration {
  DurationMetric metric;
  std::int64_t business = 0;
  std::int64_t wall = 0;
};

// What one ticket's spans contribute: its durations and its SLA targets met (one definition for
// the scan over stored facts and for the roll-ups).
struct SpanFigures {
  std::vector<Duration> durations;
  std::array<std::int32_t, 3> sla_n{}, sla_met{};  // first_response, next_response, resolution
};

SpanFigures FiguresOf(std::span<const store::KpiSpanRecord> spans) {
  SpanFigures f;
  const store::KpiSpanRecord* resolution = nullptr;
  for (const store::KpiSpanRecord& s : spans) {
    const bool replied = s.end_event == "agent_reply";
    if (s.kind == "first_response" && replied) f.durations.push_back({kFrt, s.business_seconds, s.wall_seconds});
    if (s.kind == "next_response" && replied) f.durations.push_back({kNrt, s.business_seconds, s.wall_seconds});
    if (s.kind == "resolution" && s.stop != 0) resolution = &s;
    if (s.met >= 0) {
      const size_t k = s.kind == "first_response" ? 0 : s.kind == "next_response" ? 1 : 2;
      ++f.sla_n[k];
      f.sla_met[k] += s.met;
    }
  }
  if (resolution != nullptr) {
    f.durations.push_back({kArt, resolution->business_seconds, resolution->wall_seconds});
    // Handling: the resolution's clock with the pending pauses counted back in.
    Duration aht{kAht, resolution->business_seconds, resolution->wall_seconds};
    for (const store::KpiSpanRecord& s : spans) {
      if (s.kind == "pause" && s.stop != 0 && s.stop <= resolution->stop) {
        aht.business += s.business_seconds;
        aht.wall += s.wall_seconds;
      }
    }
    f.durations.push_back(aht);
  }
  return f;
}

// What one (bucket, group) collects.
struct Acc {
  std::int64_t tickets = 0, solved = 0, escalated = 0;
  std::array<std::vector<double>, 4> durations;  // by DurationMetric, in the query's unit
  std::array<std::int64_t, 2> replies{}, within{};  // frt, nrt: replies, and of them within 24 h (wall)
  std::array<std::int64_t, 3> sla_n{}, sla_met{};  // first_response, next_response, resolution
  std::int64_t csat_sent = 0, csat_n = 0, csat_satisfied = 0;
  double csat_sum = 0, csat_sum_sq = 0;
  std::int64_t fcr_judged = 0, fcr_resolved = 0, fcr_pending = 0;
  std::int64_t contacts = 0, repeats = 0;
  std::int64_t sentiment_n = 0, sentiment_negative = 0;
  double sentiment_sum = 0;
  std::int64_t promoters = 0, passives = 0, detractors = 0;
};

void Share(KpiValue& v, std::int64_t k, std::int64_t n) {
  v.count = n;
  if (n <= 0) return;
  v.value = static_cast<double>(k) / static_cast<double>(n);
  if (auto ci = WilsonInterval(k, n)) {
    v.ci_low = ci->low;
    v.ci_high = ci->high;
  }
}

void Durations(KpiValue& v, const std::vector<double>& values) {
  const DurationSummary s = SummarizeDurations(values);
  v.count = s.count;
  v.mean = s.mean;
  v.median = s.median;
  v.p90 = s.p90;
}

// The documents' "reply within 24 h" (wall clock) beside a response time: met when at least 90 %
// of the replies came within it (the p90 within the target).
void ReplyTarget(KpiValue& v, std::int64_t replies, std::int64_t within) {
  v.target = static_cast<double>(kReplyTargetSeconds);
  if (replies <= 0) return;
  const double share = static_cast<double>(within) / static_cast<double>(replies);
  v.extra.emplace_back("within_target", share);
  v.met = share >= 0.9;
}

KpiValue Figure(std::string_view metric, const Acc& a) {
  KpiValue v;
  if (metric == "csat") {
    Share(v, a.csat_satisfied, a.csat_n);
    v.extra.emplace_back("surveys_sent", static_cast<double>(a.csat_sent));
    if (a.csat_sent > 0) {
      v.extra.emplace_back("response_rate", static_cast<double>(a.csat_n) / static_cast<double>(a.csat_sent));
    }
  } else if (metric == "csat_mean") {
    v.count = a.csat_n;
    if (a.csat_n > 0) {
      const double n = static_cast<double>(a.csat_n);
      const double mean = a.csat_sum / n;
      v.value = v.mean = mean;
      if (a.csat_n >= 2) {
        const double var = std::max(0.0, (a.csat_sum_sq - n * mean * mean) / (n - 1));
        const double half = 1.959964 * std::sqrt(var / n);
        v.ci_low = std::max(1.0, mean - half);
        v.ci_high = std::min(5.0, mean + half);
      }
    }
  } else if (metric == "nps") {
    v.count = a.promoters + a.passives + a.detractors;
    if (auto r = Nps(a.promoters, a.passives, a.detractors)) {
      v.value = r->nps;
      v.ci_low = r->ci.low;
      v.ci_high = r->ci.high;
      if (r->bootstrap) {
        v.extra.emplace_back("bootstrap_low", r->bootstrap->low);
        v.extra.emplace_back("bootstrap_high", r->bootstrap->high);
      }
    }
  } else if (metric == "fcr") {
    Share(v, a.fcr_resolved, a.fcr_judged);
    v.extra.emplace_back("pending", static_cast<double>(a.fcr_pending));
  } else if (metric == "frt") {
    Durations(v, a.durations[kFrt]);
    ReplyTarget(v, a.replies[0], a.within[0]);
  } else if (metric == "nrt") {
    Durations(v, a.durations[kNrt]);
    ReplyTarget(v, a.replies[1], a.within[1]);
  } else if (metric == "art") {
    Durations(v, a.durations[kArt]);
  } else if (metric == "aht") {
    Durations(v, a.durations[kAht]);
  } else if (metric == "sla") {
    std::int64_t n = 0, met = 0;
    static constexpr std::array<const char*, 3> kTargets = {"first_response", "next_response", "resolution"};
    for (size_t i = 0; i < kTargets.size(); ++i) {
      n += a.sla_n[i];
      met += a.sla_met[i];
      KpiValue part;
      Share(part, a.sla_met[i], a.sla_n[i]);
      v.parts.push_back(KpiPart{kTargets[i], part.count, part.value, part.ci_low, part.ci_high});
    }
    Share(v, met, n);
  } else if (metric == "resolution_rate") {
    Share(v, a.solved, a.tickets);
    v.target = kResolutionRateTarget;
    if (v.value) v.met = *v.value >= kResolutionRateTarget;
  } else if (metric == "repeat_rate") {
    Share(v, a.repeats, a.contacts);
  } else if (metric == "escalation_rate") {
    Share(v, a.escalated, a.tickets);
  } else if (metric == "sentiment") {
    v.count = a.sentiment_n;
    if (a.sentiment_n > 0) {
      v.value = v.mean = a.sentiment_sum / static_cast<double>(a.sentiment_n);
      v.extra.emplace_back("negative_share", static_cast<double>(a.sentiment_negative) / static_cast<double>(a.sentiment_n));
    }
  }
  return v;
}

// Per ticket, the one FCR rule (insight/fcr.h) over it and its customer's tickets about the same
// intent (those only as later contacts: never judged themselves here).
void FcrOutcomes(const std::vector<store::KpiTicketRecord>& tickets, const KpiQuery& q,
                 std::unordered_map<std::int64_t, std::pair<int, int>>& out) {  // number → (judged, resolved); pending: (−1, 0)
  std::map<std::pair<std::int64_t, std::string>, std::vector<size_t>> same;
  for (size_t i = 0; i < tickets.size(); ++i) {
    if (!tickets[i].intent.empty()) same[{tickets[i].customer.value(), tickets[i].intent}].push_back(i);
  }
  auto facts = [](const store::KpiTicketRecord& t) {
    return TicketFacts{t.ticket, t.customer, t.intent, t.created_at, t.first_solved_at, t.agent_replies, t.reopened_at};
  };
  const Millis as_of = q.as_of != 0 ? q.as_of : std::numeric_limits<Millis>::max() / 2;
  for (size_t i = 0; i < tickets.size(); ++i) {
    const store::KpiTicketRecord& t = tickets[i];
    if (t.first_solved_at == 0 || !InRange(t.created_at, q.from, q.to)) continue;
    std::vector<TicketFacts> v{facts(t)};
    if (!t.intent.empty()) {
      for (size_t j : same[{t.customer.value(), t.intent}]) {
        if (j == i) continue;
        TicketFacts other = facts(tickets[j]);
        other.first_solved_at = 0;
        v.push_back(std::move(other));
      }
    }
    const FcrResult r = FirstContactResolution(v, as_of, q.fcr_window);
    out[t.ticket] = r.pending > 0 ? std::pair<int, int>{-1, 0} : std::pair<int, int>{static_cast<int>(r.judged), static_cast<int>(r.resolved)};
  }
}

void PutOptional(Json& j, const char* key, const std::optional<double>& v) {
  if (v && std::isfinite(*v)) j[key] = *v;
}

std::string Num(const std::optional<double>& v) {
  if (!v || !std::isfinite(*v)) return "";
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.6g", *v);
  return buf;
}

// The report's buckets: every one from `from` to `to` when both are given (at most kMaxBuckets),
// else those of `grid` (its keys) that hold data, else the one bucket of `from` (or as_of).
template <class Grid>
Result<std::vector<std::int64_t>> ReportBuckets(const KpiQuery& q, const Bucketer& bucketer, const Grid& grid) {
  std::vector<std::int64_t> buckets;
  if (!q.interval.empty() && q.from != 0 && q.to != 0) {
    for (std::int64_t b = bucketer.Of(q.from); bucketer.UtcMillis(b) < q.to; b = bucketer.Next(b)) {
      buckets.push_back(b);
      if (static_cast<std::int64_t>(buckets.size()) > kMaxBuckets) {
        return Status::InvalidArgument("interval: " + q.interval + " from " + FormatTimestamp(q.from) + " to " +
                                       FormatTimestamp(q.to) + " gives more than " + std::to_string(kMaxBuckets) +
                                       " buckets; choose a longer interval or a shorter range");
      }
    }
  } else {
    for (const auto& [b, g] : grid) buckets.push_back(b);
    if (buckets.empty()) buckets.push_back(q.interval.empty() ? 0 : bucketer.Of(q.from != 0 ? q.from : q.as_of));
  }
  return buckets;
}

}  // namespace

std::span<const std::string_view> KpiMetricIds() { return kMetrics; }
std::span<const std::string_view> KpiDimensions() { return kDimensions; }
std::span<const std::string_view> KpiIntervals() { return kIntervals; }

Result<KpiQuery> ParseKpiQuery(std::string_view metrics, std::string_view by, std::string_view interval,
                               std::string_view from, std::string_view to, std::string_view unit,
                               const calendar::TimeZone& zone) {
  KpiQuery q;
  size_t pos = 0;
  while (pos <= metrics.size()) {
    size_t end = metrics.find(',', pos);
    if (end == std::string_view::npos) end = metrics.size();
    std::string_view m = metrics.substr(pos, end - pos);
    while (!m.empty() && m.front() == ' ') m.remove_prefix(1);
    while (!m.empty() && m.back() == ' ') m.remove_suffix(1);
    if (!m.empty()) {
      if (!Known(kMetrics, m)) {
        return Status::InvalidArgument("metrics: unknown metric \"" + std::string(m) + "\"; valid: " + List(kMetrics));
      }
      if (std::find(q.metrics.begin(), q.metrics.end(), m) == q.metrics.end()) q.metrics.emplace_back(m);
    }
    pos = end + 1;
  }
  if (q.metrics.empty()) return Status::InvalidArgument("metrics: name at least one of " + List(kMetrics));
  if (!by.empty() && !Known(kDimensions, by)) {
    return Status::InvalidArgument("by: unknown dimension \"" + std::string(by) + "\"; valid: " + List(kDimensions));
  }
  q.by = std::string(by);
  if (!interval.empty() && !Known(kIntervals, interval)) {
    return Status::InvalidArgument("interval: unknown interval \"" + std::string(interval) + "\"; valid: " + List(kIntervals));
  }
  q.interval = std::string(interval);
  if (!from.empty()) {
    TP_ASSIGN_OR_RETURN(q.from, ParseInstant("from", from, zone));
  }
  if (!to.empty()) {
    TP_ASSIGN_OR_RETURN(q.to, ParseInstant("to", to, zone));
  }
  if (q.from != 0 && q.to != 0 && q.to <= q.from) return Status::InvalidArgument("to: must be after from");
  if (!unit.empty() && unit != "business" && unit != "wall") {
    return Status::InvalidArgument("unit: unknown unit \"" + std::string(unit) + "\"; valid: business, wall");
  }
  q.wall = unit == "wall";
  return q;
}

Result<KpiData> LoadKpiData(store::Store& store, const KpiQuery& q) {
  KpiData d;
  store::KpiRepository& kpi = store.Get<store::KpiRepository>();
  const Millis load_to = q.to == 0 ? 0 : q.to + q.fcr_window;  // FCR looks at later tickets
  TP_RETURN_IF_ERROR(kpi.ScanTickets(q.from, load_to, [&](store::KpiTicketRecord&& t) {
    if (t.status != "merged") d.tickets.push_back(std::move(t));
  }));
  const bool spans = Wants(q, "frt") || Wants(q, "nrt") || Wants(q, "art") || Wants(q, "aht") || Wants(q, "sla");
  if (spans) {
    TP_RETURN_IF_ERROR(kpi.ScanSpans(q.from, q.to, [&](store::KpiSpanRecord&& s) { d.spans[s.ticket].push_back(std::move(s)); }));
  }
  if (Wants(q, "csat") || Wants(q, "csat_mean")) {
    store::ChannelRepository& channels = store.Get<store::ChannelRepository>();
    for (const auto& t : d.tickets) {
      if (!InRange(t.created_at, q.from, q.to)) continue;
      TP_ASSIGN_OR_RETURN(auto surveys, channels.Surveys(t.ticket));
      if (!surveys.empty()) d.csat[t.ticket] = std::move(surveys);
    }
  }
  if (Wants(q, "nps")) {
    TP_RETURN_IF_ERROR(store.Get<store::ActivityRepository>().ScanSurveys([&](store::SurveyRecord&& s) {
      if (s.nps >= 0 && s.nps <= 10 && InRange(s.timestamp, q.from, q.to)) d.nps.push_back(std::move(s));
    }));
  }
  if (Wants(q, "repeat_rate")) {
    TP_RETURN_IF_ERROR(store.Get<store::DeskflowRepository>().ScanContacts(
        q.from, q.to, [&](store::TicketContactRecord&& c) { d.contacts[c.ticket] = c.ordinal; }));
  }
  return d;
}

Result<KpiReport> ComputeKpis(const KpiQuery& q, const KpiData& data, const calendar::TimeZone& zone) {
  KpiReport r;
  r.metrics = q.metrics;
  r.by = q.by;
  r.interval = q.interval;
  r.from = q.from;
  r.to = q.to;
  r.zone = zone.name();
  r.unit = q.wall ? "wall-clock seconds" : "business seconds";
  const Bucketer bucketer(zone, q.interval);
  std::map<std::int64_t, std::map<std::string, Acc>> grid;
  std::set<std::string> groups;
  auto acc = [&](std::int64_t bucket, const std::string& group) -> Acc& {
    groups.insert(group);
    return grid[bucket][group];
  };
  std::unordered_map<std::int64_t, std::pair<int, int>> fcr;
  if (Wants(q, "fcr")) FcrOutcomes(data.tickets, q, fcr);

  for (const store::KpiTicketRecord& t : data.tickets) {
    if (!InRange(t.created_at, q.from, q.to)) continue;
    Acc& a = acc(bucketer.Of(t.created_at), GroupOf(t, q.by));
    ++a.tickets;
    if (t.solved_at != 0) ++a.solved;
    if (t.escalated) ++a.escalated;
    a.sentiment_n += t.sentiment_count;
    a.sentiment_sum += t.sentiment_sum;
    a.sentiment_negative += t.sentiment_negative;
    if (auto it = fcr.find(t.ticket); it != fcr.end()) {
      if (it->second.first < 0) {
        ++a.fcr_pending;
      } else {
        a.fcr_judged += it->second.first;
        a.fcr_resolved += it->second.second;
      }
    }
    if (auto it = data.csat.find(t.ticket); it != data.csat.end()) {
      for (const store::CsatSurveyRecord& s : it->second) {
        ++a.csat_sent;
        if (s.answered_at == 0 || s.score < 1 || s.score > 5) continue;
        ++a.csat_n;
        if (s.score >= 4) ++a.csat_satisfied;
        a.csat_sum += s.score;
        a.csat_sum_sq += static_cast<double>(s.score) * s.score;
      }
    }
    if (auto it = data.contacts.find(t.ticket); it != data.contacts.end()) {
      ++a.contacts;
      if (it->second >= 2) ++a.repeats;
    }
    if (auto it = data.spans.find(t.ticket); it != data.spans.end()) {
      const SpanFigures f = FiguresOf(it->second);
      for (const Duration& d : f.durations) {
        a.durations[d.metric].push_back(static_cast<double>(q.wall ? d.wall : d.business));
        if (d.metric == kFrt || d.metric == kNrt) {
          ++a.replies[d.metric];
          if (d.wall <= kReplyTargetSeconds) ++a.within[d.metric];
        }
      }
      for (size_t k = 0; k < 3; ++k) {
        a.sla_n[k] += f.sla_n[k];
        a.sla_met[k] += f.sla_met[k];
      }
    }
  }
  const bool nps_grouped = q.by.empty();
  if (Wants(q, "nps") && nps_grouped) {
    for (const store::SurveyRecord& s : data.nps) {
      Acc& a = acc(bucketer.Of(s.timestamp), "all");
      if (s.nps >= 9) {
        ++a.promoters;
      } else if (s.nps >= 7) {
        ++a.passives;
      } else {
        ++a.detractors;
      }
    }
  }

  TP_ASSIGN_OR_RETURN(const std::vector<std::int64_t> buckets, ReportBuckets(q, bucketer, grid));
  if (groups.empty()) groups.insert("all");
  const Acc empty;
  for (std::int64_t b : buckets) {
    for (const std::string& g : groups) {
      KpiRow row;
      row.bucket = bucketer.Label(b);
      row.group = g;
      const Acc* a = &empty;
      if (auto bi = grid.find(b); bi != grid.end()) {
        if (auto gi = bi->second.find(g); gi != bi->second.end()) a = &gi->second;
      }
      for (const std::string& m : q.metrics) {
        if (m == "deflection" || (m == "nps" && !nps_grouped)) continue;
        row.metrics[m] = Figure(m, *a);
      }
      r.rows.push_back(std::move(row));
    }
  }
  if (Wants(q, "deflection")) r.notes.emplace_back("deflection", "not available: no bot conversations");
  if (Wants(q, "nps") && !nps_grouped) {
    r.notes.emplace_back("nps", "not grouped by " + q.by + ": NPS answers belong to no ticket; ask without by=");
  }
  return r;
}

bool KpiMetricIsShare(std::string_view metric) {
  return metric == "csat" || metric == "fcr" || metric == "resolution_rate" || metric == "escalation_rate" ||
         metric == "repeat_rate";
}

Result<std::unordered_map<std::int64_t, double>> KpiTicketValues(std::string_view metric, const KpiQuery& q,
                                                                 const KpiData& data) {
  if (!Known(kMetrics, metric)) {
    return Status::InvalidArgument("metric: unknown metric \"" + std::string(metric) + "\"; valid: " + List(kMetrics));
  }
  if (metric == "nps" || metric == "deflection") {
    return Status::InvalidArgument("metric: " + std::string(metric) + " has no value per ticket");
  }
  std::unordered_map<std::int64_t, double> out;
  std::unordered_map<std::int64_t, std::pair<int, int>> fcr;
  if (metric == "fcr") FcrOutcomes(data.tickets, q, fcr);
  for (const store::KpiTicketRecord& t : data.tickets) {
    if (!InRange(t.created_at, q.from, q.to)) continue;
    std::optional<double> v;
    if (metric == "resolution_rate") {
      v = t.solved_at != 0 ? 1.0 : 0.0;
    } else if (metric == "escalation_rate") {
      v = t.escalated ? 1.0 : 0.0;
    } else if (metric == "sentiment") {
      if (t.sentiment_count > 0) v = t.sentiment_sum / static_cast<double>(t.sentiment_count);
    } else if (metric == "fcr") {
      if (auto it = fcr.find(t.ticket); it != fcr.end() && it->second.first > 0) {
        v = static_cast<double>(it->second.second) / static_cast<double>(it->second.first);
      }
    } else if (metric == "repeat_rate") {
      if (auto it = data.contacts.find(t.ticket); it != data.contacts.end()) v = it->second >= 2 ? 1.0 : 0.0;
    } else if (metric == "csat" || metric == "csat_mean") {
      if (auto it = data.csat.find(t.ticket); it != data.csat.end()) {
        std::int64_t n = 0, satisfied = 0;
        double sum = 0;
        for (const store::CsatSurveyRecord& s : it->second) {
          if (s.answered_at == 0 || s.score < 1 || s.score > 5) continue;
          ++n;
          if (s.score >= 4) ++satisfied;
          sum += s.score;
        }
        if (n > 0) v = metric == "csat" ? static_cast<double>(satisfied) / static_cast<double>(n) : sum / static_cast<double>(n);
      }
    } else if (auto it = data.spans.find(t.ticket); it != data.spans.end()) {  // the span metrics
      const SpanFigures f = FiguresOf(it->second);
      if (metric == "sla") {
        std::int64_t n = 0, met = 0;
        for (size_t k = 0; k < 3; ++k) {
          n += f.sla_n[k];
          met += f.sla_met[k];
        }
        if (n > 0) v = static_cast<double>(met) / static_cast<double>(n);
      } else {
        const auto which = static_cast<DurationMetric>(
            std::find(kDurationIds.begin(), kDurationIds.end(), metric) - kDurationIds.begin());
        double sum = 0;
        int n = 0;
        for (const Duration& d : f.durations) {
          if (d.metric != which) continue;
          sum += static_cast<double>(q.wall ? d.wall : d.business);
          ++n;
        }
        if (n > 0) v = sum / n;
      }
    }
    if (v) out[t.ticket] = *v;
  }
  return out;
}

// ---- the roll-ups ----

namespace {

constexpr std::array<std::string_view, 8> kRolledMetrics = {"frt", "nrt", "art", "aht", "sla", "resolution_rate",
                                                            "escalation_rate", "sentiment"};
constexpr double kBinRatio = 1.02;
constexpr size_t kBins = 1200;  // 1.02^1199 s ≈ 2·10^10 s: every duration fits

size_t BinOf(std::int64_t seconds) {
  if (seconds < 1) return 0;
  const double b = 1 + std::floor(std::log(static_cast<double>(seconds)) / std::log(kBinRatio));
  return std::min(kBins - 1, static_cast<size_t>(b));
}
// The bin's representative: the geometric middle of [1.02^(b−1), 1.02^b).
double BinValue(size_t bin) { return bin == 0 ? 0 : std::pow(kBinRatio, static_cast<double>(bin) - 0.5); }

// A sparse histogram: (bin, count) sorted by bin, with the count and the exact sum.
struct Hist {
  std::vector<std::pair<std::uint16_t, std::uint32_t>> bins;
  std::int64_t count = 0;
  double sum = 0;
  void Add(std::int64_t seconds, int sign) {
    const auto bin = static_cast<std::uint16_t>(BinOf(seconds));
    auto it = std::lower_bound(bins.begin(), bins.end(), bin, [](const auto& e, std::uint16_t b) { return e.first < b; });
    if (sign > 0) {
      if (it == bins.end() || it->first != bin) it = bins.insert(it, {bin, 0});
      ++it->second;
    } else if (it != bins.end() && it->first == bin) {
      if (--it->second == 0) bins.erase(it);
    }
    count += sign;
    sum += static_cast<double>(sign) * static_cast<double>(seconds);
  }
};

struct Cell {
  std::int64_t tickets = 0, solved = 0, escalated = 0, sentiment_n = 0, sentiment_negative = 0;
  double sentiment_sum = 0;
  std::array<std::int64_t, 3> sla_n{}, sla_met{};
  std::array<std::int64_t, 2> replies{}, within{};
  std::array<Hist, 8> hist;  // DurationMetric × 2 + (wall ? 1 : 0)
};

// What one ticket adds to the cells of its day.
struct Contribution {
  std::int32_t day = 0;
  std::array<std::uint32_t, 9> group{};  // per dimension ("all", then kDimensions)
  bool solved = false, escalated = false;
  std::int32_t sentiment_n = 0, sentiment_negative = 0;
  double sentiment_sum = 0;
  SpanFigures figures;
};

void AddTo(Cell& c, const Contribution& t, int sign) {
  c.tickets += sign;
  c.solved += t.solved ? sign : 0;
  c.escalated += t.escalated ? sign : 0;
  c.sentiment_n += sign * t.sentiment_n;
  c.sentiment_negative += sign * t.sentiment_negative;
  c.sentiment_sum += sign * t.sentiment_sum;
  for (size_t k = 0; k < 3; ++k) {
    c.sla_n[k] += sign * t.figures.sla_n[k];
    c.sla_met[k] += sign * t.figures.sla_met[k];
  }
  for (const Duration& d : t.figures.durations) {
    c.hist[d.metric * 2].Add(d.business, sign);
    c.hist[d.metric * 2 + 1].Add(d.wall, sign);
    if (d.metric == kFrt || d.metric == kNrt) {
      c.replies[d.metric] += sign;
      if (d.wall <= kReplyTargetSeconds) c.within[d.metric] += sign;
    }
  }
}

// A (bucket, group) of a query: the cells' sums, with dense histograms of the asked unit.
struct Merged {
  Cell sums;  // hist unused
  std::array<std::vector<std::uint64_t>, 4> bins;
  std::array<std::int64_t, 4> count{};
  std::array<double, 4> sum{};
};

double HistQuantile(const std::vector<std::uint64_t>& bins, std::int64_t n, double q) {
  // numpy's linear rule over the order statistics, each taken as its bin's value
  const double pos = q * static_cast<double>(n - 1);
  const auto lo = static_cast<std::uint64_t>(std::floor(pos));
  const auto hi = static_cast<std::uint64_t>(std::ceil(pos));
  double vlo = 0, vhi = 0;
  std::uint64_t seen = 0;
  bool have_lo = false;
  for (size_t b = 0; b < bins.size(); ++b) {
    if (bins[b] == 0) continue;
    seen += bins[b];
    if (!have_lo && seen > lo) {
      vlo = BinValue(b);
      have_lo = true;
    }
    if (seen > hi) {
      vhi = BinValue(b);
      break;
    }
  }
  return vlo + (vhi - vlo) * (pos - std::floor(pos));
}

std::int64_t BucketOfDay(std::int64_t day, std::string_view interval) {
  if (interval.empty()) return 0;
  if (interval == "day") return day * 86400;
  if (interval == "week") return (day - ((day + 3) % 7 + 7) % 7) * 86400;
  std::int64_t y = 0, m = 0, d = 0;
  CivilFromDays(day, y, m, d);
  return DaysFromCivil(y, m, 1) * 86400;
}

}  // namespace

struct KpiRollup::State {
  std::array<std::vector<std::string>, 9> names;
  std::array<std::unordered_map<std::string, std::uint32_t>, 9> ids;
  std::array<std::vector<std::map<std::int32_t, Cell>>, 9> cells;  // [dimension][group]: day → cell
  std::unordered_map<std::int64_t, Contribution> tickets;

  std::uint32_t Intern(size_t dim, const std::string& name) {
    auto [it, added] = ids[dim].emplace(name, static_cast<std::uint32_t>(names[dim].size()));
    if (added) {
      names[dim].push_back(name);
      cells[dim].emplace_back();
    }
    return it->second;
  }
  void Add(const Contribution& t, int sign) {
    for (size_t dim = 0; dim < 9; ++dim) {
      auto& days = cells[dim][t.group[dim]];
      Cell& c = days[t.day];
      AddTo(c, t, sign);
      if (c.tickets == 0) days.erase(t.day);
    }
  }
};

KpiRollup::KpiRollup(const calendar::TimeZone& zone) : zone_(zone), state_(std::make_unique<State>()) {}
KpiRollup::~KpiRollup() = default;

std::span<const std::string_view> KpiRollup::Metrics() { return kRolledMetrics; }

namespace {

std::int64_t LocalDay(const calendar::TimeZone& zone, Millis t) {
  const std::int64_t s = FloorDiv(t, 1000);
  return FloorDiv(s + zone.OffsetAt(s), 86400);
}

Contribution ContributionOf(KpiRollup::State& st, const calendar::TimeZone& zone, const store::KpiTicketRecord& t,
                            SpanFigures figures) {
  Contribution c;
  c.day = static_cast<std::int32_t>(LocalDay(zone, t.created_at));
  c.group[0] = st.Intern(0, "all");
  for (size_t d = 0; d < kDimensions.size(); ++d) c.group[d + 1] = st.Intern(d + 1, GroupOf(t, kDimensions[d]));
  c.solved = t.solved_at != 0;
  c.escalated = t.escalated;
  c.sentiment_n = t.sentiment_count;
  c.sentiment_negative = t.sentiment_negative;
  c.sentiment_sum = t.sentiment_sum;
  c.figures = std::move(figures);
  return c;
}

}  // namespace

Status KpiRollup::Load(store::KpiRepository& repo) {
  auto fresh = std::make_unique<State>();
  std::unordered_map<std::int64_t, SpanFigures> figures;
  {
    std::int64_t current = 0;
    std::vector<store::KpiSpanRecord> spans;
    auto flush = [&] {
      if (!spans.empty()) figures[current] = FiguresOf(spans);
      spans.clear();
    };
    TP_RETURN_IF_ERROR(repo.ScanSpans(0, 0, [&](store::KpiSpanRecord&& s) {
      if (s.ticket != current) {
        flush();
        current = s.ticket;
      }
      spans.push_back(std::move(s));
    }));
    flush();
  }
  TP_RETURN_IF_ERROR(repo.ScanTickets(0, 0, [&](store::KpiTicketRecord&& t) {
    if (t.status == "merged") return;
    auto it = figures.find(t.ticket);
    Contribution c = ContributionOf(*fresh, zone_, t, it != figures.end() ? std::move(it->second) : SpanFigures{});
    fresh->Add(c, +1);
    fresh->tickets[t.ticket] = std::move(c);
  }));
  std::unique_lock lock(mu_);
  state_ = std::move(fresh);
  return Status::Ok();
}

void KpiRollup::Apply(std::span<const KpiFacts> facts) {
  std::unique_lock lock(mu_);
  State& st = *state_;
  for (const KpiFacts& f : facts) {
    auto it = st.tickets.find(f.ticket.ticket);
    if (it != st.tickets.end()) {
      st.Add(it->second, -1);
      st.tickets.erase(it);
    }
    if (f.ticket.status == "merged") continue;
    Contribution c = ContributionOf(st, zone_, f.ticket, FiguresOf(f.spans));
    st.Add(c, +1);
    st.tickets[f.ticket.ticket] = std::move(c);
  }
}

size_t KpiRollup::tickets() const {
  std::shared_lock lock(mu_);
  return state_->tickets.size();
}

bool KpiRollup::Covers(const KpiQuery& q) const {
  for (const std::string& m : q.metrics) {
    if (!Known(kRolledMetrics, m)) return false;
  }
  if (q.interval == "hour") return false;
  auto midnight = [&](Millis t) {
    if (t == 0) return true;
    if (t % 1000 != 0) return false;
    const std::int64_t s = t / 1000;
    return FloorDiv(s + zone_.OffsetAt(s), 86400) * 86400 == s + zone_.OffsetAt(s);
  };
  return midnight(q.from) && midnight(q.to);
}

Result<KpiReport> KpiRollup::Compute(const KpiQuery& q) const {
  if (!Covers(q)) return Status::InvalidArgument("the roll-ups do not cover this query");
  KpiReport r;
  r.metrics = q.metrics;
  r.by = q.by;
  r.interval = q.interval;
  r.from = q.from;
  r.to = q.to;
  r.zone = zone_.name();
  r.unit = q.wall ? "wall-clock seconds" : "business seconds";
  size_t dim = 0;
  if (!q.by.empty()) dim = 1 + static_cast<size_t>(std::find(kDimensions.begin(), kDimensions.end(), q.by) - kDimensions.begin());
  const std::int64_t from_day = q.from != 0 ? LocalDay(zone_, q.from) : std::numeric_limits<std::int32_t>::min();
  const std::int64_t to_day = q.to != 0 ? LocalDay(zone_, q.to) : std::numeric_limits<std::int32_t>::max();
  std::array<bool, 4> wanted{};
  for (size_t m = 0; m < kDurationIds.size(); ++m) wanted[m] = Wants(q, kDurationIds[m]);
  const size_t unit = q.wall ? 1 : 0;

  std::map<std::int64_t, std::map<std::string, Merged>> grid;
  std::set<std::string> groups;
  {
    std::shared_lock lock(mu_);
    const State& st = *state_;
    for (size_t g = 0; g < st.cells[dim].size(); ++g) {
      const auto& days = st.cells[dim][g];
      for (auto it = days.lower_bound(static_cast<std::int32_t>(from_day));
           it != days.end() && it->first < to_day; ++it) {
        const Cell& c = it->second;
        Merged& m = grid[BucketOfDay(it->first, q.interval)][st.names[dim][g]];
        groups.insert(st.names[dim][g]);
        Cell& a = m.sums;
        a.tickets += c.tickets;
        a.solved += c.solved;
        a.escalated += c.escalated;
        a.sentiment_n += c.sentiment_n;
        a.sentiment_negative += c.sentiment_negative;
        a.sentiment_sum += c.sentiment_sum;
        for (size_t k = 0; k < 3; ++k) {
          a.sla_n[k] += c.sla_n[k];
          a.sla_met[k] += c.sla_met[k];
        }
        for (size_t k = 0; k < 2; ++k) {
          a.replies[k] += c.replies[k];
          a.within[k] += c.within[k];
        }
        for (size_t d = 0; d < 4; ++d) {
          if (!wanted[d]) continue;
          const Hist& h = c.hist[d * 2 + unit];
          if (h.count == 0) continue;
          if (m.bins[d].empty()) m.bins[d].assign(kBins, 0);
          for (const auto& [bin, n] : h.bins) m.bins[d][bin] += n;
          m.count[d] += h.count;
          m.sum[d] += h.sum;
        }
      }
    }
  }
  const Bucketer bucketer(zone_, q.interval);
  TP_ASSIGN_OR_RETURN(const std::vector<std::int64_t> buckets, ReportBuckets(q, bucketer, grid));
  if (groups.empty()) groups.insert("all");
  const Merged empty;
  for (std::int64_t b : buckets) {
    for (const std::string& g : groups) {
      KpiRow row;
      row.bucket = bucketer.Label(b);
      row.group = g;
      const Merged* m = &empty;
      if (auto bi = grid.find(b); bi != grid.end()) {
        if (auto gi = bi->second.find(g); gi != bi->second.end()) m = &gi->second;
      }
      Acc a;  // the counts; durations below from the histograms
      a.tickets = m->sums.tickets;
      a.solved = m->sums.solved;
      a.escalated = m->sums.escalated;
      a.sentiment_n = m->sums.sentiment_n;
      a.sentiment_negative = m->sums.sentiment_negative;
      a.sentiment_sum = m->sums.sentiment_sum;
      a.sla_n = m->sums.sla_n;
      a.sla_met = m->sums.sla_met;
      a.replies = m->sums.replies;
      a.within = m->sums.within;
      for (const std::string& metric : q.metrics) {
        KpiValue v = Figure(metric, a);
        for (size_t d = 0; d < 4; ++d) {
          if (metric != kDurationIds[d]) continue;
          v.count = m->count[d];
          if (m->count[d] > 0) {
            v.mean = m->sum[d] / static_cast<double>(m->count[d]);
            v.median = HistQuantile(m->bins[d], m->count[d], 0.5);
            v.p90 = HistQuantile(m->bins[d], m->count[d], 0.9);
          }
        }
        row.metrics[metric] = std::move(v);
      }
      r.rows.push_back(std::move(row));
    }
  }
  return r;
}

std::string KpiReportJson(const KpiReport& r) {
  Json out = Json::object();
  out["metrics"] = r.metrics;
  out["by"] = r.by.empty() ? Json(nullptr) : Json(r.by);
  out["interval"] = r.interval.empty() ? Json(nullptr) : Json(r.interval);
  out["from"] = r.from != 0 ? Json(FormatTimestamp(r.from)) : Json(nullptr);
  out["to"] = r.to != 0 ? Json(FormatTimestamp(r.to)) : Json(nullptr);
  out["time_zone"] = r.zone;
  out["unit"] = r.unit;
  out["rows"] = Json::array();
  for (const KpiRow& row : r.rows) {
    Json j = Json::object();
    j["bucket"] = row.bucket;
    j["group"] = row.group;
    for (const std::string& m : r.metrics) {
      auto it = row.metrics.find(m);
      if (it == row.metrics.end()) continue;
      const KpiValue& v = it->second;
      Json f = Json::object();
      f["count"] = v.count;
      PutOptional(f, "value", v.value);
      PutOptional(f, "mean", v.mean);
      PutOptional(f, "median", v.median);
      PutOptional(f, "p90", v.p90);
      PutOptional(f, "ci_low", v.ci_low);
      PutOptional(f, "ci_high", v.ci_high);
      for (const auto& [k, x] : v.extra) {
        if (std::isfinite(x)) f[k] = x;
      }
      PutOptional(f, "target", v.target);
      if (v.met) f["met"] = *v.met;
      if (!v.parts.empty()) {
        Json parts = Json::object();
        for (const KpiPart& p : v.parts) {
          Json pj = Json::object();
          pj["count"] = p.count;
          PutOptional(pj, "value", p.value);
          PutOptional(pj, "ci_low", p.ci_low);
          PutOptional(pj, "ci_high", p.ci_high);
          parts[p.name] = std::move(pj);
        }
        f["targets"] = std::move(parts);
      }
      j[m] = std::move(f);
    }
    out["rows"].push_back(std::move(j));
  }
  if (!r.notes.empty()) {
    Json notes = Json::object();
    for (const auto& [k, v] : r.notes) notes[k] = v;
    out["notes"] = std::move(notes);
  }
  return out.dump();
}

std::string KpiReportCsv(const KpiReport& r) {
  std::string out = "bucket,group,metric,count,value,mean,median,p90,ci_low,ci_high,target,met\n";
  auto quote = [](const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  };
  for (const KpiRow& row : r.rows) {
    for (const std::string& m : r.metrics) {
      auto it = row.metrics.find(m);
      if (it == row.metrics.end()) continue;
      const KpiValue& v = it->second;
      out += quote(row.bucket) + "," + quote(row.group) + "," + m + "," + std::to_string(v.count) + "," + Num(v.value) +
             "," + Num(v.mean) + "," + Num(v.median) + "," + Num(v.p90) + "," + Num(v.ci_low) + "," + Num(v.ci_high) +
             "," + Num(v.target) + "," + (v.met ? (*v.met ? "true" : "false") : "") + "\n";
    }
  }
  return out;
}

std::string KpiReportTable(const KpiReport& r) {
  std::vector<std::array<std::string, 9>> lines;
  lines.push_back({"BUCKET", "GROUP", "METRIC", "COUNT", "VALUE", "MEAN", "MEDIAN", "P90", "95% CI"});
  for (const KpiRow& row : r.rows) {
    for (const std::string& m : r.metrics) {
      auto it = row.metrics.find(m);
      if (it == row.metrics.end()) continue;
      const KpiValue& v = it->second;
      std::string ci = v.ci_low && v.ci_high ? "[" + Num(v.ci_low) + ", " + Num(v.ci_high) + "]" : "";
      std::string value = Num(v.value);
      if (v.met) value += *v.met ? " (met)" : " (missed)";
      lines.push_back({row.bucket, row.group, m, std::to_string(v.count), value, Num(v.mean), Num(v.median), Num(v.p90), ci});
    }
  }
  std::array<size_t, 9> width{};
  for (const auto& l : lines) {
    for (size_t i = 0; i < l.size(); ++i) width[i] = std::max(width[i], l[i].size());
  }
  std::string out;
  for (const auto& l : lines) {
    std::string line;
    for (size_t i = 0; i < l.size(); ++i) {
      line += l[i];
      if (i + 1 < l.size()) line += std::string(width[i] - l[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  for (const auto& [k, v] : r.notes) out += k + ": " + v + "\n";
  out += "durations in " + r.unit + "; buckets in " + r.zone + "\n";
  return out;
}

}  // namespace touchpoint::insight
