// privacy/key_rotation.h — moving an encrypted store to a new master key version
// (`touchpoint keys rotate-master`, docs/security.md "Rotating the master key").
//
// The caller first adds the new version to the key file (AddMasterKeyVersion) and opens the store
// with the new key set (every version: the context reads all of them, seals under the newest).
// RunRotation then, each step durable before the next and every step resumable:
//
//   1. records the rotation in the data store (the setting kRotationSetting: target version,
//      phase, cursors, counts) — from here `keys status` and `serve` see it;
//   2. re-wraps every per-person and event-chunk data key of the keyring under the new version
//      (Keyring::Rewrap: small, done at once; the values under those keys are not touched);
//   3. re-indexes the identifiers (their blind index under the new version) and re-seals the
//      values sealed under a field's key (outbox payloads, attachment bytes, TOTP secrets), a
//      batch per transaction, the cursor saved after each commit;
//   4. seals the store's key check under the new version and marks the rotation finished.
//
// Reads work at every point: values under a field key open with the version in their header,
// data keys unwrap with the version the keyring records, lookups compute the blind index under
// every version of the key file. A kill -9 anywhere leaves each row under the old or the new
// version; running RunRotation again (`keys rotate-master --resume`, or `serve`) goes on from the
// saved cursors (a batch done but not yet recorded is looked at again and skipped).
//
// Not re-keyed, because the values they hash are not stored (by design): the erasure suppression
// list (its entries keep the version they were made under) and the desk's search tokens. Lookups
// in them compute every version the key file holds, so an old version stays needed while they
// use it: RetireCheck names them.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/privacy/encrypted_store.h>
#include <touchpoint/store/store.h>

namespace touchpoint::privacy {

// What kRotationSetting records.
struct RotationState {
  int to = 0;                   // the version the store moves to
  std::string phase;            // "keyring", "values", "done"
  std::int64_t identifiers_after = 0;           // identifiers up to this id are done
  std::map<std::string, std::string> cells_after;  // per field ("outbox.payload", …): done up to this key
  std::int64_t keys_rewrapped = 0;
  std::int64_t identifiers_reindexed = 0;
  std::int64_t values_resealed = 0;
  Millis started_at = 0;
  Millis finished_at = 0;
  bool finished() const { return phase == "done"; }

  std::string ToJson() const;
  static Result<RotationState> FromJson(const std::string& json);
};

struct RotationOptions {
  int batch = 500;  // rows per transaction
  // Called after each committed and recorded batch (progress; tests kill the process here).
  std::function<void(const RotationState&)> on_batch;
  // Checked between batches: when set, RunRotation returns (kUnavailable) leaving the rotation
  // to be resumed (the server's stop).
  const std::atomic<bool>* stop = nullptr;
  const Clock* clock = nullptr;  // the start and finish times recorded; null: the system clock
};

// The rotation recorded in `store` (through its store::KeyringRepository settings); nullopt when
// none was ever started.
Result<std::optional<RotationState>> ReadRotation(store::Store& store);

// Runs (or resumes) the rotation of `store` to its context's current version. A finished
// rotation to that version: nothing to do (returns its state). kFailedPrecondition when the store
// recorded an unfinished rotation to a version the key file does not have as its current one.
Result<RotationState> RunRotation(EncryptedStore& store, const RotationOptions& options);

// What still uses each master key version (keys status; retiring a version).
struct KeyUsage {
  std::map<int, std::int64_t> keyring;        // live wrapped keys per version
  std::map<int, std::int64_t> sealed_values;  // values under a field's key, per version
  std::int64_t identifiers_not_current = 0;   // identifiers whose stored index is not the current version's
  std::map<int, std::int64_t> suppressions;   // erasure suppression entries per version
  std::int64_t key_check_version = 0;
};
// Reads every wrapped key, every field-key value and every identifier (decrypting each to
// recompute its index): as long as a full read of those tables.
Result<KeyUsage> MeasureKeyUsage(EncryptedStore& store);

// OK when nothing in `usage` needs `version` (and it is not the current one); otherwise
// kFailedPrecondition naming what still uses it.
Status RetireCheck(const KeyUsage& usage, int version, int current);

// The server's side (`touchpoint serve`): finishes an unfinished rotation in the background, in
// small transactions on a connection of its own, and reports the outcome (counts, never a value).
class RotationJob {
 public:
  // `store` should be an EncryptedStore (otherwise there is never anything to finish).
  RotationJob(std::unique_ptr<store::Store> store, const Clock& clock,
              std::function<void(const Result<RotationState>&)> report);
  ~RotationJob();  // Stop()s
  RotationJob(const RotationJob&) = delete;
  RotationJob& operator=(const RotationJob&) = delete;

  // Starts the background run when the store records an unfinished rotation to the key file's
  // current version; false when there is none (nothing started). kFailedPrecondition when the
  // store records one to a version the key file does not have as current.
  Result<bool> StartIfUnfinished(int batch = 500);
  // Stops between two batches (the rotation resumes at the next start) and joins. Idempotent.
  void Stop();

 private:
  std::unique_ptr<store::Store> store_;
  const Clock& clock_;
  std::function<void(const Result<RotationState>&)> report_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace touchpoint::privacy
