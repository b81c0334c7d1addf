#include <touchpoint/privacy/totp.h>

#include <array>
#include <cstdlib>

// HMAC-SHA1 comes from OpenSSL's libcrypto: RFC 6238 as authenticator apps implement it uses
// SHA-1, and libsodium (our library for everything else) offers HMAC only over SHA-256/512.
// SHA-1's collision weakness does not matter for HMAC; the codes stay as strong as the RFC's.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

namespace touchpoint::privacy {
namespace {

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr size_t kSecretBytes = 20;

void InitSodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) std::abort();
}

std::string PercentEncode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~' || c == '@') {
      out += static_cast<char>(c);
    } else {
      static constexpr char kHex[] = "0123456789ABCDEF";
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

std::string GenerateTotpSecret() {
  InitSodium();
  std::array<unsigned char, kSecretBytes> bytes{};
  randombytes_buf(bytes.data(), bytes.size());
  std::string secret = Base32Encode(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  sodium_memzero(bytes.data(), bytes.size());
  return secret;
}

std::string Base32Encode(std::string_view bytes) {
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 5) {
      out += kAlphabet[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += kAlphabet[(buffer << (5 - bits)) & 31];
  return out;
}

std::optional<std::string> Base32Decode(std::string_view text) {
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char ch : text) {
    if (ch == ' ' || ch == '=' || ch == '-') continue;
    if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
    const size_t v = kAlphabet.find(ch);
    if (v == std::string_view::npos) return std::nullopt;
    buffer = (buffer << 5) | static_cast<unsigned>(v);
    bits += 5;
    if (bits >= 8) {
      out += static_cast<char>((buffer >> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return out;
}

std::string Hotp(std::string_view key, std::uint64_t counter, int digits) {
  std::array<unsigned char, 8> message{};
  for (int i = 7; i >= 0; --i) {
    message[static_cast<size_t>(i)] = static_cast<unsigned char>(counter & 0xff);
    counter >>= 8;
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), message.data(), message.size(), mac.data(),
           &mac_len) == nullptr ||
      mac_len < 20) {
    std::abort();  // libcrypto cannot compute SHA-1: a broken installation
  }
  const unsigned offset = mac[mac_len - 1] & 0x0f;
  const std::uint32_t binary = (static_cast<std::uint32_t>(mac[offset] & 0x7f) << 24) |
                               (static_cast<std::uint32_t>(mac[offset + 1]) << 16) |
                               (static_cast<std::uint32_t>(mac[offset + 2]) << 8) |
                               static_cast<std::uint32_t>(mac[offset + 3]);
  std::uint32_t modulo = 1;
  for (int i = 0; i < digits; ++i) modulo *= 10;
  std::string code = std::to_string(binary % modulo);
  if (code.size() < static_cast<size_t>(digits)) code.insert(0, static_cast<size_t>(digits) - code.size(), '0');
  return code;
}

std::int64_t TotpStep(Millis now) {
  const std::int64_t seconds = now >= 0 ? now / 1000 : (now - 999) / 1000;
  return seconds >= 0 ? seconds / kTotpPeriodSeconds : (seconds - kTotpPeriodSeconds + 1) / kTotpPeriodSeconds;
}

std::optional<std::int64_t> MatchTotp(std::string_view secret_base32, std::string_view code, Millis now) {
  if (code.size() != static_cast<size_t>(kTotpDigits)) return std::nullopt;
  for (char c : code) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  const std::optional<std::string> key = Base32Decode(secret_base32);
  if (!key || key->empty()) return std::nullopt;
  InitSodium();
  const std::int64_t step = TotpStep(now);
  std::optional<std::int64_t> matched;
  // Every candidate is computed and compared in constant time, whichever matches.
  for (std::int64_t s = step - 1; s <= step + 1; ++s) {
    if (s < 0) continue;
    const std::string expected = Hotp(*key, static_cast<std::uint64_t>(s), kTotpDigits);
    if (sodium_memcmp(expected.data(), code.data(), code.size()) == 0 && !matched) matched = s;
  }
  return matched;
}

std::string TotpUri(std::string_view issuer, std::string_view account, std::string_view secret_base32) {
  return "otpauth://totp/" + PercentEncode(issuer) + ":" + PercentEncode(account) +
         "?secret=" + std::string(secret_base32) + "&issuer=" + PercentEncode(issuer) +
         "&algorithm=SHA1&digits=" + std::to_string(kTotpDigits) + "&period=" + std::to_string(kTotpPeriodSeconds);
}

}  // namespace touchpoint::privacy
