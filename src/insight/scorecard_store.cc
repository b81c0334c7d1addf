#include <touchpoint/insight/scorecard_store.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "insight/store_scan_internal.h"

namespace touchpoint::insight {
namespace {

using nlohmann::ordered_json;

constexpr const char* kMetrics = "csat,csat_mean,frt,aht,art,resolution_rate";

// "2026-11" → ("2026-11-01", "2026-12-01"); nullopt when not a month.
std::optional<std::pair<std::string, std::string>> MonthBounds(std::string_view period) {
  if (period.size() != 7 || period[4] != '-') return std::nullopt;
  int y = 0, m = 0;
  auto r1 = std::from_chars(period.data(), period.data() + 4, y);
  auto r2 = std::from_chars(period.data() + 5, period.data() + 7, m);
  if (r1.ec != std::errc() || r2.ec != std::errc() || r1.ptr != period.data() + 4 || r2.ptr != period.data() + 7 ||
      y < 1970 || y > 9998 || m < 1 || m > 12) {
    return std::nullopt;
  }
  char a[32], b[32];
  std::snprintf(a, sizeof a, "%04d-%02d-01", y, m);
  std::snprintf(b, sizeof b, "%04d-%02d-01", m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1);
  return std::make_pair(std::string(a), std::string(b));
}

std::vector<std::string> SplitCsv(const std::string& line) {
  std::vector<std::string> out(1);
  for (char c : line) {
    if (c == ',') {
      out.emplace_back();
    } else if (c != '\r') {
      out.back() += c;
    }
  }
  return out;
}

}  // namespace

Result<ScorecardQuery> ParseScorecardQuery(std::string_view by, std::string_view who, std::string_view period,
                                           std::string_view from, std::string_view to,
                                           const calendar::TimeZone& zone) {
  ScorecardQuery q;
  if (!by.empty() && by != "agent" && by != "team") {
    return Status::InvalidArgument("by: unknown \"" + std::string(by) + "\"; valid: agent, team");
  }
  if (!by.empty()) q.by = std::string(by);
  q.who = std::string(who);
  std::string f(from), t(to);
  if (!period.empty()) {
    if (!from.empty() || !to.empty()) {
      return Status::InvalidArgument("period: give a period (2026-11) or from and to, not both");
    }
    auto month = MonthBounds(period);
    if (!month) return Status::InvalidArgument("period: \"" + std::string(period) + "\" is not a month (e.g. 2026-11)");
    f = month->first;
    t = month->second;
    q.period = std::string(period);
  } else {
    if (from.empty() || to.empty()) {
      return Status::InvalidArgument("period: required — a month (period=2026-11), or from and to (dates)");
    }
    q.period = f + ".." + t;
  }
  // The KPI parser reads dates as midnights of the company's zone, as a KPI report does.
  TP_ASSIGN_OR_RETURN(KpiQuery k, ParseKpiQuery(kMetrics, q.by, "", f, t, "", zone));
  q.from = k.from;
  q.to = k.to;
  return q;
}

KpiQuery ScorecardKpiQuery(const ScorecardQuery& query) {
  KpiQuery k;
  k.metrics = {"csat", "csat_mean", "frt", "aht", "art", "resolution_rate"};
  k.by = query.by;
  k.from = query.from;
  k.to = query.to;
  return k;
}

Result<ExtraFigures> ReadExtraFigures(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(path + ": cannot be read");
  ExtraFigures out;
  std::string line;
  size_t n = 0;
  auto bad = [&](const std::string& why) { return Status::InvalidArgument(path + ":" + std::to_string(n) + ": " + why); };
  while (std::getline(in, line)) {
    ++n;
    if (line.empty() || line == "\r") continue;
    auto cells = SplitCsv(line);
    if (n == 1) {
      if (cells.size() < 3 || (cells[0] != "agent" && cells[0] != "team") || cells[1] != "metric" ||
          cells[2] != "value" || (cells.size() > 3 && cells[3] != "samples") || cells.size() > 4) {
        return bad("the header must be agent,metric,value[,samples] (or team,…)");
      }
      continue;
    }
    if (cells.size() < 3 || cells.size() > 4) return bad("expected 3 or 4 cells, got " + std::to_string(cells.size()));
    if (cells[0].empty()) return bad("empty agent/team");
    if (cells[1].empty()) return bad("empty metric");
    MetricValue v;
    auto [p, ec] = std::from_chars(cells[2].data(), cells[2].data() + cells[2].size(), v.value);
    if (ec != std::errc() || p != cells[2].data() + cells[2].size()) return bad("value \"" + cells[2] + "\" is not a number");
    if (cells.size() == 4 && !cells[3].empty()) {
      auto [q, ec2] = std::from_chars(cells[3].data(), cells[3].data() + cells[3].size(), v.samples);
      if (ec2 != std::errc() || q != cells[3].data() + cells[3].size() || v.samples < 0) {
        return bad("samples \"" + cells[3] + "\" is not a whole number ≥ 0");
      }
    }
    out[cells[0]][cells[1]] = v;
  }
  return out;
}

Result<ScorecardReport> ScorecardsFromKpis(const ScorecardSpec& spec, const ScorecardQuery& query,
                                           const KpiReport& report, const calendar::Calendar* calendar,
                                           const ExtraFigures& extra) {
  TP_RETURN_IF_ERROR(ValidateScorecard(spec));
  ScorecardReport out;
  out.query = query;
  // Working days of the period and the mean working day's length.
  double workday_seconds = 86400;
  if (calendar != nullptr) {
    const calendar::Date first = calendar->LocalDate(query.from / 1000);
    const calendar::Date last = calendar->LocalDate((query.to - 1) / 1000);
    std::int64_t days = 0, seconds = 0;
    for (calendar::Date d = first; d <= last; d.days += 1) {
      if (!calendar->IsWorkingDay(d)) continue;
      ++days;
      for (const auto& p : calendar->WorkingIntervals(d)) seconds += p.to - p.from;
    }
    out.working_days = static_cast<double>(days);
    if (days > 0 && seconds > 0) workday_seconds = static_cast<double>(seconds) / static_cast<double>(days);
  } else {
    out.working_days = static_cast<double>(query.to - query.from) / 86'400'000.0;
  }
  for (const KpiRow& row : report.rows) {
    if (row.group == "(none)") continue;  // unassigned tickets are nobody's card
    if (!query.who.empty() && row.group != query.who) continue;
    std::map<std::string, MetricValue> values;
    auto metric = [&](const char* id) -> const KpiValue* {
      auto it = row.metrics.find(id);
      return it == row.metrics.end() ? nullptr : &it->second;
    };
    auto put = [&](const char* id, const std::optional<double>& v, std::int64_t n, double scale) {
      if (v) values[id] = MetricValue{*v * scale, n};
    };
    std::int64_t tickets = 0;
    if (const KpiValue* v = metric("csat")) put("csat", v->value, v->count, 1);
    if (const KpiValue* v = metric("csat_mean")) put("personalised_service_score", v->value, v->count, 1);
    if (const KpiValue* v = metric("frt")) put("first_response_hours", v->mean, v->count, 1.0 / 3600);
    if (const KpiValue* v = metric("art")) put("plan_delivery_working_days", v->mean, v->count, 1.0 / workday_seconds);
    if (const KpiValue* v = metric("aht")) put("handling_minutes", v->mean, v->count, 1.0 / 60);
    if (const KpiValue* v = metric("resolution_rate")) {
      put("basic_resolution", v->value, v->count, 1);
      tickets = v->count;
      if (out.working_days > 0 && v->count > 0) {
        values["tickets_per_working_day"] =
            MetricValue{static_cast<double>(v->count) / out.working_days, v->count};
      }
    }
    if (tickets == 0) continue;
    auto ex = extra.find(row.group);
    if (ex != extra.end()) {
      for (const auto& [id, v] : ex->second) values[id] = v;  // a supplied figure wins
    }
    out.rows.push_back(ScorecardRow{row.group, tickets, ScoreAgent(spec, values)});
  }
  std::stable_sort(out.rows.begin(), out.rows.end(), [](const ScorecardRow& a, const ScorecardRow& b) {
    if (a.card.total.has_value() != b.card.total.has_value()) return a.card.total.has_value();
    return a.card.total.has_value() && *a.card.total > *b.card.total;
  });
  return out;
}

std::string ScorecardReportJson(const ScorecardReport& report) {
  ordered_json j = {{"by", report.query.by}, {"period", report.query.period}};
  if (report.query.from != 0) j["from"] = FormatTimestamp(report.query.from);
  if (report.query.to != 0) j["to"] = FormatTimestamp(report.query.to);
  j["working_days"] = report.working_days;
  j["scorecards"] = ordered_json::array();
  for (const ScorecardRow& r : report.rows) {
    ordered_json c = {{report.query.by, r.group}, {"tickets", r.tickets}};
    if (r.card.total) c["total"] = *r.card.total;
    c["level"] = r.card.level.empty() ? ordered_json() : ordered_json(r.card.level);
    c["unmet"] = r.card.unmet_gates;
    c["dimensions"] = ordered_json::array();
    for (const DimensionScore& d : r.card.dimensions) {
      ordered_json dim = {{"name", d.name}};
      if (d.score) {
        dim["weight"] = d.weight;
        dim["score"] = *d.score;
      }
      dim["metrics"] = ordered_json::array();
      for (const MetricEvidence& e : d.metrics) {
        ordered_json m = {{"id", e.id}};
        if (e.value) m["value"] = *e.value;
        m["target"] = e.target;
        m["direction"] = e.direction;
        if (e.attainment) m["attainment"] = *e.attainment;
        if (e.value) m["met"] = e.met;
        m["samples"] = e.samples;
        dim["metrics"].push_back(std::move(m));
      }
      c["dimensions"].push_back(std::move(dim));
    }
    j["scorecards"].push_back(std::move(c));
  }
  return j.dump();
}

std::string ScorecardReportTable(const ScorecardReport& report) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> head = {report.query.by == "team" ? "TEAM" : "AGENT", "TICKETS", "TOTAL", "LEVEL"};
  if (!report.rows.empty()) {
    for (const auto& d : report.rows.front().card.dimensions) {
      std::string name = d.name;
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char ch) { return std::toupper(ch); });
      head.push_back(name);
    }
  }
  head.push_back("NEXT LEVEL NEEDS");
  rows.push_back(head);
  auto num = [](const std::optional<double>& v) {
    if (!v) return std::string("-");
    char b[16];
    std::snprintf(b, sizeof b, "%.1f", *v);
    return std::string(b);
  };
  for (const ScorecardRow& r : report.rows) {
    std::vector<std::string> line = {r.group, std::to_string(r.tickets), num(r.card.total),
                                     r.card.level.empty() ? "(none)" : r.card.level};
    for (const auto& d : r.card.dimensions) line.push_back(num(d.score));
    std::string unmet;
    for (const auto& u : r.card.unmet_gates) unmet += (unmet.empty() ? "" : "; ") + u;
    line.push_back(unmet);
    rows.push_back(std::move(line));
  }
  char days[32];
  std::snprintf(days, sizeof days, "%g", report.working_days);
  return "scorecards by " + report.query.by + ", " + report.query.period + " (" + days + " working days)\n" +
         internal::AlignedTable(rows);
}

}  // namespace touchpoint::insight
