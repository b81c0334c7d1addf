#include "store/sqlite/writer_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace touchpoint::store::sqlite {
namespace {

std::string ReadSmallFile(const std::string& path) {
  std::ifstream in(path);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!s.empty() && (s.back() == '\n' || s.back() == '\0')) s.pop_back();
  return s;
}

}  // namespace

Result<std::unique_ptr<WriterLock>> WriterLock::Acquire(const std::string& dir, const std::string& purpose) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::Unavailable("cannot create data directory " + dir + ": " + ec.message());
  const std::string path = (std::filesystem::path(dir) / "LOCK").string();
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::Unavailable("cannot open " + path + ": " + std::strerror(errno));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const std::string previous = ReadSmallFile(path);
    close(fd);
    std::string who = previous.empty() ? "another process" : previous;
    return Status::Unavailable("data directory " + dir + " is in use by " + who +
                               "; stop it first, or use read-only commands (customer show, identity explain, stats)");
  }
  const std::string me = "pid " + std::to_string(getpid()) + " (" + purpose + ")";
  if (ftruncate(fd, 0) != 0 || pwrite(fd, me.data(), me.size(), 0) != static_cast<ssize_t>(me.size())) {
    close(fd);
    return Status::Unavailable("cannot write " + path);
  }
  return std::unique_ptr<WriterLock>(new WriterLock(fd));
}

WriterLock::~WriterLock() {
  // Clear the holder's name; a failure is harmless (the next holder overwrites it) and the lock
  // is released below either way.
  [[maybe_unused]] const int cleared = ftruncate(fd_, 0);
  flock(fd_, LOCK_UN);
  close(fd_);
}

}  // namespace touchpoint::store::sqlite
