#include <touchpoint/privacy/masking.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace touchpoint::privacy {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using touchpoint::testing::StatusIs;

// kInvalidArgument with `part` in the message.
template <class T>
void ExpectInvalid(const Result<T>& r, const std::string& part) {
  ASSERT_THAT(r, StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(r.status().message(), HasSubstr(part));
}

TEST(MaskerTest, TheDocumentedPatterns) {
  const Masker& m = DefaultMasker();
  EXPECT_EQ(m.MaskField("phone", "+8613812345678"), "+86138****5678");
  EXPECT_EQ(m.MaskField("phone", "13812345678"), "138****5678");
  EXPECT_EQ(m.MaskField("id_number", "11010519491231002X"), "110105******31002X");
  EXPECT_EQ(m.MaskField("bank_card", "6222 0212 3456 7890"), "**** **** **** 7890");
  EXPECT_EQ(m.MaskField("email", "li.wei@example.com"), "l***@example.com");
  EXPECT_EQ(m.MaskField("name", "张伟"), "张**");
  EXPECT_EQ(m.MaskField("address", "上海市浦东新区世纪大道100号"), "上**");
}

TEST(MaskerTest, LowFieldsPassAndMasksDoNotTellTheLengthOfFreeFormValues) {
  const Masker& m = DefaultMasker();
  EXPECT_EQ(m.MaskField("age", "42"), "42");
  EXPECT_EQ(m.MaskField("city", "Shanghai"), "Shanghai");
  EXPECT_EQ(m.MaskField("name", "Al"), m.MaskField("name", "Alexandra").substr(0, 1) + "**");
  EXPECT_EQ(m.MaskField("name", ""), "");
}

TEST(MaskerTest, ShortValuesStillHideAtLeastHalf) {
  const Masker& m = DefaultMasker();
  // A short "phone" (an extension) would be shown whole by keep_end=4,hide=4.
  EXPECT_EQ(m.MaskField("phone", "12345"), "****5");
  EXPECT_EQ(m.MaskField("id_number", "A123456"), "******6");
  EXPECT_EQ(m.MaskField("bank_card", "1234"), "***4");
}

TEST(MaskerTest, ConfiguredRulesApply) {
  MaskingConfig config;
  config.phone = *ParseMaskRule("keep_start=3, keep_end=2");
  config.id_number = *ParseMaskRule("keep_start=1,keep_end=1");
  Masker m(config);
  EXPECT_EQ(m.MaskField("phone", "13812345678"), "138******78");
  EXPECT_EQ(m.MaskField("id_number", "11010519491231002X"), "1****************X");
}

TEST(MaskerTest, FreeTextIsMaskedWithTheSameRules) {
  const Masker& m = DefaultMasker();
  const std::string masked = m.MaskText("请回电 138 1234 5678，或发邮件 li.wei@example.com，身份证 11010519491231002X");
  EXPECT_THAT(masked, HasSubstr("138 **** 5678"));
  EXPECT_THAT(masked, HasSubstr("l***@example.com"));
  EXPECT_THAT(masked, HasSubstr("110105******31002X"));
  EXPECT_THAT(masked, Not(HasSubstr("1234 5678")));
  EXPECT_THAT(masked, HasSubstr("请回电"));
  EXPECT_EQ(m.MaskText("nothing personal here"), "nothing personal here");
}

TEST(MaskRuleTest, ParseErrorsNameThePart) {
  ExpectInvalid(ParseMaskRule("keep_start"), "name=value");
  ExpectInvalid(ParseMaskRule("keep_middle=2"), "keep_middle");
  ExpectInvalid(ParseMaskRule("hide=-1"), "hide");
  ExpectInvalid(ParseMaskRule("hide=99"), "0 to 32");
  auto r = ParseMaskRule("keep_end=4,hide=4");
  ASSERT_OK(r);
  EXPECT_EQ(FormatMaskRule(*r), "keep_start=0,keep_end=4,hide=4");
  EXPECT_EQ(*ParseMaskRule(FormatMaskRule(*r)), *r);
}

TEST(RevealRequestTest, NeedsSensitiveFieldsAndAReason) {
  auto r = ParseRevealRequest("phone, Email", "customer called back about order 42");
  ASSERT_OK(r);
  EXPECT_TRUE(r->Reveals("phone"));
  EXPECT_TRUE(r->Reveals("email"));
  EXPECT_FALSE(r->Reveals("id_number"));
  ExpectInvalid(ParseRevealRequest("phone", "  "), "reason");
  ExpectInvalid(ParseRevealRequest("age", "why"), "never masked");
  EXPECT_THAT(ParseRevealRequest("phone", std::string(501, 'x')), StatusIs(StatusCode::kInvalidArgument));
  auto none = ParseRevealRequest("", "");
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
}

TEST(MaskPolicyTest, ShowsOnlyRevealedFieldsInClear) {
  auto reveal = ParseRevealRequest("phone", "callback");
  ASSERT_OK(reveal);
  const MaskPolicy p = MaskPolicy::Masked(DefaultMasker(), *reveal);
  EXPECT_EQ(p.Show("phone", "+8613812345678"), "+8613812345678");
  EXPECT_EQ(p.Show("email", "li.wei@example.com"), "l***@example.com");
  EXPECT_EQ(MaskPolicy::Clear().Show("email", "li.wei@example.com"), "li.wei@example.com");
}

TEST(MaskPolicyTest, JsonValuesOfSensitiveFieldsAreMaskedWhateverTheirType) {
  const MaskPolicy p = MaskPolicy::Masked();
  EXPECT_EQ(p.ShowJson("phone", "\"13812345678\""), "\"138****5678\"");
  EXPECT_EQ(p.ShowJson("phone", "13812345678"), "\"138****5678\"");  // a number is still a phone
  EXPECT_EQ(p.ShowJson("address", "{\"city\":\"上海\",\"street\":\"世纪大道100号\"}"), "\"{**\"");
  EXPECT_EQ(p.ShowJson("phone", "null"), "null");
  EXPECT_EQ(p.ShowJson("age", "42"), "42");
  EXPECT_EQ(p.ShowJson("name", "not json"), "\"**\"");
  EXPECT_EQ(MaskPolicy::Clear().ShowJson("phone", "\"13812345678\""), "\"13812345678\"");
}

}  // namespace
}  // namespace touchpoint::privacy
