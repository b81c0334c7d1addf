// core/strings.h — plain-ASCII string helpers: trimming and case folding.
//
// Nothing here is Unicode-aware: a byte ≥ 0x80 is never whitespace and never changes case, so
// UTF-8 text passes through untouched. Unicode normalisation (NFKC, case folding) belongs to
// the text module. Nothing depends on the C locale either (std::isspace / std::tolower do).
#pragma once

#include <string>
#include <string_view>

namespace touchpoint {

// Which bytes a trim removes. Formats disagree, so every call names its set.
// Space and tab (what std::isblank accepts in the "C" locale): CSV cells and headers,
// timestamps, HTTP header values.
inline constexpr std::string_view kAsciiBlank = " \t";
// JSON's insignificant whitespace (RFC 8259 §2): space, tab, line feed, carriage return.
inline constexpr std::string_view kJsonWhitespace = " \t\n\r";
// What std::isspace accepts in the "C" locale: also vertical tab and form feed.
inline constexpr std::string_view kAsciiWhitespace = " \t\n\v\f\r";

// True when `c` is one of the bytes of `set`.
constexpr bool IsOneOf(char c, std::string_view set) {
  for (char x : set) {
    if (x == c) return true;
  }
  return false;
}

// `s` without its leading and trailing bytes from `set`; a view into `s`.
constexpr std::string_view TrimView(std::string_view s, std::string_view set) {
  while (!s.empty() && IsOneOf(s.front(), set)) s.remove_prefix(1);
  while (!s.empty() && IsOneOf(s.back(), set)) s.remove_suffix(1);
  return s;
}

// TrimView as an owned string.
std::string Trim(std::string_view s, std::string_view set);

// 'A'–'Z' to 'a'–'z'; every other byte unchanged.
constexpr char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// `s` with AsciiLower applied to every byte.
std::string AsciiLower(std::string_view s);
void AsciiLowerInPlace(std::string* s);

// True when `a` and `b` are equal after AsciiLower.
bool EqualsIgnoreAsciiCase(std::string_view a, std::string_view b);

}  // namespace touchpoint
