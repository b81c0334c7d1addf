// privacy/encrypted_store.h — encryption at rest as a layer over a store's repositories (it does
// not sit inside `store`): an EncryptedStore wraps a store::Store, re-provides all of its
// repositories and overrides those that hold personal data, encrypting on the way in and
// decrypting on the way out, so every module above reads and writes clear values.
//
// What it encrypts (docs/security.md "Encryption at rest" says what it does not):
//   identifiers.value      under the person's data key; the stored lookup key is the blind
//                          index (privacy/blind_index.h), so FindIdentifier is a keyed-hash
//                          lookup whose hits are decrypted and re-checked
//   profiles.data          under the person's data key (traits, accumulators)
//   event bodies           under the person's data key (compressed first), in PrepareEvents, so
//                          the committer still only writes
//   messages.text, messages.masked_text, orders.items_json, surveys.comment
//                          under the person's data key
// "The person" is the original customer a row belongs to (its CustomerId); a row without one
// uses the field's key. Data keys live in the Keyring (privacy/keyring.h), outside the data store.
//
// Master key rotation (privacy/key_rotation.h): the context holds the keys of every version the
// key file lists. New values are sealed under the current version; a value under the field's key
// opens with the field key of the version its header names; a value under a person's or chunk's
// data key opens with that data key, which the keyring unwraps with whichever version wraps it.
//
// A value that fails to authenticate is a kInternal error naming the field (never the value).
// Thread-safety: as the inner store's (the layer adds only thread-safe state).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/privacy/blind_index.h>
#include <touchpoint/privacy/field_crypto.h>
#include <touchpoint/privacy/keyring.h>
#include <touchpoint/privacy/master_key.h>
#include <touchpoint/store/store.h>

namespace touchpoint::privacy {

// Settings in the data store (store::KeyringRepository::Setting) that mark it encrypted.
inline constexpr char kInstallationSetting[] = "encryption.installation";  // random hex id
inline constexpr char kKeyCheckSetting[] = "encryption.check";             // sealed known text
// The master key rotation in progress or last finished (privacy/key_rotation.h): JSON.
inline constexpr char kRotationSetting[] = "encryption.rotation";

// A new installation id: 16 random lower-case hex characters.
std::string NewInstallationId();

// What an encrypted store's layers share (one per data store and process): the keys derived
// from the master key and the keyring.
class EncryptionContext {
 public:
  EncryptionContext(const MasterKey& master, std::unique_ptr<Keyring> keyring);
  // Every version of the key file (rotation); seals under `masters.current()`.
  EncryptionContext(const MasterKeySet& masters, std::unique_ptr<Keyring> keyring);
  ~EncryptionContext();

  int key_version() const { return version_; }
  // The current version's blind-index key.
  const BlindIndexer& indexer() const { return *indexers_.front(); }
  // Every version's, the current one first (lookups during and after a rotation).
  const std::vector<std::unique_ptr<BlindIndexer>>& indexers() const { return indexers_; }
  std::vector<int> versions() const;
  Keyring& keyring() { return *keyring_; }

  // Opens a value sealed under the field's key of any version and seals it again under the
  // current one (rotation). A value already under the current version, or under a person's
  // key, comes back as it is. Errors as Open's.
  Result<std::string> Reseal(std::string_view field, std::string_view row, std::string_view sealed, bool text);
  // The master key version in the header of a sealed value (text or not).
  static Result<SealedHeader> HeaderOf(std::string_view sealed, bool text);

  // `plain` sealed for `field` of the row `row` (its identity, the associated data), under
  // `owner`'s data key (created when new) or, when `owner` is invalid, the field's key.
  Result<std::string> Seal(CustomerId owner, std::string_view field, std::string_view row, std::string_view plain,
                           bool text);
  // The inverse; kInternal when it does not authenticate or is not a ciphertext.
  Result<std::string> Open(std::string_view field, std::string_view row, std::string_view sealed, bool text);

  // The key check stored in a new encrypted store, and checking it: kFailedPrecondition when the
  // master key is not the one the store was encrypted with.
  std::string MakeKeyCheck();
  Status VerifyKeyCheck(std::string_view check);

 private:
  // kFailedPrecondition when the key file does not hold `version`.
  Result<const DataKey*> FieldKey(std::string_view field, int version);
  const DataKey& FieldKey(std::string_view field);
  int version_;
  std::vector<std::unique_ptr<BlindIndexer>> indexers_;  // current first
  std::unique_ptr<Keyring> keyring_;
  struct FieldKeys;
  std::unique_ptr<FieldKeys> fields_;
};

class EncryptedStore final : public store::Store {
 public:
  EncryptedStore(std::unique_ptr<store::Store> inner, std::shared_ptr<EncryptionContext> context);
  ~EncryptedStore() override;

  Result<std::unique_ptr<store::Transaction>> Begin() override { return inner_->Begin(); }
  store::Maintenance* maintenance() override;
  store::Cluster* cluster() override { return inner_->cluster(); }
  store::ChangeFeed* change_feed() override;
  std::string_view backend() const override { return inner_->backend(); }
  bool read_only() const override { return inner_->read_only(); }
  int schema_version() const override { return inner_->schema_version(); }

  store::Store& inner() { return *inner_; }
  // Erasure's crypto-shredding: context().keyring().Destroy(customers).
  EncryptionContext& context() { return *context_; }

 private:
  std::unique_ptr<store::Store> inner_;
  std::shared_ptr<EncryptionContext> context_;
  struct Layers;
  std::unique_ptr<Layers> layers_;
};

// The crypto-shredding step of an erasure over `store` (the rights helper's `shred` callback):
// destroys the data keys of `customers` in the keyring when `store` is encrypted (an
// EncryptedStore, as store::Open returns it in the touchpoint binary); does nothing otherwise.
// `store` must outlive the function.
std::function<Status(std::span<const CustomerId>)> CryptoShredder(store::Store& store);

}  // namespace touchpoint::privacy
