#include <touchpoint/ml/regression.h>

#include <cmath>
#include <numeric>

#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace touchpoint::ml {
namespace {

struct Data {
  Matrix x;
  std::vector<double> y;
};

// y = 3 a + 1 b + 0 c + noise, with b correlated with a.
Data Make(size_t n, std::uint64_t seed) {
  SplitMix64 rng(seed);
  Data d{Matrix(n, 3), std::vector<double>(n)};
  for (size_t i = 0; i < n; ++i) {
    const double a = rng.Uniform() * 10;
    const double b = 0.5 * a + rng.Uniform() * 10;
    const double c = rng.Uniform() * 10;
    d.x.at(i, 0) = a;
    d.x.at(i, 1) = b;
    d.x.at(i, 2) = c;
    d.y[i] = 3 * a + b + (rng.Uniform() - 0.5) * 20;
  }
  return d;
}

TEST(RegressionTest, MatchesDirectLeastSquaresAndDecomposesR2) {
  Data d = Make(400, 1);
  auto fit = StandardizedRegression(d.x, d.y);
  ASSERT_OK(fit);
  // Independent check: R² from residuals of the fitted standardised model.
  const ColumnScaler s = FitScaler(d.x);
  const double ym = Mean(d.y), ysd = StdDev(d.y, false);
  double ssr = 0, sst = 0;
  for (size_t i = 0; i < d.x.rows; ++i) {
    double pred = 0;
    for (size_t c = 0; c < 3; ++c) pred += fit->beta[c] * (d.x.at(i, c) - s.mean[c]) / s.scale[c];
    const double yz = (d.y[i] - ym) / ysd;
    ssr += (yz - pred) * (yz - pred);
    sst += yz * yz;
  }
  EXPECT_NEAR(fit->r2, 1 - ssr / sst, 1e-9);
  EXPECT_NEAR(std::accumulate(fit->raw_weight.begin(), fit->raw_weight.end(), 0.0), fit->r2, 1e-9);
  EXPECT_NEAR(std::accumulate(fit->share.begin(), fit->share.end(), 0.0), 1.0, 1e-9);
  EXPECT_GT(fit->share[0], fit->share[1]);
  EXPECT_GT(fit->share[1], fit->share[2]);
  EXPECT_LT(fit->share[2], 0.02);
  // The irrelevant predictor's beta is within ~3 standard errors of 0; the real ones are not.
  EXPECT_LT(std::fabs(fit->beta[2]), 3.5 * fit->beta_se[2]);
  EXPECT_GT(fit->beta[0] / fit->beta_se[0], 10);
}

TEST(RegressionTest, OrthogonalPredictorsWeightsEqualSquaredCorrelations) {
  // Exactly orthogonal, centred predictors: relative weights = r².
  Matrix x(4, 2);
  const double v[] = {1, 1, 1, -1, -1, 1, -1, -1};
  x.data.assign(std::begin(v), std::end(v));
  const std::vector<double> y = {3, 1, -1, -2};
  auto fit = StandardizedRegression(x, y);
  ASSERT_OK(fit);
  std::vector<double> c0 = {1, 1, -1, -1}, c1 = {1, -1, 1, -1};
  EXPECT_NEAR(fit->raw_weight[0], std::pow(Correlation(c0, y), 2), 1e-12);
  EXPECT_NEAR(fit->raw_weight[1], std::pow(Correlation(c1, y), 2), 1e-12);
}

TEST(RegressionTest, BootstrapIntervalsCoverTheEstimate) {
  Data d = Make(300, 2);
  auto got = RelativeImportance(d.x, d.y, {.bootstrap = 100, .confidence = 0.9, .seed = 4});
  ASSERT_OK(got);
  EXPECT_EQ(got->bootstrap_used, 100);
  for (size_t c = 0; c < 3; ++c) {
    EXPECT_LE(got->share_low[c], got->fit.share[c] + 1e-9);
    EXPECT_GE(got->share_high[c], got->fit.share[c] - 1e-9);
  }
  EXPECT_GT(got->share_low[0], got->share_high[1]);  // a clearly beats b
}

TEST(RegressionTest, RejectsDegenerateInput) {
  Data d = Make(50, 3);
  for (size_t i = 0; i < 50; ++i) d.x.at(i, 1) = 4;
  auto got = StandardizedRegression(d.x, d.y);
  EXPECT_THAT(got, testing::StatusIs(StatusCode::kInvalidArgument));
  EXPECT_NE(got.status().message().find("predictor 1"), std::string::npos);
  for (size_t i = 0; i < 50; ++i) d.x.at(i, 1) = 2 * d.x.at(i, 0);
  EXPECT_THAT(StandardizedRegression(d.x, d.y), testing::StatusIs(StatusCode::kInvalidArgument));
  Matrix small(3, 3);
  EXPECT_THAT(StandardizedRegression(small, std::vector<double>{1, 2, 3}),
              testing::StatusIs(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace touchpoint::ml
