#include <touchpoint/ml/stats.h>

#include <cmath>

#include <gtest/gtest.h>

namespace touchpoint::ml {
namespace {

TEST(QuantileScoresTest, TableOfCases) {
  struct Case {
    std::vector<double> values;
    int bins;
    std::vector<int> want;
  };
  const Case cases[] = {
      {{10, 20, 30, 40, 50}, 5, {1, 2, 3, 4, 5}},
      {{50, 40, 30, 20, 10}, 5, {5, 4, 3, 2, 1}},
      {{1, 1, 1, 1}, 5, {1, 1, 1, 1}},                          // all tied → lowest bin
      {{1, 2, 2, 2, 3, 4, 5, 6, 7, 8}, 5, {1, 1, 1, 1, 3, 3, 4, 4, 5, 5}},  // ties share the lower bin
      {{3.5}, 5, {1}},
      {{}, 5, {}},
      {{1, 2, 3, 4}, 2, {1, 1, 2, 2}},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(QuantileScores(c.values, c.bins), c.want);
  }
}

TEST(StatsTest, MeanStdDevCorrelationQuantile) {
  const std::vector<double> v = {2, 4, 4, 4, 5, 5, 7, 9};
  EXPECT_DOUBLE_EQ(Mean(v), 5.0);
  EXPECT_DOUBLE_EQ(StdDev(v, false), 2.0);
  EXPECT_NEAR(StdDev(v, true), std::sqrt(32.0 / 7.0), 1e-12);
  const std::vector<double> w = {4, 8, 8, 8, 10, 10, 14, 18};
  EXPECT_NEAR(Correlation(v, w), 1.0, 1e-12);
  EXPECT_DOUBLE_EQ(Correlation(v, std::vector<double>(8, 1.0)), 0.0);
  EXPECT_DOUBLE_EQ(Quantile({1, 2, 3, 4}, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(Quantile({5, 1, 3}, 0.0), 1.0);
  EXPECT_NEAR(NormalQuantile(0.975), 1.959963985, 1e-8);
  EXPECT_NEAR(NormalQuantile(0.01), -2.326347874, 1e-8);
  EXPECT_NEAR(NormalQuantile(0.5), 0.0, 1e-12);
}

TEST(StatsTest, ScalerRoundTripsAndKeepsConstantColumnsFinite) {
  Matrix m(4, 2);
  const double values[] = {1, 7, 2, 7, 3, 7, 4, 7};
  m.data.assign(std::begin(values), std::end(values));
  const ColumnScaler s = FitScaler(m);
  EXPECT_DOUBLE_EQ(s.mean[0], 2.5);
  EXPECT_DOUBLE_EQ(s.scale[1], 1.0);
  Matrix z = m;
  Standardize(s, &z);
  EXPECT_DOUBLE_EQ(z.at(0, 1), 0.0);
  EXPECT_NEAR(z.at(0, 0), -1.5 / std::sqrt(1.25), 1e-12);
  const auto back = Unstandardize(s, std::vector<double>{z.at(3, 0), z.at(3, 1)});
  EXPECT_NEAR(back[0], 4.0, 1e-12);
  EXPECT_NEAR(back[1], 7.0, 1e-12);
}

}  // namespace
}  // namespace touchpoint::ml
