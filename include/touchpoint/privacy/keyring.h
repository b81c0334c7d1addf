// privacy/keyring.h — the per-person data keys of encryption at rest: one random 32-byte key per
// original customer (CustomerId), wrapped by the field key "keyring.key" (privacy/field_crypto.h)
// and kept in a store of its own (store::KeyringRepository), by default NOT the data store:
//
//   SQLite data directory  <directory of the master key file>/keyring-<installation id>.db
//   PostgreSQL             [privacy] keyring_url (default: the same database — weaker, see
//                          docs/security.md "Encryption at rest")
//
// Erasing a person destroys their key (Destroy: crypto-shredding): their encrypted payloads in
// the data store — and in every old backup of it — can no longer be read, as long as old copies
// of the keyring itself are not kept (docs/operations.md says how to back it up).
//
// The write path asks KeyForWriting, which creates a key on first use; new keys are pending until
// Flush() writes them (durably) — the encryption layer flushes inside every write that uses them,
// so a key is always stored before the data encrypted under it commits. Unwrapped keys are cached.
// Master key rotation (privacy/key_rotation.h): each wrapped key records the master key version
// that wraps it; the keyring holds the wrapping key of every version of the key file, so keys
// wrapped under an older version still open while Rewrap moves them to the current one.
// Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include <touchpoint/core/ids.h>
#include <touchpoint/core/result.h>
#include <touchpoint/core/thread_annotations.h>
#include <touchpoint/privacy/field_crypto.h>
#include <touchpoint/privacy/master_key.h>
#include <touchpoint/store/keyring_repository.h>
#include <touchpoint/store/store.h>

namespace touchpoint::privacy {

class Keyring {
 public:
  // `store` holds the wrapped keys (it must provide store::KeyringRepository); the wrapping key
  // is derived from `master`.
  Keyring(std::unique_ptr<store::Store> store, const MasterKey& master);
  Keyring(std::unique_ptr<store::Store> store, const MasterKeySet& masters);
  // Over a repository owned elsewhere (tests, or the data store itself on a single database).
  Keyring(store::KeyringRepository& repository, const MasterKey& master);
  Keyring(store::KeyringRepository& repository, const MasterKeySet& masters);
  ~Keyring();
  Keyring(const Keyring&) = delete;
  Keyring& operator=(const Keyring&) = delete;

  // `customer`'s key. kNotFound when it was destroyed by an erasure (a tombstone stands in its
  // place: readers skip such rows, as erased); kFailedPrecondition when the keyring has none
  // (not the keyring of this data, or an older copy of it).
  Result<DataKey> KeyFor(CustomerId customer);
  // `customer`'s key, created (pending until Flush) when it has none.
  Result<DataKey> KeyForWriting(CustomerId customer);
  // Writes the pending keys; durable on return. Cheap when none are pending.
  Status Flush();
  // Reads every stored key into the cache (before a full scan decrypts everyone's data).
  Status LoadAll();
  // Destroys the keys of `customers` (crypto-shredding): removed from the store (and the cache)
  // for good, a tombstone without key material left in their place. The erasure calls it.
  Status Destroy(std::span<const CustomerId> customers);

  // Event-log chunk keys (privacy/encrypted_store.h): one random key per sealed chunk, kept in
  // the same store under the negative id -key_id (so that destroying it also makes old copies
  // of that chunk unreadable). NewChunkKey is pending until Flush, like KeyForWriting's keys.
  struct ChunkKeyEntry {
    std::int64_t id = 0;  // > 0
    DataKey key;
  };
  ChunkKeyEntry NewChunkKey();
  // As KeyFor: kNotFound when destroyed (an erasure rewrote the chunk; this is an old copy).
  Result<DataKey> ChunkKey(std::int64_t id);
  Status DestroyChunkKeys(std::span<const std::int64_t> ids);

  // Rotation: re-wraps every stored key (people's and chunks') not wrapped under the current
  // version, `batch` keys per write (each durable). Idempotent; a crash leaves each key wrapped
  // under the old or the new version, both readable. Returns how many it re-wrapped.
  Result<std::int64_t> Rewrap(int batch = 1000);
  // How many live keys (tombstones not counted) each master key version wraps.
  Result<std::map<int, std::int64_t>> CountByVersion();

  int key_version() const { return version_; }
  std::size_t cached() const;

 private:
  // nullopt when the keyring has no key for `customer`; kNotFound when it was destroyed.
  Result<std::optional<DataKey>> Load(CustomerId customer) TP_REQUIRES(mu_);
  static Status Destroyed(CustomerId customer);
  std::unique_ptr<store::Store> owned_;
  store::KeyringRepository& repo_;
  // The wrapping key of `version`; kFailedPrecondition when the key file does not hold it.
  Result<const DataKey*> Wrapping(int version, CustomerId owner) const;
  std::map<int, DataKey> wrapping_;  // per master key version; set at construction
  int version_;
  mutable std::mutex mu_;
  std::unordered_map<std::int64_t, DataKey> cache_ TP_GUARDED_BY(mu_);
  std::vector<store::WrappedKeyRecord> pending_ TP_GUARDED_BY(mu_);
  bool all_loaded_ TP_GUARDED_BY(mu_) = false;  // LoadAll ran
  std::mutex flush_mu_;  // one Flush at a time (keys leave pending_ only once written)
  // Every call on repo_: its connection is not for concurrent use (libpq). Taken after mu_ or
  // flush_mu_, never before them.
  std::mutex repo_mu_;
};

}  // namespace touchpoint::privacy
