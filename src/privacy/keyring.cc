#include <touchpoint/privacy/keyring.h>

#include <utility>

#include "privacy/sodium_internal.h"

namespace touchpoint::privacy {
namespace {
constexpr std::string_view kWrappingField = "keyring.key";
}  // namespace

Keyring::Keyring(std::unique_ptr<store::Store> store, const MasterKey& master)
    : owned_(std::move(store)),
      repo_(owned_->Get<store::KeyringRepository>()),
      wrapping_(DeriveFieldKey(master, kWrappingField)),
      version_(master.version()) {}

Keyring::Keyring(store::KeyringRepository& repository, const MasterKey& master)
    : repo_(repository), wrapping_(DeriveFieldKey(master, kWrappingField)), version_(master.version()) {}

Keyring::~Keyring() = default;

Result<std::optional<DataKey>> Keyring::Load(CustomerId customer) {
  if (auto it = cache_.find(customer.value()); it != cache_.end()) return std::optional<DataKey>(it->second);
  std::optional<store::WrappedKeyRecord> stored;
  {
    std::scoped_lock repo(repo_mu_);
    TP_ASSIGN_OR_RETURN(stored, repo_.FindKey(customer));
  }
  if (!stored) return std::optional<DataKey>();
  if (stored->wrapped.empty()) return Destroyed(customer);
  if (stored->key_version != version_) {
    return Status::FailedPrecondition("the data key of customer " + std::to_string(customer.value()) +
                                      " is wrapped under master key version " +
                                      std::to_string(stored->key_version) + ", the key file holds version " +
                                      std::to_string(version_));
  }
  TP_ASSIGN_OR_RETURN(DataKey key, UnwrapKey(wrapping_, customer, stored->wrapped));
  cache_.emplace(customer.value(), key);
  return std::optional<DataKey>(std::move(key));
}

Status Keyring::Destroyed(CustomerId customer) {
  return Status::NotFound(customer.value() < 0 ? std::string("the key of this event chunk was destroyed (an erasure "
                                                             "rewrote the chunk: this is an old copy of it)")
                                               : "the data key of customer " + std::to_string(customer.value()) +
                                                     " was destroyed (the person was erased)");
}

Result<DataKey> Keyring::KeyFor(CustomerId customer) {
  std::scoped_lock lock(mu_);
  TP_ASSIGN_OR_RETURN(std::optional<DataKey> key, Load(customer));
  if (!key) {
    return Status::FailedPrecondition("no data key for " +
                                      (customer.value() < 0 ? std::string("an event chunk")
                                                            : "customer " + std::to_string(customer.value())) +
                                      " in the keyring: it is not the keyring of this data, or an older copy of it "
                                      "(docs/operations.md, \"Master key and keyring\")");
  }
  return std::move(*key);
}

Result<DataKey> Keyring::KeyForWriting(CustomerId customer) {
  std::scoped_lock lock(mu_);
  TP_ASSIGN_OR_RETURN(std::optional<DataKey> loaded, Load(customer));
  if (loaded) return std::move(*loaded);
  DataKey key = DataKey::Random();
  pending_.push_back(store::WrappedKeyRecord{customer, version_, WrapKey(wrapping_, version_, customer, key)});
  cache_.emplace(customer.value(), key);
  return key;
}

Status Keyring::Flush() {
  std::scoped_lock flush(flush_mu_);
  std::vector<store::WrappedKeyRecord> batch;
  {
    std::scoped_lock lock(mu_);
    if (pending_.empty()) return Status::Ok();
    batch.swap(pending_);
  }
  Status s;
  {
    std::scoped_lock repo(repo_mu_);
    s = repo_.AddKeys(batch);
  }
  if (!s.ok()) {
    std::scoped_lock lock(mu_);
    pending_.insert(pending_.begin(), batch.begin(), batch.end());
    return s.WithContext("writing new data keys to the keyring");
  }
  return Status::Ok();
}

Status Keyring::LoadAll() {
  std::vector<store::WrappedKeyRecord> stored;
  {
    std::scoped_lock lock(mu_);
    if (all_loaded_) return Status::Ok();
  }
  {
    std::scoped_lock repo(repo_mu_);
    TP_RETURN_IF_ERROR(repo_.ScanKeys([&](store::WrappedKeyRecord&& k) { stored.push_back(std::move(k)); }));
  }
  std::scoped_lock lock(mu_);
  for (const auto& k : stored) {
    if (cache_.contains(k.customer.value()) || k.key_version != version_ || k.wrapped.empty()) continue;
    TP_ASSIGN_OR_RETURN(DataKey key, UnwrapKey(wrapping_, k.customer, k.wrapped));
    cache_.emplace(k.customer.value(), std::move(key));
  }
  // Keys written later by another process still appear through Load.
  all_loaded_ = true;
  return Status::Ok();
}

Status Keyring::Destroy(std::span<const CustomerId> customers) {
  {
    std::scoped_lock lock(mu_);
    for (CustomerId c : customers) cache_.erase(c.value());
    std::erase_if(pending_, [&](const store::WrappedKeyRecord& k) {
      for (CustomerId c : customers) {
        if (k.customer == c) return true;
      }
      return false;
    });
  }
  // The key goes for good; a tombstone (no key material) is left in its place, so that a read of
  // an old copy of the data tells "erased" (skipped) from "not in this keyring" (an error).
  std::vector<store::WrappedKeyRecord> tombstones;
  tombstones.reserve(customers.size());
  for (CustomerId c : customers) tombstones.push_back(store::WrappedKeyRecord{c, version_, ""});
  std::scoped_lock repo(repo_mu_);
  TP_RETURN_IF_ERROR(repo_.DestroyKeys(customers));
  return repo_.AddKeys(tombstones);
}

Keyring::ChunkKeyEntry Keyring::NewChunkKey() {
  InitSodium();
  ChunkKeyEntry entry;
  std::uint64_t r = 0;
  do {
    randombytes_buf(&r, sizeof(r));
    r &= (std::uint64_t{1} << 62) - 1;  // positive; stored negated
  } while (r == 0);
  entry.id = static_cast<std::int64_t>(r);
  entry.key = DataKey::Random();
  const CustomerId slot(-entry.id);
  std::scoped_lock lock(mu_);
  pending_.push_back(store::WrappedKeyRecord{slot, version_, WrapKey(wrapping_, version_, slot, entry.key)});
  cache_.emplace(slot.value(), entry.key);
  return entry;
}

Result<DataKey> Keyring::ChunkKey(std::int64_t id) { return KeyFor(CustomerId(-id)); }

Status Keyring::DestroyChunkKeys(std::span<const std::int64_t> ids) {
  std::vector<CustomerId> slots;
  slots.reserve(ids.size());
  for (std::int64_t id : ids) slots.push_back(CustomerId(-id));
  return Destroy(slots);
}

std::size_t Keyring::cached() const {
  std::scoped_lock lock(mu_);
  return cache_.size();
}

}  // namespace touchpoint::privacy
