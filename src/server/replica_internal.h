// server/replica_internal.h — a follower's warm copy of what customer reads need: customers,
// identifiers, merges and profiles mirrored into an in-memory store from the database's change
// feed (store/change_feed.h), and read through the same StoreCustomerView as any store. A lookup
// is then a few in-memory index probes instead of ~10 database round trips; the copy trails the
// database by at most one poll (it waits on the change sequence, so usually one commit).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include <touchpoint/pipeline/customer_view.h>
#include <touchpoint/store/store.h>

namespace spdlog {
class logger;
}

namespace touchpoint::server {

class Replica final : public pipeline::CustomerView {
 public:
  // `source`: a read-only store of the database with change_feed() and cluster() (owned).
  // `fallback`: answers until the first load has finished (it must outlive the replica).
  Replica(std::unique_ptr<store::Store> source, const pipeline::CustomerView& fallback, spdlog::logger* log);
  ~Replica() override;
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  Result<pipeline::CustomerData> Find(std::string_view ref) const override;
  Result<Millis> NewestEventAt() const override;


 private:
  void Run();
  Status Apply(store::Changes&& changes);

  std::unique_ptr<store::Store> source_;
  const pipeline::CustomerView& fallback_;
  spdlog::logger* log_;
  std::unique_ptr<store::Store> copy_;  // memory store
  std::unique_ptr<pipeline::CustomerView> view_;
  std::atomic<bool> loaded_{false};
  std::atomic<std::int64_t> mark_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace touchpoint::server
