// http/target_internal.h — request-target parsing and small HTTP helpers (no Boost here).
#pragma once

#include <cstdint>
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

// The value of a hexadecimal digit (0-9, a-f, A-F); -1 for any other byte. %-escapes in paths
// (ParseTarget) and query strings (http/query.h).
int HexValue(char c);

// RFC 7231 IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
std::string FormatHttpDate(std::time_t t);

// True when `s` may appear in a header name (an RFC 7230 token) / value (no CR, LF or NUL).
bool IsHeaderName(std::string_view s);
bool IsHeaderValue(std::string_view s);

// The Location of the redirect listener's 308: "https://" + the host of the request's Host
// header (its port dropped; `fallback_host` when the header is absent or not a plain host name,
// IPv4 or bracketed IPv6 address) + ":" + https_port (omitted for 443) + `raw_target` (as
// received; "/" unless it is origin-form).
std::string HttpsRedirectLocation(const std::string* host_header, std::string_view fallback_host,
                                  uint16_t https_port, std::string_view raw_target);

}  // namespace touchpoint::http::internal
