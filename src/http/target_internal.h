// http/target_internal.h — request-target parsing and small HTTP helpers (no Boost here).
#pragma once

#include <ctime>
#include <string>
#include <string_view>

#include <touchpoint/core/result.h>

namespace touchpoint::http::internal {

struct Target {
  std::string path;   // percent-decoded
  std::string query;  // raw, without '?'
};

// Splits an origin-form ("/a%20b?x=1"), absolute-form ("http://host/a?x=1") or asterisk-form
// ("*") request-target. '+' in the path stays '+'. Fails with kInvalidArgument for an empty
// target, a bad or truncated %-escape, an encoded NUL, or a target that is not one of the forms.
Result<Target> ParseTarget(std::string_view target);

// RFC 7231 IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
std::string FormatHttpDate(std::time_t t);

// True when `s` may appear in a header name (an RFC 7230 token) / value (no CR, LF or NUL).
bool IsHeaderName(std::string_view s);
bool IsHeaderValue(std::string_view s);

}  // namespace touchpoint::http::internal
