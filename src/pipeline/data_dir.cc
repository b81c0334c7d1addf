#include <touchpoint/pipeline/data_dir.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <touchpoint/store/sqlite.h>

namespace touchpoint::pipeline {
namespace {

std::string ReadSmallFile(const std::string& path) {
  std::ifstream in(path);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!s.empty() && (s.back() == '\n' || s.back() == '\0')) s.pop_back();
  return s;
}

bool ProcessRuns(long pid) { return pid > 0 && (kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM); }

}  // namespace

std::string DatabasePath(const std::string& dir) { return (std::filesystem::path(dir) / "touchpoint.db").string(); }

Result<std::unique_ptr<DataDirLock>> DataDirLock::Acquire(const std::string& dir, const std::string& purpose) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::Unavailable("cannot create data directory " + dir + ": " + ec.message());
  const std::string path = (std::filesystem::path(dir) / "LOCK").string();
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::Unavailable("cannot open " + path + ": " + std::strerror(errno));
  const std::string previous = ReadSmallFile(path);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    std::string who = previous.empty() ? "another process" : previous;
    return Status::Unavailable("data directory " + dir + " is in use by " + who +
                               "; stop it first, or use read-only commands (customer show, identity explain, stats)");
  }
  bool took_over = false;
  if (!previous.empty()) {
    long pid = std::strtol(previous.c_str() + (previous.rfind("pid ", 0) == 0 ? 4 : 0), nullptr, 10);
    took_over = !ProcessRuns(pid) || pid == getpid();
  }
  const std::string me = "pid " + std::to_string(getpid()) + " (" + purpose + ")";
  if (ftruncate(fd, 0) != 0 || pwrite(fd, me.data(), me.size(), 0) != static_cast<ssize_t>(me.size())) {
    close(fd);
    return Status::Unavailable("cannot write " + path);
  }
  return std::unique_ptr<DataDirLock>(new DataDirLock(fd, took_over));
}

DataDirLock::~DataDirLock() {
  if (fd_ >= 0) {
    // Clear the holder's name; a failure is harmless (the next holder overwrites it) and the
    // lock is released below either way.
    [[maybe_unused]] const int cleared = ftruncate(fd_, 0);
    flock(fd_, LOCK_UN);
    close(fd_);
  }
}

Result<std::unique_ptr<WritableDataDir>> OpenForWriting(const std::string& dir, EngineOptions options,
                                                       const std::string& purpose, const std::string& synchronous) {
  auto out = std::make_unique<WritableDataDir>();
  TP_ASSIGN_OR_RETURN(out->lock, DataDirLock::Acquire(dir, purpose));
  store::sqlite::Options so;
  so.path = DatabasePath(dir);
  so.synchronous = synchronous;
  TP_ASSIGN_OR_RETURN(auto store, store::sqlite::Open(so));
  TP_ASSIGN_OR_RETURN(out->engine, Engine::Open(std::move(store), std::move(options)));
  return out;
}

Result<std::unique_ptr<store::Store>> OpenReadOnly(const std::string& dir) {
  const std::string path = DatabasePath(dir);
  if (!std::filesystem::exists(path)) {
    return Status::FailedPrecondition("no Touchpoint database in " + dir + " (ingest something first)");
  }
  store::sqlite::Options so;
  so.path = path;
  so.read_only = true;
  so.cache_mib = 16;
  return store::sqlite::Open(so);
}

Result<std::unique_ptr<store::Store>> OpenForKeys(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::Unavailable("cannot create data directory " + dir + ": " + ec.message());
  store::sqlite::Options so;
  so.path = DatabasePath(dir);
  so.cache_mib = 4;
  return store::sqlite::Open(so);
}

}  // namespace touchpoint::pipeline
