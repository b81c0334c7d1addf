#include <touchpoint/text/escalation.h>

#include <thread>

#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace touchpoint::text {
namespace {

using ::touchpoint::testing::StatusIs;

ConversationMessage Customer(const char* conv, const char* text, bool vip = false) {
  ConversationMessage m;
  m.conversation_id = conv;
  m.author = Author::kCustomer;
  m.text = text;
  m.high_value_customer = vip;
  return m;
}

class EscalationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto e = EscalationEngine::Default();
    ASSERT_OK(e);
    engine_ = std::move(e).value();
  }
  std::unique_ptr<EscalationEngine> engine_;
};

TEST_F(EscalationTest, RefundKeywordHandsOffWithRefundHistory) {
  auto f = engine_->Process(Customer("c1", "你好，我想申请退款"));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].rule, "refund_handoff");
  EXPECT_EQ(f[0].action, "handoff");
  EXPECT_EQ(f[0].history, "refund_history");
  EXPECT_NE(f[0].reason.find("退款"), std::string::npos);
  auto en = engine_->Process(Customer("c9", "I want a REFUND"));
  ASSERT_EQ(en.size(), 1u);
  EXPECT_EQ(en[0].history, "refund_history");
  EXPECT_TRUE(engine_->Process(Customer("c9", "where is my parcel")).empty());
}

TEST_F(EscalationTest, SecondNegativeMessageMarksHighRiskOnce) {
  EXPECT_TRUE(engine_->Process(Customer("c2", "快递太慢了")).empty());
  EXPECT_FALSE(engine_->IsHighRisk("c2"));
  auto f = engine_->Process(Customer("c2", "客服态度也很差"));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].action, "high_risk");
  EXPECT_NE(f[0].reason.find("2 negative"), std::string::npos);
  EXPECT_TRUE(engine_->IsHighRisk("c2"));
  EXPECT_TRUE(engine_->Process(Customer("c2", "太差了")).empty());  // fires once
  EXPECT_FALSE(engine_->IsHighRisk("other"));
  engine_->Forget("c2");
  EXPECT_FALSE(engine_->IsHighRisk("c2"));
}

TEST_F(EscalationTest, NegativeHighValueCustomerAlertsSupervisor) {
  auto f = engine_->Process(Customer("c3", "太失望了", /*vip=*/true));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].action, "supervisor_alert");
  EXPECT_TRUE(engine_->Process(Customer("c4", "太失望了", /*vip=*/false)).empty());
  EXPECT_TRUE(engine_->Process(Customer("c5", "谢谢，很满意", /*vip=*/true)).empty());
  ConversationMessage m = Customer("c6", "neutral words", true);
  m.sentiment_score = -0.9;  // a caller-provided score wins
  ASSERT_EQ(engine_->Process(m).size(), 1u);
}

TEST_F(EscalationTest, FlagsBannedPhrasesInAgentRepliesOnly) {
  ConversationMessage reply;
  reply.conversation_id = "c7";
  reply.author = Author::kAgent;
  reply.text = "这个不归我管，你自己看说明书吧。Not my problem.";
  auto f = engine_->Process(reply);
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0].action, "banned_phrase");
  EXPECT_NE(f[0].reason.find("不归我管"), std::string::npos);
  EXPECT_NE(f[2].reason.find("not my problem"), std::string::npos);
  EXPECT_TRUE(engine_->Process(Customer("c7", "不归我管")).empty());
  reply.text = "好的，我马上帮您处理";
  EXPECT_TRUE(engine_->Process(reply).empty());
}

TEST(EscalationTomlTest, LoadsCustomRulesAndRejectsBadOnes) {
  auto e = EscalationEngine::FromToml(R"(
[[keyword]]
name = "vip_word"
keywords = ["律师函"]
history = "legal_history"
[negative_streak]
name = "streak3"
threshold = 3
)");
  ASSERT_OK(e);
  auto f = (*e)->Process(Customer("x", "我要发律师函"));
  ASSERT_GE(f.size(), 1u);
  EXPECT_EQ(f[0].rule, "vip_word");
  EXPECT_EQ(f[0].history, "legal_history");
  EXPECT_TRUE((*e)->Process(Customer("y", "太差了")).empty());
  EXPECT_TRUE((*e)->Process(Customer("y", "太差了")).empty());
  EXPECT_EQ((*e)->Process(Customer("y", "太差了")).size(), 1u);

  auto bad = EscalationEngine::FromToml("[[keyword]\nname=");
  ASSERT_THAT(bad, StatusIs(StatusCode::kInvalidArgument));
  EXPECT_NE(bad.status().message().find("line"), std::string::npos);
  EXPECT_THAT(EscalationEngine::FromToml("[[keyword]]\nname=\"k\"\nkeywords=\"退款\"\n"),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(EscalationEngine::FromToml("[negative_streak]\nthreshold=0\n"),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(EscalationEngine::FromFile("/nonexistent.toml"), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(ParseAuthor("robot"), StatusIs(StatusCode::kInvalidArgument));
}

TEST_F(EscalationTest, ConcurrentConversationsKeepSeparateCounts) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this, t] {
      const std::string conv = "conv" + std::to_string(t);
      for (int i = 0; i < 200; ++i) (void)engine_->Process(Customer(conv.c_str(), "太差了"));
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_TRUE(engine_->IsHighRisk("conv" + std::to_string(t)));
}

}  // namespace
}  // namespace touchpoint::text

#include <touchpoint/text/analyzer.h>

namespace touchpoint::text {
namespace {

// The ingest path hands the analyser's normalised text to the rules instead of the raw text;
// every rule must fire exactly as on the raw text.
TEST(EscalationNormalizedTest, PreNormalisedTextFiresTheSameRules) {
  auto analyzer = Analyzer::Create(AnalyzerOptions{});
  ASSERT_OK(analyzer);
  auto raw_engine = EscalationEngine::Default();
  auto norm_engine = EscalationEngine::Default();
  ASSERT_OK(raw_engine);
  ASSERT_OK(norm_engine);
  const std::vector<std::pair<Author, std::string>> messages = {
      {Author::kCustomer, "我要退款！！客服太敷衍了"},
      {Author::kCustomer, "ＡＰＰ閃退了，退貨退款怎麼辦"},  // full-width and traditional: folded
      {Author::kCustomer, "Where is my REFUND? this is terrible"},
      {Author::kAgent, "这个不归我管，你自己看"},
      {Author::kAgent, "Sorry, that's not my problem"},
  };
  for (const auto& [author, text] : messages) {
    MessageAnalysis a = (*analyzer)->Analyze(text);
    ASSERT_FALSE(a.normalized.empty()) << text;
    ConversationMessage raw;
    raw.conversation_id = "c1";
    raw.author = author;
    raw.text = text;
    raw.high_value_customer = true;
    raw.sentiment_score = a.sentiment_score;
    ConversationMessage pre = raw;
    pre.text.clear();
    pre.normalized = a.normalized;
    auto f1 = (*raw_engine)->Process(raw);
    auto f2 = (*norm_engine)->Process(pre);
    ASSERT_EQ(f1.size(), f2.size()) << text;
    for (size_t i = 0; i < f1.size(); ++i) {
      EXPECT_EQ(f1[i].rule, f2[i].rule) << text;
      EXPECT_EQ(f1[i].reason, f2[i].reason) << text;
    }
    if (author == Author::kAgent) {
      EXPECT_FALSE(f2.empty()) << "banned phrase in: " << text;
    }
  }
}

}  // namespace
}  // namespace touchpoint::text
