// tests/demo/segment_check.h — test-only helpers to read the demo NDJSON back (deliberately
// independent of the ingest module, which is written separately).
#pragma once

#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <touchpoint/core/time.h>

namespace touchpoint::demo::testing {

// Digits only, a leading 86 country code dropped: "+86 138-1234-5678" → "13812345678".
// Returns nullopt unless the result is an 11-digit number starting with 1.
inline std::optional<std::string> NormaliseChineseMobile(std::string_view text) {
  std::string digits;
  for (char c : text) {
    if (c >= '0' && c <= '9') digits.push_back(c);
  }
  if (digits.size() == 13 && digits.starts_with("86")) digits.erase(0, 2);
  if (digits.size() != 11 || digits[0] != '1') return std::nullopt;
  return digits;
}

// The instant of a Segment `timestamp` (ISO 8601 string or epoch milliseconds number).
inline std::optional<Millis> EventTime(const nlohmann::json& ts) {
  if (ts.is_number()) return EpochNumberToMillis(ts.get<double>());
  if (!ts.is_string()) return std::nullopt;
  Result<Millis> t = ParseTimestamp(ts.get<std::string>());
  if (!t.ok()) return std::nullopt;
  return *t;
}

// True when the text contains a CJK ideograph (UTF-8 lead bytes E4–E9 cover U+4000–U+9FFF).
inline bool HasChinese(std::string_view text) {
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0xE4 && u <= 0xE9) return true;
  }
  return false;
}

// True when the text has ASCII letters and no CJK.
inline bool IsEnglish(std::string_view text) {
  bool letters = false;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) return false;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) letters = true;
  }
  return letters;
}

// Splits NDJSON into lines (without the newline).
inline std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

}  // namespace touchpoint::demo::testing
