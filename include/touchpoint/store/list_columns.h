// touchpoint/store/list_columns.h — lists kept in one text column by the SQL adapters (SQLite and
// PostgreSQL store them alike): an agent's skills, languages and attributes, a ticket contact's
// earlier tickets. Comma-separated: names are tokens without commas (service/agents.h checks
// them), numbers are ticket numbers (positive). Used only by the SQL adapters.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace touchpoint::store {

// "a,b,c"; "" for none.
inline std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) {
    if (!out.empty()) out.push_back(',');
    out += n;
  }
  return out;
}

// JoinNames' list back.
inline std::vector<std::string> SplitNames(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string_view::npos) end = s.size();
    out.emplace_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// "12,40,41"; "" for none.
inline std::string JoinNumbers(const std::vector<std::int64_t>& numbers) {
  std::string out;
  for (std::int64_t n : numbers) {
    if (!out.empty()) out.push_back(',');
    out += std::to_string(n);
  }
  return out;
}

// JoinNumbers' list back (bytes other than digits and commas are skipped).
inline std::vector<std::int64_t> SplitNumbers(std::string_view s) {
  std::vector<std::int64_t> out;
  std::int64_t n = 0;
  bool any = false;
  for (char c : s) {
    if (c == ',') {
      if (any) out.push_back(n);
      n = 0;
      any = false;
    } else if (c >= '0' && c <= '9') {
      n = n * 10 + (c - '0');
      any = true;
    }
  }
  if (any) out.push_back(n);
  return out;
}

// "50,50.5" (each exactly, %.17g: an experiment's variant weights); "" for none.
inline std::string JoinReals(const std::vector<double>& numbers) {
  std::string out;
  char buf[32];
  for (double n : numbers) {
    if (!out.empty()) out.push_back(',');
    std::snprintf(buf, sizeof buf, "%.17g", n);
    out += buf;
  }
  return out;
}

// JoinReals' list back.
inline std::vector<double> SplitReals(std::string_view s) {
  std::vector<double> out;
  for (const std::string& part : SplitNames(s)) out.push_back(std::strtod(part.c_str(), nullptr));
  return out;
}

}  // namespace touchpoint::store
