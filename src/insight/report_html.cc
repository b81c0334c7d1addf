#include <touchpoint/insight/report_html.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

namespace touchpoint::insight {
namespace {

using nlohmann::json;

std::string Escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// JSON placed inside <script>: every "<" written \u003c (still the same JSON string), so that no
// "</script" or "<!--" can appear in the element; U+2028/9 are escaped by dump(ensure_ascii).
std::string ScriptJson(const std::string& dumped) {
  std::string out;
  out.reserve(dumped.size());
  for (char c : dumped) {
    if (c == '<') {
      out += "\\u003c";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Num(const std::optional<double>& v, int digits = 4) {
  if (!v || !std::isfinite(*v)) return "";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, *v);
  return buf;
}

constexpr const char* kStyle = R"css(
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","PingFang SC","Microsoft YaHei",sans-serif;margin:24px;color:#1f2937}
h1{font-size:22px;margin:0 0 8px}h2{font-size:16px;margin:24px 0 8px}
.meta{color:#4b5563;font-size:13px}.meta td{padding:1px 12px 1px 0}
.note{color:#92400e;font-size:13px}
.chart{width:100%;max-width:960px;height:340px;border:1px solid #e5e7eb;border-radius:6px;margin:8px 0 16px}
table.figures{border-collapse:collapse;font-size:13px}
table.figures th,table.figures td{border:1px solid #e5e7eb;padding:3px 8px;text-align:right}
table.figures th{background:#f3f4f6}table.figures td:nth-child(-n+3){text-align:left}
tr.missed td{background:#fee2e2}tr.met td{background:#ecfdf5}
)css";

}  // namespace

Result<std::string> RenderHtml(const HtmlReport& report, std::string_view echarts_js) {
  if (echarts_js.empty()) return Status::InvalidArgument("echarts: the ECharts library is empty");
  if (echarts_js.find("</script") != std::string_view::npos) {
    return Status::InvalidArgument("echarts: the library contains \"</script\" and cannot be embedded");
  }
  std::string out;
  out.reserve(echarts_js.size() + 64 * 1024);
  out += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>" + Escape(report.title) +
         "</title>\n<style>" + kStyle + "</style>\n</head><body>\n";
  out += "<h1>" + Escape(report.title) + "</h1>\n<table class=\"meta\">";
  out += "<tr><td>generated</td><td>" + Escape(FormatTimestamp(report.generated_at)) + "</td></tr>";
  for (const auto& [name, value] : report.parameters) {
    out += "<tr><td>" + Escape(name) + "</td><td>" + Escape(value) + "</td></tr>";
  }
  out += "</table>\n";
  for (const std::string& n : report.notes) out += "<p class=\"note\">" + Escape(n) + "</p>\n";
  for (size_t i = 0; i < report.charts.size(); ++i) {
    out += "<h2>" + Escape(report.charts[i].title) + "</h2>\n<div class=\"chart\" id=\"chart" + std::to_string(i) +
           "\"></div>\n";
  }
  for (const HtmlTable& t : report.tables) {
    out += "<h2>" + Escape(t.title) + "</h2>\n<table class=\"figures\"><tr>";
    for (const std::string& h : t.header) out += "<th>" + Escape(h) + "</th>";
    out += "</tr>\n";
    for (size_t r = 0; r < t.rows.size(); ++r) {
      const std::string& cls = r < t.row_class.size() ? t.row_class[r] : std::string();
      out += cls.empty() ? "<tr>" : "<tr class=\"" + Escape(cls) + "\">";
      for (const std::string& c : t.rows[r]) out += "<td>" + Escape(c) + "</td>";
      out += "</tr>\n";
    }
    out += "</table>\n";
  }
  out += "<script>\n";
  out += echarts_js;
  out += "\n</script>\n<script>\n(function(){\nvar options=[";
  for (size_t i = 0; i < report.charts.size(); ++i) {
    if (i > 0) out += ",\n";
    // Parsed here so that a malformed option cannot break out of the array.
    json option = json::parse(report.charts[i].option_json, nullptr, /*allow_exceptions=*/false);
    if (option.is_discarded()) return Status::InvalidArgument("chart " + report.charts[i].title + ": option is not JSON");
    out += ScriptJson(option.dump(-1, ' ', /*ensure_ascii=*/true));
  }
  // The tooltip: the series and point, the value, and the point's count and interval when it has
  // them — every text through echarts.format.encodeHTML (groups are data).
  out += "];\nvar enc=echarts.format.encodeHTML;\n"
         "function tip(p){var d=(p.data&&typeof p.data==='object')?p.data:{};var s=enc(String(p.seriesName))+'<br>'+"
         "enc(String(p.name))+': '+enc(String(p.value));if(d.count!=null)s+='<br>n = '+enc(String(d.count));"
         "if(d.ci)s+='<br>95% CI '+enc(String(d.ci));return s;}\n"
         "options.forEach(function(o,i){if(o.tooltip&&!o.tooltip.formatter)o.tooltip.formatter=tip;"
         "var c=echarts.init(document.getElementById('chart'+i));c.setOption(o);"
         "window.addEventListener('resize',function(){c.resize();});});\n})();\n</script>\n</body></html>\n";
  return out;
}

HtmlReport ExperimentHtmlReport(const ExperimentResults& r,
                                std::vector<std::pair<std::string, std::string>> parameters, Millis generated_at) {
  const store::ExperimentRecord& e = r.experiment;
  HtmlReport html;
  html.title = "Touchpoint experiment " + e.name;
  html.parameters = std::move(parameters);
  html.parameters.emplace_back("experiment", std::to_string(e.id) + " " + e.name + " (" + e.status + ")");
  html.parameters.emplace_back("unit", e.unit);
  std::string variants;
  for (const auto& v : e.variants) variants += (variants.empty() ? "" : ", ") + v.name + " " + Num(v.weight);
  html.parameters.emplace_back("variants (weights; the first is the control)", variants);
  html.parameters.emplace_back("alpha, correction", Num(e.alpha) + ", " + e.correction);
  if (e.pre_period_days > 0) html.parameters.emplace_back("CUPED pre-period", std::to_string(e.pre_period_days) + " days");
  if (e.sequential_tuning > 0) html.parameters.emplace_back("sequential N*", Num(e.sequential_tuning));
  if (e.started_at != 0) html.parameters.emplace_back("started", FormatTimestamp(e.started_at));
  if (e.stopped_at != 0) html.parameters.emplace_back("stopped", FormatTimestamp(e.stopped_at));
  html.parameters.emplace_back("results as of", FormatTimestamp(r.as_of));
  html.generated_at = generated_at;
  html.notes = r.warnings;
  for (const ExperimentMetricResult& m : r.metrics) {
    for (const std::string& w : m.warnings) html.notes.push_back(m.metric + ": " + w);
  }

  // Exposures per variant.
  {
    json names = json::array(), counts = json::array();
    for (const auto& [variant, n] : r.exposures) {
      names.push_back(variant);
      counts.push_back(n);
    }
    json option = {{"tooltip", {{"trigger", "item"}}},
                   {"grid", {{"left", 60}, {"right", 24}, {"top", 24}, {"bottom", 40}}},
                   {"xAxis", {{"type", "category"}, {"data", names}}},
                   {"yAxis", {{"type", "value"}, {"name", "units"}}},
                   {"series", json::array({{{"name", "exposed units"}, {"type", "bar"}, {"data", counts}}})}};
    html.charts.push_back(HtmlChart{"exposures per variant (SRM p = " + Num(r.srm_p) + ")", option.dump()});
  }
  for (const ExperimentMetricResult& m : r.metrics) {
    json names = json::array(), intervals = json::array(), lifts = json::array();
    for (size_t i = 1; i < m.arms.size(); ++i) {
      const ExperimentArm& a = m.arms[i];
      names.push_back(a.variant);
      if (a.lift && a.ci_low && a.ci_high) {
        intervals.push_back(json::array({100 * *a.ci_low, 100 * *a.ci_high}));
        lifts.push_back({{"value", 100 * *a.lift}, {"verdict", a.verdict}});
      } else {
        intervals.push_back(nullptr);
        lifts.push_back(nullptr);
      }
    }
    // The interval as a floating bar: an invisible bar to ci_low, then one from ci_low to ci_high.
    json base = json::array(), span = json::array();
    for (const json& iv : intervals) {
      if (iv.is_null()) {
        base.push_back(nullptr);
        span.push_back(nullptr);
      } else {
        base.push_back(iv[0]);
        span.push_back(iv[1].get<double>() - iv[0].get<double>());
      }
    }
    json option = {
        {"tooltip", {{"trigger", "item"}}},
        {"grid", {{"left", 60}, {"right", 24}, {"top", 24}, {"bottom", 40}}},
        {"xAxis", {{"type", "category"}, {"data", names}}},
        {"yAxis", {{"type", "value"}, {"name", "lift %"}}},
        {"series", json::array({{{"name", "interval start"}, {"type", "bar"}, {"stack", "ci"}, {"data", base},
                                 {"itemStyle", {{"color", "transparent"}}}, {"tooltip", {{"show", false}}}},
                                {{"name", "interval"}, {"type", "bar"}, {"stack", "ci"}, {"data", span},
                                 {"itemStyle", {{"color", "#93c5fd"}}}},
                                {{"name", "lift"}, {"type", "scatter"}, {"data", lifts},
                                 {"itemStyle", {{"color", "#1d4ed8"}}},
                                 {"markLine", {{"symbol", "none"},
                                               {"lineStyle", {{"color", "#6b7280"}, {"type", "dashed"}}},
                                               {"data", json::array({{{"yAxis", 0}}})}}}}})}};
    std::string title = m.metric + " — lift vs " + (m.arms.empty() ? std::string("control") : m.arms.front().variant) +
                        " (%; " + m.direction + " is better)";
    if (!m.enough_data) title += " — not enough data";
    html.charts.push_back(HtmlChart{title, option.dump()});
  }

  HtmlTable table;
  table.title = "Results";
  table.header = {"metric", "variant", "units", "mean", "lift", "interval", "p", "p adjusted", "verdict"};
  for (const ExperimentMetricResult& m : r.metrics) {
    for (const ExperimentArm& a : m.arms) {
      const std::string ci = a.ci_low && a.ci_high ? Num(a.ci_low) + " – " + Num(a.ci_high) : "";
      table.rows.push_back({m.metric, a.variant, Num(a.units), Num(a.mean), Num(a.lift), ci, Num(a.p_value),
                            Num(a.p_adjusted), a.verdict});
      table.row_class.push_back(a.verdict == "better" ? "met" : a.verdict == "worse" ? "missed" : "");
    }
  }
  html.tables.push_back(std::move(table));
  return html;
}

HtmlReport KpiHtmlReport(const KpiReport& report, std::vector<std::pair<std::string, std::string>> parameters,
                         Millis generated_at) {
  HtmlReport html;
  html.title = "Touchpoint service KPIs";
  html.parameters = std::move(parameters);
  html.parameters.emplace_back("time zone", report.zone);
  html.parameters.emplace_back("durations", report.unit + " (charts in hours)");
  html.generated_at = generated_at;
  for (const auto& [metric, why] : report.notes) html.notes.push_back(metric + ": " + why);

  // Buckets and groups in the report's order.
  std::vector<std::string> buckets, groups;
  std::set<std::string> seen_b, seen_g;
  for (const KpiRow& row : report.rows) {
    if (seen_b.insert(row.bucket).second) buckets.push_back(row.bucket);
    if (seen_g.insert(row.group).second) groups.push_back(row.group);
  }
  // Each (bucket, group)'s row, found once (a year of hours by group is many points).
  std::map<std::pair<std::string, std::string>, const KpiRow*> cell;
  for (const KpiRow& row : report.rows) cell.emplace(std::make_pair(row.bucket, row.group), &row);
  const bool over_time = !report.interval.empty() && report.interval != "all";
  auto is_duration = [](const std::string& m) { return m == "frt" || m == "nrt" || m == "art" || m == "aht"; };
  for (const std::string& metric : report.metrics) {
    const bool duration = is_duration(metric);
    // value: the median for durations (hours), the value otherwise.
    auto plotted = [&](const KpiValue& v) -> std::optional<double> {
      std::optional<double> x = duration ? v.median : v.value;
      if (x && duration) *x /= 3600.0;
      return x;
    };
    std::optional<double> target;
    json series = json::array();
    for (const std::string& g : groups) {
      json data = json::array();
      const std::vector<std::string>& xs = over_time ? buckets : groups;
      for (const std::string& x : xs) {
        if (!over_time && x != g) {
          data.push_back(nullptr);
          continue;
        }
        const KpiValue* found = nullptr;
        const std::string& bucket = over_time ? x : (buckets.empty() ? x : buckets.front());
        if (auto it = cell.find({bucket, g}); it != cell.end()) {
          if (auto m = it->second->metrics.find(metric); m != it->second->metrics.end()) found = &m->second;
        }
        std::optional<double> y = found != nullptr ? plotted(*found) : std::nullopt;
        if (found != nullptr && found->target && !target) target = duration ? *found->target / 3600.0 : *found->target;
        if (!y) {
          data.push_back(nullptr);
          continue;
        }
        json point = {{"value", *y}, {"count", found->count}};
        if (found->ci_low && found->ci_high) {
          point["ci"] = Num(found->ci_low) + " – " + Num(found->ci_high);
        }
        data.push_back(point);
      }
      json s = {{"name", g}, {"type", over_time ? "line" : "bar"}, {"data", data}, {"connectNulls", false}};
      if (!over_time) s["stack"] = "one";  // one bar per group at its own x
      series.push_back(s);
    }
    if (target && !series.empty()) {
      series[0]["markLine"] = {{"symbol", "none"},
                               {"lineStyle", {{"color", "#dc2626"}, {"type", "dashed"}}},
                               {"label", {{"formatter", "target " + Num(target)}}},
                               {"data", json::array({{{"yAxis", *target}}})}};
    }
    json option = {
        {"tooltip", {{"trigger", "item"}}},
        {"legend", {{"type", "scroll"}, {"top", 0}}},
        {"grid", {{"left", 60}, {"right", 24}, {"top", 36}, {"bottom", 40}}},
        {"xAxis", {{"type", "category"}, {"data", over_time ? buckets : groups}}},
        {"yAxis", {{"type", "value"}, {"name", duration ? "hours (median)" : metric}}},
        {"series", series}};
    html.charts.push_back(HtmlChart{metric + (duration ? " — median hours" : ""), option.dump()});
  }

  HtmlTable table;
  table.title = "Figures";
  table.header = {"bucket", "group", "metric", "count", "value", "mean", "median", "p90", "95% CI", "target"};
  for (const KpiRow& row : report.rows) {
    for (const std::string& m : report.metrics) {
      auto it = row.metrics.find(m);
      if (it == row.metrics.end()) continue;
      const KpiValue& v = it->second;
      std::string ci = v.ci_low && v.ci_high ? Num(v.ci_low) + " – " + Num(v.ci_high) : "";
      table.rows.push_back({row.bucket, row.group, m, std::to_string(v.count), Num(v.value), Num(v.mean),
                            Num(v.median), Num(v.p90), ci, Num(v.target)});
      table.row_class.push_back(v.met ? (*v.met ? "met" : "missed") : "");
    }
  }
  html.tables.push_back(std::move(table));
  return html;
}

}  // namespace touchpoint::insight
