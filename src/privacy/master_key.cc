#include <touchpoint/privacy/master_key.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <utility>

#include <sodium.h>

#include <touchpoint/core/secret_file.h>
#include <touchpoint/core/status.h>

#include "privacy/sodium_internal.h"

namespace touchpoint::privacy {
namespace {

constexpr std::string_view kHeaderPrefix = "touchpoint-master-key v";

Status Malformed(const std::string& path, const std::string& why) {
  return Status::FailedPrecondition("master key file " + path + " is malformed: " + why);
}

}  // namespace

MasterKey MasterKey::Generate() {
  InitSodium();
  MasterKey key;
  randombytes_buf(key.bytes_.data(), key.bytes_.size());
  return key;
}

MasterKey MasterKey::FromBytes(std::span<const unsigned char> bytes, int version) {
  TP_CHECK(bytes.size() == kMasterKeyBytes, "a master key has 32 bytes");
  MasterKey key;
  std::memcpy(key.bytes_.data(), bytes.data(), kMasterKeyBytes);
  key.version_ = version;
  return key;
}

MasterKey::MasterKey(MasterKey&& other) noexcept : bytes_(other.bytes_), version_(other.version_) {
  sodium_memzero(other.bytes_.data(), other.bytes_.size());
}

MasterKey& MasterKey::operator=(MasterKey&& other) noexcept {
  if (this != &other) {
    bytes_ = other.bytes_;
    version_ = other.version_;
    sodium_memzero(other.bytes_.data(), other.bytes_.size());
  }
  return *this;
}

MasterKey::~MasterKey() { sodium_memzero(bytes_.data(), bytes_.size()); }

std::string DefaultMasterKeyPath() {
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg != nullptr && *xdg == '/') {
    return (std::filesystem::path(xdg) / "touchpoint" / "master.key").string();
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return (std::filesystem::path(home) / ".config" / "touchpoint" / "master.key").string();
  }
  return {};
}

Result<MasterKey> CreateMasterKeyFile(const std::string& path) {
  if (path.empty()) return Status::InvalidArgument("no master key path (set HOME or pass --key-file)");
  const std::filesystem::path p(path);
  if (p.has_parent_path()) {
    std::error_code ec;
    const bool created = std::filesystem::create_directories(p.parent_path(), ec);
    if (ec) return Status::Unavailable("cannot create directory " + p.parent_path().string() + ": " + ec.message());
    if (created) ::chmod(p.parent_path().c_str(), 0700);
  }
  // O_EXCL: never replace a key, even one created a moment ago by another process.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) {
      return Status::AlreadyExists("master key file " + path +
                                   " already exists; it is never overwritten (back it up, do not replace it)");
    }
    return Status::Unavailable("cannot create master key file " + path + ": " + std::strerror(errno));
  }
  MasterKey key = MasterKey::Generate();
  std::string text = std::string(kHeaderPrefix) + "1\n" +
                     ToBase64Internal(std::string_view(reinterpret_cast<const char*>(key.bytes().data()),
                                                       key.bytes().size())) +
                     "\n";
  ::fchmod(fd, 0600);  // whatever the umask did
  const ssize_t written = ::write(fd, text.data(), text.size());
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  sodium_memzero(text.data(), text.size());
  if (written != static_cast<ssize_t>(text.size()) || !synced) {
    ::unlink(path.c_str());
    return Status::Unavailable("cannot write master key file " + path);
  }
  if (p.has_parent_path()) {
    // Make the new directory entry durable too.
    const int dir = ::open(p.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
      ::fsync(dir);
      ::close(dir);
    }
  }
  return key;
}

Result<MasterKey> LoadMasterKey(const std::string& path) {
  if (path.empty()) return Status::InvalidArgument("no master key path (set HOME or pass --key-file)");
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Status::NotFound("no master key file at " + path + " (create one with `touchpoint keys init-master`)");
  }
  auto text = ReadSecretFile(path);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kFailedPrecondition &&
        text.status().message().find("group or others") != std::string::npos) {
      return Status::FailedPrecondition("master key file " + path +
                                        " is readable or writable by group or others; refusing to use it "
                                        "(chmod 600 " + path + ")");
    }
    return text.status();
  }
  std::string& content = *text;
  const size_t newline = content.find('\n');
  const std::string_view header = std::string_view(content).substr(0, newline);
  if (!header.starts_with(kHeaderPrefix)) {
    sodium_memzero(content.data(), content.size());
    return Malformed(path, "the first line is not \"touchpoint-master-key v1\"");
  }
  const std::string version(header.substr(kHeaderPrefix.size()));  // copied: content is wiped below
  if (version != "1") {
    sodium_memzero(content.data(), content.size());
    return Status::FailedPrecondition("master key file " + path + " has version " + version +
                                      ", which this binary does not know; upgrade touchpoint");
  }
  std::string_view body = newline == std::string::npos ? std::string_view() : std::string_view(content).substr(newline + 1);
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r' || body.back() == ' ')) body.remove_suffix(1);
  auto bytes = FromBase64Internal(body);
  sodium_memzero(content.data(), content.size());
  if (!bytes || bytes->size() != kMasterKeyBytes) {
    if (bytes) sodium_memzero(bytes->data(), bytes->size());
    return Malformed(path, "the second line is not the base64 of 32 bytes");
  }
  MasterKey key = MasterKey::FromBytes(
      std::span<const unsigned char>(reinterpret_cast<const unsigned char*>(bytes->data()), bytes->size()), 1);
  sodium_memzero(bytes->data(), bytes->size());
  return key;
}

}  // namespace touchpoint::privacy
