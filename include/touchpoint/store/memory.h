// store/memory.h — a store kept in process memory: every repository, no files. For tests, for
// trying the engine without a disk, and as the reference the contract suite holds every other
// backend to (tests/store/contract_test.cc). Callers above the store choose it by URL
// ("memory:" or "memory:NAME", store/open.h).
//
// A named store also has a cluster() (store/cluster.h), so that several nodes can be tested in one
// process: the writer lease, the epoch, the node registry and the change sequence are part of the
// named state. A lease's session is the lease object itself (destroying it frees the writer lock);
// ExpireLeases ends it early, as a database ends the session of a crashed or cut-off writer.
//
// Thread safety: every method of the store and its repositories is safe to call concurrently.
// Transactions are serialised: Begin() waits while another transaction is open. Writes of a
// transaction are buffered and applied atomically at Commit(); reads never see them before.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <touchpoint/store/store.h>

namespace touchpoint::store::memory {

// A new empty store.
std::unique_ptr<Store> Open();

// The store registered under `name` in this process, created empty on first use. Every store
// returned for the same name shares one state (like connections to one database); the state
// lives until the process exits. A read-only one refuses Begin() (kFailedPrecondition); its
// key, job and segment writes still work, as on a read-only SQLite open they do not.
// `fence_epoch` > 0 (writers only): Begin() and Commit() fail with kFailedPrecondition ("fenced")
// once the stored epoch is no longer `fence_epoch` (store::OpenOptions::fence_epoch).
std::unique_ptr<Store> OpenShared(const std::string& name, bool read_only = false, std::int64_t fence_epoch = 0);

// Tests: ends the session of the writer lease held on store `name` (a lost connection, a frozen
// process): the lock is free for the next TryAcquire, and the old lease's Check() fails
// (kUnavailable, then kFailedPrecondition once another node was elected).
void ExpireLeases(const std::string& name);

}  // namespace touchpoint::store::memory
