// privacy/totp.h — time-based one-time passwords (RFC 6238 over RFC 4226): 30-second steps,
// 6 digits, HMAC-SHA1, as authenticator apps (Google Authenticator, FreeOTP, 1Password) expect.
// Secrets are 160 random bits, shown and stored in base32. All functions are thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <touchpoint/core/time.h>

namespace touchpoint::privacy {

inline constexpr int kTotpPeriodSeconds = 30;
inline constexpr int kTotpDigits = 6;

// A new random secret: 20 bytes as 32 base32 characters (no padding).
std::string GenerateTotpSecret();

// RFC 4648 base32 without padding; Decode accepts lower case, spaces and '=' padding and returns
// nullopt for any other character.
std::string Base32Encode(std::string_view bytes);
std::optional<std::string> Base32Decode(std::string_view text);

// The HOTP value (RFC 4226: HMAC-SHA1, dynamic truncation) of `key` at `counter`, `digits` long
// with leading zeros.
std::string Hotp(std::string_view key, std::uint64_t counter, int digits = kTotpDigits);

// The TOTP time step of `now`: floor(unix seconds / 30).
std::int64_t TotpStep(Millis now);

// The time step among now-1, now, now+1 (one step of clock drift either way) whose code is
// `code`; nullopt when none matches or the secret is malformed. Refusing a step used before is
// the caller's (store::UserRepository::AdvanceTotpStep).
std::optional<std::int64_t> MatchTotp(std::string_view secret_base32, std::string_view code, Millis now);

// otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=ISSUER&algorithm=SHA1&digits=6&period=30 — what
// an authenticator app scans (as a QR code) or takes pasted.
std::string TotpUri(std::string_view issuer, std::string_view account, std::string_view secret_base32);

}  // namespace touchpoint::privacy
