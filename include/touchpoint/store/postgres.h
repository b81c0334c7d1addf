// store/postgres.h — the backend for several nodes on a database the operators already run
// (PostgreSQL 15). Callers above the store choose it by URL (store/open.h); this header is for
// store::Open and the adapter's tests.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <touchpoint/core/result.h>
#include <touchpoint/store/store.h>

namespace touchpoint::store::postgres {

struct Options {
  std::string url;       // postgresql://user@host:port/db (libpq URI) or a key=value string
  std::string password;  // empty: from the URL, PGPASSWORD or ~/.pgpass
  // Read-only opens never create or migrate the schema and refuse Begin(); they may run next to
  // a writer (every follower's reads).
  bool read_only = false;
  // Non-empty: this store is the writer. It takes the writer lock (an advisory lock on a
  // connection of its own), starts a new epoch and is fenced at it, like a node elected through
  // Cluster::TryAcquire; kUnavailable naming the holder when another node or command has it.
  std::string lock_purpose;
  // > 0: fenced at this epoch (a node elected through Cluster::TryAcquire); no lock is taken.
  std::int64_t fence_epoch = 0;
  // A lease's session ends when it stays idle this long (a frozen writer loses the lock), and a
  // writer's transaction left idle this long is rolled back by the server (it would otherwise
  // block the next election's epoch update).
  int lease_timeout_ms = 5000;
};

// Connects, and for a writable open creates or migrates the schema (versioned migrations with
// the same numbers as SQLite's). kUnavailable when the server cannot be reached, the login is
// refused or the database does not exist; kFailedPrecondition when the schema is newer than this
// binary, or a read-only open finds no schema or an older one.
Result<std::unique_ptr<Store>> Open(const Options& options);

// The schema version this binary writes (equal to SQLite's).
int CurrentSchemaVersion();

}  // namespace touchpoint::store::postgres
