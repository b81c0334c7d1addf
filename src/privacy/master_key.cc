#include <touchpoint/privacy/master_key.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

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

std::string_view Trimmed(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

// The key of `version` from its base64 text; nullopt when it is not the base64 of 32 bytes.
std::optional<MasterKey> KeyFromBase64(std::string_view text, int version) {
  auto bytes = FromBase64Internal(text);
  if (!bytes || bytes->size() != kMasterKeyBytes) {
    if (bytes) sodium_memzero(bytes->data(), bytes->size());
    return std::nullopt;
  }
  MasterKey key = MasterKey::FromBytes(
      std::span<const unsigned char>(reinterpret_cast<const unsigned char*>(bytes->data()), bytes->size()), version);
  sodium_memzero(bytes->data(), bytes->size());
  return key;
}

std::string Base64Of(const MasterKey& key) {
  return ToBase64Internal(
      std::string_view(reinterpret_cast<const char*>(key.bytes().data()), key.bytes().size()));
}

void SyncDirectoryOf(const std::filesystem::path& p) {
  const std::filesystem::path dir = p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
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

MasterKeySet::MasterKeySet(std::vector<MasterKey> keys) : keys_(std::move(keys)) {
  TP_CHECK(!keys_.empty(), "a key set holds at least one key");
  for (size_t i = 1; i < keys_.size(); ++i) {
    TP_CHECK(keys_[i - 1].version() < keys_[i].version(), "key versions increase");
  }
}

MasterKeySet MasterKeySet::Of(const MasterKey& key) {
  std::vector<MasterKey> keys;
  keys.push_back(key.Copy());
  return MasterKeySet(std::move(keys));
}

const MasterKey* MasterKeySet::Find(int version) const {
  for (const MasterKey& k : keys_) {
    if (k.version() == version) return &k;
  }
  return nullptr;
}

std::vector<int> MasterKeySet::versions() const {
  std::vector<int> out;
  out.reserve(keys_.size());
  for (const MasterKey& k : keys_) out.push_back(k.version());
  return out;
}

MasterKeySet MasterKeySet::Copy() const {
  std::vector<MasterKey> keys;
  keys.reserve(keys_.size());
  for (const MasterKey& k : keys_) keys.push_back(k.Copy());
  return MasterKeySet(std::move(keys));
}

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

Result<MasterKeySet> LoadMasterKeySet(const std::string& path) {
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
  struct Wipe {
    std::string& s;
    ~Wipe() { sodium_memzero(s.data(), s.size()); }
  } wipe{content};
  const size_t newline = content.find('\n');
  const std::string_view header = Trimmed(std::string_view(content).substr(0, newline));
  if (!header.starts_with(kHeaderPrefix)) {
    return Malformed(path, "the first line is not \"touchpoint-master-key v1\" or \"... v2\"");
  }
  const std::string format(header.substr(kHeaderPrefix.size()));  // copied: content is wiped
  std::string_view body =
      newline == std::string::npos ? std::string_view() : std::string_view(content).substr(newline + 1);
  if (format == "1") {
    auto key = KeyFromBase64(Trimmed(body), 1);
    if (!key) return Malformed(path, "the second line is not the base64 of 32 bytes");
    std::vector<MasterKey> keys;
    keys.push_back(std::move(*key));
    return MasterKeySet(std::move(keys));
  }
  if (format != "2") {
    return Status::FailedPrecondition("master key file " + path + " has version " + format +
                                      ", which this binary does not know; upgrade touchpoint");
  }
  std::vector<MasterKey> keys;
  int line_no = 1;
  while (!body.empty()) {
    ++line_no;
    const size_t end = body.find('\n');
    const std::string_view line = Trimmed(body.substr(0, end));
    body = end == std::string_view::npos ? std::string_view() : body.substr(end + 1);
    if (line.empty()) continue;
    const size_t space = line.find(' ');
    const std::string where = "line " + std::to_string(line_no);
    if (space == std::string_view::npos) return Malformed(path, where + " is not \"<version> <base64>\"");
    int version = 0;
    for (char c : line.substr(0, space)) {
      if (c < '0' || c > '9' || version > kMaxMasterKeyVersion) return Malformed(path, where + ": bad version");
      version = version * 10 + (c - '0');
    }
    if (version < 1 || version > kMaxMasterKeyVersion) return Malformed(path, where + ": bad version");
    if (!keys.empty() && keys.back().version() >= version) {
      return Malformed(path, where + ": versions must increase");
    }
    auto key = KeyFromBase64(Trimmed(line.substr(space + 1)), version);
    if (!key) return Malformed(path, where + " is not the base64 of 32 bytes");
    keys.push_back(std::move(*key));
  }
  if (keys.empty()) return Malformed(path, "it lists no key");
  return MasterKeySet(std::move(keys));
}

Result<MasterKey> LoadMasterKey(const std::string& path) {
  TP_ASSIGN_OR_RETURN(MasterKeySet set, LoadMasterKeySet(path));
  return set.current().Copy();
}

Status WriteMasterKeyFile(const std::string& path, const MasterKeySet& keys) {
  if (path.empty()) return Status::InvalidArgument("no master key path (set HOME or pass --key-file)");
  std::string text = std::string(kHeaderPrefix) + "2\n";
  for (const MasterKey& k : keys.keys()) text += std::to_string(k.version()) + ' ' + Base64Of(k) + '\n';
  const std::string temp = path + ".new";
  // A temporary file left by a crash holds keys too: replace it (it is ours, mode 0600).
  ::unlink(temp.c_str());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    sodium_memzero(text.data(), text.size());
    return Status::Unavailable("cannot create " + temp + ": " + std::strerror(errno));
  }
  ::fchmod(fd, 0600);
  size_t done = 0;
  bool ok = true;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      ok = false;
      break;
    }
    done += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ::close(fd);
  sodium_memzero(text.data(), text.size());
  if (!ok || ::rename(temp.c_str(), path.c_str()) != 0) {
    ::unlink(temp.c_str());
    return Status::Unavailable("cannot write master key file " + path + " (it was left as it was)");
  }
  SyncDirectoryOf(std::filesystem::path(path));
  return Status::Ok();
}

Result<MasterKeySet> AddMasterKeyVersion(const std::string& path) {
  TP_ASSIGN_OR_RETURN(MasterKeySet set, LoadMasterKeySet(path));
  const int next = set.current().version() + 1;
  if (next > kMaxMasterKeyVersion) {
    return Status::FailedPrecondition("master key file " + path + " is at the highest version there can be");
  }
  std::vector<MasterKey> keys;
  for (const MasterKey& k : set.keys()) keys.push_back(k.Copy());
  MasterKey fresh = MasterKey::Generate();
  keys.push_back(MasterKey::FromBytes(fresh.bytes(), next));
  MasterKeySet out(std::move(keys));
  TP_RETURN_IF_ERROR(WriteMasterKeyFile(path, out));
  return out;
}

Status RemoveMasterKeyVersion(const std::string& path, int version) {
  TP_ASSIGN_OR_RETURN(MasterKeySet set, LoadMasterKeySet(path));
  if (set.Find(version) == nullptr) {
    return Status::NotFound("master key file " + path + " holds no version " + std::to_string(version));
  }
  if (set.current().version() == version) {
    return Status::FailedPrecondition("version " + std::to_string(version) +
                                      " is the current master key version; it cannot be retired");
  }
  std::vector<MasterKey> keys;
  for (const MasterKey& k : set.keys()) {
    if (k.version() != version) keys.push_back(k.Copy());
  }
  return WriteMasterKeyFile(path, MasterKeySet(std::move(keys)));
}

}  // namespace touchpoint::privacy
