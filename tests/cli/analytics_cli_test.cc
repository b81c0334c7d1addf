// End-to-end tests of the analytics and prediction commands: over the ingested demo data set
// (results written onto profiles as tags) and over CSV files.
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <touchpoint/text/intent.h>

#include "cli/cli_runner.h"
#include "pipeline/test_dir.h"

namespace touchpoint {
namespace {

using nlohmann::json;

using ::touchpoint::testing::CmdRun;
using ::touchpoint::testing::Touchpoint;

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

class AnalyticsCliTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& content) {
    std::ofstream(tmp_.File(name), std::ios::binary) << content;
    return tmp_.File(name);
  }
  std::string Data() const { return tmp_.File("data"); }

  // Generates the demo data set (300 persons, a year ending 2026-11-01) and ingests it.
  void IngestDemo() {
    const std::string file = tmp_.File("demo.ndjson");
    ASSERT_EQ(Touchpoint("demo generate --customers 300 --seed 7 --out " + file + " 2>/dev/null").code, 0);
    ASSERT_EQ(Touchpoint("ingest --data " + Data() + " " + file + " >/dev/null 2>&1").code, 0);
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) {
      json e = json::parse(line);
      if (e.value("event", "") != "Order Completed") continue;
      for (const auto& p : e["properties"]["products"]) {
        categories_.insert(p["category"].get<std::string>());
        products_.insert(p["product_id"].get<std::string>());
      }
    }
    ASSERT_FALSE(categories_.empty());
  }

  json Customer(const std::string& id) {
    CmdRun r = Touchpoint("customer show --data " + Data() + " " + id);
    EXPECT_EQ(r.code, 0) << id;
    return json::parse(r.out);
  }

  ::touchpoint::testing::TempDir tmp_;
  std::set<std::string> categories_;
  std::set<std::string> products_;
};

TEST_F(AnalyticsCliTest, KMeansOverTheStoreWritesClusterNamesOntoProfiles) {
  IngestDemo();
  const std::string csv = tmp_.File("k.csv");
  CmdRun r = Touchpoint("segment kmeans --data " + Data() + " --k 3 --out " + csv + " 2>/dev/null");
  ASSERT_EQ(r.code, 0) << r.out;
  json s = json::parse(r.out);
  EXPECT_EQ(s["k"], 3);
  EXPECT_EQ(s["features"].size(), 7u);
  std::map<int, std::string> names;
  std::int64_t sized = 0;
  for (const auto& c : s["clusters"]) {
    names[c["cluster"].get<int>()] = c["name"].get<std::string>();
    EXPECT_FALSE(c["name"].get<std::string>().empty());
    EXPECT_GT(c["size"].get<std::int64_t>(), 0);
    sized += c["size"].get<std::int64_t>();
    EXPECT_TRUE(c["centroid"].contains("monetary"));
  }
  ASSERT_EQ(names.size(), 3u);
  std::ifstream in(csv);
  const std::vector<std::string> rows = Lines(std::string(std::istreambuf_iterator<char>(in), {}));
  ASSERT_EQ(rows.front(), "id,cluster");
  EXPECT_EQ(static_cast<std::int64_t>(rows.size()) - 1, sized);
  EXPECT_EQ(s["tagged"].get<std::int64_t>(), sized);
  EXPECT_GT(sized, 150) << "most of the 300 persons order or write";
  // Three profiles (first, middle, last row): the tags agree with the CSV and the summary.
  for (size_t i : {size_t{1}, rows.size() / 2, rows.size() - 1}) {
    const auto f = Split(rows[i], ',');
    ASSERT_EQ(f.size(), 2u);
    json c = Customer(f[0]);
    ASSERT_TRUE(c["tags"].contains("cluster")) << c["tags"].dump();
    EXPECT_EQ(c["tags"]["cluster_id"], std::stoi(f[1]));
    EXPECT_EQ(c["tags"]["cluster"], names[std::stoi(f[1])]);
  }
  // The CSV mode still needs --features; unknown store features are named.
  EXPECT_EQ(Touchpoint("segment kmeans --data " + Data() + " --features spend 2>/dev/null").code, 2);
  EXPECT_EQ(Touchpoint("segment kmeans --data " + Write("x.csv", "a\n1\n2\n") + " 2>/dev/null").code, 2);
}

TEST_F(AnalyticsCliTest, ChurnOverTheStoreTrainsOnACutoffAndWritesRisk) {
  IngestDemo();
  const std::string model = tmp_.File("m.model");
  CmdRun r = Touchpoint("churn train --data " + Data() + " --out " + model + " 2>/dev/null");
  ASSERT_EQ(r.code, 0) << r.out;
  json s = json::parse(r.out);
  EXPECT_EQ(s["cutoff"], "2026-08-02") << "newest event's day minus 90 days";
  const auto n = s["training_customers"].get<std::int64_t>();
  const auto churned = s["churned"].get<std::int64_t>();
  EXPECT_GT(churned, 0);
  EXPECT_LT(churned, n);
  const double auc = s["cv"]["roc_auc"].get<double>();
  EXPECT_GE(auc, 0.0);
  EXPECT_LE(auc, 1.0);
  EXPECT_GE(s["scored"].get<std::int64_t>(), n);
  // Every live customer is scored, those who only browsed too; the customers a shared
  // identifier (a kiosk) was given have no events of their own and are the only ones left out.
  CmdRun stats = Touchpoint("stats --data " + Data());
  CmdRun shared = Touchpoint("identity shared --data " + Data());
  ASSERT_EQ(stats.code, 0);
  ASSERT_EQ(shared.code, 0);
  EXPECT_EQ(s["scored"].get<std::int64_t>(),
            json::parse(Lines(stats.out).back())["customers"].get<std::int64_t>() -
                static_cast<std::int64_t>(json::parse(shared.out).size()));
  const double mean = s["mean_churn_risk"].get<double>();
  EXPECT_GT(mean, 0);
  EXPECT_LT(mean, 1);

  CmdRun scored = Touchpoint("churn score --data " + Data() + " --model " + model + " 2>/dev/null");
  ASSERT_EQ(scored.code, 0);
  const auto rows = Lines(scored.out);
  ASSERT_EQ(rows.front(), "id,probability,reasons");
  EXPECT_EQ(static_cast<std::int64_t>(rows.size()) - 1, s["scored"].get<std::int64_t>());
  for (size_t i : {size_t{1}, rows.size() - 1}) {
    const auto f = Split(rows[i], ',');
    json c = Customer(f[0]);
    ASSERT_TRUE(c["tags"].contains("churn_risk")) << c["tags"].dump();
    const double risk = c["tags"]["churn_risk"].get<double>();
    EXPECT_GE(risk, 0);
    EXPECT_LE(risk, 1);
    EXPECT_NEAR(risk, std::stod(f[1]), 0.0005 + 1e-9);
  }
  // Bad cut-offs: no 90 days after it, no customer before it.
  CmdRun late = Touchpoint("churn train --data " + Data() + " --cutoff 2026-10-01 2>&1");
  EXPECT_EQ(late.code, 2);
  EXPECT_NE(late.out.find("90 days"), std::string::npos) << late.out;
  CmdRun early = Touchpoint("churn train --data " + Data() + " --cutoff 2020-01-01 2>&1");
  EXPECT_EQ(early.code, 2);
  EXPECT_NE(early.out.find("no customer"), std::string::npos) << early.out;
}

TEST_F(AnalyticsCliTest, RulesOverTheStoreMineProductsAndCategoryToIntent) {
  IngestDemo();
  CmdRun r = Touchpoint("rules mine --data " + Data() + " --kind category-intent --min-support 0.005 --min-confidence 0.02 "
                     "2>/dev/null");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto lines = Lines(r.out);
  ASSERT_FALSE(lines.empty()) << "the demo's customers ask about refunds and deliveries after buying";
  const auto& intents = text::BuiltinIntents();
  double last_lift = 1e300;
  for (const auto& line : lines) {
    json rule = json::parse(line);
    for (const auto& l : rule["lhs"]) {
      const std::string item = l.get<std::string>();
      ASSERT_EQ(item.rfind("category:", 0), 0u) << line;
      EXPECT_TRUE(categories_.count(item.substr(9))) << line;
    }
    const std::string rhs = rule["rhs"][0].get<std::string>();
    ASSERT_EQ(rhs.rfind("intent:", 0), 0u) << line;
    EXPECT_NE(std::find(intents.begin(), intents.end(), rhs.substr(7)), intents.end()) << line;
    EXPECT_NE(rhs, "intent:other");
    EXPECT_GE(rule["confidence"].get<double>(), 0.02);
    EXPECT_LE(rule["lift"].get<double>(), last_lift) << "sorted by lift";
    last_lift = rule["lift"].get<double>();
  }
  CmdRun p = Touchpoint("rules mine --data " + Data() + " --kind products --min-support 0.002 --min-confidence 0 2>/dev/null");
  ASSERT_EQ(p.code, 0);
  for (const auto& line : Lines(p.out)) {
    json rule = json::parse(line);
    for (const auto& l : rule["lhs"]) EXPECT_TRUE(products_.count(l.get<std::string>())) << line;
    EXPECT_TRUE(products_.count(rule["rhs"][0].get<std::string>())) << line;
    EXPECT_GE(rule["count"].get<int>(), 1);
  }
}

TEST_F(AnalyticsCliTest, ForecastAndStaffingOverTheStoreUseHourlyContacts) {
  IngestDemo();
  CmdRun r = Touchpoint("forecast --data " + Data() + " --season 24 --horizon 48 --since 2026-09-01 2>/dev/null");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto rows = Lines(r.out);
  ASSERT_EQ(rows.size(), 49u) << "a header and H rows";
  EXPECT_EQ(rows.front(), "time,forecast,lower,upper");
  for (size_t i = 1; i < rows.size(); ++i) {
    const auto f = Split(rows[i], ',');
    ASSERT_EQ(f.size(), 4u);
    const double v = std::stod(f[1]), lo = std::stod(f[2]), hi = std::stod(f[3]);
    EXPECT_GE(v, 0);
    EXPECT_LE(lo, v);
    EXPECT_GE(hi, v);
  }
  // Hourly steps after the newest contact (the demo's window ends 2026-11-01).
  EXPECT_GE(rows[1].substr(0, 13), "2026-10-31T00");
  EXPECT_LE(rows[1].substr(0, 13), "2026-11-01T00");
  for (size_t i = 2; i < rows.size(); ++i) {
    const int prev = std::stoi(rows[i - 1].substr(11, 2)), hour = std::stoi(rows[i].substr(11, 2));
    EXPECT_EQ(hour, (prev + 1) % 24) << rows[i];
  }
  CmdRun st = Touchpoint("staffing --data " + Data() + " --season 24 --horizon 12 --since 2026-09-01 --aht-seconds 300 "
                      "2>/dev/null");
  ASSERT_EQ(st.code, 0);
  const auto plans = Lines(st.out);
  ASSERT_EQ(plans.size(), 12u);
  for (const auto& line : plans) {
    json p = json::parse(line);
    EXPECT_TRUE(p.contains("time"));
    EXPECT_GE(p["agents"].get<int>(), 0);
    EXPECT_GE(p["scheduled_agents"].get<int>(), p["agents"].get<int>());
  }
  // A data directory that was never ingested into: an error, and no empty directory left behind.
  // (On PostgreSQL the store is the database, empty here: the commands find no data instead.)
  const int no_data = testing::TestOnPostgres() ? 2 : 1;
  EXPECT_EQ(Touchpoint("forecast --data " + tmp_.File("nothing") + " --season 24 --horizon 4 2>/dev/null").code, no_data);
  EXPECT_FALSE(std::filesystem::exists(tmp_.File("nothing"))) << "no empty data directory created";
  EXPECT_EQ(Touchpoint("rules mine --data " + tmp_.File("nothing") + " --min-support 0.1 --min-confidence 0 2>/dev/null").code, no_data);
}

// ---- CSV commands ----

std::string ChurnCsv(int rows, bool single_class) {
  std::string csv = "id,tenure,contract,charges,Churn\n";
  for (int i = 0; i < rows; ++i) {
    const int tenure = (i * 37) % 72;
    const bool monthly = i % 3 != 0;
    const bool churn = single_class ? false : ((monthly && tenure < 30) != (i % 11 == 0));
    csv += "c" + std::to_string(i) + "," + std::to_string(tenure) + "," + (monthly ? "monthly" : "two-year") + "," +
           (i % 17 == 0 ? " " : std::to_string(20 + (i * 13) % 80)) + "," + (churn ? "Yes" : "No") + "\n";
  }
  return csv;
}

TEST_F(AnalyticsCliTest, ChurnCsvTrainScoreAndEval) {
  const std::string data = Write("churn.csv", ChurnCsv(400, false));
  const std::string model = tmp_.File("churn.model");
  for (const std::string kind : {"logistic", "gbdt"}) {
    CmdRun t = Touchpoint("churn train --data " + data + " --label Churn --id id --model " + kind + " --out " + model +
                       " --folds 3 2>/dev/null");
    ASSERT_EQ(t.code, 0) << t.out;
    json s = json::parse(t.out);
    EXPECT_EQ(s["model"], kind);
    EXPECT_EQ(s["rows"], 400);
    EXPECT_GT(s["cv"]["roc_auc"].get<double>(), 0.8) << kind << ": the label is mostly a rule on two columns";
    CmdRun sc = Touchpoint("churn score --model " + model + " --data " + data + " 2>/dev/null");
    ASSERT_EQ(sc.code, 0);
    const auto rows = Lines(sc.out);
    ASSERT_EQ(rows.size(), 401u);
    EXPECT_EQ(rows.front(), "id,probability,reasons");
    EXPECT_EQ(rows[1].substr(0, 3), "c0,");
    double churner = 0, stayer = 0;
    for (size_t i = 1; i < rows.size(); ++i) {
      const auto f = Split(rows[i], ',');
      const double p = std::stod(f[1]);
      ASSERT_GE(p, 0);
      ASSERT_LE(p, 1);
      if (rows[i].rfind("c2,", 0) == 0) churner = p;  // monthly, tenure 2
      if (rows[i].rfind("c3,", 0) == 0) stayer = p;   // two-year contract
    }
    EXPECT_GT(churner, stayer) << kind;
  }
  CmdRun ev = Touchpoint("churn eval --data " + data + " --label Churn --id id --folds 4 2>/dev/null");
  ASSERT_EQ(ev.code, 0);
  json e = json::parse(ev.out);
  EXPECT_EQ(e["folds"], 4);
  EXPECT_EQ(e["per_fold"].size(), 4u);
  EXPECT_GT(e["roc_auc"].get<double>(), 0.8);
  EXPECT_GT(e["log_loss"].get<double>(), 0);
  // Bad input: a single class, a missing label column, a feature missing when scoring.
  CmdRun one = Touchpoint("churn eval --data " + Write("one.csv", ChurnCsv(50, true)) + " --label Churn 2>&1");
  EXPECT_EQ(one.code, 2);
  EXPECT_NE(one.out.find("class"), std::string::npos) << one.out;
  EXPECT_EQ(Touchpoint("churn train --data " + data + " --label Nope --out " + model + " 2>/dev/null").code, 2);
  CmdRun missing = Touchpoint("churn score --model " + model + " --data " + Write("s.csv", "id,tenure\nx,3\n") + " 2>&1");
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.out.find("missing column"), std::string::npos) << missing.out;
}

TEST_F(AnalyticsCliTest, ForecastCsvAndStaffingFromItsOutput) {
  std::string csv = "date,calls\n";
  const int weekly[7] = {120, 130, 125, 140, 160, 60, 40};
  for (int d = 0; d < 8 * 7; ++d) {
    char date[16];
    std::snprintf(date, sizeof date, "2024-%02d-%02d", d < 31 ? 1 : 2, d < 31 ? d + 1 : d - 30);
    csv += std::string(date) + "," + std::to_string(weekly[d % 7] + (d * 7) % 5) + "\n";
  }
  const std::string series = Write("calls.csv", csv);
  const std::string out = tmp_.File("fc.csv");
  CmdRun f = Touchpoint("forecast --series " + series + " --time-column date --value-column calls --season 7 --horizon 14 "
                     "--out " + out + " 2>/dev/null");
  ASSERT_EQ(f.code, 0) << f.out;
  json s = json::parse(f.out);
  EXPECT_TRUE(s["smape"]["seasonal_naive"].is_number());
  EXPECT_LT(s["smape"][s["chosen"].get<std::string>()].get<double>(), 10) << "a clean weekly pattern";
  std::ifstream in(out);
  const auto rows = Lines(std::string(std::istreambuf_iterator<char>(in), {}));
  ASSERT_EQ(rows.size(), 15u);
  EXPECT_EQ(rows[1].substr(0, 10), "2024-02-26") << "the day after the last";
  // Day 56 is a Monday-like index 0 (120), day 61 index 5 (60): the weekly shape carries over.
  EXPECT_GT(std::stod(Split(rows[1], ',')[1]), std::stod(Split(rows[6], ',')[1]) + 30);

  CmdRun one = Touchpoint("staffing --calls-per-hour 200 --aht-seconds 180 --target-level 0.8 --target-seconds 20 2>/dev/null");
  ASSERT_EQ(one.code, 0);
  json p = json::parse(one.out);
  EXPECT_EQ(p["agents"], 14) << "the textbook example";
  EXPECT_NEAR(p["service_level"].get<double>(), 0.888, 0.001);
  CmdRun per_hour = Touchpoint("staffing --forecast " + out + " --aht-seconds 180 2>/dev/null");
  ASSERT_EQ(per_hour.code, 0);
  const auto plans = Lines(per_hour.out);
  ASSERT_EQ(plans.size(), 14u);
  EXPECT_GT(json::parse(plans[0])["agents"].get<int>(), json::parse(plans[5])["agents"].get<int>());
  EXPECT_EQ(json::parse(plans[0])["time"], "2024-02-26");
  EXPECT_EQ(Touchpoint("staffing --aht-seconds 180 2>/dev/null").code, 2);
  EXPECT_EQ(Touchpoint("forecast --series " + series + " --time-column nope --value-column calls --season 7 "
                       "--horizon 3 2>/dev/null").code, 2);
}

}  // namespace
}  // namespace touchpoint
