// store/store.h — the storage contract. Modules above talk to repositories only (one header per
// aggregate: event_log.h, identity_repository.h, profile_repository.h, activity_repository.h,
// api_key_repository.h, escalation_repository.h, job_repository.h, …); adapters
// (src/store/sqlite, src/store/memory, later src/store/postgres) are the only code that sees a
// database library. A backend is chosen by URL in one place (store/open.h), by server and cli.
//
// Adding an aggregate: a new header with its records and an abstract repository, an
// implementation in every adapter, and one Provide<R>() line in each adapter's constructor.
// Nothing else changes: callers reach it with store.Get<R>().
#pragma once

#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <typeindex>
#include <unordered_map>

#include <touchpoint/core/result.h>
#include <touchpoint/store/change_feed.h>
#include <touchpoint/store/cluster.h>
#include <touchpoint/store/event_log.h>
#include <touchpoint/store/transaction.h>

namespace touchpoint::store {

// Optional backend-specific help for the write path (Store::maintenance()). A backend without
// any returns nullptr; callers then simply skip these steps.
class Maintenance {
 public:
  virtual ~Maintenance() = default;
  // CPU-heavy encoding of events about to be appended, on the calling thread, so that the
  // transaction only writes (the SQLite adapter compresses the event chunks here). May run
  // while another thread appends; PrepareEvents calls themselves are not concurrent.
  virtual std::unique_ptr<PreparedEvents> PrepareEvents(std::span<const EventRecord> events) = 0;
  // Housekeeping between commits, on the thread that commits: folds what the store has logged
  // into its main file (SQLite: a passive WAL checkpoint). Never needed for durability.
  virtual void FoldLog() = 0;
};

// Encryption at rest of the event log, as a seam: the store stays ignorant of keys and ciphers
// (privacy/encrypted_store.h implements this). A backend that stores events in compressed
// chunks (SQLite, PostgreSQL) hands each chunk's compressed records to Seal after compressing
// them, and the stored bytes to Open before decompressing them, so that compression still sees
// the clear records (sealing each event on its own defeated it: the data grew 3.3×). `ad` is the
// chunk's hash column (its message hashes): a sealed chunk moved to another row fails to open.
// Thread-safe: called from the preparing, committing and reading threads at once.
class ChunkSealer {
 public:
  virtual ~ChunkSealer() = default;
  // The sealed form of `records` (a chunk of its own key; never fails: a new key is kept in
  // memory until the layer writes it, before the transaction that stores the chunk commits).
  virtual std::string Seal(std::string_view records, std::string_view ad) = 0;
  // The records of a sealed chunk. kInternal when it does not authenticate; kNotFound when its
  // key was destroyed (an erasure rewrote the chunk, and this is an old copy): the codec then
  // reads the chunk as erased (no events).
  virtual Result<std::string> Open(std::string_view sealed, std::string_view ad) = 0;
  // An erasure rewrote the chunk stored as `sealed` (a new key seals the new version): its key
  // is to be destroyed once the erasure commits (the layer's ErasureRepository::Scrub does it).
  virtual void Retire(std::string_view sealed) = 0;
};

// A Store owns its repositories and one connection to the database. Writes go through one
// transaction at a time (Begin), used by one thread. On a writable store, reads may be called
// from the thread that writes; other threads read through their own store opened read-only
// (store::Open with read_only), except where a repository says otherwise. A MemoryStore is safe
// for concurrent use.
class Store {
 public:
  virtual ~Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Starts a transaction. kFailedPrecondition on a read-only store; kUnavailable when the
  // database cannot start one (busy, gone).
  virtual Result<std::unique_ptr<Transaction>> Begin() = 0;

  // The repository of type R (e.g. Get<EventLog>()). Aborts when this backend has none: every
  // backend implements every repository (tests/store/contract_test.cc checks it).
  template <class R>
  R& Get() const {
    R* r = Find<R>();
    if (r == nullptr) {
      std::fprintf(stderr, "touchpoint: the %s store does not implement repository %s\n",
                   std::string(backend()).c_str(), typeid(R).name());
      TP_CHECK(r != nullptr, "every backend implements every repository (tests/store/contract_test.cc)");
    }
    return *r;
  }
  template <class R>
  R* Find() const {
    auto it = repositories_.find(std::type_index(typeid(R)));
    return it == repositories_.end() ? nullptr : static_cast<R*>(it->second);
  }

  // nullptr when the backend has no write-path help.
  virtual Maintenance* maintenance() { return nullptr; }
  // Writer election, fencing, node registry and change sequence for several nodes on one
  // database (store/cluster.h); nullptr for single-node backends (SQLite).
  virtual Cluster* cluster() { return nullptr; }
  // What changed since a mark, for followers' warm copies (store/change_feed.h); nullptr when
  // the backend has no feed.
  virtual ChangeFeed* change_feed() { return nullptr; }
  // "sqlite", "memory", …
  virtual std::string_view backend() const = 0;
  virtual bool read_only() const = 0;
  // Schema version after migrations (0 for backends without a schema).
  virtual int schema_version() const = 0;
  // Seals the event log's chunks with `sealer` from now on (and opens sealed ones with it); called
  // once, right after the open, by the encryption layer. false when the backend has no chunks
  // (memory): the layer then seals each event body itself.
  virtual bool SealEventChunks(std::shared_ptr<ChunkSealer> /*sealer*/) { return false; }

 protected:
  Store() = default;
  // Registers a repository this store implements; `repo` must live as long as the store.
  template <class R>
  void Provide(R& repo) {
    repositories_[std::type_index(typeid(R))] = &repo;
  }
  // Registers every repository of `inner` (which must outlive this store) as this store's own:
  // a layer over another store (privacy/encrypted_store.h) re-provides the inner store's
  // repositories and then Provide()s those it overrides.
  void ProvideAllOf(const Store& inner) { repositories_ = inner.repositories_; }

 private:
  std::unordered_map<std::type_index, void*> repositories_;
};

}  // namespace touchpoint::store
