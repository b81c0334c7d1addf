// store/cluster.h — what several Touchpoint nodes on one shared database need from it (only the
// PostgreSQL and memory backends have it; Store::cluster() is null for SQLite, whose flock
// writer lock already allows one writer per data directory):
//
//  - one writer at a time, chosen by the database: a node that takes the writer lock gets a
//    WriterLease and a new epoch (a counter incremented at each election);
//  - fencing: a store opened with OpenOptions::fence_epoch = E refuses to commit (Begin fails
//    with kFailedPrecondition "fenced") once the stored epoch is no longer E, so a writer that
//    lost its lock (partition, long pause) can no longer change anything;
//  - the nodes' registry (internal address, role, heartbeat) for forwarding writes to the writer;
//  - the change sequence: every commit that appended events announces "committed up to seq N"
//    (PostgreSQL: NOTIFY inside the committing transaction); followers wait for it and, because a
//    notification may be missed, also read the committed sequence directly.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>

namespace touchpoint::store {

// Held by the elected writer. Destroying it releases the writer lock (other nodes may then be
// elected); a crashed holder's lock is released by the database when its session ends.
class WriterLease {
 public:
  virtual ~WriterLease() = default;
  // The epoch this writer was elected with (> 0).
  virtual std::int64_t epoch() const = 0;
  // OK while the lease holds: the lock's session is alive and the stored epoch is still ours.
  // kFailedPrecondition ("fenced") when another node was elected since; kUnavailable when the
  // lock's session is gone (the lock then belongs to nobody or to another node). Either way the
  // caller must stop writing. Call it at least every second: PostgreSQL ends a lease session
  // idle for longer than ClusterOptions::lease_timeout, which is how a frozen writer loses it.
  virtual Status Check() = 0;
};

struct NodeRecord {
  std::string id;       // stable per process start (node_id in the config, or host:port)
  std::string address;  // internal HTTP address other nodes forward to ("127.0.0.1:8081")
  std::string role;     // "writer" | "follower"
  std::int64_t epoch = 0;   // the epoch it writes under (writers), 0 for followers
  Millis heartbeat_at = 0;  // set by the store (database time) on Heartbeat
  friend bool operator==(const NodeRecord&, const NodeRecord&) = default;
};

// The committed end of the event log as announced by the writer.
struct ChangePoint {
  std::int64_t seq = 0;        // every event up to this seq is committed
  std::int64_t epoch = 0;      // under which epoch
  Millis committed_at = 0;     // database time of that commit (for replication lag)
};

// Thread safety: every method may be called from any thread (implementations serialise their
// own connections).
class Cluster {
 public:
  virtual ~Cluster() = default;

  // Tries once, without waiting, to become the writer. A lease (with the new, incremented epoch)
  // when this node got the lock; nullptr when another node holds it.
  virtual Result<std::unique_ptr<WriterLease>> TryAcquire(const std::string& node_id) = 0;
  // The stored epoch (0 before the first election).
  virtual Result<std::int64_t> CurrentEpoch() = 0;

  // Inserts or replaces this node's registry row and stamps its heartbeat.
  virtual Status Heartbeat(const NodeRecord& node) = 0;
  // Every registered node, by id.
  virtual Result<std::vector<NodeRecord>> Nodes() = 0;
  // Removes a node's row (a node leaving cleanly).
  virtual Status Leave(const std::string& node_id) = 0;

  // The latest committed change point (read directly: never misses).
  virtual Result<ChangePoint> Committed() = 0;
  // Waits up to `timeout` for a commit announcing a seq greater than `after_seq`; returns the
  // latest change point known then (its seq may still be `after_seq` on timeout). A missed
  // notification only delays the caller until the timeout's direct read.
  virtual Result<ChangePoint> WaitForChange(std::int64_t after_seq, std::chrono::milliseconds timeout) = 0;
};

}  // namespace touchpoint::store
