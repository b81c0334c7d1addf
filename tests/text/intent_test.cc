#include <touchpoint/text/intent.h>

#include <gtest/gtest.h>

#include "testing/matchers.h"
#include "text/labelled_data.h"

namespace touchpoint::text {
namespace {

class IntentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = RuleIntentClassifier::Create();
    ASSERT_OK(r);
    rules_ = std::move(r).value();
  }
  std::unique_ptr<RuleIntentClassifier> rules_;
};

TEST_F(IntentTest, RecognisesBuiltinIntentsInBothLanguages) {
  struct Case {
    const char* text;
    const char* intent;
  } cases[] = {
      {"我要退款", "refund"},
      {"I want a refund for this", "refund"},
      {"我的快递到哪了", "delivery_status"},
      {"where is my order? tracking shows nothing", "delivery_status"},
      {"地址写错了帮我改一下", "change_address"},
      {"please change my address", "change_address"},
      {"帮我取消订单", "cancel_order"},
      {"cancel my order please", "cancel_order"},
      {"怎么开发票", "invoice"},
      {"I need an invoice", "invoice"},
      {"忘记密码登录不了", "account_login"},
      {"can't log in, reset password", "account_login"},
      {"我要投诉你们客服", "complaint"},
      {"这个有XL码吗", "product_question"},
      {"is it compatible with iphone", "product_question"},
      {"谢谢，服务很专业", "praise"},
      {"thank you, great service", "praise"},
      {"你好", "other"},
      {"", "other"},
  };
  for (const auto& c : cases) EXPECT_EQ(rules_->Classify(c.text).intent, c.intent) << c.text;
}

TEST_F(IntentTest, NegativePraiseIsComplaintAndTopKListsAlternatives) {
  EXPECT_EQ(rules_->Classify("一点都不专业，很不满意").intent, "complaint");
  IntentResult r = rules_->Classify("快递太慢了，我要退款", 3);
  EXPECT_EQ(r.intent, "refund");
  ASSERT_FALSE(r.alternatives.empty());
  EXPECT_EQ(r.alternatives[0].first, "delivery_status");
  EXPECT_GT(r.confidence, r.alternatives[0].second);
  EXPECT_LE(r.confidence, 1.0);
}

TEST_F(IntentTest, LabelledChineseSetAccuracy) {
  auto data = testing::LoadZhLabelled();
  ASSERT_GE(data.size(), 300u);
  size_t correct = 0;
  for (const auto& ex : data) correct += rules_->Classify(ex.text).intent == ex.intent;
  const double acc = static_cast<double>(correct) / static_cast<double>(data.size());
  std::printf("rule intent accuracy %.3f on %zu\n", acc, data.size());
  EXPECT_GE(acc, 0.75);
}

}  // namespace
}  // namespace touchpoint::text
