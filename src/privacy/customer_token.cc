#include <touchpoint/privacy/customer_token.h>

#include <charconv>
#include <utility>
#include <vector>

#include <sodium.h>

#include <touchpoint/core/status.h>
#include <touchpoint/core/strings.h>

#include "privacy/sodium_internal.h"

namespace touchpoint::privacy {
namespace {

static_assert(crypto_auth_BYTES == 32 && crypto_auth_KEYBYTES == 32);
static_assert(sizeof(kCustomerTokenContext) == crypto_kdf_CONTEXTBYTES + 1);

constexpr std::string_view kMacDomain = "tpc1|";

bool ParseInt(std::string_view text, std::int64_t* out) {
  if (text.empty() || text.size() > 19) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && p == text.data() + text.size();
}

bool IsLowerHex(std::string_view text, size_t size) {
  if (text.size() != size) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::vector<std::string_view> Split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    const size_t dot = text.find(sep, start);
    out.push_back(text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) return out;
    start = dot + 1;
  }
}

}  // namespace

bool IsCustomerToken(std::string_view token) { return token.starts_with(kCustomerTokenPrefix); }

std::string_view CustomerTokenProblemName(CustomerTokenProblem problem) {
  switch (problem) {
    case CustomerTokenProblem::kNone: return "none";
    case CustomerTokenProblem::kMalformed: return "malformed";
    case CustomerTokenProblem::kBadSignature: return "bad_signature";
    case CustomerTokenProblem::kExpired: return "expired";
  }
  return "unknown";
}

Result<Millis> ParseTokenTtl(std::string_view text) {
  if (text.empty()) return Status::InvalidArgument("empty token lifetime");
  Millis unit = 1000;
  std::string_view digits = text;
  switch (text.back()) {
    case 's': unit = 1000; digits.remove_suffix(1); break;
    case 'm': unit = 60'000; digits.remove_suffix(1); break;
    case 'h': unit = 3'600'000; digits.remove_suffix(1); break;
    case 'd': unit = 86'400'000; digits.remove_suffix(1); break;
    default: break;
  }
  std::int64_t n = 0;
  if (!ParseInt(digits, &n) || n <= 0 || n > kCustomerTokenMaxTtl / unit) {
    return Status::InvalidArgument("token lifetime '" + std::string(text.substr(0, 20)) +
                                   "': give e.g. 15m, 900s or 2h, at most 24h");
  }
  return n * unit;
}

CustomerTokens CustomerTokens::FromMasterKey(const MasterKey& master) {
  InitSodium();
  CustomerTokens t;
  crypto_kdf_derive_from_key(t.key_.data(), t.key_.size(), kCustomerTokenSubkeyId, kCustomerTokenContext,
                             master.bytes().data());
  return t;
}

CustomerTokens::CustomerTokens(CustomerTokens&& other) noexcept : key_(other.key_) {
  sodium_memzero(other.key_.data(), other.key_.size());
}

CustomerTokens& CustomerTokens::operator=(CustomerTokens&& other) noexcept {
  if (this != &other) {
    key_ = other.key_;
    sodium_memzero(other.key_.data(), other.key_.size());
  }
  return *this;
}

CustomerTokens::~CustomerTokens() { sodium_memzero(key_.data(), key_.size()); }

std::string CustomerTokens::Mac(std::string_view payload) const {
  std::string message(kMacDomain);
  message += payload;
  std::array<unsigned char, crypto_auth_BYTES> mac{};
  crypto_auth(mac.data(), reinterpret_cast<const unsigned char*>(message.data()), message.size(), key_.data());
  return HexOf(mac.data(), mac.size());
}

Result<IssuedCustomerToken> CustomerTokens::Issue(CustomerId customer, Millis now, Millis ttl) const {
  if (ttl <= 0 || ttl > kCustomerTokenMaxTtl) {
    return Status::InvalidArgument("a customer token lives more than 0 and at most 24 hours");
  }
  if (customer.value() <= 0) return Status::InvalidArgument("a customer token needs a customer");
  InitSodium();
  std::array<unsigned char, 16> id{};
  randombytes_buf(id.data(), id.size());
  IssuedCustomerToken out;
  out.claims.customer = customer;
  out.claims.issued_at = now;
  out.claims.expires_at = now + ttl;
  out.claims.token_id = HexOf(id.data(), id.size());
  const std::string payload = "1." + std::to_string(customer.value()) + "." + std::to_string(now) + "." +
                              std::to_string(out.claims.expires_at) + "." + out.claims.token_id;
  out.token = std::string(kCustomerTokenPrefix) + payload + "." + Mac(payload);
  return out;
}

CustomerTokenCheck CustomerTokens::Check(std::string_view token, Millis now) const {
  CustomerTokenCheck check;
  check.problem = CustomerTokenProblem::kMalformed;
  if (!IsCustomerToken(token) || token.size() > 200) return check;
  token.remove_prefix(kCustomerTokenPrefix.size());
  const size_t last_dot = token.rfind('.');
  if (last_dot == std::string_view::npos) return check;
  const std::string_view payload = token.substr(0, last_dot);
  const std::string_view mac_hex = token.substr(last_dot + 1);
  if (!IsLowerHex(mac_hex, crypto_auth_BYTES * 2)) return check;
  // The MAC first, over the payload exactly as given: nothing of an unauthenticated token is used.
  InitSodium();
  std::array<unsigned char, crypto_auth_BYTES> mac{};
  size_t mac_len = 0;
  if (sodium_hex2bin(mac.data(), mac.size(), mac_hex.data(), mac_hex.size(), nullptr, &mac_len, nullptr) != 0 ||
      mac_len != mac.size()) {
    return check;
  }
  std::string message(kMacDomain);
  message += payload;
  if (crypto_auth_verify(mac.data(), reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                         key_.data()) != 0) {
    check.problem = CustomerTokenProblem::kBadSignature;
    return check;
  }
  const std::vector<std::string_view> parts = Split(payload, '.');
  std::int64_t customer = 0;
  if (parts.size() != 5 || parts[0] != "1" || !ParseInt(parts[1], &customer) || customer <= 0 ||
      !ParseInt(parts[2], &check.claims.issued_at) || !ParseInt(parts[3], &check.claims.expires_at) ||
      !IsLowerHex(parts[4], 32)) {
    return check;  // signed but of a shape this version does not write: refused, never guessed
  }
  check.claims.customer = CustomerId(customer);
  check.claims.token_id = std::string(parts[4]);
  check.problem = check.claims.expires_at <= now ? CustomerTokenProblem::kExpired : CustomerTokenProblem::kNone;
  return check;
}

}  // namespace touchpoint::privacy
