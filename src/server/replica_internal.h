// server/replica_internal.h — a follower's warm copy of what customer reads need: customers,
// identifiers, merges and profiles mirrored in memory from the database's change feed
// (store/change_feed.h). Profiles are kept parsed, so a lookup costs what the writer's costs: a
// few hash probes under a shared lock and a copy of the profile, no JSON parsing (before, each
// lookup parsed the stored profile text: p99 ~5–6 ms at 64 connections against the writer's 3.6).
//
// The copy follows the primary, or a PostgreSQL streaming replica of it when one is configured
// (ReplicaOptions::read_url; docs/operations.md, "Read replicas"): then the rows come from the
// replica, the primary only announces commits (LISTEN) and gives the change point the replica's
// lag is measured against. A replica that cannot be reached, or lags by more than max_lag, is
// left for the primary until it is current again; the copy never goes back in time (its mark only
// grows), so switching between the two loses and repeats nothing.
//
// An erasure on the writer reaches the copy through the feed too (Changes::erased): the copy
// forgets the erased customers within one poll, so a follower stops serving a person the writer
// erased (docs/security.md, "Subject rights").
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <touchpoint/pipeline/customer_view.h>
#include <touchpoint/profile/profile.h>
#include <touchpoint/store/cluster.h>
#include <touchpoint/store/store.h>

namespace spdlog {
class logger;
}

namespace touchpoint::server {

class NodeState;

// How far a read replica trails the primary, from change points read on both (store/cluster.h):
// the replica is current as of the newest primary reading whose committed event sequence it has
// reached. The lag is the time since then, so it is an upper bound of how stale the replica's
// events, identities and profiles are, and it keeps growing while the replica cannot be read or
// stops replaying. Resolution: the interval of the primary's readings (one per commit
// announcement, at least every half second). Writes without events (analytics tags, splits) do
// not move the change point: the copy still follows them, the lag does not count them.
//
// Not thread-safe (the replica's thread owns it). Times are passed in, so tests need no clock.
class LagTracker {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  explicit LagTracker(TimePoint start) : current_as_of_(start) {}

  // The primary's committed point, read at `at`.
  void Primary(const store::ChangePoint& point, TimePoint at);
  // The replica's committed point, read at `at` (after the primary readings it is compared with).
  void Replica(const store::ChangePoint& point, TimePoint at);
  // The time up to which the replica is known to hold every commit of the primary.
  TimePoint current_as_of() const { return current_as_of_; }
  double LagSeconds(TimePoint now) const;

 private:
  struct Reading {
    TimePoint at;
    std::int64_t seq;
  };
  std::deque<Reading> readings_;  // oldest first; at most kMaxReadings
  TimePoint current_as_of_;
  static constexpr size_t kMaxReadings = 256;
};

struct ReplicaOptions {
  std::string url;       // the primary (read-only connections)
  std::string read_url;  // a streaming replica of it; empty: read the primary
  std::string password;  // for both (store::OpenOptions::password)
  // A replica further behind than this is not read (the primary is, meanwhile).
  std::chrono::milliseconds max_lag{10'000};
};

class Replica final : public pipeline::CustomerView {
 public:
  // `primary`: a read-only store of options.url with change_feed() and cluster(), or null to
  // open it on the copy's thread (as the read replica's connections always are: a database down
  // at start delays the first load, not the follower's start). `fallback` answers until the first
  // load has finished; `node` (optional) receives the read replica's lag and whether it is read.
  // Both must outlive this.
  Replica(std::unique_ptr<store::Store> primary, ReplicaOptions options, const pipeline::CustomerView& fallback,
          NodeState* node, spdlog::logger* log);
  ~Replica() override;
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  Result<pipeline::CustomerData> Find(std::string_view ref) const override;
  Result<Millis> NewestEventAt() const override;

  // Applies a batch of changed rows (what ChangesSince returned) to the copy. Tests call it
  // directly; the thread calls it after every read of the feed.
  Status Apply(store::Changes&& changes);
  // Counts of the copy (tests, the memory figures in docs/operations.md).
  struct Sizes {
    size_t customers = 0;
    size_t identifiers = 0;
    size_t merges = 0;
    size_t profiles = 0;
  };
  Sizes sizes() const;

  // A copy without a thread, filled only by Apply (tests).
  static std::unique_ptr<Replica> ForTest(const pipeline::CustomerView& fallback);

 private:
  struct NoThread {};
  Replica(NoThread, const pipeline::CustomerView& fallback);

  // One customer row with what hangs off it (all ids in ascending order).
  struct Customer {
    std::int64_t merged_into = 0;  // 0 while live
    bool known = false;            // its customers row was seen (not only referenced)
    std::vector<std::int64_t> children;     // customers merged into this one
    std::vector<std::int64_t> identifiers;  // identifiers first seen with it
    std::vector<std::int64_t> merges;       // merges it won or lost
    std::unique_ptr<const profile::Profile> profile;
  };

  void Run();
  // One read of the feed from the replica (when usable) or the primary; true when applied.
  // `replica_behind`: the replica has not yet replayed the primary's last announced commit.
  Status Follow(bool* replica_behind);
  Result<pipeline::CustomerData> Collect(std::string_view ref) const;  // mu_ shared
  // Forgets an erased original customer: its row, identifiers, merges and profile (mu_ held).
  void Forget(std::int64_t customer);
  void Report(bool reading_replica, bool reachable);

  const ReplicaOptions options_;
  const pipeline::CustomerView& fallback_;
  NodeState* node_ = nullptr;
  spdlog::logger* log_ = nullptr;

  mutable std::shared_mutex mu_;
  std::unordered_map<std::int64_t, Customer> customers_;                 // guarded by mu_
  std::unordered_map<std::int64_t, store::IdentifierRecord> identifiers_;  // guarded by mu_
  std::unordered_multimap<std::int64_t, std::int64_t> identifier_by_key_;  // guarded by mu_: IdentifierKey → id
  std::unordered_map<std::int64_t, store::MergeRecord> merges_;          // guarded by mu_
  size_t profiles_ = 0;                                                  // guarded by mu_
  std::atomic<Millis> newest_event_at_{0};

  std::atomic<bool> loaded_{false};
  std::int64_t mark_ = 0;  // the thread's: the change number the copy holds everything up to

  // The thread's connections: the primary (feed, change points, LISTEN) and the read replica.
  std::unique_ptr<store::Store> primary_;
  std::unique_ptr<store::Store> replica_;
  std::optional<LagTracker> lag_;
  std::int64_t announced_seq_ = 0;  // the primary's last committed seq seen
  std::int64_t replica_seq_ = 0;    // the replica's, at its last reading
  bool reading_replica_ = false;    // for logging changes only

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;  // guarded by stop_mu_
  std::thread thread_;
};

}  // namespace touchpoint::server
