#include <touchpoint/insight/kpi_stats.h>

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

namespace touchpoint::insight {
namespace {

TEST(KpiStatsTest, WilsonIntervalByHand) {
  // 8 of 10 satisfied: the textbook Wilson interval (0.4902, 0.9433).
  auto ci = WilsonInterval(8, 10);
  ASSERT_TRUE(ci);
  EXPECT_NEAR(ci->low, 0.490162, 1e-6);
  EXPECT_NEAR(ci->high, 0.943318, 1e-6);
  // All satisfied: the upper end is 1, the lower end below it (unlike the Wald interval's 0 width).
  auto all = WilsonInterval(20, 20);
  EXPECT_DOUBLE_EQ(all->high, 1.0);
  EXPECT_NEAR(all->low, 0.83887, 1e-5);
  EXPECT_FALSE(WilsonInterval(0, 0));   // an empty group has no interval
  EXPECT_FALSE(WilsonInterval(3, 2));
}

TEST(KpiStatsTest, NpsIntervalClipsAtOneHundred) {
  // n = 11 with 9 promoters and 2 detractors: 63.6 ± 45.6, clipped at 100.
  auto r = Nps(9, 0, 2);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->n, 11);
  EXPECT_NEAR(r->nps, 63.6364, 1e-4);
  EXPECT_DOUBLE_EQ(r->ci.high, 100.0);
  EXPECT_NEAR(r->ci.low, 63.6364 - 1.959964 * 100 * std::sqrt((1 - (7.0 / 11) * (7.0 / 11)) / 11), 1e-3);
  // A small sample also gets the bootstrap interval; it is inside [−100, 100] and around the NPS.
  ASSERT_TRUE(r->bootstrap);
  EXPECT_LE(r->bootstrap->low, r->nps);
  EXPECT_GE(r->bootstrap->high, r->nps);
  EXPECT_LE(r->bootstrap->high, 100.0);
  EXPECT_EQ(Nps(9, 0, 2)->bootstrap->low, r->bootstrap->low);  // reproducible
}

TEST(KpiStatsTest, NpsOfALargeSampleAndADifference) {
  auto a = Nps(500, 300, 200);  // NPS 30
  auto b = Nps(550, 300, 150);  // NPS 40
  ASSERT_TRUE(a && b);
  EXPECT_DOUBLE_EQ(a->nps, 30.0);
  EXPECT_FALSE(a->bootstrap);  // n ≥ 30: the analytic interval only
  const double half_a = 1.959964 * 100 * std::sqrt((0.7 - 0.09) / 1000);
  EXPECT_NEAR(a->ci.low, 30 - half_a, 1e-3);
  auto d = NpsDifference(*a, 500, 200, *b, 550, 150);
  ASSERT_TRUE(d);
  EXPECT_DOUBLE_EQ(d->nps, 10.0);
  const double half_d = 1.959964 * 100 * std::sqrt((0.7 - 0.09) / 1000 + (0.7 - 0.16) / 1000);
  EXPECT_NEAR(d->ci.low, 10 - half_d, 1e-3);
  EXPECT_NEAR(d->ci.high, 10 + half_d, 1e-3);
  EXPECT_FALSE(Nps(0, 0, 0));
}

TEST(KpiStatsTest, DurationSummaryHasNoMeanWhenEmpty) {
  const auto empty = SummarizeDurations({});
  EXPECT_EQ(empty.count, 0);
  EXPECT_FALSE(empty.mean || empty.median || empty.p90);
  const std::vector<double> v = {60, 120, 180, 240, 3600};
  const auto s = SummarizeDurations(v);
  EXPECT_EQ(s.count, 5);
  EXPECT_DOUBLE_EQ(*s.mean, 840);
  EXPECT_DOUBLE_EQ(*s.median, 180);
  EXPECT_DOUBLE_EQ(*s.p90, 240 + 0.6 * (3600 - 240));  // linear between the 4th and 5th values
}

}  // namespace
}  // namespace touchpoint::insight
