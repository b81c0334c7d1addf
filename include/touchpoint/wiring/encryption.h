// wiring/encryption.h — encryption at rest put over every store the process opens
// (privacy/encrypted_store.h), in one place: the composition roots call EnableEncryptionAtRest
// once, and from then on every store::Open (the engine's writer, read-only views, the server's
// readers and followers, `customer show`, `store events`, …) reads and writes through the layer.
//
// At each open of a data store:
//   - marked encrypted (privacy::kInstallationSetting): the master key file must exist and be the
//     one the store was created with (kFailedPrecondition otherwise, never a fresh key); the
//     store is wrapped;
//   - not marked, NEW (no events, no identifiers), opened by a writer (OpenOptions::purpose set:
//     `ingest`, `demo`, `serve`) and encryption enabled: the master key is loaded, or created at
//     its path with a notice on stderr (where it is, that it must be backed up); the keyring is
//     created and the store marked encrypted;
//   - otherwise (encryption off, or a clear directory from before encryption at rest): returned as
//     it is (a writer of an old clear directory warns once on stderr).
// The keyring (privacy/keyring.h) is [privacy] keyring_url, else for SQLite data
// <directory of the master key file>/keyring-<installation id>.db, else the data's database.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <touchpoint/core/result.h>
#include <touchpoint/store/open.h>
#include <touchpoint/store/store.h>

namespace touchpoint::wiring {

struct EncryptionSettings {
  bool enabled = true;          // [privacy] encryption: encrypt new data stores
  std::string master_key_file;  // empty: privacy::DefaultMasterKeyPath()
  std::string keyring_url;      // empty: see above
};

// The layer for one opened store (what EnableEncryptionAtRest installs; tests call it directly).
Result<std::unique_ptr<store::Store>> ApplyEncryption(std::string_view url, const store::OpenOptions& options,
                                                      std::unique_ptr<store::Store> opened,
                                                      const EncryptionSettings& settings);

// Installs the layer for every store::Open of this process; `settings_for` gives a store URL's
// settings (the cli reads them from the data directory's touchpoint.toml and its options).
void EnableEncryptionAtRest(std::function<EncryptionSettings(std::string_view url)> settings_for);

}  // namespace touchpoint::wiring
