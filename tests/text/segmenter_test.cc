#include <touchpoint/text/segmenter.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace touchpoint::text {
namespace {

using ::touchpoint::testing::StatusIs;

class SegmenterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!std::filesystem::exists(std::string(kJiebaDictPath))) return;
    auto s = Segmenter::Create({});
    if (s.ok()) seg_ = std::move(s).value().release();
  }
  static void TearDownTestSuite() {
    delete seg_;
    seg_ = nullptr;
  }
  void SetUp() override {
    if (seg_ == nullptr) GTEST_SKIP() << "python3-jieba dict.txt not installed";
  }
  static Segmenter* seg_;
};
Segmenter* SegmenterTest::seg_ = nullptr;

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& t : v) out += (out.empty() ? "" : "|") + t;
  return out;
}

TEST_F(SegmenterTest, SegmentsCustomerServiceSentences) {
  struct Case {
    const char* in;
    const char* want;
  } cases[] = {
      {"我要退款，快递太慢了", "我|要|退款|快递|太慢|了"},
      {"客服态度很差", "客服|态度|很|差"},
      {"APP闪退了 refund please", "app|闪退|了|refund|please"},
      {"數據驅動的客戶服務", "数据|驱动|的|客户服务"},
      {"好评😊👍", "好评|😊|👍"},
      {"don't ship it", "don't|ship|it"},
      {"", ""},
      {"！！！", ""},
  };
  for (const auto& c : cases) EXPECT_EQ(Join(seg_->Segment(c.in)), c.want) << c.in;
}

TEST_F(SegmenterTest, NeverCrashesOnBadInput) {
  EXPECT_FALSE(seg_->Segment("\xff\xfe退款").empty());
  std::string big;
  for (int i = 0; i < 30000; ++i) big += "退款太慢了";
  EXPECT_GT(seg_->Segment(big).size(), 30000u);
}

TEST(SegmenterCreateTest, MissingDictionaryIsNotFound) {
  Segmenter::Options o;
  o.dict_path = "/nonexistent/dict.txt";
  EXPECT_THAT(Segmenter::Create(o), StatusIs(StatusCode::kNotFound));
}

}  // namespace
}  // namespace touchpoint::text
