// privacy/keys.h — API keys: generation, hashing, creation in the store, and reading a key from
// an Authorization header. What a key's role may do is in privacy/roles.h.
//
// A key is "tp_" followed by 40 lower-case hex characters (160 random bits from libsodium).
// Only its BLAKE2b hash is stored. All functions are thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/privacy/roles.h>
#include <touchpoint/store/api_key_repository.h>

namespace touchpoint::privacy {

// A new random key, e.g. "tp_3f9c…" (43 characters). Aborts if libsodium cannot initialise.
std::string GenerateKey();

// Hex of BLAKE2b-256 of the key: what the store keeps and looks keys up by.
std::string HashKey(std::string_view key);

// The first characters of a key shown by `keys list` ("tp_3f9c12").
std::string KeyPrefix(std::string_view key);

// Generates a key, stores its hash with `role` and returns the key (shown to the user once) with
// the stored record. Fails as store::ApiKeyRepository::Create does.
struct CreatedKey {
  std::string key;
  store::ApiKeyRecord record;
};
Result<CreatedKey> CreateApiKey(store::ApiKeyRepository& keys, Role role, Millis now);

// Extracts the key from an Authorization header: "Basic base64(key:)" (Segment's write key as
// the user name, empty password) or "Bearer KEY". nullopt when absent or malformed.
std::optional<std::string> KeyFromAuthorization(std::string_view header);

}  // namespace touchpoint::privacy
