#include <touchpoint/insight/drivers.h>

#include <fstream>
#include <set>

#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace touchpoint::insight {
namespace {

using ::touchpoint::testing::StatusIs;

std::string Write(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(DriversTest, RanksTheDriverThatMovesTheTarget) {
  // nps = 2 * speed + 0.7 * price + noise; `colour` does nothing.
  ml::SplitMix64 rng(5);
  std::string csv = "id,speed,price,colour,nps\n";
  for (int i = 0; i < 300; ++i) {
    const double speed = 1 + static_cast<double>(rng.Below(5));
    const double price = 1 + static_cast<double>(rng.Below(5));
    const double colour = 1 + static_cast<double>(rng.Below(5));
    const double nps = 2 * speed + 0.7 * price + (rng.Uniform() - 0.5) * 4;
    csv += std::to_string(i) + "," + std::to_string(speed) + "," + std::to_string(price) + "," +
           std::to_string(colour) + "," + std::to_string(nps) + "\n";
  }
  csv += "300,,3,3,5\n";  // a non-response: skipped
  const std::string path = Write("survey.csv", csv);
  auto table = ReadNumericCsv(path, {.columns = {"speed", "price", "colour", "nps"},
                                     .id_column = "id", .skip_incomplete_rows = true});
  ASSERT_OK(table);
  EXPECT_EQ(table->skipped_rows, 1);
  ASSERT_EQ(table->values.rows, 300u);
  NumericTable features;
  features.columns = {"speed", "price", "colour"};
  features.values = ml::Matrix(300, 3);
  std::vector<double> target(300);
  for (size_t i = 0; i < 300; ++i) {
    for (size_t c = 0; c < 3; ++c) features.values.at(i, c) = table->values.at(i, c);
    target[i] = table->values.at(i, 3);
  }
  auto got = AnalyzeDrivers(features, target, {.bootstrap = 50, .confidence = 0.95, .seed = 1});
  ASSERT_OK(got);
  ASSERT_EQ(got->drivers.size(), 3u);
  EXPECT_EQ(got->drivers[0].feature, "speed");
  EXPECT_EQ(got->drivers[1].feature, "price");
  EXPECT_EQ(got->drivers[2].feature, "colour");
  EXPECT_GT(got->r2, 0.5);
  EXPECT_GT(got->drivers[0].share_low, got->drivers[1].share_high);
  EXPECT_GT(got->drivers[0].correlation, 0.5);
}

TEST(DriversTest, ErrorsNameTheColumn) {
  NumericTable t;
  t.columns = {"a", "flat"};
  t.values = ml::Matrix(10, 2);
  std::vector<double> y(10);
  for (size_t i = 0; i < 10; ++i) {
    t.values.at(i, 0) = static_cast<double>(i);
    t.values.at(i, 1) = 1;
    y[i] = static_cast<double>(i * i);
  }
  auto got = AnalyzeDrivers(t, y, {});
  ASSERT_THAT(got, StatusIs(StatusCode::kInvalidArgument));
  EXPECT_NE(got.status().message().find("feature 'flat' is constant"), std::string::npos)
      << got.status().message();
  const std::string bad = Write("bad.csv", "x,y\n1,2\n3,abc\n");
  auto r = ReadNumericCsv(bad, {.columns = {"x", "y"}, .id_column = "", .skip_incomplete_rows = false});
  ASSERT_THAT(r, StatusIs(StatusCode::kInvalidArgument));
  EXPECT_NE(r.status().message().find(bad + ":3: column 'y': not a number: 'abc'"), std::string::npos)
      << r.status().message();
  EXPECT_THAT(ReadNumericCsv(bad, {.columns = {"z"}, .id_column = "", .skip_incomplete_rows = false}),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ReadNumericCsv(Write("empty.csv", ""), {.columns = {"x"}, .id_column = "", .skip_incomplete_rows = false}),
              StatusIs(StatusCode::kInvalidArgument));
}

TEST(SegmentTest, NamesClustersFromCentroids) {
  // Three behaviours: big spenders, frequent complainers, fast self-service users.
  ml::SplitMix64 rng(8);
  NumericTable t;
  t.columns = {"spend", "complaints", "handle_time"};
  t.values = ml::Matrix(300, 3);
  for (size_t i = 0; i < 300; ++i) {
    const size_t g = i % 3;
    const double jitter = rng.Uniform();
    t.values.at(i, 0) = (g == 0 ? 5000 : 500) + 100 * jitter;
    t.values.at(i, 1) = (g == 1 ? 6 : 1) + jitter;
    t.values.at(i, 2) = (g == 2 ? 2 : 10) + jitter;
    t.ids.push_back(std::to_string(i));
  }
  SegmentOptions opt;
  opt.kmeans.seed = 3;
  auto got = SegmentTable(t, opt);  // k chosen by silhouette
  ASSERT_OK(got);
  EXPECT_EQ(got->k, 3);
  std::set<std::string> names;
  for (const auto& s : got->segments) {
    names.insert(s.name);
    EXPECT_EQ(s.size, 100);
  }
  EXPECT_EQ(names, (std::set<std::string>{"high-value", "problem-oriented", "efficiency-first"}));
  // Centroids come back in original units.
  for (const auto& s : got->segments) {
    if (s.name == "high-value") {
      EXPECT_NEAR(s.centroid[0], 5050, 20);
    }
  }
  EXPECT_EQ(got->labels[0], got->labels[3]);
  opt.k = 301;
  EXPECT_THAT(SegmentTable(t, opt), StatusIs(StatusCode::kInvalidArgument));
  opt.k = 2;
  opt.log1p = {false, false, true};
  t.values.at(5, 2) = -1;
  EXPECT_THAT(SegmentTable(t, opt), StatusIs(StatusCode::kInvalidArgument));
}

TEST(SegmentTest, SuggestedNames) {
  const std::vector<std::string> cols = {"monetary", "tickets", "avg_wait_time", "colour"};
  EXPECT_EQ(SuggestSegmentName(cols, {1.5, 0.1, 0, 0}), "high-value");
  EXPECT_EQ(SuggestSegmentName(cols, {-1.5, 0.1, 0, 0}), "low-value");
  EXPECT_EQ(SuggestSegmentName(cols, {0.2, 2.0, 0, 0}), "problem-oriented");
  EXPECT_EQ(SuggestSegmentName(cols, {0.2, 0.0, -1.0, 0}), "efficiency-first");
  EXPECT_EQ(SuggestSegmentName(cols, {0, 0, 0, 0.9}), "high-colour");
  EXPECT_EQ(SuggestSegmentName(cols, {0.1, 0.1, 0.1, 0.1}), "average");
}

}  // namespace
}  // namespace touchpoint::insight
