// store/audit_repository.h — the audit log's storage: a hash chain of entries, the signed
// checkpoints over it, and the public keys that signed them. The store knows no cryptography:
// privacy::AuditLog (privacy/audit.h) computes the hashes and signatures and documents their
// bytes; this repository keeps the rows and gives the chain ONE order.
//
// One order: Append reads the chain's head and writes the new entries in one transaction, under
// the database's write lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: a transaction-level advisory
// lock), so two processes appending at once (the CLI next to a running server) each extend the
// head the other left, never fork it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>

namespace touchpoint::store {

// One entry of the chain. Strings are stored and returned byte for byte (callers pass valid
// UTF-8 without NUL: privacy::AuditLog cleans them). Identifiers in it are pseudonymous (key
// prefixes, user ids, customer ids), never phone numbers or e-mail addresses.
struct AuditEntryRecord {
  std::int64_t seq = 0;       // 1, 2, 3, … in chain order; assigned by Append
  Millis time = 0;            // when it was recorded
  std::string actor;          // who: "cli:uid:1000", "key:tp_3f9c12", "user:7"
  std::string action;         // what: "api_key.create", "segment.define", …
  std::string target;         // on what: "api_key:12", "segment:vip"
  std::string details_json;   // a JSON object ("{}" when nothing more)
  std::string prev_hash;      // lower-case hex of the previous entry's hash (64 zeros for seq 1)
  std::string hash;           // lower-case hex of this entry's hash
  friend bool operator==(const AuditEntryRecord&, const AuditEntryRecord&) = default;
};

// A signed statement "the chain had `count` entries and its head was `head_hash` at `time`".
struct AuditCheckpointRecord {
  std::int64_t id = 0;        // assigned by AddCheckpoint, in insertion order
  std::int64_t count = 0;     // entries 1..count covered
  std::string head_hash;      // hex hash of entry `count` (64 zeros when count is 0)
  Millis time = 0;
  std::string key_id;         // the signing key (SigningKeyRecord::key_id)
  std::string signature;      // base64 of the Ed25519 signature (privacy/audit.h says of what)
  friend bool operator==(const AuditCheckpointRecord&, const AuditCheckpointRecord&) = default;
};

// Filters of AuditRepository::Query. Empty strings and zero times do not filter.
struct AuditQuery {
  std::string actor;           // exact match
  std::string action;          // exact match
  Millis from = 0;             // time >= from
  Millis to = 0;               // time < to
  std::int64_t before_seq = 0; // seq < before_seq (paging); 0: from the newest
  int limit = 100;
};

// Computes an entry's hash (hex) from its predecessor's hash (hex) and its fields (seq and time
// already set). Supplied by privacy::AuditLog; called inside Append's transaction.
using AuditChainFn = std::function<std::string(std::string_view prev_hash, const AuditEntryRecord& entry)>;

// The chain, its checkpoints. Each method is its own small transaction (entries are appended
// beside the write path, by the server and by CLI commands, not inside the engine's
// transactions); a store with a transaction open on its connection refuses Append with
// kFailedPrecondition.
class AuditRepository {
 public:
  virtual ~AuditRepository() = default;

  // Appends `entries` after the current head, all or nothing: each gets seq = head + 1 + i,
  // prev_hash = its predecessor's hash and hash = chain(prev_hash, entry); their own seq and
  // hashes are ignored. Returns the stored entries. kFailedPrecondition on a read-only store;
  // kUnavailable when the database is busy past its timeout or away.
  virtual Result<std::vector<AuditEntryRecord>> Append(std::span<const AuditEntryRecord> entries,
                                                       const AuditChainFn& chain) = 0;
  // The entry with the highest seq; nullopt while the log is empty.
  virtual Result<std::optional<AuditEntryRecord>> Head() = 0;
  // Entries with seq > `after`, in seq order, to `fn` until it returns false.
  virtual Status Scan(std::int64_t after, const std::function<bool(AuditEntryRecord&&)>& fn) = 0;
  // Entries matching `query`, newest (highest seq) first, at most query.limit.
  virtual Result<std::vector<AuditEntryRecord>> Query(const AuditQuery& query) = 0;

  // Stores a checkpoint (its id ignored) and returns it with its id.
  virtual Result<AuditCheckpointRecord> AddCheckpoint(const AuditCheckpointRecord& checkpoint) = 0;
  // Every checkpoint, in id order.
  virtual Result<std::vector<AuditCheckpointRecord>> Checkpoints() = 0;
};

// A public key the installation signed with (audit checkpoints; later erasure receipts). Kept
// after rotation so that old signatures stay verifiable.
struct SigningKeyRecord {
  std::string key_id;      // 16 hex characters (privacy/signing.h)
  std::string public_key;  // base64 of the 32-byte Ed25519 public key
  Millis created_at = 0;
  friend bool operator==(const SigningKeyRecord&, const SigningKeyRecord&) = default;
};

class SigningKeyRepository {
 public:
  virtual ~SigningKeyRepository() = default;
  // Records `key` once: a second Put of the same key_id and public key is OK and changes nothing
  // (the first created_at stays); the same key_id with another public key is kAlreadyExists.
  virtual Status Put(const SigningKeyRecord& key) = 0;
  // Every key, oldest first.
  virtual Result<std::vector<SigningKeyRecord>> List() = 0;
};

}  // namespace touchpoint::store
