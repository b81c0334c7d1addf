// insight/report_html.h — reports as one self-contained HTML file (issue 16, "Reports"): the
// parameters and the time of generation printed on it, charts drawn by Apache ECharts embedded in
// the file (so it opens offline, e-mailed or archived), and the figures as tables beside them.
// The ECharts library is given by the caller (the CLI reads web/node_modules/echarts, installed by
// scripts/setup.sh); nothing here reads files.
//
// Everything the report shows is escaped: text as HTML, chart data as JSON inside a <script>
// with every "<" written \u003c, so a group named "</script>" stays text.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/insight/experiments.h>
#include <touchpoint/insight/kpis.h>

namespace touchpoint::insight {

struct HtmlChart {
  std::string title;
  std::string option_json;  // an ECharts option object (https://echarts.apache.org/en/option.html)
};

struct HtmlTable {
  std::string title;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  // Per row: "" or "missed" (a figure below its target: shown red) or "met".
  std::vector<std::string> row_class;
};

struct HtmlReport {
  std::string title;
  std::vector<std::pair<std::string, std::string>> parameters;  // shown as given
  Millis generated_at = 0;
  std::vector<std::string> notes;  // shown under the title (e.g. why a metric has no figures)
  std::vector<HtmlChart> charts;
  std::vector<HtmlTable> tables;
};

// The page. kInvalidArgument when `echarts_js` is empty or could end the <script> it goes into.
Result<std::string> RenderHtml(const HtmlReport& report, std::string_view echarts_js);

// The KPI report (insight/kpis.h) as charts and a table: per metric one chart — a line per group
// over the buckets when the report has an interval, else a bar per group — of the metric's value
// (its median for durations, in hours), its 95 % interval in the tooltip, its target as a line;
// and the table of every figure, rows below their target marked.
HtmlReport KpiHtmlReport(const KpiReport& report, std::vector<std::pair<std::string, std::string>> parameters,
                         Millis generated_at);

// An experiment's results (insight/experiments.h) as charts and a table: per metric one chart of
// each variant's relative lift against the control in %, the lift as a point and its interval as
// a bar from ci_low to ci_high (none for a metric with not enough data), 0 marked; the exposures
// per variant; and the table of every arm — units, mean, lift, interval, p, adjusted p, verdict —
// better rows marked met, worse rows missed.
HtmlReport ExperimentHtmlReport(const ExperimentResults& results,
                                std::vector<std::pair<std::string, std::string>> parameters, Millis generated_at);

}  // namespace touchpoint::insight
