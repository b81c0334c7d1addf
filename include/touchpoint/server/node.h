// server/node.h — one Touchpoint node among several on a shared database (store/cluster.h).
//
// A node is one of:
//   writer    holds the database's writer lease; runs the engine over a store fenced at the
//             lease's epoch, the jobs scheduler and the escalation consumer (what must run once);
//   follower  no engine: serves reads from the database and forwards everything that writes, and
//             the routes that need the engine, to the writer (over HTTP, with the cluster secret);
//   single    a backend without cluster() (SQLite, an unnamed memory store): one process, as before.
// The Node runs the election loop: it tries to become the writer, serves as a follower while
// another node is, takes over when the writer's lease is free, and steps down (the App stops; its
// store is fenced) when its own lease fails. docs/operations.md, "Several nodes".
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <touchpoint/core/result.h>
#include <touchpoint/server/config.h>

namespace touchpoint::server {

enum class NodeRole { kSingle, kWriter, kFollower };

// "single" | "writer" | "follower"
std::string_view NodeRoleName(NodeRole role);

// What a node knows about itself and the cluster, as /healthz and /metrics show it and as the
// follower's forwarding uses it. Updated by the Node's loop (or a test).
//
// Thread safety: every method may be called from any thread.
class NodeState {
 public:
  // `address`: where other nodes reach this one ("127.0.0.1:8081").
  NodeState(std::string node_id, std::string address);

  const std::string& node_id() const { return node_id_; }

  struct Snapshot {
    NodeRole role = NodeRole::kSingle;
    std::int64_t epoch = 0;          // the writer's epoch (writers), 0 otherwise
    std::string address;             // this node's internal address
    std::string writer_address;      // the current writer's internal address; empty: none known
    std::int64_t committed_seq = 0;  // the last change point this node saw (store/cluster.h)
    double lag_seconds = 0;          // followers: age of that sighting; writer and single: 0
    // Followers with a read replica ([store] read_url): whether reads go to it now (else to the
    // primary), whether it answered its last reading, and how far it trails the primary (an
    // upper bound: the time since it was last seen holding every commit of the primary).
    bool read_replica = false;  // one is configured
    bool reads_on_replica = false;
    bool replica_reachable = false;
    double replica_lag_seconds = 0;
  };
  Snapshot Get() const;

  void SetRole(NodeRole role, std::int64_t epoch);
  void SetAddress(std::string address);
  // The writer other nodes forward to; empty when none is known (requests then get 503).
  void SetWriter(std::string address);
  // The database's committed change point, just read: the follower is current up to now.
  void SawCommitted(std::int64_t seq);
  // A follower's warm copy (server/replica_internal.h) reporting on its read replica:
  // `current_as_of` is when the replica was last known to hold every commit of the primary.
  void SetReadReplica(bool reads_on_replica, bool reachable, std::chrono::steady_clock::time_point current_as_of);

  // Called by a writer's routes when a commit failed (fenced, or the database went away): the
  // engine refuses writes from then on, so the node steps down (and may be elected again with a
  // fresh engine). `on_failure` (set by the Node) is called once per report.
  void ReportWriteFailure(const Status& status);
  void OnWriteFailure(std::function<void(const Status&)> on_failure);

 private:
  const std::string node_id_;
  mutable std::mutex mu_;
  NodeRole role_ = NodeRole::kSingle;                        // guarded by mu_
  std::int64_t epoch_ = 0;                                   // guarded by mu_
  std::string address_;                                      // guarded by mu_
  std::string writer_address_;                               // guarded by mu_
  std::int64_t committed_seq_ = 0;                           // guarded by mu_
  std::chrono::steady_clock::time_point committed_seen_at_;  // guarded by mu_
  std::function<void(const Status&)> on_failure_;            // guarded by mu_
  bool read_replica_ = false;                                // guarded by mu_
  bool reads_on_replica_ = false;                            // guarded by mu_
  bool replica_reachable_ = false;                           // guarded by mu_
  std::chrono::steady_clock::time_point replica_current_as_of_;  // guarded by mu_
};

struct NodeOptions {
  // How often the loop heartbeats, refreshes the writer's address and (followers) tries to take
  // the lease; the lease itself is checked twice as often.
  std::chrono::milliseconds tick{1000};
  // After a failed promotion (the writer could not start), wait this long before trying again.
  std::chrono::milliseconds promotion_backoff{5000};
  // A writer that stepped down waits this long before running for election again, so that a
  // healthy follower takes over (a lone node takes the lease back after it).
  std::chrono::milliseconds step_down_backoff{3000};
};

// Thread safety: the accessors from any thread; Stop() from any thread except a request handler.
class Node {
 public:
  // Starts serving on config.listen. With a cluster secret and a store that has cluster()
  // (PostgreSQL; memory:NAME in tests): tries once to become the writer, starts as writer or
  // follower, and runs the loop. Otherwise a single App (SQLite, memory:, or no secret: then the
  // store's writer lock admits one node, and a second one is refused by it). kInvalidArgument for
  // bad cluster settings (an unreadable secret file, a secret under 16 bytes, listening on any
  // address without --advertise); else fails as App::Start does.
  static Result<std::unique_ptr<Node>> Start(const ServerConfig& config, NodeOptions options = {});

  ~Node();  // calls Stop()
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  NodeRole role() const;
  std::int64_t epoch() const;
  uint16_t port() const;  // the same across role switches
  const std::string& host() const;
  NodeState::Snapshot state() const;

  // Tests and scripts: waits until this node's role is `role` (true) or `timeout` passed.
  bool WaitForRole(NodeRole role, std::chrono::milliseconds timeout) const;

  // Graceful: stops the loop and the App (requests in flight finish, the engine drains), releases
  // the lease and removes this node from the registry. Idempotent.
  void Stop();

  class Impl;

 private:
  explicit Node(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The cluster secret from config.cluster_secret or the file config.cluster_secret_file
// (surrounding whitespace trimmed); empty when neither is set. kInvalidArgument when the file
// cannot be read or the secret is shorter than 16 bytes.
Result<std::string> ClusterSecret(const ServerConfig& config);

}  // namespace touchpoint::server
