// privacy/master_key.h — the installation's master key: 32 random bytes in a file outside the
// data directory, from which every other key is derived (privacy/signing.h: the Ed25519 signing
// key; later the field-encryption keys). Losing the file loses what it protects; a copy of it
// gives that away: keep it private (mode 0600) and backed up apart from the data.
//
// File format (text). Format 1 holds one key, which is master key version 1:
//
//   touchpoint-master-key v1
//   <base64 (standard alphabet, padded) of the 32 key bytes>
//
// Format 2 (written by `touchpoint keys rotate-master`) holds every version still in use, one
// line each, the highest being the current one (what new data is sealed under):
//
//   touchpoint-master-key v2
//   1 <base64 of version 1's 32 bytes>
//   2 <base64 of version 2's 32 bytes>
//
// Versions are 1..65535 (a sealed value's header has 16 bits for it), listed in increasing
// order. A file format this code does not know is refused rather than guessed. The file is only
// ever replaced whole (a temporary file, fsync, rename), so a crash leaves the old or the new
// one. All functions are thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <touchpoint/core/result.h>

namespace touchpoint::privacy {

inline constexpr std::size_t kMasterKeyBytes = 32;

// The key bytes; wiped from memory when destroyed. Move-only.
class MasterKey {
 public:
  // A new random key (libsodium randombytes_buf).
  static MasterKey Generate();
  // REQUIRES: bytes.size() == kMasterKeyBytes.
  static MasterKey FromBytes(std::span<const unsigned char> bytes, int version = 1);
  // The same key and version (an explicit copy: keys are not copied by accident).
  MasterKey Copy() const { return FromBytes(bytes_, version_); }

  MasterKey(MasterKey&& other) noexcept;
  MasterKey& operator=(MasterKey&& other) noexcept;
  MasterKey(const MasterKey&) = delete;
  MasterKey& operator=(const MasterKey&) = delete;
  ~MasterKey();

  std::span<const unsigned char, kMasterKeyBytes> bytes() const { return bytes_; }
  int version() const { return version_; }

 private:
  MasterKey() = default;
  std::array<unsigned char, kMasterKeyBytes> bytes_{};
  int version_ = 1;
};

inline constexpr int kMaxMasterKeyVersion = 65535;

// Every version a key file holds (format 1: version 1 alone), in increasing version order; the
// last is the current one. Never empty. Move-only (the keys are wiped when destroyed).
class MasterKeySet {
 public:
  // REQUIRES: `keys` not empty, versions increasing.
  explicit MasterKeySet(std::vector<MasterKey> keys);
  // A set of one key (tests, and callers that hold a single key).
  static MasterKeySet Of(const MasterKey& key);
  MasterKeySet(MasterKeySet&&) noexcept = default;
  MasterKeySet& operator=(MasterKeySet&&) noexcept = default;
  MasterKeySet(const MasterKeySet&) = delete;
  MasterKeySet& operator=(const MasterKeySet&) = delete;

  const MasterKey& current() const { return keys_.back(); }
  // nullptr when the set has no such version.
  const MasterKey* Find(int version) const;
  std::vector<int> versions() const;
  const std::vector<MasterKey>& keys() const { return keys_; }
  MasterKeySet Copy() const;

 private:
  std::vector<MasterKey> keys_;
};

// The default place of the key file: $XDG_CONFIG_HOME/touchpoint/master.key, else
// $HOME/.config/touchpoint/master.key. Empty when neither variable is set.
std::string DefaultMasterKeyPath();

// Writes a new key to `path` (mode 0600, its directory created 0700 when missing) and returns
// it. kAlreadyExists when the file exists (a key is never overwritten: that would make
// everything it protects unreadable); kUnavailable when it cannot be written.
Result<MasterKey> CreateMasterKeyFile(const std::string& path);

// Reads every version of the key file at `path` (errors as LoadMasterKey's; also malformed: a
// version line out of order or out of range).
Result<MasterKeySet> LoadMasterKeySet(const std::string& path);

// Writes `keys` to `path` in format 2, replacing the file atomically: a temporary file beside it
// (mode 0600, O_EXCL), written and fsynced, renamed over `path`, the directory fsynced. A crash
// leaves either the old file or the new one, never a mix or a missing file. kUnavailable when it
// cannot be written (the old file then stays as it was).
Status WriteMasterKeyFile(const std::string& path, const MasterKeySet& keys);

// Adds a new random version (the current one + 1) to the key file at `path` (WriteMasterKeyFile;
// the versions it held stay) and returns the new set. Errors as LoadMasterKeySet's, and
// kFailedPrecondition when the highest version is already kMaxMasterKeyVersion.
Result<MasterKeySet> AddMasterKeyVersion(const std::string& path);

// Removes `version` from the key file at `path` (WriteMasterKeyFile). kFailedPrecondition for
// the current (highest) version; kNotFound when the file does not hold it. The caller checks
// first that nothing still uses it (privacy/key_rotation.h, RetireVersion).
Status RemoveMasterKeyVersion(const std::string& path, int version);

// Reads the current (highest) version of the key at `path`. kNotFound when there is no such
// file; kFailedPrecondition when it is readable or writable by group or others ("chmod 600
// PATH"), empty, of an unknown format or malformed. Messages name the path, never the key.
Result<MasterKey> LoadMasterKey(const std::string& path);

}  // namespace touchpoint::privacy
