#include <touchpoint/core/strings.h>

#include <cctype>
#include <string>

#include <gtest/gtest.h>

namespace touchpoint {
namespace {

using namespace std::string_view_literals;

TEST(StringsTest, TrimRemovesExactlyTheNamedSet) {
  struct Case {
    std::string_view input;
    std::string_view set;
    std::string_view want;
  };
  static constexpr Case kCases[] = {
      {"", kAsciiBlank, ""},
      {" \t ", kAsciiBlank, ""},
      {"  a b\t", kAsciiBlank, "a b"},
      {"\ta\t b \t", kAsciiBlank, "a\t b"},     // inner whitespace stays
      {"\r\na\r\n", kAsciiBlank, "\r\na\r\n"},  // CR/LF are not blank
      {" \r\na\r\n ", kJsonWhitespace, "a"},
      {"\va\f", kJsonWhitespace, "\va\f"},  // VT/FF are not JSON whitespace
      {"\v\f \t\r\na\n\r\t \f\v", kAsciiWhitespace, "a"},
      {" \t\n\v\f\r", kAsciiWhitespace, ""},
      // Non-ASCII spaces are never trimmed: NBSP (U+00A0), ideographic space (U+3000), NEL.
      {"\u00a0a\u00a0", kAsciiWhitespace, "\u00a0a\u00a0"},
      {"\u3000客服 ", kAsciiWhitespace, "\u3000客服"},
      {"\u0085a\u0085", kAsciiWhitespace, "\u0085a\u0085"},
      {"a\x85", kAsciiWhitespace, "a\x85"},      // a lone byte 0x85 either
      {"\0a\0"sv, kAsciiWhitespace, "\0a\0"sv},  // NUL is not whitespace
  };
  for (const auto& c : kCases) {
    EXPECT_EQ(TrimView(c.input, c.set), c.want) << "input '" << c.input << "'";
    EXPECT_EQ(Trim(c.input, c.set), c.want) << "input '" << c.input << "'";
  }
  static_assert(TrimView("  x ", kAsciiBlank) == "x");
}

TEST(StringsTest, TrimViewPointsIntoItsInput) {
  const std::string s = "  cell  ";
  const std::string_view v = TrimView(s, kAsciiBlank);
  EXPECT_EQ(v.data(), s.data() + 2);
  EXPECT_EQ(v.size(), 4u);
}

// The sets are documented as the "C" locale's classes; several call sites used to call
// std::isspace / std::isblank / std::tolower, so pin the equivalence for every byte.
TEST(StringsTest, SetsAndLowerMatchTheCLocaleForEveryByte) {
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    EXPECT_EQ(IsOneOf(c, kAsciiWhitespace), std::isspace(b) != 0) << b;
    EXPECT_EQ(IsOneOf(c, kAsciiBlank), std::isblank(b) != 0) << b;
    EXPECT_EQ(IsOneOf(c, kJsonWhitespace), c == ' ' || c == '\t' || c == '\n' || c == '\r') << b;
    EXPECT_EQ(static_cast<unsigned char>(AsciiLower(c)), std::tolower(b)) << b;
  }
}

TEST(StringsTest, AsciiLowerChangesOnlyAsciiLetters) {
  struct Case {
    std::string_view input;
    std::string_view want;
  };
  static constexpr Case kCases[] = {
      {"", ""},
      {"Li@Example.COM", "li@example.com"},
      {"already lower 123 _-@[`{", "already lower 123 _-@[`{"},
      {"AZaz@[`{", "azaz@[`{"},                  // the bytes either side of A–Z and a–z stay
      {"ÄÖÜ Straße ÉCOLE", "ÄÖÜ straße École"},  // UTF-8 bytes are untouched
      {"客服 OK", "客服 ok"},
  };
  for (const auto& c : kCases) {
    EXPECT_EQ(AsciiLower(c.input), c.want) << c.input;
    std::string in_place(c.input);
    AsciiLowerInPlace(&in_place);
    EXPECT_EQ(in_place, c.want) << c.input;
  }
}

TEST(StringsTest, EqualsIgnoreAsciiCase) {
  struct Case {
    std::string_view a, b;
    bool want;
  };
  static constexpr Case kCases[] = {
      {"", "", true},
      {"Order_ID", "order_id", true},
      {"order_id", "ORDER_ID", true},
      {"order_id", "order_i", false},
      {"order id", "order_id", false},
      {"@", "`", false},  // 0x40 and 0x60 differ by the case bit but are not letters
      {"[", "{", false},
      {"É", "é", false},  // not ASCII: no folding
  };
  for (const auto& c : kCases) {
    EXPECT_EQ(EqualsIgnoreAsciiCase(c.a, c.b), c.want) << c.a << " vs " << c.b;
    EXPECT_EQ(EqualsIgnoreAsciiCase(c.b, c.a), c.want) << c.b << " vs " << c.a;
  }
}

}  // namespace
}  // namespace touchpoint
