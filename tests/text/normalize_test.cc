#include <touchpoint/text/normalize.h>

#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace touchpoint::text {
namespace {

class NormalizeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto n = Normalizer::Default();
    ASSERT_OK(n);
    norm_ = *n;
  }
  const Normalizer* norm_ = nullptr;
};

TEST_F(NormalizeTest, FoldsWidthScriptAndCase) {
  struct Case {
    const char* in;
    const char* out;
  } cases[] = {
      {"ＡＰＰ闪退了！", "app闪退了!"},
      {"數據驅動的客戶服務", "数据驱动的客户服务"},
      {"Refund PLEASE", "refund please"},
      {"１２３４５", "12345"},
      {"don’t", "don't"},
      {"CAFÉ", "café"},
      {"好评😊👍", "好评😊👍"},
      {"", ""},
  };
  for (const auto& c : cases) EXPECT_EQ(norm_->Normalize(c.in), c.out) << c.in;
}

TEST_F(NormalizeTest, RepairsInvalidUtf8) {
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_TRUE(IsValidUtf8("退款 ok 😊"));
  EXPECT_EQ(SanitizeUtf8("a\xffz"), "a\xEF\xBF\xBDz");
  const std::string out = norm_->Normalize("退\xe9款\xff");
  EXPECT_TRUE(IsValidUtf8(out));
}

TEST(LanguageTest, DetectsZhEnMixedUnknown) {
  struct Case {
    const char* text;
    Language lang;
  } cases[] = {
      {"我要退款，快递太慢了", Language::kChinese},
      {"我的iPhone坏了", Language::kChinese},
      {"Where is my parcel?", Language::kEnglish},
      {"APP闪退了 refund please", Language::kMixed},
      {"12345 !!!", Language::kUnknown},
      {"😊😊😊", Language::kUnknown},
      {"", Language::kUnknown},
      {"ＨＥＬＬＯ　ｗｏｒｌｄ", Language::kEnglish},
  };
  for (const auto& c : cases) EXPECT_EQ(DetectLanguage(c.text), c.lang) << c.text;
  EXPECT_EQ(LanguageName(Language::kMixed), "mixed");
}

}  // namespace
}  // namespace touchpoint::text
