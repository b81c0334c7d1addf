#include <touchpoint/insight/journey.h>

#include <gtest/gtest.h>

namespace touchpoint::insight {
namespace {

constexpr Millis kHour = 3'600'000;

JourneySpec Retail() {
  JourneySpec s;
  s.name = "retail";
  s.stages = {{"browse", {"Product Viewed"}, std::nullopt},
              {"order", {"Order Completed"}, std::nullopt},
              {"delivery", {"Order Shipped", "Order Delivered"}, 48.0 * 3600},
              {"service", {"Message Received"}, std::nullopt}};
  return s;
}

JourneyEvent Ev(const char* name, Millis at) { return JourneyEvent{name, at, std::nullopt, std::nullopt, ""}; }
JourneyEvent Msg(Millis at, bool negative) {
  return JourneyEvent{"Message Received", at, negative, std::nullopt, ""};
}
JourneyEvent Survey(Millis at, double score, const char* touchpoint) {
  return JourneyEvent{"Survey Answered", at, std::nullopt, score, touchpoint};
}

TEST(JourneyTest, ScoresCombineTheirComponentsWorstFirst) {
  auto report = JourneyReport::Create(Retail());
  ASSERT_TRUE(report.ok()) << report.status().message();
  for (int i = 0; i < 10; ++i) {
    const Millis t0 = i * 1000 * kHour;
    std::vector<JourneyEvent> path = {Ev("Product Viewed", t0), Ev("Order Completed", t0 + 1 * kHour),
                                      Ev("Order Shipped", t0 + 2 * kHour)};
    if (i < 6) {  // six wait 5 days for the parcel and complain
      path.push_back(Msg(t0 + 122 * kHour, true));
      path.push_back(Survey(t0 + 123 * kHour, 0.25, "delivery"));
    } else {      // four get it the next day
      path.push_back(Msg(t0 + 26 * kHour, false));
      path.push_back(Survey(t0 + 27 * kHour, 1.0, "delivery"));
    }
    report->Add(path);
  }
  report->Add(std::vector<JourneyEvent>{Ev("Product Viewed", 0)});  // browsed and left
  const auto stages = report->Stages();
  ASSERT_EQ(stages.size(), 4u);
  EXPECT_EQ(stages[0].volume, 11);
  EXPECT_NEAR(*stages[0].drop_off, 1.0 / 11, 1e-12);
  EXPECT_DOUBLE_EQ(*stages[0].dwell_seconds.median, 3600);
  EXPECT_EQ(stages[2].volume, 10);
  // delivery → service: 120 h for six, 24 h for four → median 120 h
  EXPECT_DOUBLE_EQ(*stages[2].dwell_seconds.median, 120 * 3600.0);
  EXPECT_DOUBLE_EQ(*stages[2].satisfaction, (6 * 0.25 + 4 * 1.0) / 10);
  EXPECT_EQ(stages[2].answers, 10);
  // The messages count for the stage current at their time: service (after "Message Received").
  EXPECT_EQ(stages[3].messages, 10);
  EXPECT_DOUBLE_EQ(*stages[3].negative_share, 0.6);
  EXPECT_FALSE(stages[3].drop_off);  // the last stage has none
  // delivery: 0.4·0.55 + 0.2·(1 − 0) + 0.2·min(1, 48/120) over 0.8
  EXPECT_NEAR(*stages[2].score, 100 * (0.4 * 0.55 + 0.2 * 1 + 0.2 * 0.4) / 0.8, 1e-9);
  const auto worst = report->WorstFirst();
  EXPECT_EQ(worst[0].stage, "service");   // 40 % positive, nothing else measured → 40
  EXPECT_EQ(worst[1].stage, "delivery");  // 62.5
}

TEST(JourneyTest, EmptyStagesHaveNoFiguresRatherThanZeros) {
  auto report = JourneyReport::Create(Retail());
  ASSERT_TRUE(report.ok());
  const auto stages = report->Stages();
  EXPECT_EQ(stages[1].volume, 0);
  EXPECT_FALSE(stages[1].drop_off);
  EXPECT_FALSE(stages[1].score);
  EXPECT_FALSE(stages[1].dwell_seconds.mean);
}

TEST(JourneyTest, RejectsAnEventInTwoStages) {
  auto spec = Retail();
  spec.stages[3].events.push_back("Order Completed");
  auto r = JourneyReport::Create(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("\"Order Completed\" is also in stage order"), std::string::npos);
  spec = Retail();
  spec.stages.resize(1);
  EXPECT_FALSE(JourneyReport::Create(spec).ok());
}

}  // namespace
}  // namespace touchpoint::insight
