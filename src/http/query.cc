#include <touchpoint/http/query.h>

#include "http/target_internal.h"

namespace touchpoint::http {
namespace {

Result<std::string> DecodeQueryValue(std::string_view in, std::string_view key) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out += ' ';
    } else if (in[i] != '%') {
      out += in[i];
    } else {
      const int hi = i + 2 < in.size() ? internal::HexValue(in[i + 1]) : -1;
      const int lo = i + 2 < in.size() ? internal::HexValue(in[i + 2]) : -1;
      if (hi < 0 || lo < 0) return Status::InvalidArgument("query parameter " + std::string(key) + ": bad %-escape");
      if (hi == 0 && lo == 0) return Status::InvalidArgument("query parameter " + std::string(key) + ": encoded NUL");
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    }
  }
  return out;
}

}  // namespace

Result<std::optional<std::string>> QueryParam(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == key) {
      if (eq == std::string_view::npos) return std::optional<std::string>(std::string());
      TP_ASSIGN_OR_RETURN(std::string value, DecodeQueryValue(pair.substr(eq + 1), key));
      return std::optional<std::string>(std::move(value));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::optional<std::string>();
}

}  // namespace touchpoint::http
