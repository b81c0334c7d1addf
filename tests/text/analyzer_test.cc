#include <touchpoint/text/analyzer.h>

#include <thread>

#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace touchpoint::text {
namespace {

using ::touchpoint::testing::StatusIs;

TEST(AnalyzerTest, AnalysesAMessage) {
  auto a = Analyzer::Create({});
  ASSERT_OK(a);
  MessageAnalysis m = (*a)->Analyze("快递太慢了，我要退款！电话13812345678");
  EXPECT_EQ(m.language, "zh");
  EXPECT_EQ(m.sentiment_label, "negative");
  EXPECT_LT(m.sentiment_score, 0);
  EXPECT_EQ(m.intent, "refund");
  EXPECT_GT(m.intent_confidence, 0.3);
  EXPECT_EQ(m.masked_text, "快递太慢了，我要退款！电话138****5678");

  MessageAnalysis en = (*a)->Analyze("Thanks, the agent was very helpful");
  EXPECT_EQ(en.language, "en");
  EXPECT_EQ(en.sentiment_label, "positive");
  EXPECT_EQ(en.intent, "praise");

  EXPECT_EQ((*a)->Analyze("APP闪退了 refund please").language, "mixed");
}

TEST(AnalyzerTest, BadInputGivesNeutralResults) {
  auto a = Analyzer::Create({});
  ASSERT_OK(a);
  for (const std::string& t : {std::string(), std::string("😀😀"), std::string("\xff\xfe\xfd"),
                               std::string(1 << 20, 'x'), std::string("？？？")}) {
    MessageAnalysis m = (*a)->Analyze(t);
    EXPECT_GE(m.sentiment_score, -1);
    EXPECT_LE(m.sentiment_score, 1);
    EXPECT_FALSE(m.intent.empty());
    EXPECT_FALSE(m.language.empty());
  }
  MessageAnalysis empty = (*a)->Analyze("");
  EXPECT_EQ(empty.language, "unknown");
  EXPECT_EQ(empty.sentiment_label, "neutral");
  EXPECT_EQ(empty.intent, "other");
  EXPECT_EQ((*a)->Analyze("\xff退款").masked_text, "\xEF\xBF\xBD退款");
}

TEST(AnalyzerTest, MissingModelIsAnError) {
  AnalyzerOptions o;
  o.intent_model_path = "/nonexistent/intent.tpm";
  EXPECT_THAT(Analyzer::Create(o), StatusIs(StatusCode::kNotFound));
}

TEST(AnalyzerTest, IsSafeToShareAcrossThreads) {
  auto a = Analyzer::Create({});
  ASSERT_OK(a);
  const Analyzer* analyzer = a->get();
  const MessageAnalysis want = analyzer->Analyze("客服态度很差，我要投诉");
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        MessageAnalysis m = analyzer->Analyze("客服态度很差，我要投诉");
        mismatches[static_cast<size_t>(t)] +=
            m.intent != want.intent || m.sentiment_score != want.sentiment_score;
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int n : mismatches) EXPECT_EQ(n, 0);
}

}  // namespace
}  // namespace touchpoint::text
