// privacy/customer_token.h — customer self-service tokens: short-lived, signed, stateless tokens
// with which a customer (through the company's own login, or a link an operator issued with
// `touchpoint privacy customer-token`) reads and changes only their own data.
//
// Format (ASCII, fits an Authorization: Bearer header):
//
//   tpc_<payload>.<mac>
//   payload = "1" "." customer id "." issued at "." expires at "." token id
//             (decimal customer id and times in ms since the epoch; token id: 32 hex characters,
//             128 random bits)
//   mac     = 64 hex characters: crypto_auth (HMAC-SHA-512/256) of "tpc1|" || payload under
//             key = crypto_kdf_derive_from_key(32 bytes, subkey_id = kCustomerTokenSubkeyId (3),
//                                              ctx = kCustomerTokenContext ("tpcust01"), master key)
//
// The token is not encrypted: its customer id and times are readable by whoever holds it (the
// customer). It is checked with crypto_auth_verify (constant time). There is no revocation list:
// a token is valid until it expires, so lifetimes are short (default 15 minutes, at most 24 hours).
// A new master key invalidates every token.
//
// Thread-safe; a CustomerTokens may be shared between threads.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include <touchpoint/core/ids.h>
#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/privacy/master_key.h>

namespace touchpoint::privacy {

inline constexpr std::string_view kCustomerTokenPrefix = "tpc_";
inline constexpr std::uint64_t kCustomerTokenSubkeyId = 3;
inline constexpr char kCustomerTokenContext[9] = "tpcust01";
inline constexpr Millis kCustomerTokenDefaultTtl = 15 * 60'000;
inline constexpr Millis kCustomerTokenMaxTtl = 24 * 3'600'000;

// Whether `token` has the customer token's prefix (it may still be forged or expired).
bool IsCustomerToken(std::string_view token);

struct CustomerTokenClaims {
  CustomerId customer;
  Millis issued_at = 0;
  Millis expires_at = 0;
  std::string token_id;  // 32 hex characters: names the token in audit entries
};

// Why a token does not authenticate.
enum class CustomerTokenProblem { kNone, kMalformed, kBadSignature, kExpired };
std::string_view CustomerTokenProblemName(CustomerTokenProblem problem);  // "malformed", …

struct CustomerTokenCheck {
  CustomerTokenProblem problem = CustomerTokenProblem::kNone;
  CustomerTokenClaims claims;  // set when kNone (and kExpired)
  bool ok() const { return problem == CustomerTokenProblem::kNone; }
};

struct IssuedCustomerToken {
  std::string token;
  CustomerTokenClaims claims;
};

// "15m", "900s", "2h", "1d" or plain seconds → milliseconds; kInvalidArgument when malformed, not
// positive or above kCustomerTokenMaxTtl.
Result<Millis> ParseTokenTtl(std::string_view text);

class CustomerTokens {
 public:
  static CustomerTokens FromMasterKey(const MasterKey& master);
  CustomerTokens(CustomerTokens&& other) noexcept;
  CustomerTokens& operator=(CustomerTokens&& other) noexcept;
  CustomerTokens(const CustomerTokens&) = delete;
  CustomerTokens& operator=(const CustomerTokens&) = delete;
  ~CustomerTokens();  // wipes the key

  // A token for `customer` valid from `now` for `ttl` (kInvalidArgument when ttl is not in
  // (0, kCustomerTokenMaxTtl] or the customer id is not positive).
  Result<IssuedCustomerToken> Issue(CustomerId customer, Millis now, Millis ttl) const;
  // Checks `token` at `now`: its shape, its MAC, then its expiry (expires_at <= now: expired).
  CustomerTokenCheck Check(std::string_view token, Millis now) const;

 private:
  CustomerTokens() = default;
  std::string Mac(std::string_view payload) const;  // 64 hex
  std::array<unsigned char, 32> key_{};
};

}  // namespace touchpoint::privacy
