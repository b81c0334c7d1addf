// keys rotate-master | status | retire-version: moving an encrypted store to a new master key
// version (privacy/key_rotation.h, docs/security.md "Rotating the master key").
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include <touchpoint/core/time.h>
#include <touchpoint/privacy/audit.h>
#include <touchpoint/privacy/encrypted_store.h>
#include <touchpoint/privacy/key_rotation.h>
#include <touchpoint/privacy/master_key.h>
#include <touchpoint/store/keyring_repository.h>

#include "cli/audit_access.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/data_access.h"

namespace touchpoint::cli {
namespace {

struct KeyArgs {
  std::string key_file;
  std::string data_dir = DefaultDataDir();
  bool resume = false;
  int batch = 500;
  int version = 0;
};

// The key file the command works on; also the one the encryption layer reads (the same file).
std::string KeyFileOf(const KeyArgs& a) {
  if (!a.key_file.empty()) MasterKeyFileOverride() = a.key_file;
  return MasterKeyPathFor(a.data_dir);
}

Result<std::unique_ptr<store::Store>> OpenEncrypted(const KeyArgs& a) {
  TP_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> store, OpenForKeys(a.data_dir));
  if (dynamic_cast<privacy::EncryptedStore*>(store.get()) == nullptr) {
    return Status::FailedPrecondition(
        "this data is not encrypted at rest: there is no master key version to rotate (docs/security.md)");
  }
  return store;
}

std::string VersionsJson(const std::vector<int>& versions) { return nlohmann::json(versions).dump(); }

nlohmann::json StateJson(const privacy::RotationState& s) { return nlohmann::json::parse(s.ToJson()); }

int RunRotate(const KeyArgs& a) {
  const std::string key_path = KeyFileOf(a);
  auto keys = privacy::LoadMasterKeySet(key_path);
  if (!keys.ok()) return Fail(keys.status());
  int from = keys->current().version();
  bool add_version = !a.resume;
  bool starting = true;  // a new rotation (audited), not the continuation of an unfinished one
  {
    auto store = OpenEncrypted(a);
    if (!store.ok()) return Fail(store.status());
    auto recorded = privacy::ReadRotation(**store);
    if (!recorded.ok()) return Fail(recorded.status());
    auto& enc = static_cast<privacy::EncryptedStore&>(**store);
    const bool unfinished = *recorded && !(*recorded)->finished();
    starting = !unfinished;
    if (unfinished && !a.resume) {
      return Fail(Status::FailedPrecondition("a rotation to master key version " + std::to_string((*recorded)->to) +
                                             " is unfinished: run `touchpoint keys rotate-master --resume`"));
    }
    // The version the store last reached: its rotation's, else its key check's (sealed under the
    // version current when the store was created or last rotated). When the key file already has
    // a newer one (a run killed between writing the key file and recording the rotation), rotate
    // to it rather than add another.
    int reached = *recorded ? (*recorded)->to : 1;
    auto check = enc.Get<store::KeyringRepository>().Setting(privacy::kKeyCheckSetting);
    if (check.ok() && *check) {
      auto header = privacy::EncryptionContext::HeaderOf(**check, /*text=*/true);
      if (header.ok()) reached = std::max(reached, header->key_version);
    }
    if (!unfinished && reached < keys->current().version()) {
      if (!a.resume) {
        std::fprintf(stderr, "touchpoint: the key file already holds version %d, which this store was not rotated "
                             "to yet: rotating to it\n", keys->current().version());
      }
      add_version = false;
      from = reached;
    } else if (a.resume && !unfinished) {
      std::printf("%s\n", nlohmann::json{{"resumed", false}, {"reason", "no unfinished rotation"}}.dump().c_str());
      return kExitOk;
    }
  }  // closed: the store is opened again below with the new version
  if (add_version) {
    auto added = privacy::AddMasterKeyVersion(key_path);
    if (!added.ok()) return Fail(added.status());
    std::fprintf(stderr,
                 "touchpoint: added master key version %d to %s (it keeps versions %s). Back the key file up now: "
                 "the data is being moved to the new version, and backups of the data taken before need the old "
                 "ones.\n",
                 added->current().version(), key_path.c_str(), VersionsJson(added->versions()).c_str());
  }
  auto store = OpenEncrypted(a);
  if (!store.ok()) return Fail(store.status());
  auto& enc = static_cast<privacy::EncryptedStore&>(**store);
  const int to = enc.context().key_version();
  if (starting) {
    auto audit = OpenCliAudit(**store, a.data_dir);
    Status s = audit.ok() ? (*audit)->Record(CliActor(), "master_key.rotate", "master_key:v" + std::to_string(to),
                                             nlohmann::json{{"from", from}, {"to", to}}.dump())
                          : audit.status();
    if (s.ok()) s = (*audit)->Close();
    if (!s.ok()) std::fprintf(stderr, "touchpoint: note: the rotation is not audited: %s\n", s.message().c_str());
  }
  privacy::RotationOptions o;
  o.batch = a.batch;
  auto done = privacy::RunRotation(enc, o);
  if (!done.ok()) {
    std::fprintf(stderr, "touchpoint: the rotation stopped; run `touchpoint keys rotate-master --resume` to go on\n");
    return Fail(done.status());
  }
  nlohmann::json out = StateJson(*done);
  out["key_file"] = key_path;
  std::printf("%s\n", out.dump().c_str());
  return kExitOk;
}

int RunStatus(const KeyArgs& a) {
  const std::string key_path = KeyFileOf(a);
  auto keys = privacy::LoadMasterKeySet(key_path);
  if (!keys.ok()) return Fail(keys.status());
  auto store = OpenEncrypted(a);
  if (!store.ok()) return Fail(store.status());
  auto& enc = static_cast<privacy::EncryptedStore&>(**store);
  auto recorded = privacy::ReadRotation(enc);
  if (!recorded.ok()) return Fail(recorded.status());
  auto usage = privacy::MeasureKeyUsage(enc);
  if (!usage.ok()) return Fail(usage.status());
  const int current = keys->current().version();
  nlohmann::json out;
  out["key_file"] = key_path;
  out["current_version"] = current;
  out["versions"] = keys->versions();
  if (*recorded) {
    out["rotation"] = StateJson(**recorded);
  } else {
    out["rotation"] = nullptr;
  }
  nlohmann::json left;
  std::int64_t keyring_old = 0;
  for (const auto& [v, n] : usage->keyring) keyring_old += v != current ? n : 0;
  std::int64_t values_old = 0;
  for (const auto& [v, n] : usage->sealed_values) values_old += v != current ? n : 0;
  left["keyring"] = keyring_old;
  left["identifiers"] = usage->identifiers_not_current;
  left["sealed_values"] = values_old;
  out["left"] = left;
  nlohmann::json per = nlohmann::json::object();
  for (int v : keys->versions()) {
    nlohmann::json u;
    auto count = [&](const std::map<int, std::int64_t>& m) { auto it = m.find(v); return it == m.end() ? 0 : it->second; };
    u["keyring"] = count(usage->keyring);
    u["sealed_values"] = count(usage->sealed_values);
    u["suppressions"] = count(usage->suppressions);
    u["key_check"] = usage->key_check_version == v;
    const Status retire = privacy::RetireCheck(*usage, v, current);
    u["can_retire"] = retire.ok();
    if (!retire.ok()) u["why_not"] = retire.message();
    per[std::to_string(v)] = u;
  }
  out["by_version"] = per;
  std::printf("%s\n", out.dump(2).c_str());
  return kExitOk;
}

int RunRetire(const KeyArgs& a) {
  const std::string key_path = KeyFileOf(a);
  auto keys = privacy::LoadMasterKeySet(key_path);
  if (!keys.ok()) return Fail(keys.status());
  if (keys->Find(a.version) == nullptr) {
    return Fail(Status::NotFound("the key file " + key_path + " holds no version " + std::to_string(a.version)));
  }
  {
    auto store = OpenEncrypted(a);
    if (!store.ok()) return Fail(store.status());
    auto& enc = static_cast<privacy::EncryptedStore&>(**store);
    auto usage = privacy::MeasureKeyUsage(enc);
    if (!usage.ok()) return Fail(usage.status());
    if (Status s = privacy::RetireCheck(*usage, a.version, keys->current().version()); !s.ok()) return Fail(s);
    auto audit = OpenCliAudit(**store, a.data_dir);
    Status s = audit.ok() ? (*audit)->Record(CliActor(), "master_key.retire", "master_key:v" + std::to_string(a.version),
                                             nlohmann::json{{"version", a.version}}.dump())
                          : audit.status();
    if (s.ok()) s = (*audit)->Close();
    if (!s.ok()) std::fprintf(stderr, "touchpoint: note: the retirement is not audited: %s\n", s.message().c_str());
  }
  if (Status s = privacy::RemoveMasterKeyVersion(key_path, a.version); !s.ok()) return Fail(s);
  std::fprintf(stderr,
               "touchpoint: removed master key version %d from %s. Backups of the data taken before the rotation "
               "need it: keep the old key file with them.\n",
               a.version, key_path.c_str());
  std::printf("%s\n", nlohmann::json{{"retired", a.version}, {"key_file", key_path}}.dump().c_str());
  return kExitOk;
}

}  // namespace

void RegisterKeyRotationCommands(CLI::App& keys, int* exit_code) {
  auto rotate = std::make_shared<KeyArgs>();
  CLI::App* r = keys.add_subcommand(
      "rotate-master",
      "Add a new master key version and move the data to it (keyring at once, then values in small transactions; "
      "resumable)");
  r->add_option("--key-file", rotate->key_file, "The master key file (default as for init-master)");
  r->add_option("--data", rotate->data_dir, "Data directory (default: $TOUCHPOINT_DATA or ./touchpoint-data)");
  r->add_flag("--resume", rotate->resume, "Finish an unfinished rotation instead of starting a new one");
  r->add_option("--batch", rotate->batch, "Rows per transaction (default 500)")->check(CLI::Range(1, 100000));
  r->callback([=] { *exit_code = RunRotate(*rotate); });

  auto status = std::make_shared<KeyArgs>();
  CLI::App* s = keys.add_subcommand(
      "status", "Master key versions, the rotation's progress, and which versions could be retired (JSON)");
  s->add_option("--key-file", status->key_file, "The master key file (default as for init-master)");
  s->add_option("--data", status->data_dir, "Data directory (default: $TOUCHPOINT_DATA or ./touchpoint-data)");
  s->callback([=] { *exit_code = RunStatus(*status); });

  auto retire = std::make_shared<KeyArgs>();
  CLI::App* t = keys.add_subcommand(
      "retire-version", "Remove version N from the key file; refused while anything in the store still uses it");
  t->add_option("N", retire->version, "The version to remove")->required();
  t->add_option("--key-file", retire->key_file, "The master key file (default as for init-master)");
  t->add_option("--data", retire->data_dir, "Data directory (default: $TOUCHPOINT_DATA or ./touchpoint-data)");
  t->callback([=] { *exit_code = RunRetire(*retire); });
}

}  // namespace touchpoint::cli
