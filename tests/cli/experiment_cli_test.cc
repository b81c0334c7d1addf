// `touchpoint experiment analyze|plan` as an analyst runs it: the summary-file contract
// (the last line one JSON object), per-unit files, malformed rows, exit codes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
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

}  // namespace
}  // namespace touchpoint
