// pipeline/data_dir.h — a data directory: one SQLite database and a lock that lets one writing
// process use it at a time. Read-only commands never take the lock.
#pragma once

#include <memory>
#include <string>

#include <touchpoint/core/result.h>
#include <touchpoint/pipeline/engine.h>
#include <touchpoint/store/store.h>

namespace touchpoint::pipeline {

// An exclusive advisory lock (flock) on DATA_DIR/LOCK, released when this object dies or the
// process is killed, so a lock left by a killed process is simply taken over.
class DataDirLock {
 public:
  // Creates the directory when missing. kUnavailable naming the other process ("pid 123,
  // touchpoint serve") when another writer holds it; kUnavailable when the directory cannot be
  // created.
  static Result<std::unique_ptr<DataDirLock>> Acquire(const std::string& dir, const std::string& purpose);
  ~DataDirLock();
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;
  // True when the lock file named a process that no longer runs (taken over).
  bool took_over() const { return took_over_; }

 private:
  DataDirLock(int fd, bool took_over) : fd_(fd), took_over_(took_over) {}
  int fd_;
  bool took_over_;
};

std::string DatabasePath(const std::string& dir);

struct WritableDataDir {
  std::unique_ptr<DataDirLock> lock;
  std::unique_ptr<Engine> engine;  // destroyed before the lock
  ~WritableDataDir() { engine.reset(); }
};

// Locks the directory, opens (creating and migrating) the database and loads the engine.
// synchronous: "full" or "normal" (see store::sqlite::Options).
Result<std::unique_ptr<WritableDataDir>> OpenForWriting(const std::string& dir, EngineOptions options,
                                                       const std::string& purpose,
                                                       const std::string& synchronous = "full");

// Opens the database read-only (no lock). kFailedPrecondition when the directory has no database.
Result<std::unique_ptr<store::Store>> OpenReadOnly(const std::string& dir);

// Opens the database for writing the API key table only (no data-directory lock: SQLite's own
// locking serialises these small writes with a running server).
Result<std::unique_ptr<store::Store>> OpenForKeys(const std::string& dir);

}  // namespace touchpoint::pipeline
