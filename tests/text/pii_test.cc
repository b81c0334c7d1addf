#include <touchpoint/text/pii.h>

#include <gtest/gtest.h>

namespace touchpoint::text {
namespace {

struct MaskCase {
  const char* input;
  const char* masked;
};

TEST(PiiTest, MasksEachKindAsProductSays) {
  const MaskCase cases[] = {
      {"我的手机13812345678，请回电", "我的手机138****5678，请回电"},
      {"call +86 138 1234 5678 now", "call +86 138 **** 5678 now"},
      {"8613812345678", "86138****5678"},
      {"电话 138-1234-5678", "电话 138-****-5678"},
      {"座机010-62345678", "座机010-****5678"},
      {"0755-2345678", "0755-***5678"},
      // 11010519491231002X is the standard example ID (check digit X).
      {"身份证11010519491231002X", "身份证110105******31002X"},
      {"卡号6222021234567890128到账", "卡号***************0128到账"},
      {"card 4111 1111 1111 1111.", "card **** **** **** 1111."},
      {"mail zhang.san@example.com ok", "mail z***@example.com ok"},
      {"发到 a@b.cn", "发到 a***@b.cn"},
      {"no pii here", "no pii here"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(MaskPii(c.input), c.masked) << c.input;
  }
}

TEST(PiiTest, RejectsLookalikes) {
  const char* cases[] = {
      "订单号 12345678901",              // 11 digits not starting 1[3-9]
      "138123456789",                    // 12 digits
      "11010519491231002Y",              // bad check char
      "110105194912310021",              // wrong check digit
      "11010519991332002X",              // right check digit, month 13
      "6222021234567890123",             // fails Luhn
      "abc13812345678",                  // glued to letters
      "price 3.13812345678",             // part of a decimal
      "not an email @ example.com",
      "user@localhost",
  };
  for (const char* c : cases) {
    EXPECT_TRUE(FindPii(c).empty()) << c << " → " << MaskPii(c);
  }
}

TEST(PiiTest, ReportsSpansAndKinds) {
  std::string text = "张三 13812345678 zhang@example.com 11010519491231002X";
  auto spans = FindPii(text);
  ASSERT_EQ(spans.size(), 3u);
  EXPECT_EQ(spans[0].kind, PiiKind::kMobile);
  EXPECT_EQ(text.substr(spans[0].begin, spans[0].end - spans[0].begin), "13812345678");
  EXPECT_EQ(spans[1].kind, PiiKind::kEmail);
  EXPECT_EQ(text.substr(spans[1].begin, spans[1].end - spans[1].begin), "zhang@example.com");
  EXPECT_EQ(spans[2].kind, PiiKind::kIdNumber);
  EXPECT_EQ(PiiKindName(spans[2].kind), "id_number");
}

TEST(PiiTest, ValidatorsAgreeWithKnownValues) {
  EXPECT_TRUE(PassesLuhn("4111111111111111"));
  EXPECT_FALSE(PassesLuhn("4111111111111112"));
  EXPECT_TRUE(IsValidChineseId("11010519491231002X"));
  EXPECT_TRUE(IsValidChineseId("11010519491231002x"));
  EXPECT_FALSE(IsValidChineseId("110105194902290029"));  // right check digit, 1949-02-29
  EXPECT_TRUE(IsValidChineseId("11010519960229002X"));   // 1996 is a leap year
}

TEST(PiiTest, SurvivesHostileInput) {
  std::string big(1 << 20, '1');
  EXPECT_EQ(MaskPii(big), big);  // one long digit run is no item
  std::string mixed = "\xff\xfe 13812345678 \xc3";
  EXPECT_EQ(MaskPii(mixed), "\xff\xfe 138****5678 \xc3");
  EXPECT_TRUE(FindPii("").empty());
  EXPECT_TRUE(FindPii("@@@@").empty());
}

}  // namespace
}  // namespace touchpoint::text
