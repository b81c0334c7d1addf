#include <touchpoint/privacy/keyring.h>

#include <string>
#include <utility>

#include "privacy/sodium_internal.h"

namespace touchpoint::privacy {
namespace {
constexpr std::string_view kWrappingField = "keyring.key";
}  // namespace

Keyring::Keyring(std::unique_ptr<store::Store> store, const MasterKey& master)
    : Keyring(std::move(store), MasterKeySet::Of(master)) {}

Keyring::Keyring(std::unique_ptr<store::Store> store, const MasterKeySet& masters)
    : owned_(std::move(store)), repo_(owned_->Get<store::KeyringRepository>()), version_(masters.current().version()) {
  for (const MasterKey& m : masters.keys()) wrapping_.emplace(m.version(), DeriveFieldKey(m, kWrappingField));
}

Keyring::Keyring(store::KeyringRepository& repository, const MasterKey& master)
    : Keyring(repository, MasterKeySet::Of(master)) {}

Keyring::Keyring(store::KeyringRepository& repository, const MasterKeySet& masters)
    : repo_(repository), version_(masters.current().version()) {
  for (const MasterKey& m : masters.keys()) wrapping_.emplace(m.version(), DeriveFieldKey(m, kWrappingField));
}

Result<const DataKey*> Keyring::Wrapping(int version, CustomerId owner) const {
  auto it = wrapping_.find(version);
  if (it != wrapping_.end()) return &it->second;
  return Status::FailedPrecondition(
      "the data key of " + (owner.value() < 0 ? std::string("an event chunk") : "customer " + std::to_string(owner.value())) +
      " is wrapped under master key version " + std::to_string(version) +
      ", which the master key file does not hold (restore the key file that has it; `touchpoint keys status`)");
}

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
  TP_ASSIGN_OR_RETURN(const DataKey* wrapping, Wrapping(stored->key_version, customer));
  TP_ASSIGN_OR_RETURN(DataKey key, UnwrapKey(*wrapping, customer, stored->wrapped));
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
  pending_.push_back(
      store::WrappedKeyRecord{customer, version_, WrapKey(wrapping_.at(version_), version_, customer, key)});
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
    if (cache_.contains(k.customer.value()) || k.wrapped.empty()) continue;
    TP_ASSIGN_OR_RETURN(const DataKey* wrapping, Wrapping(k.key_version, k.customer));
    TP_ASSIGN_OR_RETURN(DataKey key, UnwrapKey(*wrapping, k.customer, k.wrapped));
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
  pending_.push_back(store::WrappedKeyRecord{slot, version_, WrapKey(wrapping_.at(version_), version_, slot, entry.key)});
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

Result<std::int64_t> Keyring::Rewrap(int batch) {
  if (batch < 1) batch = 1;
  TP_RETURN_IF_ERROR(Flush());
  // Keys written meanwhile by a writer of this process or another are wrapped under the version
  // it was started with: a writer started before the rotation keeps writing the old one (still
  // readable); `keys status` counts them and a second run re-wraps them.
  std::vector<store::WrappedKeyRecord> old;
  {
    std::scoped_lock repo(repo_mu_);
    TP_RETURN_IF_ERROR(repo_.ScanKeys([&](store::WrappedKeyRecord&& k) {
      if (!k.wrapped.empty() && k.key_version != version_) old.push_back(std::move(k));
    }));
  }
  const DataKey& current = wrapping_.at(version_);
  std::int64_t done = 0;
  std::vector<store::WrappedKeyRecord> rewrapped;
  for (size_t i = 0; i < old.size(); ++i) {
    const store::WrappedKeyRecord& k = old[i];
    TP_ASSIGN_OR_RETURN(const DataKey* wrapping, Wrapping(k.key_version, k.customer));
    TP_ASSIGN_OR_RETURN(DataKey key, UnwrapKey(*wrapping, k.customer, k.wrapped));
    rewrapped.push_back(store::WrappedKeyRecord{k.customer, version_, WrapKey(current, version_, k.customer, key)});
    if (static_cast<int>(rewrapped.size()) >= batch || i + 1 == old.size()) {
      std::scoped_lock repo(repo_mu_);
      TP_RETURN_IF_ERROR(repo_.ReplaceKeys(rewrapped).WithContext("re-wrapping data keys"));
      done += static_cast<std::int64_t>(rewrapped.size());
      rewrapped.clear();
    }
  }
  return done;
}

Result<std::map<int, std::int64_t>> Keyring::CountByVersion() {
  std::map<int, std::int64_t> out;
  std::scoped_lock repo(repo_mu_);
  TP_RETURN_IF_ERROR(repo_.ScanKeys([&](store::WrappedKeyRecord&& k) {
    if (!k.wrapped.empty()) ++out[k.key_version];
  }));
  return out;
}

std::size_t Keyring::cached() const {
  std::scoped_lock lock(mu_);
  return cache_.size();
}

}  // namespace touchpoint::privacy
