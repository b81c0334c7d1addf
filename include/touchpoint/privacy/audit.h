// privacy/audit.h — the tamper-evident audit log: who changed or revealed what, as a hash chain
// in the store with signed checkpoints, and its verification (`touchpoint audit verify`).
//
// Chain. Entry n's hash is SHA-256(raw bytes of entry n-1's hash || canonical bytes of entry n)
// (libsodium crypto_hash_sha256; entry 1's predecessor is 32 zero bytes). The canonical bytes of
// an entry are, in this order:
//   "TPA1"                                   4 bytes: format and version
//   seq, time (ms since the epoch)           8 bytes each, signed, big-endian
//   actor, action, target, details_json      each a 4-byte big-endian length, then its bytes
// The strings are hashed exactly as stored (details_json is not re-serialised when checked).
//
// Checkpoint. An Ed25519 signature (privacy/signing.h) over
//   "TPC1" || count (8 bytes, big-endian) || raw head hash (32 bytes) || time (8 bytes, BE)
//   || key_id (16 ASCII characters)
// written to the store AND appended as one line to a checkpoint file (best on another disk):
//   tp-audit-checkpoint v1 <count> <head hash hex> <time ms> <key_id> <signature base64>
//
// What it proves: someone editing the database (an insider with SQL access, but without the
// master key or write access to the checkpoint file) cannot change, remove, reorder or insert
// an entry that a checkpoint covers, nor cut off the tail a checkpoint covers, without verify
// reporting it. Entries after the last checkpoint are protected by the chain only (SHA-256 is
// unkeyed: they can be rewritten consistently or cut off until the next checkpoint covers them —
// at most 100 entries or 5 minutes). docs/security.md, "Audit log", has the whole threat model.
//
// Never log personal data: actors, targets and details carry pseudonymous ids (key prefixes,
// user ids, customer ids), never phone numbers, e-mail addresses or message texts — callers
// pass them that way; Record() cannot tell a name from an id.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/thread_annotations.h>
#include <touchpoint/core/time.h>
#include <touchpoint/privacy/signing.h>
#include <touchpoint/store/audit_repository.h>
#include <touchpoint/store/store.h>

namespace touchpoint::privacy {

// The canonical bytes of `entry` (above).
std::string CanonicalEntryBytes(const store::AuditEntryRecord& entry);
// Hex of SHA-256(raw(prev_hash_hex) || CanonicalEntryBytes(entry)): a store::AuditChainFn.
std::string ChainHash(std::string_view prev_hash_hex, const store::AuditEntryRecord& entry);
// The bytes a checkpoint's signature covers (above).
std::string CheckpointMessage(const store::AuditCheckpointRecord& checkpoint);
// A checkpoint as a line of the checkpoint file (without the newline), and back.
std::string CheckpointLine(const store::AuditCheckpointRecord& checkpoint);
Result<store::AuditCheckpointRecord> ParseCheckpointLine(std::string_view line);

// The checkpoint file of a data directory: DATA/audit/checkpoints.
std::string DefaultCheckpointsPath(const std::string& data_dir);

struct AuditLogOptions {
  // The checkpoint file (appended to, created with its directory); empty: checkpoints go to the
  // store only.
  std::string checkpoints_path;
  std::int64_t checkpoint_every = 100;          // a checkpoint once this many entries were added
  Millis checkpoint_interval = 5 * 60 * 1000;   // … and by Tick() once this much time passed
  // Called (on the recording thread) when a checkpoint due after a Record fails; the Record
  // itself succeeded. Empty: ignored (the next checkpoint tries again).
  std::function<void(const Status&)> on_checkpoint_error;
};

// Appends entries and writes checkpoints. Thread-safe: Record() from any number of threads;
// concurrent records are appended together in one transaction (group commit), and each Record
// returns once its entry is committed.
class AuditLog {
 public:
  // `store` must outlive the log, be writable, and not be used by anything else while a call of
  // this log runs (give it a connection of its own, as the server does). Without a signer
  // (no master key yet) entries are chained but no checkpoint is written: warning() says so.
  // Records the signer's public key in the store. Fails as the store does.
  static Result<std::unique_ptr<AuditLog>> Open(store::Store& store, const Clock& clock, std::optional<Signer> signer,
                                                AuditLogOptions options);
  ~AuditLog();  // Close()s, ignoring its errors
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Appends one entry and returns once it is committed (with a checkpoint when one is due).
  // `details_json` must be a JSON object (kInvalidArgument otherwise); it is stored compact.
  // Invalid UTF-8 and NULs in the strings become U+FFFD. kUnavailable when the store is away.
  Status Record(std::string_view actor, std::string_view action, std::string_view target,
                std::string_view details_json = "{}");

  // Writes a checkpoint of the chain's current head (which other processes may have moved) when
  // it differs from the last checkpoint. Before signing, checks the chain from the last
  // checkpoint this log trusts to the head: kInternal naming the first bad entry when broken
  // (a checkpoint never vouches for a tampered chain). OK without a signer (nothing written).
  Status Checkpoint();
  // Checkpoint() when checkpoint_interval passed since the last one (the server's timer).
  Status Tick();
  // Calls Tick() every `period` on a thread of its own until Close(); errors go to `on_error`.
  void StartTimer(std::chrono::milliseconds period, std::function<void(const Status&)> on_error);
  // Stops the timer and writes a last checkpoint when this log appended entries since the last
  // one (a clean exit). Idempotent.
  Status Close();

  // Entries matching `query`, newest first (store::AuditRepository::Query), through this log's
  // connection.
  Result<std::vector<store::AuditEntryRecord>> Query(const store::AuditQuery& query);

  bool signing() const { return signer_.has_value(); }
  // Non-empty when the log runs without checkpoints (no master key): say so to the operator.
  const std::string& warning() const { return warning_; }
  // Entries this log appended.
  std::int64_t appended() const;

 private:
  struct Batch;
  AuditLog(store::Store& store, const Clock& clock, std::optional<Signer> signer, AuditLogOptions options);
  Status AppendBatch(std::vector<store::AuditEntryRecord>& entries);  // REQUIRES: store_mu_ held
  Status CheckpointLocked();                                          // REQUIRES: store_mu_ held

  store::AuditRepository& repo_;
  const Clock& clock_;
  std::optional<Signer> signer_;
  AuditLogOptions options_;
  std::string warning_;

  mutable std::mutex mu_;  // the batch being filled
  std::condition_variable cv_;
  std::shared_ptr<Batch> filling_ TP_GUARDED_BY(mu_);
  bool flushing_ TP_GUARDED_BY(mu_) = false;
  std::int64_t appended_ TP_GUARDED_BY(mu_) = 0;

  std::mutex store_mu_;  // one store call at a time; held while appending or checkpointing
  std::int64_t since_checkpoint_ TP_GUARDED_BY(store_mu_) = 0;  // entries this log appended since
  std::int64_t base_count_ TP_GUARDED_BY(store_mu_) = 0;        // the last trusted checkpoint …
  std::string base_hash_ TP_GUARDED_BY(store_mu_);               // … and its head hash
  Millis last_checkpoint_at_ TP_GUARDED_BY(store_mu_) = 0;
  bool closed_ TP_GUARDED_BY(store_mu_) = false;

  std::mutex timer_mu_;
  std::condition_variable timer_cv_;
  bool stop_timer_ TP_GUARDED_BY(timer_mu_) = false;
  std::thread timer_;
};

// ---- verification ----

// Checks entries one at a time, in seq order: seq numbering, the link to the predecessor and the
// entry's own hash. Fast enough for millions of entries a second (bench/privacy).
class ChainVerifier {
 public:
  // False (and why in reason()) at the first bad entry; keep calling is pointless after that.
  bool Add(const store::AuditEntryRecord& entry) { return Add(entry, EntryHashMatches(entry)); }
  // The same with the entry's own hash already checked (EntryHashMatches, e.g. on other
  // threads: that is the expensive part, and independent per entry).
  bool Add(const store::AuditEntryRecord& entry, bool hash_matches);
  // Whether entry.hash is ChainHash(entry.prev_hash, entry).
  static bool EntryHashMatches(const store::AuditEntryRecord& entry);
  std::int64_t count() const { return count_; }            // entries accepted
  const std::string& head_hash() const { return head_; }    // hex; 64 zeros before the first
  std::int64_t bad_seq() const { return bad_seq_; }
  const std::string& reason() const { return reason_; }

 private:
  std::int64_t count_ = 0;
  std::string head_ = std::string(64, '0');
  std::int64_t bad_seq_ = 0;
  std::string reason_;
};

struct AuditVerifyOptions {
  // The keys checkpoints must be signed with (--public-key). Empty: the keys the store records
  // (an insider who can write the store could add a key of their own: pass the key for an
  // independent check).
  std::vector<PublicKey> trusted_keys;
  // The checkpoint file; empty: only the store's checkpoints.
  std::string checkpoints_path;
};

struct AuditVerdict {
  bool intact() const { return first_bad_seq == 0 && bad_checkpoint.empty(); }
  std::int64_t entries = 0;            // entries in the log (the last seq read)
  std::int64_t first_bad_seq = 0;      // 0: the chain is intact
  std::string reason;                  // why first_bad_seq is bad
  std::string bad_checkpoint;          // non-empty: a checkpoint that fails its signature, and where
  std::int64_t file_checkpoints = 0;   // valid checkpoints read from the file
  std::int64_t store_checkpoints = 0;  // valid checkpoints read from the store
  std::int64_t covered = 0;            // entries covered by the highest valid checkpoint
  std::vector<std::string> warnings;   // things the operator should know (no checkpoint file, …)
};

// Verifies the chain in `audit` and every checkpoint (store and file): each checkpoint's
// signature, and that the chain passes through its head hash at its count. Fails only when
// the store or the file cannot be read (kNotFound for a missing checkpoint file that was asked
// for); tampering is a verdict, not an error.
Result<AuditVerdict> VerifyAuditLog(store::AuditRepository& audit, store::SigningKeyRepository& keys,
                                    const AuditVerifyOptions& options);

}  // namespace touchpoint::privacy
