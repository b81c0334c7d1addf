// store/sqlite/writer_lock.h — one writing process per database: an exclusive advisory lock
// (flock) on LOCK beside the database file, released when this object dies or the process is
// killed, so a lock left by a killed process is simply taken over. Private to the adapter.
#pragma once

#include <memory>
#include <string>

#include <touchpoint/core/result.h>

namespace touchpoint::store::sqlite {

class WriterLock {
 public:
  // Creates `dir` when missing. kUnavailable naming the other process ("pid 123 (touchpoint
  // serve)") when another writer holds it, or when the directory cannot be created.
  static Result<std::unique_ptr<WriterLock>> Acquire(const std::string& dir, const std::string& purpose);
  ~WriterLock();
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  explicit WriterLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace touchpoint::store::sqlite
