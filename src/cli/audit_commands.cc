// keys init-master | public-key, and audit verify: the master key file, the installation's
// signing key, and checking the audit log's chain and checkpoints (privacy/audit.h).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <touchpoint/privacy/audit.h>
#include <touchpoint/privacy/master_key.h>
#include <touchpoint/privacy/signing.h>
#include <touchpoint/server/config.h>
#include <touchpoint/store/audit_repository.h>

#include "cli/audit_access.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/data_access.h"

namespace touchpoint::cli {
namespace {

// Exit codes of `audit verify`.
constexpr int kVerifyIntact = 0;
constexpr int kVerifyTampered = 1;
constexpr int kVerifyUsage = 2;

// [privacy] of DATA/touchpoint.toml, when the file exists and parses.
server::ServerConfig ConfigOf(const std::string& data_dir) {
  server::ServerConfig defaults;
  defaults.data_dir = data_dir;
  auto loaded = server::LoadConfig(data_dir + "/touchpoint.toml", defaults, /*must_exist=*/false);
  return loaded.ok() ? *loaded : defaults;
}

// Whether the command should record into the store of `data_dir`: --store names one, or the
// data directory already holds a database (a command never creates one just to audit itself).
bool HasStore(const std::string& data_dir) {
  if (!StoreUrlOverride().empty()) return true;
  std::error_code ec;
  return std::filesystem::exists(std::filesystem::path(data_dir) / "touchpoint.db", ec);
}

struct VerifyArgs {
  std::string data_dir;
  std::string checkpoints;
  std::string public_key_file;
};

int RunVerify(const VerifyArgs& a) {
  const std::string data_dir = a.data_dir.empty() ? DefaultDataDir() : a.data_dir;
  privacy::AuditVerifyOptions o;
  if (!a.public_key_file.empty()) {
    std::ifstream in(a.public_key_file);
    if (!in) {
      std::fprintf(stderr, "touchpoint: cannot read public key file %s\n", a.public_key_file.c_str());
      return kVerifyUsage;
    }
    for (std::string line; std::getline(in, line);) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      auto key = privacy::ParsePublicKeyFile(line);
      if (!key.ok()) {
        std::fprintf(stderr, "touchpoint: %s: %s\n", a.public_key_file.c_str(), key.status().message().c_str());
        return kVerifyUsage;
      }
      o.trusted_keys.push_back(*key);
    }
    if (o.trusted_keys.empty()) {
      std::fprintf(stderr, "touchpoint: %s holds no public key\n", a.public_key_file.c_str());
      return kVerifyUsage;
    }
  }
  const std::string checkpoints = !a.checkpoints.empty() ? a.checkpoints : CheckpointsPathFor(data_dir);
  std::error_code ec;
  if (!a.checkpoints.empty() && !std::filesystem::exists(checkpoints, ec)) {
    std::fprintf(stderr, "touchpoint: no checkpoint file at %s\n", checkpoints.c_str());
    return kVerifyUsage;
  }
  if (std::filesystem::exists(checkpoints, ec)) o.checkpoints_path = checkpoints;
  auto store = OpenReadOnly(data_dir);
  if (!store.ok()) {
    std::fprintf(stderr, "touchpoint: %s\n", store.status().message().c_str());
    return kVerifyUsage;
  }
  auto verdict = privacy::VerifyAuditLog((*store)->Get<store::AuditRepository>(),
                                         (*store)->Get<store::SigningKeyRepository>(), o);
  if (!verdict.ok()) {
    std::fprintf(stderr, "touchpoint: %s\n", verdict.status().message().c_str());
    return kVerifyUsage;
  }
  for (const std::string& w : verdict->warnings) std::fprintf(stderr, "touchpoint: note: %s\n", w.c_str());
  if (verdict->first_bad_seq != 0) {
    std::printf("first bad entry: %lld (%s)\n", static_cast<long long>(verdict->first_bad_seq),
                verdict->reason.c_str());
  }
  if (!verdict->bad_checkpoint.empty()) std::printf("bad checkpoint: %s\n", verdict->bad_checkpoint.c_str());
  if (!verdict->intact()) return kVerifyTampered;
  std::printf(
      "intact: %lld entries; %lld checkpoints in the file, %lld in the store; the last signed checkpoint covers "
      "%lld entries\n",
      static_cast<long long>(verdict->entries), static_cast<long long>(verdict->file_checkpoints),
      static_cast<long long>(verdict->store_checkpoints), static_cast<long long>(verdict->covered));
  return kVerifyIntact;
}

}  // namespace

std::string& MasterKeyFileOverride() {
  static std::string path;
  return path;
}

std::string& AuditCheckpointsOverride() {
  static std::string path;
  return path;
}

std::string MasterKeyPathFor(const std::string& data_dir) {
  if (!MasterKeyFileOverride().empty()) return MasterKeyFileOverride();
  const server::ServerConfig c = ConfigOf(data_dir);
  return c.master_key_file.empty() ? privacy::DefaultMasterKeyPath() : c.master_key_file;
}

wiring::EncryptionSettings EncryptionSettingsFor(std::string_view url) {
  std::string dir = CurrentDataDir();
  if (url.starts_with("sqlite:")) {
    std::string_view path = url.substr(7);
    if (path.starts_with("//")) path.remove_prefix(2);
    dir = std::filesystem::path(std::string(path)).parent_path().string();
  }
  const server::ServerConfig c = ConfigOf(dir.empty() ? std::string(".") : dir);
  wiring::EncryptionSettings s;
  s.enabled = c.encryption;
  s.keyring_url = c.keyring_url;
  s.master_key_file = !MasterKeyFileOverride().empty() ? MasterKeyFileOverride() : c.master_key_file;
  return s;
}

std::string CheckpointsPathFor(const std::string& data_dir) {
  if (!AuditCheckpointsOverride().empty()) return AuditCheckpointsOverride();
  const server::ServerConfig c = ConfigOf(data_dir);
  return c.audit_checkpoints.empty() ? privacy::DefaultCheckpointsPath(data_dir) : c.audit_checkpoints;
}

Result<std::optional<privacy::Signer>> LoadSigner(const std::string& path) {
  auto key = privacy::LoadMasterKey(path);
  if (!key.ok()) {
    if (key.status().code() == StatusCode::kNotFound || key.status().code() == StatusCode::kInvalidArgument) {
      return std::optional<privacy::Signer>();
    }
    return key.status();
  }
  return std::optional<privacy::Signer>(privacy::Signer::FromMasterKey(*key));
}

std::string CliActor() { return "cli:uid:" + std::to_string(::getuid()); }

Result<std::unique_ptr<privacy::AuditLog>> OpenCliAudit(store::Store& store, const std::string& data_dir) {
  TP_ASSIGN_OR_RETURN(auto signer, LoadSigner(MasterKeyPathFor(data_dir)));
  privacy::AuditLogOptions o;
  o.checkpoints_path = CheckpointsPathFor(data_dir);
  TP_ASSIGN_OR_RETURN(auto log, privacy::AuditLog::Open(store, SystemClock::Instance(), std::move(signer), o));
  if (!log->warning().empty()) std::fprintf(stderr, "touchpoint: note: %s\n", log->warning().c_str());
  return log;
}

void RegisterAuditCommands(CLI::App& app, int* exit_code) {
  CLI::App* keys = app.get_subcommand("keys");

  // keys init-master
  auto init_file = std::make_shared<std::string>();
  auto init_data = std::make_shared<std::string>(DefaultDataDir());
  CLI::App* init = keys->add_subcommand(
      "init-master", "Create the master key file (32 random bytes, mode 600); refused when it exists");
  init->add_option("--key-file", *init_file,
                   "Where (default: [privacy] master_key_file, else ~/.config/touchpoint/master.key)");
  init->add_option("--data", *init_data, "Data directory whose audit log records the creation (when it exists)");
  init->callback([=] {
    const std::string path = !init_file->empty() ? *init_file : MasterKeyPathFor(*init_data);
    auto key = privacy::CreateMasterKeyFile(path);
    if (!key.ok()) {
      *exit_code = Fail(key.status().code() == StatusCode::kAlreadyExists ? Status::FailedPrecondition(key.status().message())
                                                                          : key.status());
      return;
    }
    const privacy::Signer signer = privacy::Signer::FromMasterKey(*key);
    std::fprintf(stderr,
                 "created the master key at %s (mode 600).\n"
                 "Back it up now, apart from the data directory and its backups: without it what it protects "
                 "cannot be read or verified; with it anyone can.\n",
                 path.c_str());
    std::printf("{\"key_file\":\"%s\",\"signing_key_id\":\"%s\"}\n", path.c_str(), signer.key_id().c_str());
    if (!HasStore(*init_data)) return;
    auto store = OpenForKeys(*init_data);
    if (!store.ok()) {
      std::fprintf(stderr, "touchpoint: note: the creation is not audited: %s\n", store.status().message().c_str());
      return;
    }
    privacy::AuditLogOptions o;
    o.checkpoints_path = CheckpointsPathFor(*init_data);
    auto log = privacy::AuditLog::Open(**store, SystemClock::Instance(), privacy::Signer::FromMasterKey(*key), o);
    Status s = log.ok() ? (*log)->Record(CliActor(), "master_key.init", "signing_key:" + signer.key_id(),
                                         "{\"version\":1}")
                        : log.status();
    if (s.ok()) s = (*log)->Close();
    if (!s.ok()) std::fprintf(stderr, "touchpoint: note: the creation is not audited: %s\n", s.message().c_str());
  });

  // keys public-key
  auto pub_file = std::make_shared<std::string>();
  auto pub_data = std::make_shared<std::string>(DefaultDataDir());
  CLI::App* pub = keys->add_subcommand(
      "public-key", "Print the installation's signing public key (for `audit verify --public-key FILE`)");
  pub->add_option("--key-file", *pub_file, "The master key file (default as for init-master)");
  pub->add_option("--data", *pub_data, "Data directory (for [privacy] master_key_file in its touchpoint.toml)");
  pub->callback([=] {
    const std::string path = !pub_file->empty() ? *pub_file : MasterKeyPathFor(*pub_data);
    auto key = privacy::LoadMasterKey(path);
    if (!key.ok()) {
      *exit_code = Fail(key.status().code() == StatusCode::kNotFound ? Status::Unavailable(key.status().message())
                                                                     : key.status());
      return;
    }
    std::printf("%s\n", privacy::Signer::FromMasterKey(*key).public_key().FileLine().c_str());
  });

  RegisterKeyRotationCommands(*keys, exit_code);
  RegisterKeyEncryptCommand(*keys, exit_code);

  // audit verify
  CLI::App* audit = app.add_subcommand("audit", "The tamper-evident audit log");
  audit->require_subcommand(1);
  auto args = std::make_shared<VerifyArgs>();
  CLI::App* verify = audit->add_subcommand(
      "verify", "Check the audit chain and every signed checkpoint: exit 0 intact, 1 tampered, 2 usage");
  verify->add_option("--data", args->data_dir, "Data directory (default: $TOUCHPOINT_DATA or ./touchpoint-data)");
  verify->add_option("--checkpoints", args->checkpoints,
                     "The checkpoint file (default: [privacy] audit_checkpoints, else DATA/audit/checkpoints)");
  verify->add_option("--public-key", args->public_key_file,
                     "File with the public key(s) checkpoints must be signed with (`keys public-key` prints it); "
                     "default: the keys recorded in the store");
  verify->callback([=] { *exit_code = RunVerify(*args); });
}

}  // namespace touchpoint::cli
