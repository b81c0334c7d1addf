#include <touchpoint/privacy/keys.h>

#include <array>
#include <cstdlib>
#include <string>

#include <sodium.h>

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

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
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
  header = Trim(header);
  const size_t space = header.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const std::string_view scheme = header.substr(0, space);
  const std::string_view value = Trim(header.substr(space + 1));
  if (value.empty()) return std::nullopt;
  if (IEquals(scheme, "Bearer")) return std::string(value);
  if (!IEquals(scheme, "Basic")) return std::nullopt;
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
