// store/sqlite.h — the embedded default backend (one SQLite file in WAL mode). Callers above the
// store choose it by URL (store/open.h); this header is for store::Open and the adapter's tests.
#pragma once

#include <memory>
#include <string>

#include <touchpoint/core/result.h>
#include <touchpoint/store/store.h>

namespace touchpoint::store::sqlite {

struct Options {
  std::string path;        // the database file, e.g. DATA_DIR/touchpoint.db
  bool read_only = false;  // read-only opens never create, migrate or lock
  // Non-empty: hold the writer lock (flock on LOCK in the database's directory) while open, named
  // after this purpose ("touchpoint serve"); kUnavailable naming the holder when another process
  // has it. Empty: no lock (small writes that SQLite's own locking serialises, e.g. API keys).
  std::string lock_purpose;
  // "full" (fsync each commit: survives power loss) or "normal" (survives a killed process;
  // WAL is synced at checkpoints).
  std::string synchronous = "full";
  // SQLite's page cache. The writer keeps its state in memory and mostly appends, so a small
  // cache suffices; 256 MiB cost 240 MB of RSS and ~10 % of a bulk ingest in page faults.
  int cache_mib = 32;
  // zstd level of the event log's chunks (1 = fastest standard level; 0 = store uncompressed).
  int event_compression_level = 1;
};

// Opens (and for a writer, creates the directory, locks, creates and migrates) the database.
// Fails with kUnavailable when the file cannot be opened or the lock is held, kFailedPrecondition
// when it is newer than this binary.
Result<std::unique_ptr<Store>> Open(const Options& options);

// The schema version this binary writes.
int CurrentSchemaVersion();

}  // namespace touchpoint::store::sqlite
