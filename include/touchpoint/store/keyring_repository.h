// store/keyring_repository.h — what encryption at rest (privacy/encrypted_store.h) keeps in a
// store: the per-person data keys, wrapped (encrypted) by a key derived from the master key, and
// a few named settings (the data store's encryption marker and key check).
//
// The keys normally live in a store of their own (privacy/keyring.h: a SQLite file beside the
// master key file, or [privacy] keyring_url), not in the data store: destroying a person's key
// (crypto-shredding) must also make them unreadable in an old backup of the data directory.
// Each method is its own small transaction, durable when it returns.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include <touchpoint/core/ids.h>
#include <touchpoint/core/result.h>

namespace touchpoint::store {

struct WrappedKeyRecord {
  CustomerId customer;   // the original customer the key belongs to
  int key_version = 1;   // the master key version of the wrapping key
  std::string wrapped;   // opaque text (privacy/field_crypto.h's sealed form)
  friend bool operator==(const WrappedKeyRecord&, const WrappedKeyRecord&) = default;
};

class KeyringRepository {
 public:
  virtual ~KeyringRepository() = default;
  // Adds keys; a customer that already has one keeps it (the new one is ignored). Durable on
  // return. kFailedPrecondition on a read-only store.
  virtual Status AddKeys(std::span<const WrappedKeyRecord> keys) = 0;
  // Replaces the wrapping of existing keys (rotation of the master key). A destroyed key's
  // tombstone (empty `wrapped`) is never replaced: an erasure between the rotation's read and
  // its write must not bring the key back.
  virtual Status ReplaceKeys(std::span<const WrappedKeyRecord> keys) = 0;
  virtual Result<std::optional<WrappedKeyRecord>> FindKey(CustomerId customer) = 0;
  // In customer order.
  virtual Status ScanKeys(const std::function<void(WrappedKeyRecord&&)>& fn) = 0;
  // Removes the keys of `customers` for good (SQLite: overwritten, with secure_delete). Absent
  // ones are not an error.
  virtual Status DestroyKeys(std::span<const CustomerId> customers) = 0;
  // Named settings ("encryption.installation", …); nullopt when not set.
  virtual Status PutSetting(const std::string& name, const std::string& value) = 0;
  virtual Result<std::optional<std::string>> Setting(const std::string& name) = 0;
};

}  // namespace touchpoint::store
