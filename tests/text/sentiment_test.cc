#include <touchpoint/text/sentiment.h>

#include <cmath>

#include <gtest/gtest.h>

#include <touchpoint/core/csv.h>

#include "testing/matchers.h"
#include "text/labelled_data.h"

namespace touchpoint::text {
namespace {

using ::touchpoint::testing::StatusIs;

class SentimentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = LexiconSentiment::Create();
    ASSERT_OK(s);
    lex_ = std::move(s).value();
  }
  double Score(const char* t) { return lex_->Score(t).score; }
  std::unique_ptr<LexiconSentiment> lex_;
};

TEST_F(SentimentTest, LabelsClearCases) {
  struct Case {
    const char* text;
    SentimentLabel label;
  } cases[] = {
      {"服务很满意，谢谢", SentimentLabel::kPositive},
      {"垃圾产品，差评", SentimentLabel::kNegative},
      {"快递太慢了", SentimentLabel::kNegative},
      {"请问什么时候发货", SentimentLabel::kNeutral},
      {"The agent was very helpful, thanks!", SentimentLabel::kPositive},
      {"terrible service, never again", SentimentLabel::kNegative},
      {"where is my parcel", SentimentLabel::kNeutral},
      {"😡😡", SentimentLabel::kNegative},
      {"👍", SentimentLabel::kPositive},
  };
  for (const auto& c : cases) EXPECT_EQ(lex_->Score(c.text).label, c.label) << c.text;
}

TEST_F(SentimentTest, NegationFlips) {
  EXPECT_GT(Score("满意"), 0);
  EXPECT_LT(Score("不满意"), 0);
  EXPECT_LT(Score("一点也不专业"), 0);
  EXPECT_GT(Score("not bad"), 0);
  EXPECT_LT(Score("not helpful"), 0);
  EXPECT_LT(Score("I don't like it"), 0);
}

TEST_F(SentimentTest, DegreeAdverbsScale) {
  EXPECT_LT(Score("非常差"), Score("差"));
  EXPECT_GT(Score("差"), Score("太差"));
  EXPECT_GT(Score("有点慢"), Score("慢"));
  EXPECT_GT(Score("very good"), Score("good"));
  EXPECT_LT(Score("slightly good"), Score("good"));
}

TEST_F(SentimentTest, ClauseAfterContrastCountsMore) {
  EXPECT_LT(Score("东西不错，但是客服态度很差"), 0);
  EXPECT_GT(Score("客服态度一般，不过东西很好"), 0);
  EXPECT_LT(Score("good product but terrible support"), 0);
}

TEST_F(SentimentTest, PunctuationAndRhetoricalQuestions) {
  EXPECT_LT(Score("太差了！！！"), Score("太差了"));
  EXPECT_LT(Score("到底什么时候发货？？？"), 0);
  EXPECT_LT(Score("难道你们不管了吗？"), 0);
  EXPECT_LT(Score("凭什么扣我的钱"), 0);
  EXPECT_GT(Score("好评 :)"), Score("好评"));
}

TEST_F(SentimentTest, ScoresStayInRangeOnHostileInput) {
  std::string big;
  for (int i = 0; i < 100000; ++i) big += "太差了！";
  const char* inputs[] = {"", "\xff\xfe\xfd", "😀😀😀😀😀😀😀😀😀😀", "!!!!!!!!", "？？？"};
  for (const char* t : inputs) {
    SentimentResult r = lex_->Score(t);
    EXPECT_TRUE(r.score >= -1 && r.score <= 1) << t;
  }
  SentimentResult r = lex_->Score(big);
  EXPECT_GE(r.score, -1);
  EXPECT_EQ(r.label, SentimentLabel::kNegative);
  EXPECT_EQ(lex_->Score("").label, SentimentLabel::kNeutral);
  EXPECT_EQ(lex_->Score("12345").label, SentimentLabel::kNeutral);
}

TEST(SentimentLexiconTest, RejectsBadLexiconLines) {
  EXPECT_THAT(LexiconSentiment::FromTsv("好\tword\tabc\n"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(LexiconSentiment::FromTsv("好\tadjective\t1\n"),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(LexiconSentiment::FromTsv("# only a comment\n"),
              StatusIs(StatusCode::kInvalidArgument));
  auto custom = LexiconSentiment::FromTsv("喵\tword\t2\n");
  ASSERT_OK(custom);
  EXPECT_GT((*custom)->Score("喵喵").score, 0);
}

// The acceptance bar of the issue: ≥ 80 % on binary positive/negative Chinese sentences
// without training (hand-labelled set in data/text).
TEST_F(SentimentTest, ReachesEightyPercentOnLabelledChineseBinary) {
  auto data = testing::LoadZhLabelled();
  ASSERT_GE(data.size(), 300u);
  size_t n = 0, correct = 0, three_way = 0, three_way_correct = 0;
  for (const auto& ex : data) {
    const SentimentResult r = lex_->Score(ex.text);
    ++three_way;
    if (SentimentLabelName(r.label) == ex.sentiment) ++three_way_correct;
    if (ex.sentiment == "neutral") continue;
    ++n;
    const bool positive = r.score > 0;
    if ((ex.sentiment == "positive" && positive) || (ex.sentiment == "negative" && r.score < 0)) {
      ++correct;
    }
  }
  const double acc = static_cast<double>(correct) / static_cast<double>(n);
  const double acc3 = static_cast<double>(three_way_correct) / static_cast<double>(three_way);
  std::printf("binary accuracy %.3f on %zu; three-way %.3f on %zu\n", acc, n, acc3, three_way);
  EXPECT_GE(acc, 0.80);
  EXPECT_GE(acc3, 0.60);
}

// Binary accuracy of the lexicon on a `text,label` review file (label positive|negative): a
// review counts as right when the score has the label's sign (0 is wrong).
struct BinaryAccuracy {
  size_t n = 0, correct = 0;
  double value() const { return n == 0 ? 0 : static_cast<double>(correct) / static_cast<double>(n); }
};

BinaryAccuracy ScoreReviewFile(const LexiconSentiment& lex, const std::string& name) {
  BinaryAccuracy acc;
  auto reader = CsvReader::Open(std::string(TP_SOURCE_DIR) + "/data/text/" + name);
  EXPECT_OK(reader);
  if (!reader.ok()) return acc;
  std::vector<std::string> f;
  EXPECT_OK((*reader)->Next(&f));
  while (true) {
    auto more = (*reader)->Next(&f);
    EXPECT_OK(more);
    if (!more.ok() || !*more) break;
    EXPECT_EQ(f.size(), 2u) << name << " line " << (*reader)->record_line();
    EXPECT_TRUE(f[1] == "positive" || f[1] == "negative") << name << ": " << f[1];
    ++acc.n;
    const double s = lex.Score(f[0]).score;
    acc.correct += (f[1] == "positive" && s > 0) || (f[1] == "negative" && s < 0);
  }
  std::printf("%s: binary accuracy %.3f (%zu of %zu)\n", name.c_str(), acc.value(), acc.correct,
              acc.n);
  return acc;
}

// A second set of 80 product/hotel/service reviews (data/text/zh_reviews_holdout.csv). It was
// written before it was first scored (77.5 %); the lexicon was then extended with general review
// vocabulary, so it is no longer a blind test — it guards against regressions.
TEST_F(SentimentTest, BinaryReviewsSet) {
  const BinaryAccuracy acc = ScoreReviewFile(*lex_, "zh_reviews_holdout.csv");
  ASSERT_EQ(acc.n, 80u);
  EXPECT_GE(acc.value(), 0.80);
}

// 216 reviews written for tuning (data/text/zh_reviews_dev.csv): 71.3 % before the general
// review vocabulary was added, 99.1 % after. Tuned on, so a regression guard only.
TEST_F(SentimentTest, BinaryReviewsDevSet) {
  const BinaryAccuracy acc = ScoreReviewFile(*lex_, "zh_reviews_dev.csv");
  ASSERT_EQ(acc.n, 216u);
  EXPECT_GE(acc.value(), 0.95);
}

// 216 reviews written together with the dev set and committed before any tuning
// (data/text/zh_reviews_test.csv); scored once after tuning on the dev set: 63.9 % untuned,
// 81.0 % (175 of 216) tuned. Its errors are not to be looked at while tuning — this test only
// reports the accuracy. It fails when a change costs more than four sentences.
TEST_F(SentimentTest, BinaryReviewsBlindTestSet) {
  const BinaryAccuracy acc = ScoreReviewFile(*lex_, "zh_reviews_test.csv");
  ASSERT_EQ(acc.n, 216u);
  EXPECT_GE(acc.correct, 171u) << "accuracy " << acc.value();
}

}  // namespace
}  // namespace touchpoint::text
