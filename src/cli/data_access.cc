#include "cli/data_access.h"

#include <unistd.h>

#include <touchpoint/core/secret_file.h>
#include <touchpoint/privacy/master_key.h>
#include <touchpoint/store/open.h>
#include <touchpoint/wiring/subject_rights.h>

#include "cli/audit_access.h"

namespace touchpoint::cli {

std::string& StoreUrlOverride() {
  static std::string url;
  return url;
}

std::string& StorePasswordFile() {
  static std::string path;
  return path;
}

Result<store::OpenOptions> BaseOpenOptions() {
  store::OpenOptions o;
  if (!StorePasswordFile().empty()) {
    TP_ASSIGN_OR_RETURN(o.password, ReadSecretFile(StorePasswordFile()));
  }
  return o;
}

std::string& CurrentDataDir() {
  static std::string dir;
  return dir;
}

std::string StoreUrl(const std::string& data_dir) {
  CurrentDataDir() = data_dir;
  const std::string& url = StoreUrlOverride();
  if (url.empty()) return store::UrlForDataDir(data_dir);
  // An unnamed memory store would be a different one at every open; name it after the process.
  if (url == "memory:") return "memory:cli-" + std::to_string(getpid());
  return url;
}

Result<std::unique_ptr<OpenedEngine>> OpenForWriting(const std::string& data_dir, pipeline::EngineOptions options,
                                                     const std::string& purpose, const std::string& synchronous,
                                                     bool escalation) {
  TP_ASSIGN_OR_RETURN(store::OpenOptions o, BaseOpenOptions());
  o.purpose = purpose;
  o.synchronous = synchronous;
  if (!options.suppression_key) {
    // Events of erased people are dropped (the suppression list is keyed by the master key's
    // blind-index key); without a master key there is nothing to check against.
    auto master = privacy::LoadMasterKey(MasterKeyPathFor(data_dir));
    if (master.ok()) {
      options.suppression_key = wiring::SuppressionKeyFrom(*master);
    } else if (master.status().code() != StatusCode::kNotFound) {
      return master.status().WithContext("the master key (its blind-index key checks the suppression list)");
    }
  }
  if (options.suppression_key && !options.older_suppression_keys) {
    // Entries made before a master key rotation keep their version (privacy/key_rotation.h).
    options.older_suppression_keys = wiring::OlderSuppressionKeysAt(MasterKeyPathFor(data_dir));
  }
  return wiring::OpenEngine(StoreUrl(data_dir), std::move(options), o, escalation);
}

Result<std::unique_ptr<store::Store>> OpenReadOnly(const std::string& data_dir) {
  TP_ASSIGN_OR_RETURN(store::OpenOptions o, BaseOpenOptions());
  o.read_only = true;
  o.cache_mib = 16;
  return store::Open(StoreUrl(data_dir), o);
}

Result<std::unique_ptr<store::Store>> OpenForKeys(const std::string& data_dir) {
  TP_ASSIGN_OR_RETURN(store::OpenOptions o, BaseOpenOptions());
  o.cache_mib = 4;
  return store::Open(StoreUrl(data_dir), o);
}

}  // namespace touchpoint::cli
