// tests/server/role_keys.h — what the privacy-era server tests set up alike: a master key of the
// test's own (never the real home) and one API key per role in the test's store.
#pragma once

#include <array>
#include <string>

#include <touchpoint/core/result.h>
#include <touchpoint/privacy/keys.h>
#include <touchpoint/privacy/master_key.h>
#include <touchpoint/server/config.h>
#include <touchpoint/store/api_key_repository.h>
#include <touchpoint/store/store.h>

namespace touchpoint::server::test {

// A key per role, indexed by the role's value; empty for roles not created.
using RoleKeys = std::array<std::string, privacy::kAllRoles.size()>;

// Creates a key for each of `roles` in `store` (as `touchpoint keys create` does).
template <class Roles>
Result<RoleKeys> CreateRoleKeys(store::Store& store, const Roles& roles) {
  RoleKeys keys;
  for (privacy::Role role : roles) {
    TP_ASSIGN_OR_RETURN(auto created,
                        privacy::CreateApiKey(store.Get<store::ApiKeyRepository>(), role, 1'700'000'000'000));
    keys[static_cast<size_t>(role)] = created.key;
  }
  return keys;
}

// Creates a master key at `path` and points `config` at it.
inline Result<privacy::MasterKey> UseNewMasterKey(ServerConfig& config, const std::string& path) {
  config.master_key_file = path;
  return privacy::CreateMasterKeyFile(path);
}

}  // namespace touchpoint::server::test
