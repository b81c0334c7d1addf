#include <touchpoint/wiring/encryption.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>

#include <touchpoint/privacy/encrypted_store.h>
#include <touchpoint/privacy/keyring.h>
#include <touchpoint/privacy/master_key.h>
#include <touchpoint/store/event_log.h>
#include <touchpoint/store/identity_repository.h>
#include <touchpoint/store/keyring_repository.h>

namespace touchpoint::wiring {
namespace {

namespace fs = std::filesystem;

struct CachedContext {
  std::weak_ptr<privacy::EncryptionContext> context;
  bool writable = false;
};

std::mutex& CacheMutex() {
  static std::mutex mu;
  return mu;
}
// One context per data store URL and process: the layers of every store opened on it share the
// keys and the keyring's cache.
std::map<std::string, CachedContext, std::less<>>& Cache() {
  static std::map<std::string, CachedContext, std::less<>> cache;
  return cache;
}

std::string KeyPath(const EncryptionSettings& settings) {
  return settings.master_key_file.empty() ? privacy::DefaultMasterKeyPath() : settings.master_key_file;
}

Result<privacy::MasterKeySet> LoadExistingKey(const std::string& path) {
  if (path.empty()) {
    return Status::FailedPrecondition(
        "this data is encrypted at rest and no master key file is configured (neither HOME nor XDG_CONFIG_HOME is "
        "set): pass --master-key-file or set [privacy] master_key_file");
  }
  auto key = privacy::LoadMasterKeySet(path);
  if (key.ok()) return key;
  if (key.status().code() == StatusCode::kNotFound) {
    return Status::FailedPrecondition(
        "this data is encrypted at rest, but its master key file " + path +
        " does not exist: restore it from your backup, or point --master-key-file / [privacy] master_key_file at "
        "it (a new key cannot read this data)");
  }
  return key.status().WithContext("master key");
}

// Where the keyring of a store lives (wiring/encryption.h).
std::string KeyringUrl(std::string_view url, const store::Store& opened, const EncryptionSettings& settings,
                       const std::string& key_path, const std::string& installation) {
  if (!settings.keyring_url.empty()) return settings.keyring_url;
  if (opened.backend() == "sqlite") {
    const fs::path dir = fs::path(key_path).parent_path();
    return "sqlite://" + (dir / ("keyring-" + installation + ".db")).string();
  }
  return std::string(url);
}

Result<std::shared_ptr<privacy::EncryptionContext>> BuildContext(std::string_view url, const store::OpenOptions& options,
                                                                 store::Store& opened, const privacy::MasterKeySet& key,
                                                                 const EncryptionSettings& settings,
                                                                 const std::string& key_path,
                                                                 const std::string& installation, bool creating) {
  const std::string keyring_url = KeyringUrl(url, opened, settings, key_path, installation);
  std::unique_ptr<privacy::Keyring> keyring;
  if (keyring_url == "memory:") {
    // An unnamed memory store: its keys stay in it (nothing outlives the process anyway).
    keyring = std::make_unique<privacy::Keyring>(opened.Get<store::KeyringRepository>(), key);
  } else {
    if (keyring_url.starts_with("sqlite:") && !creating) {
      std::string_view path = std::string_view(keyring_url).substr(7);
      if (path.starts_with("//")) path.remove_prefix(2);
      if (!fs::exists(fs::path(std::string(path)))) {
        return Status::FailedPrecondition("the keyring of this encrypted data, " + std::string(path) +
                                          ", does not exist: restore it from your backup (docs/operations.md, "
                                          "\"Master key and keyring\"); without it no one's personal data can be read");
      }
    }
    store::OpenOptions ko;
    ko.without_layer = true;
    ko.read_only = options.read_only && !creating;
    ko.password = options.password;
    ko.cache_mib = 2;
    ko.synchronous = "full";
    auto keyring_store = store::Open(keyring_url, ko);
    if (!keyring_store.ok()) return keyring_store.status().WithContext("opening the keyring " + store::RedactUrl(keyring_url));
    keyring = std::make_unique<privacy::Keyring>(std::move(*keyring_store), key);
    if (creating && keyring_url.starts_with("sqlite:")) {
      // Wrapped keys: readable by the owner only, like the master key (SQLite gives its -wal and
      // -shm files the database file's permissions).
      std::string_view path = std::string_view(keyring_url).substr(7);
      if (path.starts_with("//")) path.remove_prefix(2);
      std::error_code ec;
      fs::permissions(fs::path(std::string(path)), fs::perms::owner_read | fs::perms::owner_write,
                      fs::perm_options::replace, ec);
    }
  }
  return std::make_shared<privacy::EncryptionContext>(key, std::move(keyring));
}

Result<bool> IsNewStore(store::Store& opened) {
  TP_ASSIGN_OR_RETURN(std::int64_t last, opened.Get<store::EventLog>().LastSeq());
  TP_ASSIGN_OR_RETURN(store::IdentityCounts counts, opened.Get<store::IdentityRepository>().Counts());
  return last == 0 && counts.identifiers == 0;
}

}  // namespace

Result<std::unique_ptr<store::Store>> ApplyEncryption(std::string_view url, const store::OpenOptions& options,
                                                      std::unique_ptr<store::Store> opened,
                                                      const EncryptionSettings& settings) {
  store::KeyringRepository* marks = opened->Find<store::KeyringRepository>();
  if (marks == nullptr) return opened;
  auto marked = marks->Setting(privacy::kInstallationSetting);
  // A read-only open of a database older than the keyring tables (its writer has not migrated
  // it yet) cannot be encrypted: leave it to the command's own message about its version.
  if (!marked.ok() && options.read_only) return opened;
  TP_ASSIGN_OR_RETURN(std::optional<std::string> installation, std::move(marked));
  const std::string key_path = KeyPath(settings);
  const bool writable = !options.read_only;
  if (installation) {
    std::scoped_lock lock(CacheMutex());
    const bool unnamed = url == "memory:";
    if (!unnamed) {
      auto it = Cache().find(url);
      if (it != Cache().end() && (it->second.writable || !writable)) {
        if (auto ctx = it->second.context.lock()) return std::make_unique<privacy::EncryptedStore>(std::move(opened), ctx);
      }
    }
    TP_ASSIGN_OR_RETURN(privacy::MasterKeySet key, LoadExistingKey(key_path));
    TP_ASSIGN_OR_RETURN(std::optional<std::string> check, marks->Setting(privacy::kKeyCheckSetting));
    TP_ASSIGN_OR_RETURN(auto ctx, BuildContext(url, options, *opened, key, settings, key_path, *installation, false));
    if (!check) return Status::FailedPrecondition("this encrypted store has no key check (damaged?)");
    TP_RETURN_IF_ERROR(ctx->VerifyKeyCheck(*check).WithContext(key_path));
    if (!unnamed) Cache()[std::string(url)] = CachedContext{ctx, writable};
    return std::make_unique<privacy::EncryptedStore>(std::move(opened), std::move(ctx));
  }
  if (!settings.enabled || !writable || options.purpose.empty()) return opened;
  TP_ASSIGN_OR_RETURN(bool fresh, IsNewStore(*opened));
  if (!fresh) {
    static std::once_flag warned;
    std::call_once(warned, [] {
      std::fprintf(stderr,
                   "touchpoint: warning: this data was stored before encryption at rest and stays in clear text; "
                   "stop the server and run `touchpoint keys encrypt` to encrypt it (SQLite; docs/operations.md)\n");
    });
    return opened;
  }
  // A new store: encrypt it.
  if (key_path.empty()) {
    return Status::FailedPrecondition(
        "encryption at rest needs a master key file and neither HOME nor XDG_CONFIG_HOME is set: pass "
        "--master-key-file, set [privacy] master_key_file, or [privacy] encryption = false");
  }
  auto key = privacy::LoadMasterKeySet(key_path);
  if (!key.ok() && key.status().code() == StatusCode::kNotFound) {
    auto created = privacy::CreateMasterKeyFile(key_path);
    key = created.ok() ? Result<privacy::MasterKeySet>(privacy::MasterKeySet::Of(*created))
                       : Result<privacy::MasterKeySet>(created.status());
    if (key.ok()) {
      std::fprintf(stderr,
                   "touchpoint: created the master key %s — this data is encrypted with it. Back it up now, apart from "
                   "the data (docs/operations.md): without it the data cannot be read.\n",
                   key_path.c_str());
    }
  }
  if (!key.ok()) return key.status().WithContext("master key");
  const std::string id = privacy::NewInstallationId();
  TP_ASSIGN_OR_RETURN(auto ctx, BuildContext(url, options, *opened, *key, settings, key_path, id, true));
  TP_RETURN_IF_ERROR(marks->PutSetting(privacy::kKeyCheckSetting, ctx->MakeKeyCheck()));
  TP_RETURN_IF_ERROR(marks->PutSetting(privacy::kInstallationSetting, id));  // the mark, last
  {
    std::scoped_lock lock(CacheMutex());
    if (url != "memory:") Cache()[std::string(url)] = CachedContext{ctx, true};
  }
  return std::make_unique<privacy::EncryptedStore>(std::move(opened), std::move(ctx));
}

void EnableEncryptionAtRest(std::function<EncryptionSettings(std::string_view url)> settings_for) {
  store::SetOpenLayer([settings_for = std::move(settings_for)](std::string_view url, const store::OpenOptions& options,
                                                               std::unique_ptr<store::Store> opened)
                          -> Result<std::unique_ptr<store::Store>> {
    return ApplyEncryption(url, options, std::move(opened), settings_for(url));
  });
}

}  // namespace touchpoint::wiring
