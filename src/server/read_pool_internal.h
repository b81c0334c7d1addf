// server/read_pool_internal.h — a follower's reads from the database: a small pool of read-only
// stores (a store is used by one thread at a time), the customer view over it and the store-wide
// counts that the writer's engine would otherwise give.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/pipeline/customer_view.h>
#include <touchpoint/pipeline/engine.h>
#include <touchpoint/store/store.h>

namespace touchpoint::server {

// Thread-safe. Stores are opened on first need (a follower may start before any writer created
// the schema), at most `max_open` at once; callers beyond that wait for one to come back.
class ReadPool {
 public:
  // `password`: the database's, when the URL has none (store::OpenOptions::password).
  ReadPool(std::string url, std::string password, size_t max_open);
  ~ReadPool();
  ReadPool(const ReadPool&) = delete;
  ReadPool& operator=(const ReadPool&) = delete;

  // A store borrowed from the pool; given back when destroyed, or closed when its use failed
  // with kUnavailable (a broken connection is not handed to the next caller).
  class Borrowed {
   public:
    Borrowed(ReadPool& pool, std::unique_ptr<store::Store> store) : pool_(&pool), store_(std::move(store)) {}
    Borrowed(Borrowed&&) noexcept = default;
    Borrowed& operator=(Borrowed&&) = delete;
    ~Borrowed();
    store::Store& operator*() const { return *store_; }
    // Closes the store instead of returning it (call when a read on it failed with kUnavailable).
    void Discard() { discard_ = true; }

   private:
    ReadPool* pool_;
    std::unique_ptr<store::Store> store_;
    bool discard_ = false;
  };

  // kUnavailable (or the open's error) when no store can be opened.
  Result<Borrowed> Borrow();

 private:
  void Return(std::unique_ptr<store::Store> store, bool discard);

  const std::string url_;
  const std::string password_;
  const size_t max_open_;
  std::mutex mu_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<store::Store>> idle_;  // guarded by mu_
  size_t open_ = 0;                                  // guarded by mu_: idle and borrowed
};

// pipeline::StoreCustomerView over a store borrowed per call.
class PooledCustomerView final : public pipeline::CustomerView {
 public:
  explicit PooledCustomerView(ReadPool& pool) : pool_(pool) {}
  Result<pipeline::CustomerData> Find(std::string_view ref) const override;
  Result<Millis> NewestEventAt() const override;

 private:
  ReadPool& pool_;
};

// The counts GET /v1/stats and the store gauges of /metrics show, read from the database.
Result<pipeline::EngineStats> StoreStats(ReadPool& pool);

}  // namespace touchpoint::server
