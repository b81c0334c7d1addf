#include <touchpoint/insight/experiment_assignment.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <touchpoint/insight/experiment_stats.h>

namespace touchpoint::insight {
namespace {

TEST(ExperimentAssignmentTest, SameUnitSameVariantAndSplitFollowsTheWeights) {
  const std::vector<double> weights = {1, 1, 2};
  std::vector<double> counts(3, 0);
  for (int i = 0; i < 100000; ++i) {
    const std::string unit = "customer-" + std::to_string(i);
    auto v = AssignVariant("salt-routing-2026", unit, weights);
    ASSERT_TRUE(v);
    ASSERT_EQ(v, AssignVariant("salt-routing-2026", unit, weights));  // deterministic
    counts[*v] += 1;
  }
  // The split fits 1:1:2 (the SRM check of the analysis would not fire) …
  EXPECT_GT(SampleRatioMismatchP(counts, weights), 0.001);
  EXPECT_NEAR(counts[2] / 100000, 0.5, 0.01);
  // … and another experiment's salt reshuffles the units independently.
  int same = 0;
  for (int i = 0; i < 10000; ++i) {
    const std::string unit = "customer-" + std::to_string(i);
    same += AssignVariant("salt-a", unit, std::vector<double>{1, 1}) ==
            AssignVariant("salt-b", unit, std::vector<double>{1, 1});
  }
  EXPECT_NEAR(same / 10000.0, 0.5, 0.03);
}

TEST(ExperimentAssignmentTest, RaisingCoverageKeepsEveryUnitThatWasIn) {
  const std::vector<double> weights = {1, 1};
  int in_half = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::string unit = "t" + std::to_string(i);
    auto half = AssignVariant("s", unit, weights, 0.5);
    auto full = AssignVariant("s", unit, weights, 1.0);
    ASSERT_TRUE(full);
    if (half) {
      ++in_half;
      EXPECT_EQ(*half, *full) << unit;  // same variant once in
    }
  }
  EXPECT_NEAR(in_half / 20000.0, 0.5, 0.02);
}

}  // namespace
}  // namespace touchpoint::insight
