#include <touchpoint/insight/kano.h>

#include <fstream>

#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace touchpoint::insight {
namespace {

using ::touchpoint::testing::StatusIs;

TEST(KanoTest, EvaluationTableCellByCell) {
  // Rows: functional 1..5; columns: dysfunctional 1..5. Q A A A O / R I I I M x3 / R R R R Q.
  const char* want[5] = {"QAAAO", "RIIIM", "RIIIM", "RIIIM", "RRRRQ"};
  auto letter = [](KanoCategory c) {
    switch (c) {
      case KanoCategory::kMustBe: return 'M';
      case KanoCategory::kOneDimensional: return 'O';
      case KanoCategory::kAttractive: return 'A';
      case KanoCategory::kIndifferent: return 'I';
      case KanoCategory::kReverse: return 'R';
      case KanoCategory::kQuestionable: return 'Q';
    }
    return '?';
  };
  for (int f = 1; f <= 5; ++f) {
    for (int d = 1; d <= 5; ++d) {
      EXPECT_EQ(letter(ClassifyKano(f, d)), want[f - 1][d - 1]) << f << "," << d;
    }
  }
}

TEST(KanoTest, ParsesNumbersAndWords) {
  struct Case {
    const char* text;
    int want;
  };
  const Case cases[] = {{"1", 1},        {" 5 ", 5},     {"Like", 1},    {"expect", 2},
                        {"must-be", 2},  {"NEUTRAL", 3}, {"tolerate", 4}, {"live with", 4},
                        {"dislike", 5}};
  for (const auto& c : cases) {
    auto got = ParseKanoAnswer(c.text);
    ASSERT_OK(got) << c.text;
    EXPECT_EQ(*got, c.want) << c.text;
  }
  for (const char* bad : {"0", "6", "", "love", "1.5"}) {
    EXPECT_THAT(ParseKanoAnswer(bad), StatusIs(StatusCode::kInvalidArgument)) << bad;
  }
}

TEST(KanoTest, CountsWinnerAndCoefficients) {
  std::vector<KanoAnswer> answers;
  auto add = [&](const char* feature, int f, int d, int times) {
    for (int i = 0; i < times; ++i) answers.push_back({feature, f, d});
  };
  add("fast-refund", 2, 5, 6);  // must-be
  add("fast-refund", 1, 5, 3);  // one-dimensional
  add("fast-refund", 3, 3, 1);  // indifferent
  add("chatbot", 1, 3, 4);      // attractive
  add("chatbot", 3, 3, 4);      // indifferent: tie → attractive wins (A before I)
  add("chatbot", 5, 1, 2);      // reverse
  auto got = EvaluateKano(answers);
  ASSERT_OK(got);
  ASSERT_EQ(got->size(), 2u);
  const KanoFeature& refund = (*got)[0];
  EXPECT_EQ(refund.feature, "fast-refund");
  EXPECT_EQ(refund.responses, 10);
  EXPECT_EQ(refund.category, KanoCategory::kMustBe);
  EXPECT_NEAR(refund.better, 3.0 / 10, 1e-12);
  EXPECT_NEAR(refund.worse, -9.0 / 10, 1e-12);
  const KanoFeature& bot = (*got)[1];
  EXPECT_EQ(bot.counts[static_cast<size_t>(KanoCategory::kReverse)], 2);
  EXPECT_EQ(bot.category, KanoCategory::kAttractive);
  EXPECT_NEAR(bot.better, 0.5, 1e-12);
  EXPECT_NEAR(bot.worse, 0.0, 1e-12);
  EXPECT_THAT(EvaluateKano({{"x", 0, 3}}), StatusIs(StatusCode::kInvalidArgument));
}

TEST(KanoTest, ReadsLongCsvAndNamesBadCells) {
  const std::string path = ::testing::TempDir() + "/kano.csv";
  std::ofstream(path) << "respondent,feature,functional,dysfunctional\n"
                         "r1,refund,like,dislike\n"
                         "r1,chat,,\n"
                         "r2,refund,2,5\n";
  auto got = ReadKanoCsv(path, {});
  ASSERT_OK(got);
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].functional, 1);
  EXPECT_EQ((*got)[0].dysfunctional, 5);
  const std::string bad = ::testing::TempDir() + "/kano_bad.csv";
  std::ofstream(bad) << "feature,functional,dysfunctional\nrefund,1,maybe\n";
  auto err = ReadKanoCsv(bad, {});
  ASSERT_THAT(err, StatusIs(StatusCode::kInvalidArgument));
  EXPECT_NE(err.status().message().find(":2: column 'dysfunctional'"), std::string::npos)
      << err.status().message();
  const std::string empty = ::testing::TempDir() + "/kano_empty.csv";
  std::ofstream(empty) << "";
  EXPECT_THAT(ReadKanoCsv(empty, {}), StatusIs(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace touchpoint::insight
