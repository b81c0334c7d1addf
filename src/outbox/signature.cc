#include <touchpoint/outbox/signature.h>

#include <charconv>
#include <optional>
#include <vector>
#include <cstdlib>
#include <string>

#include <sodium.h>

namespace touchpoint::outbox {

std::string SignatureV1(std::string_view secret, std::int64_t unix_seconds, std::string_view body) {
  static const bool ok = sodium_init() >= 0;
  if (!ok) std::abort();
  const std::string t = std::to_string(unix_seconds);
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(secret.data()), secret.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(t.data()), t.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>("."), 1);
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(body.data()), body.size());
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_final(&state, mac);
  char hex[crypto_auth_hmacsha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
  return std::string(hex, crypto_auth_hmacsha256_BYTES * 2);
}

std::string SignatureHeader(std::string_view secret, std::int64_t unix_seconds, std::string_view body) {
  return "t=" + std::to_string(unix_seconds) + ",v1=" + SignatureV1(secret, unix_seconds, body);
}

Status VerifySignature(std::string_view header, std::string_view secret, std::string_view body,
                       std::int64_t now_unix_seconds, std::int64_t tolerance_seconds) {
  std::optional<std::int64_t> t;
  std::vector<std::string_view> v1;
  while (!header.empty()) {
    const size_t comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) return Status::InvalidArgument("signature header item without '='");
    const std::string_view key = item.substr(0, eq);
    const std::string_view value = item.substr(eq + 1);
    if (key == "t") {
      std::int64_t parsed = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
      if (ec != std::errc() || p != value.data() + value.size()) {
        return Status::InvalidArgument("signature timestamp is not a number");
      }
      t = parsed;
    } else if (key == "v1") {
      v1.push_back(value);
    }  // other schemes are ignored, as Stripe's receivers do
  }
  if (!t) return Status::InvalidArgument("signature header has no t=");
  if (v1.empty()) return Status::InvalidArgument("signature header has no v1=");
  const std::int64_t skew = *t > now_unix_seconds ? *t - now_unix_seconds : now_unix_seconds - *t;
  if (skew > tolerance_seconds) return Status::PermissionDenied("signature timestamp outside the tolerance");
  const std::string expected = SignatureV1(secret, *t, body);
  for (std::string_view candidate : v1) {
    if (candidate.size() == expected.size() &&
        sodium_memcmp(candidate.data(), expected.data(), expected.size()) == 0) {
      return Status::Ok();
    }
  }
  return Status::PermissionDenied("no matching v1 signature");
}

}  // namespace touchpoint::outbox
