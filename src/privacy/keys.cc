#include <touchpoint/privacy/keys.h>

#include <array>
#include <cstdlib>
#include <string>

#include <sodium.h>

#include <touchpoint/core/strings.h>
#include <touchpoint/core/status.h>

namespace touchpoint::privacy {
namespace {

constexpr std::string_view kKeyPrefix = "tp_";
constexpr size_t kKeyRandomBytes = 20;  // 160 bits → 40 hex characters

std::string Hex(const unsigned char* data, size_t n) {
  std::string out(n * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), data, n);
  out.pop_back();
  return out;
}

void InitSodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) std::abort();
}

}  // namespace

std::string GenerateKey() {
  InitSodium();
  std::array<unsigned char, kKeyRandomBytes> bytes{};
  randombytes_buf(bytes.data(), bytes.size());
  return std::string(kKeyPrefix) + Hex(bytes.data(), bytes.size());
}

// Keys carry 160 random bits, so nobody can guess one from its hash by trying candidates: a slow
// password hash (argon2) buys nothing here and would cost ~100 ms of CPU per uncached request.
// A fast cryptographic hash (BLAKE2b) keeps the stored value useless to a thief of the database.
std::string HashKey(std::string_view key) {
  InitSodium();
  std::array<unsigned char, crypto_generichash_BYTES> digest{};
  crypto_generichash(digest.data(), digest.size(), reinterpret_cast<const unsigned char*>(key.data()),
                     key.size(), nullptr, 0);
  return Hex(digest.data(), digest.size());
}

std::string KeyPrefix(std::string_view key) { return std::string(key.substr(0, 9)); }

Result<CreatedKey> CreateApiKey(store::ApiKeyRepository& keys, Role role, Millis now) {
  CreatedKey created;
  created.key = GenerateKey();
  TP_ASSIGN_OR_RETURN(created.record,
                      keys.Create(std::string(RoleName(role)), HashKey(created.key), KeyPrefix(created.key), now));
  return created;
}

std::optional<std::string> KeyFromAuthorization(std::string_view header) {
  header = TrimView(header, kAsciiBlank);
  const size_t space = header.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const std::string_view scheme = header.substr(0, space);
  const std::string_view value = TrimView(header.substr(space + 1), kAsciiBlank);
  if (value.empty()) return std::nullopt;
  if (EqualsIgnoreAsciiCase(scheme, "Bearer")) return std::string(value);
  if (!EqualsIgnoreAsciiCase(scheme, "Basic")) return std::nullopt;
  InitSodium();
  std::string decoded(value.size(), '\0');
  size_t decoded_len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(decoded.data()), decoded.size(), value.data(),
                        value.size(), nullptr, &decoded_len, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0) {
    return std::nullopt;
  }
  decoded.resize(decoded_len);
  // "user:password" — the write key is the user name; the password is ignored (Segment sends none).
  const size_t colon = decoded.find(':');
  std::string key = colon == std::string::npos ? decoded : decoded.substr(0, colon);
  if (key.empty()) return std::nullopt;
  return key;
}

}  // namespace touchpoint::privacy
