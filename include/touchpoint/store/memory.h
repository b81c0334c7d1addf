// store/memory.h — a store kept in process memory: every repository, no files. For tests, for
// trying the engine without a disk, and as the reference the contract suite holds every other
// backend to (tests/store/contract_test.cc). Callers above the store choose it by URL
// ("memory:" or "memory:NAME", store/open.h).
//
// Thread safety: every method of the store and its repositories is safe to call concurrently.
// Transactions are serialised: Begin() waits while another transaction is open. Writes of a
// transaction are buffered and applied atomically at Commit(); reads never see them before.
#pragma once

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
std::unique_ptr<Store> OpenShared(const std::string& name, bool read_only = false);

}  // namespace touchpoint::store::memory
