#include <touchpoint/insight/forecast_job.h>

#include <cmath>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "testing/matchers.h"

namespace touchpoint::insight {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using ::touchpoint::testing::StatusIs;

// Daily counts for `weeks` weeks from 2024-01-01 (a Monday), closed on Saturdays, growing.
std::vector<SeriesPoint> ShopSeries(int weeks) {
  std::vector<SeriesPoint> s;
  const Millis start = DaysFromCivil(2024, 1, 1) * kMillisPerDay;
  const double pattern[7] = {1.1, 1.2, 1.0, 1.3, 0.9, 0.0, 0.6};
  for (int d = 0; d < weeks * 7; ++d) {
    double level = 100 + 0.3 * d;
    double wiggle = ((d * 7919) % 13 - 6) * 0.8;  // deterministic noise
    s.push_back({start + d * kMillisPerDay, pattern[d % 7] == 0 ? 0 : level * pattern[d % 7] + wiggle});
  }
  return s;
}

TEST(ForecastJobTest, ChoosesMultiplicativeForClosedDaysAndBeatsNaive) {
  ForecastRequest req;
  req.season = 7;
  req.horizon = 14;
  auto report = RunForecast(ShopSeries(20), req);
  ASSERT_OK(report);
  EXPECT_EQ(report->chosen, ml::Seasonality::kMultiplicative);
  ASSERT_TRUE(report->smape_seasonal_naive && report->smape_multiplicative);
  EXPECT_LE(*report->smape_multiplicative, *report->smape_seasonal_naive);
  EXPECT_EQ(report->backtest_points, 42u);
  ASSERT_EQ(report->rows.size(), 14u);
  EXPECT_TRUE(report->dates_only);
  for (const auto& r : report->rows) {
    EXPECT_LE(r.lower, r.forecast);
    EXPECT_GE(r.upper, r.forecast);
    EXPECT_GE(r.lower, 0.0);
  }
  // 20 weeks end on a Sunday; forecast day 6 is the next Saturday: closed.
  EXPECT_EQ(report->rows[5].forecast, 0.0);
  EXPECT_EQ(report->rows[0].time, ShopSeries(20).back().time + kMillisPerDay);
  std::string csv = ForecastCsv(*report);
  EXPECT_THAT(csv, StartsWith("time,forecast,lower,upper\n2024-05-20,"));
  auto j = nlohmann::json::parse(ForecastSummaryJson(*report));
  EXPECT_EQ(j["chosen"], "multiplicative");
  EXPECT_TRUE(j["smape"]["seasonal_naive"].is_number());
}

TEST(ForecastJobTest, ShortSeriesIsAnError) {
  ForecastRequest req;
  req.season = 7;
  auto r = RunForecast(ShopSeries(1), req);
  EXPECT_THAT(r, StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(r.status().message(), HasSubstr("shorter than two seasons"));
  // Exactly two seasons: a forecast without backtest.
  auto two = RunForecast(ShopSeries(2), req);
  ASSERT_OK(two);
  EXPECT_EQ(two->backtest_points, 0u);
  EXPECT_FALSE(two->smape_additive.has_value());
}

TEST(ForecastJobTest, NegativeSeriesUsesAdditiveOnly) {
  std::vector<SeriesPoint> s = ShopSeries(10);
  for (auto& p : s) p.value -= 200;
  ForecastRequest req;
  auto r = RunForecast(s, req);
  ASSERT_OK(r);
  EXPECT_EQ(r->chosen, ml::Seasonality::kAdditive);
  EXPECT_FALSE(r->smape_multiplicative.has_value());
}

TEST(ForecastJobTest, SeriesFromTableNamesBadCells) {
  struct Case {
    std::string csv;
    std::string want;
  } cases[] = {
      {"day,n\n2024-01-01,1\nnot a date,2\n", "s.csv:3: column 'day': cannot parse 'not a date'"},
      {"day,n\n2024-01-01,1\n2024-01-02,x\n", "s.csv:3: column 'n': cannot parse 'x'"},
      {"day,n\n2024-01-01,1\n2024-01-01,2\n", "appears twice"},
      {"day,v\n2024-01-01,1\n", "missing column 'n'"},
  };
  for (const auto& c : cases) {
    auto t = ml::ParseCsvTable(c.csv, "s.csv");
    ASSERT_OK(t);
    auto s = SeriesFromTable(*t, "day", "n");
    EXPECT_THAT(s, StatusIs(StatusCode::kInvalidArgument));
    EXPECT_THAT(s.status().message(), HasSubstr(c.want));
  }
  auto t = ml::ParseCsvTable("day,n\n2024-01-02,2\n2024-01-01,1\n", "s.csv");
  ASSERT_OK(t);
  auto s = SeriesFromTable(*t, "day", "n");
  ASSERT_OK(s);
  EXPECT_EQ((*s)[0].value, 1.0);  // sorted by time
}

}  // namespace
}  // namespace touchpoint::insight
