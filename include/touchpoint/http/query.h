// http/query.h — reading parameters of a request's query string ("a=1&reason=call%20back").
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <touchpoint/core/result.h>

namespace touchpoint::http {

// The value of the first `key=` in `query` (Request::query, without '?'), percent-decoded with
// '+' as a space (HTML forms). nullopt when the key is absent; "" for "key" or "key=".
// kInvalidArgument naming the key for a bad or truncated %-escape or an encoded NUL.
Result<std::optional<std::string>> QueryParam(std::string_view query, std::string_view key);

}  // namespace touchpoint::http
