// store/api_key_repository.h — API keys: a role and a keyed hash per key (the key itself is never
// stored). Key generation and hashing live in the privacy module.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>

namespace touchpoint::store {

struct ApiKeyRecord {
  std::int64_t id = 0;
  std::string role;
  std::string key_hash;  // hex of a keyed hash; the key itself is never stored
  std::string prefix;    // first characters, to recognise a key in `keys list`
  Millis created_at = 0;
  Millis revoked_at = 0;  // 0 while valid
  friend bool operator==(const ApiKeyRecord&, const ApiKeyRecord&) = default;
};

// Each method is its own small transaction (keys are created and revoked next to a running
// writer, so they do not join the write path's transactions).
class ApiKeyRepository {
 public:
  virtual ~ApiKeyRepository() = default;

  // kAlreadyExists when a key with this hash exists.
  virtual Result<ApiKeyRecord> Create(const std::string& role, const std::string& key_hash,
                                      const std::string& prefix, Millis now) = 0;
  // In id order.
  virtual Result<std::vector<ApiKeyRecord>> List() = 0;
  virtual Result<std::optional<ApiKeyRecord>> FindByHash(const std::string& key_hash) = 0;
  // Revokes the active key with this id or prefix; kNotFound when there is none.
  virtual Status Revoke(const std::string& id_or_prefix, Millis now) = 0;
};

}  // namespace touchpoint::store
