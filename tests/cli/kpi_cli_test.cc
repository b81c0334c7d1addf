// `touchpoint kpi` end to end: tickets made and solved with the CLI's own desk get their spans
// stored, the report comes out as JSON (the shape of GET /v1/kpis), CSV and a table, an unknown
// metric is exit 2 naming it and the valid ones, and `kpi rebuild` recomputes the spans.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"
#include "pipeline/test_dir.h"

namespace touchpoint {
namespace {

using ::testing::HasSubstr;
using ::touchpoint::testing::Touchpoint;
using json = nlohmann::json;

class KpiCliTest : public ::testing::Test {
 protected:
  std::string Data() const { return tmp_.File("data"); }
  // A customer, and two tickets: TP-000001 on e-mail answered and solved, TP-000002 on chat open.
  void Desk() {
    std::ofstream(tmp_.File("alice.ndjson"))
        << R"({"type":"identify","userId":"alice","messageId":"id-1","timestamp":"2026-03-02T01:00:00Z","traits":{}})"
        << "\n";
    ASSERT_EQ(Touchpoint("ingest --data " + Data() + " " + tmp_.File("alice.ndjson") + " 2>/dev/null").code, 0);
    ASSERT_EQ(Touchpoint("ticket create --data " + Data() + " --customer user:alice --subject s --channel email").code, 0);
    ASSERT_EQ(Touchpoint("ticket create --data " + Data() + " --customer user:alice --subject t --channel chat").code, 0);
    ASSERT_EQ(Touchpoint("ticket reply --data " + Data() + " TP-000001 --text hello").code, 0);
    ASSERT_EQ(Touchpoint("ticket status --data " + Data() + " TP-000001 solved").code, 0);
  }
  ::touchpoint::testing::TempDir tmp_;
};

TEST_F(KpiCliTest, ReportsAsJsonCsvAndTableAndRebuilds) {
  Desk();
  auto run = Touchpoint("kpi --data " + Data() + " --metrics frt,resolution_rate,deflection --by channel --format json");
  ASSERT_EQ(run.code, 0) << run.out;
  const json j = json::parse(run.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << run.out;
  EXPECT_EQ(j["metrics"], json::array({"frt", "resolution_rate", "deflection"}));
  EXPECT_EQ(j["by"], "channel");
  ASSERT_EQ(j["rows"].size(), 2u) << run.out;
  const json chat = j["rows"][0]["group"] == "chat" ? j["rows"][0] : j["rows"][1];
  const json email = j["rows"][0]["group"] == "email" ? j["rows"][0] : j["rows"][1];
  EXPECT_EQ(email["frt"]["count"], 1);  // created, then answered: from its creation
  EXPECT_TRUE(email["frt"].contains("median"));
  EXPECT_DOUBLE_EQ(email["resolution_rate"]["value"].get<double>(), 1);
  EXPECT_EQ(chat["frt"]["count"], 0);  // not answered yet: no figures, never NaN
  EXPECT_FALSE(chat["frt"].contains("mean"));
  EXPECT_DOUBLE_EQ(chat["resolution_rate"]["value"].get<double>(), 0);
  EXPECT_EQ(j["notes"]["deflection"], "not available: no bot conversations");

  auto csv = Touchpoint("kpi --data " + Data() + " --metrics resolution_rate --format csv");
  ASSERT_EQ(csv.code, 0);
  EXPECT_THAT(csv.out, HasSubstr("bucket,group,metric,count,value,mean,median,p90,ci_low,ci_high,target,met\n"));
  EXPECT_THAT(csv.out, HasSubstr("all,all,resolution_rate,2,0.5,"));
  auto table = Touchpoint("kpi --data " + Data() + " --metrics resolution_rate --format table");
  ASSERT_EQ(table.code, 0);
  EXPECT_THAT(table.out, HasSubstr("BUCKET"));
  EXPECT_THAT(table.out, HasSubstr("0.5 (missed)"));

  auto bad = Touchpoint("kpi --data " + Data() + " --metrics frt,speed 2>&1");
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.out, HasSubstr("unknown metric \"speed\"; valid: csat, csat_mean, nps"));
  bad = Touchpoint("kpi --data " + Data() + " --metrics frt --by colour 2>&1");
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.out, HasSubstr("valid: channel, agent, team, queue, intent, priority, tier, type"));

  auto rebuilt = Touchpoint("kpi rebuild --data " + Data());
  ASSERT_EQ(rebuilt.code, 0);
  EXPECT_THAT(rebuilt.out, HasSubstr("measured 2 tickets"));
  run = Touchpoint("kpi --data " + Data() + " --metrics resolution_rate --format json");
  ASSERT_EQ(run.code, 0);
  EXPECT_EQ(json::parse(run.out)["rows"][0]["resolution_rate"]["count"], 2);
}

// `report kpi`: the same figures as a file — self-contained HTML with ECharts embedded (opens
// offline: no external script), the parameters and the time on it, a missed target marked; JSON
// and CSV as `kpi` prints them; a missing ECharts copy is a clear error.
TEST_F(KpiCliTest, ReportKpiWritesSelfContainedHtmlJsonAndCsv) {
  Desk();
  const std::string html_path = tmp_.File("kpi.html");
  auto run = Touchpoint("report kpi --data " + Data() + " --metrics frt,resolution_rate --by channel --out " +
                        html_path + " 2>&1");
  ASSERT_EQ(run.code, 0) << run.out;
  EXPECT_THAT(run.out, HasSubstr("wrote " + html_path));
  std::ifstream in(html_path);
  const std::string html((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_THAT(html, HasSubstr("<!DOCTYPE html>"));
  EXPECT_THAT(html, HasSubstr("Licensed to the Apache Software Foundation")) << "ECharts is embedded";
  EXPECT_THAT(html, HasSubstr("echarts.init(")) << "and draws the charts";
  EXPECT_EQ(html.find("<script src"), std::string::npos) << "nothing is loaded from elsewhere";
  EXPECT_THAT(html, HasSubstr("<td>metrics</td><td>frt,resolution_rate</td>"));
  EXPECT_THAT(html, HasSubstr("<td>generated</td><td>20"));
  EXPECT_THAT(html, HasSubstr("id=\"chart1\"")) << "one chart per metric";
  EXPECT_THAT(html, HasSubstr("<tr class=\"missed\"><td>all</td><td>chat</td><td>resolution_rate</td>"));
  // ECharts itself (its server-side SVG renderer, in node) draws every chart from the options.
  if (std::system("command -v node >/dev/null 2>&1") == 0) {
    auto drawn = ::touchpoint::testing::Shell("node " + std::string(TP_SOURCE_DIR) + "/tests/cli/report_render.js " +
                                              html_path + " " + std::string(TP_SOURCE_DIR) +
                                              "/web/node_modules/echarts 2>&1");
    EXPECT_EQ(drawn.code, 0) << drawn.out;
    EXPECT_THAT(drawn.out, HasSubstr("chart 1 rendered: 2 series"));
  }

  auto json_report = Touchpoint("report kpi --data " + Data() + " --metrics resolution_rate --format json");
  auto json_kpi = Touchpoint("kpi --data " + Data() + " --metrics resolution_rate --format json");
  ASSERT_EQ(json_report.code, 0);
  EXPECT_EQ(json_report.out, json_kpi.out);
  auto csv = Touchpoint("report kpi --data " + Data() + " --metrics resolution_rate --format csv");
  ASSERT_EQ(csv.code, 0);
  EXPECT_THAT(csv.out, HasSubstr("all,all,resolution_rate,2,0.5,"));

  auto missing = Touchpoint("report kpi --data " + Data() + " --metrics frt --echarts " + tmp_.File("none.js") +
                            " --out " + tmp_.File("x.html") + " 2>&1");
  EXPECT_NE(missing.code, 0);
  EXPECT_THAT(missing.out, HasSubstr("echarts: cannot read"));
  auto bad = Touchpoint("report kpi --data " + Data() + " --metrics frt --format pdf 2>&1");
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.out, HasSubstr("valid: html, json, csv"));
}

}  // namespace
}  // namespace touchpoint
