#include <touchpoint/identity/identifier.h>

#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace touchpoint::identity {
namespace {

using ::touchpoint::testing::StatusIs;

TEST(NormalizePhoneTest, ChineseMobilesInEverySpellingBecomeE164) {
  for (const char* raw : {"13812345678", "+86 138-1234-5678", "86 138 1234 5678", "(+86)13812345678",
                          "+86 13812345678", "0086 138 1234 5678", "１３８１２３４５６７８", " 138.1234.5678 "}) {
    auto r = NormalizePhone(raw);
    ASSERT_OK(r) << raw;
    EXPECT_EQ(*r, "+8613812345678") << raw;
  }
}

TEST(NormalizePhoneTest, LandlinesAndOtherCountries) {
  EXPECT_EQ(*NormalizePhone("010-12345678"), "+861012345678");
  EXPECT_EQ(*NormalizePhone("+1 (415) 555-0100"), "+14155550100");
  EXPECT_EQ(*NormalizePhone("+44 20 7946 0958"), "+442079460958");
}

TEST(NormalizePhoneTest, RejectsWhatIsNotAPhone) {
  for (const char* raw : {"", "call me", "12345", "138-1234-567x", "1+3812345678"}) {
    EXPECT_THAT(NormalizePhone(raw), StatusIs(StatusCode::kInvalidArgument)) << raw;
  }
}

TEST(NormalizeEmailTest, TrimsAndLowerCases) {
  EXPECT_EQ(*NormalizeEmail("  Li.Wei@Example.COM "), "li.wei@example.com");
  EXPECT_EQ(*NormalizeEmail("ｌｉ＠ｅｘａｍｐｌｅ．ｃｏｍ"), "li@example.com");
  for (const char* raw : {"no-at-sign", "@example.com", "a@b", "a@@b.com", "a b@c.com"}) {
    EXPECT_THAT(NormalizeEmail(raw), StatusIs(StatusCode::kInvalidArgument)) << raw;
  }
}

TEST(NormalizeIdentifierTest, FullWidthIdentifiersFoldToHalfWidth) {
  EXPECT_EQ(*NormalizeIdentifier(IdentifierKind::kMember, "ＶＩＰ００１"), "VIP001");
  EXPECT_THAT(NormalizeIdentifier(IdentifierKind::kUser, "   "), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(NormalizeIdentifier(IdentifierKind::kUser, std::string("\xff\xfe", 2)),
              StatusIs(StatusCode::kInvalidArgument));
}

TEST(ParseIdentifierRefTest, NormalisesTheValueAsAtIngest) {
  auto r = ParseIdentifierRef("phone:138 1234 5678");
  ASSERT_OK(r);
  EXPECT_EQ(r->kind, IdentifierKind::kPhone);
  EXPECT_EQ(r->value, "+8613812345678");
  EXPECT_THAT(ParseIdentifierRef("fax:123"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseIdentifierRef("nocolon"), StatusIs(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace touchpoint::identity
