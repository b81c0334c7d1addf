// outbox/signature.h — the webhook signature (docs/outbox.md, "Verifying a webhook").
//
//   X-Touchpoint-Signature: t=1765100000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd
//
// v1 is the lower-case hex HMAC-SHA256, keyed with the endpoint's secret, of the ASCII decimal
// timestamp t (Unix seconds when the attempt was made), a '.', and the exact request body — the
// scheme Stripe uses. A receiver recomputes it, compares in constant time, and refuses a t too far
// from its clock (replays). Every attempt is signed afresh (new t, same body and delivery id).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <touchpoint/core/status.h>

namespace touchpoint::outbox {

// Lower-case hex HMAC-SHA256 of `t + "." + body` keyed with `secret`.
std::string SignatureV1(std::string_view secret, std::int64_t unix_seconds, std::string_view body);

// The header value "t=<unix_seconds>,v1=<hex>".
std::string SignatureHeader(std::string_view secret, std::int64_t unix_seconds, std::string_view body);

// Checks a header value against `body`: kInvalidArgument when it is malformed,
// kPermissionDenied when no v1 matches or t is more than `tolerance_seconds` away from
// `now_unix_seconds`. Several v1 entries are allowed (a receiver rotating secrets).
Status VerifySignature(std::string_view header, std::string_view secret, std::string_view body,
                       std::int64_t now_unix_seconds, std::int64_t tolerance_seconds = 300);

}  // namespace touchpoint::outbox
