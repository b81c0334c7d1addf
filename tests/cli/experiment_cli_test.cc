// `touchpoint experiment analyze|plan` as an analyst runs it: the issue's summary-file contract
// (the last line one JSON object), per-unit files, malformed rows, exit codes. And the stored
// experiments: create (bad input exit 2 naming the field), list, show, start, assign, results over
// tickets of the CLI's own desk, stop, as JSON and tables.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"

namespace touchpoint {
namespace {

using ::testing::HasSubstr;
using ::touchpoint::testing::Slurp;
using ::touchpoint::testing::Touchpoint;

class ExperimentCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = std::filesystem::temp_directory_path() / ("tp_experiment_cli_" + std::to_string(rd()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string File(const std::string& name, const std::string& content) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << content;
    return path;
  }
  static nlohmann::json LastLine(const std::string& out) {
    auto end = out.find_last_not_of('\n');
    auto start = out.rfind('\n', end);
    return nlohmann::json::parse(out.substr(start == std::string::npos ? 0 : start + 1, end + 1 - (start + 1)));
  }
  std::filesystem::path dir_;
};

double R5(double v) { return std::round(v * 1e5) / 1e5; }

TEST_F(ExperimentCliTest, SummaryFileGivesTheContractsJson) {
  const auto file = File("means.csv", "variant,units,sum,sum_squares\nA,3407,1396.87,52377.9767\nB,3461,2422.7,134698.29\n");
  auto r = Touchpoint("experiment analyze --summary " + file);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("variant"));  // the table first
  const auto j = LastLine(r.out);
  EXPECT_TRUE(j["warnings"].empty());
  ASSERT_EQ(j["variants"].size(), 2u);
  const auto& control = j["variants"][0];
  EXPECT_EQ(control.size(), 3u) << control.dump();  // only variant, units and mean
  EXPECT_EQ(control["variant"], "A");
  const auto& b = j["variants"][1];
  EXPECT_EQ(R5(b["lift"].get<double>()), 0.70732);
  EXPECT_EQ(R5(b["ci_low"].get<double>()), -0.03526);
  EXPECT_EQ(R5(b["ci_high"].get<double>()), 1.44989);
  EXPECT_EQ(R5(b["p_value"].get<double>()), 0.06191);
  EXPECT_FALSE(b.contains("p_adjusted"));

  r = Touchpoint("experiment analyze --summary " + file + " --lift absolute --correction holm");
  ASSERT_EQ(r.code, 0);
  const auto abs = LastLine(r.out)["variants"][1];
  EXPECT_EQ(R5(abs["p_value"].get<double>()), 0.02016);
  EXPECT_EQ(R5(abs["p_adjusted"].get<double>()), 0.02016);  // one comparison: unchanged
}

TEST_F(ExperimentCliTest, ProportionsWithoutSumSquaresAndAnSrmWarning) {
  const auto file = File("conv.csv", "variant,units,sum\ncontrol,5000,500\nnew-policy,5400,600\n");
  auto r = Touchpoint("experiment analyze --summary " + file + " --metric proportion --weights 50,50");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = LastLine(r.out);
  EXPECT_LT(j["srm_p"].get<double>(), 0.001);
  ASSERT_EQ(j["warnings"].size(), 1u);
  EXPECT_THAT(j["warnings"][0].get<std::string>(), HasSubstr("sample ratio mismatch"));
  EXPECT_TRUE(j["variants"][1].contains("p_value"));  // still computed
}

TEST_F(ExperimentCliTest, PerUnitRowsAgreeWithTheirSummary) {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> d(10, 3);
  std::string units = "variant,value,pre\n";
  double n[2] = {0, 0}, s[2] = {0, 0}, ss[2] = {0, 0}, ps[2] = {0, 0}, pss[2] = {0, 0}, sp[2] = {0, 0};
  for (int i = 0; i < 4000; ++i) {
    const int arm = i % 2;
    const double pre = d(rng);
    const double v = 0.7 * pre + d(rng) / 3 + arm * 0.2;
    char line[128];
    std::snprintf(line, sizeof line, "%s,%.17g,%.17g\n", arm ? "b" : "a", v, pre);
    units += line;
    n[arm] += 1, s[arm] += v, ss[arm] += v * v, ps[arm] += pre, pss[arm] += pre * pre, sp[arm] += v * pre;
  }
  units += "b,not-a-number,1\n";  // rejected with its line, the rest used
  const auto unit_file = File("units.csv", units);
  std::string summary = "variant,units,sum,sum_squares,pre_sum,pre_sum_squares,sum_products\n";
  for (int arm = 0; arm < 2; ++arm) {
    char line[512];
    std::snprintf(line, sizeof line, "%s,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g\n", arm ? "b" : "a", n[arm], s[arm],
                  ss[arm], ps[arm], pss[arm], sp[arm]);
    summary += line;
  }
  const auto summary_file = File("summary.csv", summary);
  auto from_units = Touchpoint("experiment analyze --units " + unit_file + " 2>" + (dir_ / "err").string());
  auto from_summary = Touchpoint("experiment analyze --summary " + summary_file);
  ASSERT_EQ(from_units.code, 0) << from_units.out;
  ASSERT_EQ(from_summary.code, 0) << from_summary.out;
  EXPECT_THAT(Slurp((dir_ / "err").string()), HasSubstr("units.csv:4002: value: \"not-a-number\" is not a number"));
  const auto u = LastLine(from_units.out)["variants"][1];
  const auto m = LastLine(from_summary.out)["variants"][1];
  EXPECT_NEAR(u["lift"].get<double>(), m["lift"].get<double>(), 1e-9);
  EXPECT_NEAR(u["se"].get<double>(), m["se"].get<double>(), 1e-9);
  EXPECT_EQ(LastLine(from_units.out)["warnings"].back(), "1 malformed rows skipped (see stderr)");
  // CUPED: the pre column narrows the interval against the same data without it.
  auto plain = Touchpoint("experiment analyze --summary " +
                          File("plain.csv", "variant,units,sum,sum_squares\na," + std::to_string(n[0]) + "," +
                                                std::to_string(s[0]) + "," + std::to_string(ss[0]) + "\nb," +
                                                std::to_string(n[1]) + "," + std::to_string(s[1]) + "," +
                                                std::to_string(ss[1]) + "\n"));
  ASSERT_EQ(plain.code, 0);
  EXPECT_LT(m["se"].get<double>() * 1.5, LastLine(plain.out)["variants"][1]["se"].get<double>());
  // --control picks the control among the units.
  auto swapped = Touchpoint("experiment analyze --units " + unit_file + " --control b 2>/dev/null");
  ASSERT_EQ(swapped.code, 0);
  EXPECT_EQ(LastLine(swapped.out)["variants"][0]["variant"], "b");
}

// Per-unit files as spreadsheets and other tools write them: CRLF line ends, a BOM and quoted
// names in the header, more columns than the three used, no newline after the last row.
TEST_F(ExperimentCliTest, PerUnitFilesFromOtherToolsReadTheSame) {
  const std::string rows[] = {"a,1,2", "b,2,1", "a,3,4", "b,5,3", "a,2,2", "b,4,2"};
  std::string plain = "variant,value,pre\n", windows = "\xEF\xBB\xBF\"id\",\"variant\",\"value\",\"pre\",x,y,z,u,v,w\r\n";
  for (size_t i = 0; i < std::size(rows); ++i) {
    plain += rows[i] + "\n";
    const std::string id = std::to_string(i);
    windows += id + "," + rows[i] + ",,,,,," + (i + 1 < std::size(rows) ? "\r\n" : "");
  }
  auto want = Touchpoint("experiment analyze --units " + File("plain.csv", plain) + " --lift absolute");
  auto got = Touchpoint("experiment analyze --units " + File("windows.csv", windows) + " --lift absolute 2>&1");
  ASSERT_EQ(want.code, 0) << want.out;
  ASSERT_EQ(got.code, 0) << got.out;
  EXPECT_EQ(LastLine(got.out), LastLine(want.out));
  EXPECT_EQ(LastLine(got.out)["variants"][1]["units"], 3);  // the last row, without its newline, counts
}

TEST_F(ExperimentCliTest, BadInputIsExitTwoNamingFileLineAndField) {
  auto r = Touchpoint("experiment analyze --summary " + File("bad.csv", "variant,units,sum,sum_squares\nA,10,1,2\nB,ten,1,2\n") + " 2>&1");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.out, HasSubstr("bad.csv:3: units: \"ten\" is not a number"));
  r = Touchpoint("experiment analyze --summary " + File("nohead.csv", "variant,units\nA,10\nB,10\n") + " 2>&1");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.out, HasSubstr("lacks the column sum"));
  r = Touchpoint("experiment analyze --summary " + (dir_ / "missing.csv").string() + " 2>&1");
  EXPECT_EQ(r.code, 1);
  r = Touchpoint("experiment analyze --metric median --summary x.csv 2>&1");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.out, HasSubstr("--metric"));
}

TEST_F(ExperimentCliTest, PlanGivesDaysAndTheDetectableEffect) {
  auto r = Touchpoint("experiment plan --baseline 0.1 --traffic 1000 --effect 0.1");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto plan = LastLine(r.out);
  EXPECT_NEAR(plan["units"].get<double>(), 28256, 2);
  r = Touchpoint("experiment plan --baseline 0.1 --traffic 1000 --days " + std::to_string(plan["days"].get<double>()));
  ASSERT_EQ(r.code, 0);
  EXPECT_NEAR(LastLine(r.out)["minimum_detectable_effect"].get<double>(), 0.1, 1e-4);
  EXPECT_EQ(Touchpoint("experiment plan --baseline 0.1 --traffic 1000 2>/dev/null").code, 2);
}


TEST_F(ExperimentCliTest, StoredExperimentsFromCreateToResults) {
  const std::string data = (dir_ / "data").string();
  const std::string d = " --data " + data;
  File("alice.ndjson",
       R"({"type":"identify","userId":"alice","messageId":"id-1","timestamp":"2026-03-02T01:00:00Z","traits":{}})"
       "\n");
  ASSERT_EQ(Touchpoint("ingest" + d + " " + (dir_ / "alice.ndjson").string() + " 2>/dev/null").code, 0);
  ASSERT_EQ(Touchpoint("ticket create" + d + " --customer user:alice --subject s --channel email").code, 0);
  ASSERT_EQ(Touchpoint("ticket create" + d + " --customer user:alice --subject t --channel chat").code, 0);
  ASSERT_EQ(Touchpoint("ticket reply" + d + " TP-000001 --text hello").code, 0);
  ASSERT_EQ(Touchpoint("ticket status" + d + " TP-000001 solved").code, 0);

  auto bad = Touchpoint("experiment create" + d + " --name r --unit ticket --variants a:1,b:0 --metrics art 2>&1");
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.out, HasSubstr("variants: the weight of \"b\" must be above 0"));
  bad = Touchpoint("experiment create" + d + " --name r --unit ticket --variants a,b --metrics speed 2>&1");
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.out, HasSubstr("metrics: unknown metric \"speed\"; valid: csat"));

  auto made = Touchpoint("experiment create" + d +
                         " --name routing --unit ticket --variants control:50,skills:50 --metrics resolution_rate,art"
                         " --format json");
  ASSERT_EQ(made.code, 0) << made.out;
  const auto e = nlohmann::json::parse(made.out);
  EXPECT_EQ(e["status"], "draft");
  EXPECT_FALSE(e.contains("salt"));
  EXPECT_EQ(Touchpoint("experiment create" + d + " --name routing --unit ticket --variants a,b --metrics art").code, 1);

  auto listed = Touchpoint("experiment list" + d + " --format table");
  ASSERT_EQ(listed.code, 0);
  EXPECT_THAT(listed.out, HasSubstr("routing"));
  EXPECT_THAT(listed.out, HasSubstr("control:50,skills:50"));
  auto shown = Touchpoint("experiment show" + d + " routing --format json --show-salt");
  ASSERT_EQ(shown.code, 0);
  EXPECT_EQ(nlohmann::json::parse(shown.out)["salt"].get<std::string>().size(), 32u);
  EXPECT_EQ(Touchpoint("experiment show" + d + " nope 2>/dev/null").code, 4);

  auto draft = Touchpoint("experiment assign" + d + " routing 1 --format json");
  ASSERT_EQ(draft.code, 0);
  EXPECT_EQ(nlohmann::json::parse(draft.out)["reason"], "not running (draft)");
  ASSERT_EQ(Touchpoint("experiment start" + d + " routing --format json").code, 0);
  EXPECT_EQ(Touchpoint("experiment start" + d + " routing 2>/dev/null").code, 1);
  for (const char* unit : {"1", "2"}) {
    auto a = Touchpoint("experiment assign" + d + " routing " + unit + " --format json");
    ASSERT_EQ(a.code, 0) << a.out;
    const auto j = nlohmann::json::parse(a.out);
    EXPECT_EQ(j["in_experiment"], true);
    EXPECT_EQ(j["first_exposure"], true);
  }
  EXPECT_EQ(Touchpoint("experiment assign" + d + " routing TP-1 2>/dev/null").code, 2);

  auto results = Touchpoint("experiment results" + d + " routing --format json --min-units 1");
  ASSERT_EQ(results.code, 0) << results.out;
  const auto r = nlohmann::json::parse(results.out);
  ASSERT_EQ(r["metrics"].size(), 2u);
  double units = 0, solved = 0;
  for (const auto& v : r["metrics"][0]["variants"]) {
    units += v["units"].get<double>();
    solved += v["units"].get<double>() * v.value("mean", 0.0);
  }
  EXPECT_EQ(units, 2);   // both tickets exposed and measured
  EXPECT_EQ(solved, 1);  // TP-000001 solved
  auto table = Touchpoint("experiment results" + d + " routing --format table");
  ASSERT_EQ(table.code, 0);
  EXPECT_THAT(table.out, HasSubstr("resolution_rate (increase is better"));
  EXPECT_THAT(table.out, HasSubstr("not enough data"));

  // report experiment: the results as self-contained HTML (ECharts embedded), drawn by ECharts.
  const std::string html_path = (dir_ / "routing.html").string();
  auto report = Touchpoint("report experiment routing" + d + " --min-units 1 --out " + html_path + " 2>&1");
  ASSERT_EQ(report.code, 0) << report.out;
  const std::string html = Slurp(html_path);
  EXPECT_THAT(html, HasSubstr("Touchpoint experiment routing"));
  EXPECT_THAT(html, HasSubstr("echarts.init("));
  EXPECT_EQ(html.find("<script src"), std::string::npos);
  EXPECT_THAT(html, HasSubstr("<td>resolution_rate</td><td>control</td>"));
  if (std::system("command -v node >/dev/null 2>&1") == 0) {
    auto drawn = ::touchpoint::testing::Shell("node " + std::string(TP_SOURCE_DIR) + "/tests/cli/report_render.js " +
                                              html_path + " " + std::string(TP_SOURCE_DIR) +
                                              "/web/node_modules/echarts 2>&1");
    EXPECT_EQ(drawn.code, 0) << drawn.out;
    EXPECT_THAT(drawn.out, HasSubstr("chart 2 rendered: 3 series"));  // exposures (0), then one per metric
  }
  auto as_json = Touchpoint("report experiment routing" + d + " --format json");
  ASSERT_EQ(as_json.code, 0);
  EXPECT_EQ(nlohmann::json::parse(as_json.out)["metrics"].size(), 2u);

  auto stopped = Touchpoint("experiment stop" + d + " routing --format json");
  ASSERT_EQ(stopped.code, 0);
  EXPECT_EQ(nlohmann::json::parse(stopped.out)["status"], "stopped");
}
}  // namespace
}  // namespace touchpoint
