// cli/audit_access.h — how commands that change things record them in the audit log
// (privacy/audit.h), and where the master key and the checkpoint file are.
//
// Paths: the global --master-key-file / --audit-checkpoints when given, else [privacy]
// master_key_file / audit_checkpoints of DATA/touchpoint.toml, else the defaults
// (~/.config/touchpoint/master.key; DATA/audit/checkpoints).
#pragma once

#include <memory>
#include <string>

#include <touchpoint/core/result.h>
#include <touchpoint/privacy/audit.h>
#include <touchpoint/privacy/signing.h>
#include <touchpoint/store/store.h>
#include <touchpoint/wiring/encryption.h>

namespace touchpoint::cli {

// The global --master-key-file and --audit-checkpoints options (empty when not given).
std::string& MasterKeyFileOverride();
std::string& AuditCheckpointsOverride();

// The master key file and the checkpoint file for `data_dir` (see above).
std::string MasterKeyPathFor(const std::string& data_dir);
std::string CheckpointsPathFor(const std::string& data_dir);

// The encryption-at-rest settings for the store at `url` (wiring/encryption.h): the master key
// file as MasterKeyPathFor, [privacy] encryption and keyring_url of the data directory's
// touchpoint.toml (the SQLite file's directory, else the command's --data).
wiring::EncryptionSettings EncryptionSettingsFor(std::string_view url);

// The installation's signer from the master key file at `path`: nullopt when there is no file
// (the caller says so); an error when the file is unusable (readable by others, malformed).
Result<std::optional<privacy::Signer>> LoadSigner(const std::string& path);

// The actor of commands run here: "cli:uid:<uid>" (a pseudonymous id, not the login name).
std::string CliActor();

// An audit log over `store` (which must outlive it) for a command of `data_dir`. Prints the
// log's warning on stderr once (no master key). Close() it (or let it go) before exit: its last
// checkpoint covers what the command recorded.
Result<std::unique_ptr<privacy::AuditLog>> OpenCliAudit(store::Store& store, const std::string& data_dir);

}  // namespace touchpoint::cli
