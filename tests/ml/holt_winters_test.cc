#include <touchpoint/ml/holt_winters.h>

#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace touchpoint::ml {
namespace {

using ::touchpoint::testing::StatusIs;

const double kPi = std::acos(-1.0);

// level 100 + 0.5·t, weekly pattern, small noise; multiplicative or additive.
std::vector<double> MakeSeries(size_t n, bool multiplicative, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0, 1.0);
  std::vector<double> y(n);
  for (size_t t = 0; t < n; ++t) {
    double base = 100 + 0.5 * static_cast<double>(t);
    double s = std::sin(2 * kPi * static_cast<double>(t % 7) / 7.0);
    y[t] = multiplicative ? base * (1 + 0.4 * s) + noise(rng) : base + 20 * s + noise(rng);
  }
  return y;
}

TEST(HoltWintersTest, ForecastsAdditiveSeries) {
  std::vector<double> y = MakeSeries(140, false, 1);
  std::vector<double> train(y.begin(), y.end() - 14), test(y.end() - 14, y.end());
  auto model = FitHoltWinters(train, 7, Seasonality::kAdditive);
  ASSERT_OK(model);
  auto smape = Smape(test, model->Forecast(14));
  ASSERT_OK(smape);
  EXPECT_LT(*smape, 3.0);
  auto naive = SeasonalNaiveForecast(train, 7, 14);
  ASSERT_OK(naive);
  EXPECT_LT(*smape, *Smape(test, *naive));  // the trend defeats seasonal naive
}

TEST(HoltWintersTest, MultiplicativeWinsOnMultiplicativeSeries) {
  std::vector<double> y = MakeSeries(280, true, 2);
  std::vector<double> train(y.begin(), y.end() - 28), test(y.end() - 28, y.end());
  auto add = FitHoltWinters(train, 7, Seasonality::kAdditive);
  auto mult = FitHoltWinters(train, 7, Seasonality::kMultiplicative);
  ASSERT_OK(add);
  ASSERT_OK(mult);
  EXPECT_LT(*Smape(test, mult->Forecast(28)), *Smape(test, add->Forecast(28)));
  EXPECT_LT(mult->sse, add->sse);
}

TEST(HoltWintersTest, FittingBeatsDefaultParameters) {
  std::vector<double> y = MakeSeries(140, false, 3);
  auto fixed = RunHoltWinters(y, 7, Seasonality::kAdditive, {});
  auto fitted = FitHoltWinters(y, 7, Seasonality::kAdditive);
  ASSERT_OK(fixed);
  ASSERT_OK(fitted);
  EXPECT_LE(fitted->sse, fixed->sse);
  EXPECT_GT(fitted->params.alpha, 0);
  EXPECT_LT(fitted->params.alpha, 1);
}

TEST(HoltWintersTest, ClosedDaysForecastZeroInMultiplicativeModel) {
  std::vector<double> y(70);
  for (size_t t = 0; t < y.size(); ++t) y[t] = t % 7 == 5 ? 0.0 : 100 + static_cast<double>(t % 7);
  auto model = FitHoltWinters(y, 7, Seasonality::kMultiplicative);
  ASSERT_OK(model);
  std::vector<double> f = model->Forecast(7);
  EXPECT_EQ(f[(5 + 7 - 70 % 7) % 7], 0.0);
  for (double v : f) EXPECT_TRUE(std::isfinite(v));
}

TEST(HoltWintersTest, RejectsShortOrBadSeries) {
  std::vector<double> y(13, 1.0);
  EXPECT_THAT(FitHoltWinters(y, 7, Seasonality::kAdditive), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(FitHoltWinters(std::vector<double>(20, 1.0), 1, Seasonality::kAdditive),
              StatusIs(StatusCode::kInvalidArgument));
  std::vector<double> neg(14, 1.0);
  neg[3] = -1;
  EXPECT_THAT(FitHoltWinters(neg, 7, Seasonality::kMultiplicative),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(FitHoltWinters(std::vector<double>(14, 0.0), 7, Seasonality::kMultiplicative),
              StatusIs(StatusCode::kInvalidArgument));
}

TEST(HoltWintersTest, SmapeAndSeasonalNaive) {
  EXPECT_NEAR(*Smape({100, 0}, {110, 0}), 200.0 * 10 / 210 / 2, 1e-12);
  EXPECT_NEAR(*Smape({0}, {5}), 200.0, 1e-12);
  EXPECT_THAT(Smape({1}, {}), StatusIs(StatusCode::kInvalidArgument));
  auto naive = SeasonalNaiveForecast({1, 2, 3, 4, 5}, 2, 3);
  ASSERT_OK(naive);
  EXPECT_EQ(*naive, (std::vector<double>{4, 5, 4}));
}

}  // namespace
}  // namespace touchpoint::ml
