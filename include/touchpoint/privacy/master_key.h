// privacy/master_key.h — the installation's master key: 32 random bytes in a file outside the
// data directory, from which every other key is derived (privacy/signing.h: the Ed25519 signing
// key; later the field-encryption keys). Losing the file loses what it protects; a copy of it
// gives that away: keep it private (mode 0600) and backed up apart from the data.
//
// File format (text, so that a version line can grow into rotation):
//
//   touchpoint-master-key v1
//   <base64 (standard alphabet, padded) of the 32 key bytes>
//
// Version 1 holds one key. A later version may list several (rotation); this code refuses
// versions it does not know rather than guess. All functions are thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

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

// The default place of the key file: $XDG_CONFIG_HOME/touchpoint/master.key, else
// $HOME/.config/touchpoint/master.key. Empty when neither variable is set.
std::string DefaultMasterKeyPath();

// Writes a new key to `path` (mode 0600, its directory created 0700 when missing) and returns
// it. kAlreadyExists when the file exists (a key is never overwritten: that would make
// everything it protects unreadable); kUnavailable when it cannot be written.
Result<MasterKey> CreateMasterKeyFile(const std::string& path);

// Reads the key at `path`. kNotFound when there is no such file; kFailedPrecondition when it is
// readable or writable by group or others ("chmod 600 PATH"), empty, of an unknown version or
// malformed. Messages name the path, never the key.
Result<MasterKey> LoadMasterKey(const std::string& path);

}  // namespace touchpoint::privacy
