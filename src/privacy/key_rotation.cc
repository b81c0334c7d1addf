#include <touchpoint/privacy/key_rotation.h>

#include <utility>

#include <nlohmann/json.hpp>

#include <touchpoint/store/keyring_repository.h>
#include <touchpoint/store/rekey_repository.h>
#include <touchpoint/store/suppression_repository.h>

namespace touchpoint::privacy {
namespace {

constexpr std::string_view kPhaseKeyring = "keyring";
constexpr std::string_view kPhaseValues = "values";
constexpr std::string_view kPhaseDone = "done";

// Text columns are sealed as text ("tpe1:…"); attachment bytes as bytes.
bool IsText(store::SealedColumn column) { return column != store::SealedColumn::kAttachmentData; }

// The identifier's row as the layer binds its value (EncIdentity: "<id>:<kind>").
std::string IdentifierRow(const store::IdentifierRecord& r) { return std::to_string(r.id.value()) + ':' + r.kind; }

std::int64_t IndexOf(const BlindIndexer& indexer, const std::string& kind, const std::string& value) {
  std::int64_t key = indexer.Of(kind, value).value;
  return key == 0 ? 1 : key;  // as EncIdentity stores it
}

Status Save(store::KeyringRepository& marks, const RotationState& state) {
  return marks.PutSetting(kRotationSetting, state.ToJson()).WithContext("recording the rotation's progress");
}

Millis Now(const RotationOptions& o) { return (o.clock != nullptr ? *o.clock : SystemClock::Instance()).Now(); }

bool Stopped(const RotationOptions& o) { return o.stop != nullptr && o.stop->load(); }

Status StoppedStatus() { return Status::Unavailable("the rotation was stopped; it resumes at the next start"); }

// Opens an identifier's stored value: kNotFound (erased person: nothing to re-index) is passed on.
Result<std::string> OpenIdentifier(EncryptionContext& ctx, const store::IdentifierRecord& r) {
  return ctx.Open("identifiers.value", IdentifierRow(r), r.value, true);
}

}  // namespace

std::string RotationState::ToJson() const {
  nlohmann::json j = {{"to", to},
                      {"phase", phase},
                      {"identifiers_after", identifiers_after},
                      {"cells_after", cells_after},
                      {"keys_rewrapped", keys_rewrapped},
                      {"identifiers_reindexed", identifiers_reindexed},
                      {"values_resealed", values_resealed},
                      {"started_at", started_at},
                      {"finished_at", finished_at}};
  return j.dump();
}

Result<RotationState> RotationState::FromJson(const std::string& json) {
  auto j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("to") || !j["to"].is_number_integer() || !j.contains("phase") ||
      !j["phase"].is_string()) {
    return Status::Internal("the store's record of the master key rotation is malformed");
  }
  RotationState s;
  s.to = j["to"].get<int>();
  s.phase = j["phase"].get<std::string>();
  s.identifiers_after = j.value("identifiers_after", std::int64_t{0});
  if (j.contains("cells_after") && j["cells_after"].is_object()) {
    for (auto& [k, v] : j["cells_after"].items()) {
      if (v.is_string()) s.cells_after[k] = v.get<std::string>();
    }
  }
  s.keys_rewrapped = j.value("keys_rewrapped", std::int64_t{0});
  s.identifiers_reindexed = j.value("identifiers_reindexed", std::int64_t{0});
  s.values_resealed = j.value("values_resealed", std::int64_t{0});
  s.started_at = j.value("started_at", Millis{0});
  s.finished_at = j.value("finished_at", Millis{0});
  return s;
}

Result<std::optional<RotationState>> ReadRotation(store::Store& store) {
  auto* marks = store.Find<store::KeyringRepository>();
  if (marks == nullptr) return std::optional<RotationState>();
  TP_ASSIGN_OR_RETURN(std::optional<std::string> text, marks->Setting(kRotationSetting));
  if (!text) return std::optional<RotationState>();
  TP_ASSIGN_OR_RETURN(RotationState state, RotationState::FromJson(*text));
  return std::optional<RotationState>(std::move(state));
}

Result<RotationState> RunRotation(EncryptedStore& store, const RotationOptions& options) {
  EncryptionContext& ctx = store.context();
  const int to = ctx.key_version();
  auto* marks = store.Find<store::KeyringRepository>();
  auto* rekey = store.inner().Find<store::RekeyRepository>();
  if (marks == nullptr || rekey == nullptr) {
    return Status::FailedPrecondition("this store cannot be re-keyed (no keyring settings or rekey repository)");
  }
  const int batch = options.batch < 1 ? 1 : options.batch;
  TP_ASSIGN_OR_RETURN(std::optional<RotationState> recorded, ReadRotation(store));
  RotationState state;
  if (recorded && recorded->to == to) {
    state = *recorded;
    if (state.finished()) {
      // A writer started before the rotation may have added keys wrapped under the old version
      // since; re-wrapping them is cheap and harmless.
      TP_ASSIGN_OR_RETURN(std::int64_t late, ctx.keyring().Rewrap(batch));
      if (late > 0) {
        state.keys_rewrapped += late;
        TP_RETURN_IF_ERROR(Save(*marks, state));
      }
      return state;
    }
  } else if (recorded && !recorded->finished() && recorded->to > to) {
    return Status::FailedPrecondition("this store is being rotated to master key version " +
                                      std::to_string(recorded->to) + ", but the key file's current version is " +
                                      std::to_string(to) + ": use the key file that has version " +
                                      std::to_string(recorded->to));
  } else {
    // A new rotation (an unfinished one to an older version is superseded: its work is part of
    // this one's, which looks at every row again).
    state.to = to;
    state.phase = std::string(kPhaseKeyring);
    state.started_at = Now(options);
    TP_RETURN_IF_ERROR(Save(*marks, state));
  }

  // 2. the keyring, at once.
  if (state.phase == kPhaseKeyring) {
    TP_ASSIGN_OR_RETURN(std::int64_t n, ctx.keyring().Rewrap(batch * 4));
    state.keys_rewrapped += n;
    state.phase = std::string(kPhaseValues);
    TP_RETURN_IF_ERROR(Save(*marks, state));
    if (options.on_batch) options.on_batch(state);
  }

  // 3a. identifiers: the blind index under the new version.
  const BlindIndexer& indexer = ctx.indexer();
  for (;;) {
    if (Stopped(options)) return StoppedStatus();
    TP_ASSIGN_OR_RETURN(std::vector<store::IdentifierRecord> rows,
                        rekey->IdentifiersAfter(IdentifierId(state.identifiers_after), batch));
    if (rows.empty()) break;
    std::vector<store::IdentifierRecord> changed;
    for (store::IdentifierRecord& r : rows) {
      auto value = OpenIdentifier(ctx, r);
      if (!value.ok()) {
        if (value.status().code() == StatusCode::kNotFound) continue;  // an erased person's: skipped
        return value.status().WithContext("re-indexing identifier " + std::to_string(r.id.value()));
      }
      const std::int64_t key = IndexOf(indexer, r.kind, *value);
      if (key == r.lookup_key) continue;
      r.lookup_key = key;
      changed.push_back(std::move(r));
    }
    if (!changed.empty()) {
      TP_ASSIGN_OR_RETURN(auto txn, store.Begin());
      TP_RETURN_IF_ERROR(rekey->SetIdentifierKeys(*txn, changed));
      TP_RETURN_IF_ERROR(txn->Commit());
    }
    state.identifiers_after = rows.back().id.value();
    state.identifiers_reindexed += static_cast<std::int64_t>(changed.size());
    TP_RETURN_IF_ERROR(Save(*marks, state));
    if (options.on_batch) options.on_batch(state);
  }

  // 3b. values under a field's key.
  for (store::SealedColumn column : store::kSealedColumns) {
    const std::string field = store::SealedColumnName(column);
    for (;;) {
      if (Stopped(options)) return StoppedStatus();
      TP_ASSIGN_OR_RETURN(std::vector<store::SealedCell> cells,
                          rekey->CellsAfter(column, state.cells_after[field], batch));
      if (cells.empty()) break;
      std::vector<store::SealedCellUpdate> updates;
      for (const store::SealedCell& c : cells) {
        auto header = EncryptionContext::HeaderOf(c.value, IsText(column));
        if (!header.ok() || header->person || header->key_version == to) continue;  // not ours to change
        TP_ASSIGN_OR_RETURN(std::string resealed, ctx.Reseal(field, c.row, c.value, IsText(column)));
        updates.push_back(store::SealedCellUpdate{c.key, c.value, std::move(resealed)});
      }
      std::int64_t n = 0;
      if (!updates.empty()) {
        TP_ASSIGN_OR_RETURN(auto txn, store.Begin());
        TP_ASSIGN_OR_RETURN(n, rekey->ReplaceCells(*txn, column, updates));
        TP_RETURN_IF_ERROR(txn->Commit());
      }
      state.cells_after[field] = cells.back().key;
      state.values_resealed += n;
      TP_RETURN_IF_ERROR(Save(*marks, state));
      if (options.on_batch) options.on_batch(state);
    }
  }

  // 4. the key check, then done.
  TP_RETURN_IF_ERROR(marks->PutSetting(kKeyCheckSetting, ctx.MakeKeyCheck()).WithContext("sealing the key check"));
  // Keys a writer started before the rotation added meanwhile.
  TP_ASSIGN_OR_RETURN(std::int64_t late, ctx.keyring().Rewrap(batch * 4));
  state.keys_rewrapped += late;
  state.phase = std::string(kPhaseDone);
  state.finished_at = Now(options);
  TP_RETURN_IF_ERROR(Save(*marks, state));
  return state;
}

Result<KeyUsage> MeasureKeyUsage(EncryptedStore& store) {
  EncryptionContext& ctx = store.context();
  KeyUsage usage;
  TP_ASSIGN_OR_RETURN(usage.keyring, ctx.keyring().CountByVersion());
  auto* rekey = store.inner().Find<store::RekeyRepository>();
  if (rekey == nullptr) return Status::FailedPrecondition("this store cannot be measured (no rekey repository)");
  constexpr int kPage = 2000;
  for (store::SealedColumn column : store::kSealedColumns) {
    std::string after;
    for (;;) {
      TP_ASSIGN_OR_RETURN(std::vector<store::SealedCell> cells, rekey->CellsAfter(column, after, kPage));
      if (cells.empty()) break;
      for (const store::SealedCell& c : cells) {
        auto header = EncryptionContext::HeaderOf(c.value, IsText(column));
        if (header.ok() && !header->person) ++usage.sealed_values[header->key_version];
      }
      after = cells.back().key;
    }
  }
  const BlindIndexer& indexer = ctx.indexer();
  std::int64_t after = 0;
  for (;;) {
    TP_ASSIGN_OR_RETURN(std::vector<store::IdentifierRecord> rows, rekey->IdentifiersAfter(IdentifierId(after), kPage));
    if (rows.empty()) break;
    for (const store::IdentifierRecord& r : rows) {
      auto value = OpenIdentifier(ctx, r);
      if (!value.ok()) {
        if (value.status().code() == StatusCode::kNotFound) continue;
        return value.status().WithContext("reading identifier " + std::to_string(r.id.value()));
      }
      if (IndexOf(indexer, r.kind, *value) != r.lookup_key) ++usage.identifiers_not_current;
    }
    after = rows.back().id.value();
  }
  if (auto* suppressions = store.Find<store::SuppressionRepository>(); suppressions != nullptr) {
    TP_RETURN_IF_ERROR(suppressions->Scan([&](const store::SuppressionRecord& r) { ++usage.suppressions[r.key_version]; }));
  }
  if (auto* marks = store.Find<store::KeyringRepository>(); marks != nullptr) {
    TP_ASSIGN_OR_RETURN(std::optional<std::string> check, marks->Setting(kKeyCheckSetting));
    if (check) {
      auto header = ReadSealedTextHeader(*check);
      if (header.ok()) usage.key_check_version = header->key_version;
    }
  }
  return usage;
}

Status RetireCheck(const KeyUsage& usage, int version, int current) {
  if (version == current) {
    return Status::FailedPrecondition("version " + std::to_string(version) +
                                      " is the current master key version; rotate first (`keys rotate-master`)");
  }
  std::vector<std::string> uses;
  auto count = [&](const std::map<int, std::int64_t>& m) -> std::int64_t {
    auto it = m.find(version);
    return it == m.end() ? 0 : it->second;
  };
  if (std::int64_t n = count(usage.keyring); n > 0) uses.push_back(std::to_string(n) + " data keys in the keyring");
  if (std::int64_t n = count(usage.sealed_values); n > 0) {
    uses.push_back(std::to_string(n) + " values sealed under a field key");
  }
  if (usage.identifiers_not_current > 0) {
    uses.push_back(std::to_string(usage.identifiers_not_current) + " identifiers indexed under an older version");
  }
  if (std::int64_t n = count(usage.suppressions); n > 0) {
    uses.push_back(std::to_string(n) +
                   " erasure suppression entries (their identifiers are not stored, so they cannot be re-keyed; "
                   "retiring the version would let those people's events back in)");
  }
  if (usage.key_check_version == version) uses.push_back("the store's key check");
  if (uses.empty()) return Status::Ok();
  std::string what;
  for (size_t i = 0; i < uses.size(); ++i) what += (i > 0 ? "; " : "") + uses[i];
  return Status::FailedPrecondition("master key version " + std::to_string(version) + " is still used: " + what +
                                    (usage.identifiers_not_current > 0 || count(usage.keyring) > 0 ||
                                             count(usage.sealed_values) > 0
                                         ? " (finish the rotation: `touchpoint keys rotate-master --resume`)"
                                         : ""));
}

RotationJob::RotationJob(std::unique_ptr<store::Store> store, const Clock& clock,
                         std::function<void(const Result<RotationState>&)> report)
    : store_(std::move(store)), clock_(clock), report_(std::move(report)) {}

RotationJob::~RotationJob() { Stop(); }

Result<bool> RotationJob::StartIfUnfinished(int batch) {
  auto* encrypted = dynamic_cast<EncryptedStore*>(store_.get());
  if (encrypted == nullptr || thread_.joinable()) return false;
  TP_ASSIGN_OR_RETURN(std::optional<RotationState> recorded, ReadRotation(*encrypted));
  if (!recorded || recorded->finished()) return false;
  const int current = encrypted->context().key_version();
  if (recorded->to != current) {
    if (recorded->to > current) {
      return Status::FailedPrecondition("the store is being rotated to master key version " +
                                        std::to_string(recorded->to) + ", but the key file's current version is " +
                                        std::to_string(current) + ": use the key file that has version " +
                                        std::to_string(recorded->to));
    }
    return false;  // an older rotation, superseded: `keys rotate-master` starts the new one
  }
  thread_ = std::thread([this, encrypted, batch] {
    RotationOptions o;
    o.batch = batch;
    o.stop = &stop_;
    o.clock = &clock_;
    Result<RotationState> r = RunRotation(*encrypted, o);
    if (report_) report_(r);
  });
  return true;
}

void RotationJob::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

}  // namespace touchpoint::privacy
