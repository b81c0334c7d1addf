#include <touchpoint/insight/scorecard.h>

#include <gtest/gtest.h>

namespace touchpoint::insight {
namespace {

std::map<std::string, MetricValue> AllMet() {
  return {{"personalised_service_score", {4.6, 40}}, {"csat", {0.93, 40}},
          {"first_response_hours", {1.5, 120}},     {"plan_delivery_working_days", {2, 12}},
          {"handling_minutes", {12, 120}},          {"tickets_per_working_day", {24, 20}},
          {"accepted_suggestions_per_month", {1, 1}}, {"knowledge_articles_per_month", {3, 1}},
          {"script_compliance", {0.99, 120}},       {"basic_resolution", {0.95, 120}}};
}

TEST(ScorecardTest, DefaultIsValidAndWeightsAreTheDocuments) {
  const auto spec = DefaultScorecard();
  ASSERT_TRUE(ValidateScorecard(spec).ok());
  ASSERT_EQ(spec.dimensions.size(), 4u);
  EXPECT_EQ(spec.dimensions[0].weight, 30);
  EXPECT_EQ(spec.dimensions[1].weight, 25);
  EXPECT_EQ(spec.dimensions[2].weight, 20);
  EXPECT_EQ(spec.dimensions[3].weight, 25);
}

TEST(ScorecardTest, EveryTargetMetIsExpertAtOneHundred) {
  const auto card = ScoreAgent(DefaultScorecard(), AllMet());
  ASSERT_TRUE(card.total);
  EXPECT_DOUBLE_EQ(*card.total, 100);
  EXPECT_EQ(card.level, "expert");
  EXPECT_TRUE(card.unmet_gates.empty());
}

TEST(ScorecardTest, LevelsAtTheirThresholds) {
  auto values = AllMet();
  // Efficiency at half: first response 4 h (target 2 → 0.5) and plan 6 days (→ 0.5): 50 points on
  // 25 % of the total → 87.5: advanced, not expert.
  values["first_response_hours"].value = 4;
  values["plan_delivery_working_days"].value = 6;
  auto card = ScoreAgent(DefaultScorecard(), values);
  EXPECT_DOUBLE_EQ(*card.total, 87.5);
  EXPECT_EQ(card.level, "advanced");
  ASSERT_EQ(card.unmet_gates.size(), 1u);
  EXPECT_EQ(card.unmet_gates[0], "score 87.5 < 90");
  // Exactly at 90 (efficiency 60 %) is expert: thresholds are inclusive.
  values["first_response_hours"].value = 2 / 0.6;
  values["plan_delivery_working_days"].value = 3 / 0.6;
  EXPECT_NEAR(*ScoreAgent(DefaultScorecard(), values).total, 90, 1e-9);
  EXPECT_EQ(ScoreAgent(DefaultScorecard(), values).level, "expert");
  // A failed gate of basic stops everything above it, whatever the score.
  values = AllMet();
  values["script_compliance"].value = 0.95;
  card = ScoreAgent(DefaultScorecard(), values);
  EXPECT_EQ(card.level, "");
  ASSERT_EQ(card.unmet_gates.size(), 1u);
  EXPECT_EQ(card.unmet_gates[0], "script_compliance 0.95 < 0.98");
}

TEST(ScorecardTest, MissingDataIsNamedNotCountedAsZero) {
  auto values = AllMet();
  values.erase("accepted_suggestions_per_month");
  values.erase("knowledge_articles_per_month");  // no innovation figures at all
  values["csat"].value = 0.45;                     // satisfaction (1 + 0.5)/2 = 75
  const auto card = ScoreAgent(DefaultScorecard(), values);
  ASSERT_TRUE(card.total);
  // 30·75 + 25·100 + 20·100 over 75 → 90; innovation is absent, not zero.
  EXPECT_DOUBLE_EQ(*card.total, (30 * 75.0 + 25 * 100.0 + 20 * 100.0) / 75);
  EXPECT_FALSE(card.dimensions[3].score);
  EXPECT_FALSE(card.dimensions[3].metrics[0].value);
  EXPECT_EQ(card.dimensions[0].metrics[1].samples, 40);  // the evidence carries its sample size
  EXPECT_FALSE(card.dimensions[0].metrics[1].met);
  EXPECT_FALSE(ScoreAgent(DefaultScorecard(), {}).total);
}

TEST(ScorecardTest, ValidationNamesTheField) {
  auto spec = DefaultScorecard();
  spec.dimensions[1].metrics[0].target = 0;
  EXPECT_NE(ValidateScorecard(spec).message().find("dimensions[1] (efficiency).metrics[0].target"), std::string::npos);
  spec = DefaultScorecard();
  spec.dimensions[2].metrics.push_back({"csat", ScorecardMetric::Direction::kAtLeast, 0.9, 1});
  EXPECT_NE(ValidateScorecard(spec).message().find("csat is in two dimensions"), std::string::npos);
  spec = DefaultScorecard();
  std::swap(spec.levels[1], spec.levels[2]);
  EXPECT_FALSE(ValidateScorecard(spec).ok());
}

}  // namespace
}  // namespace touchpoint::insight
