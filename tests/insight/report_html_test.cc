// HTML reports: data cannot escape into markup or script (a group named like a tag stays text),
// the page embeds the given library and one chart per KPI metric, and a library that would end
// its <script> early is refused.
#include <touchpoint/insight/report_html.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "testing/matchers.h"

namespace touchpoint::insight {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::touchpoint::testing::StatusIs;

KpiReport TwoGroups() {
  KpiReport r;
  r.metrics = {"frt", "resolution_rate"};
  r.by = "queue";
  r.zone = "Asia/Shanghai";
  r.unit = "business seconds";
  for (const char* g : {"cards", "</script><img src=x onerror=alert(1)>"}) {
    KpiRow row;
    row.bucket = "all";
    row.group = g;
    KpiValue frt;
    frt.count = 4;
    frt.median = 7200;  // two hours
    frt.mean = 9000;
    row.metrics["frt"] = frt;
    KpiValue rate;
    rate.count = 4;
    rate.value = 0.5;
    rate.target = 0.95;
    rate.met = false;
    rate.ci_low = 0.15;
    rate.ci_high = 0.85;
    row.metrics["resolution_rate"] = rate;
    r.rows.push_back(row);
  }
  r.notes.emplace_back("csat", "not available: no surveys");
  return r;
}

TEST(ReportHtmlTest, KpiPageEmbedsTheLibraryAndEscapesEveryText) {
  const HtmlReport page = KpiHtmlReport(TwoGroups(), {{"metrics", "frt,resolution_rate"}}, 1'772'413'200'000);
  ASSERT_EQ(page.charts.size(), 2u);
  EXPECT_THAT(page.charts[0].option_json, HasSubstr("\"value\":2.0"));  // the median, in hours
  auto html = RenderHtml(page, "/* the library */ var echarts={};");
  ASSERT_OK(html);
  EXPECT_THAT(*html, HasSubstr("/* the library */ var echarts={};"));
  EXPECT_THAT(*html, HasSubstr("<td>metrics</td><td>frt,resolution_rate</td>"));
  EXPECT_THAT(*html, HasSubstr("2026-03-02T01:00:00"));
  EXPECT_THAT(*html, HasSubstr("csat: not available: no surveys"));
  EXPECT_THAT(*html, HasSubstr("<tr class=\"missed\">"));
  // The hostile group: escaped in the table, \u003c inside the charts' JSON — never raw markup.
  EXPECT_THAT(*html, HasSubstr("&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"));
  EXPECT_THAT(*html, HasSubstr("\\u003c/script>\\u003cimg src=x"));
  EXPECT_THAT(*html, Not(HasSubstr("<img src=x")));
  size_t scripts = 0;
  for (size_t at = html->find("</script>"); at != std::string::npos; at = html->find("</script>", at + 1)) ++scripts;
  EXPECT_EQ(scripts, 2u) << "only the library's and the charts' own script elements end";
}

TEST(ReportHtmlTest, RefusesALibraryThatWouldEndItsScript) {
  HtmlReport page;
  page.title = "t";
  EXPECT_THAT(RenderHtml(page, "").status(), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(RenderHtml(page, "var a='</script>';").status(), StatusIs(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace touchpoint::insight
