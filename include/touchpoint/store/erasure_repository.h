// store/erasure_repository.h — removing records for subject-rights erasure and for retention
// (docs/security.md, "Subject rights" and "Retention").
//
// Erase removes everything stored about a set of original customers (one person: a live
// customer and every customer merged into it) inside the caller's transaction, so that it
// commits together with the suppression entries or not at all. Events are rewritten in place:
// each chunk holding an event of theirs is re-encoded with that event replaced by a tombstone
// (no customer, no id, no body, zero hash), so seq numbers keep their meaning; scans skip
// tombstones and counts exclude them. Chunks carry the set of customers whose events they hold,
// so only the chunks naming the person are decoded.
//
// Retention deletes records older than a cut-off, at most `limit` at a time (a small
// transaction each, beside the write path).
#pragma once

#include <cstdint>
#include <span>

#include <touchpoint/core/ids.h>
#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/store/transaction.h>

namespace touchpoint::store {

// What an erasure removed, per kind of record.
struct ErasureCounts {
  std::int64_t events = 0;
  std::int64_t customers = 0;
  std::int64_t identifiers = 0;
  std::int64_t merges = 0;
  std::int64_t merge_blocks = 0;
  std::int64_t profiles = 0;
  std::int64_t orders = 0;
  std::int64_t messages = 0;
  std::int64_t surveys = 0;
  std::int64_t escalations = 0;
  std::int64_t consents = 0;         // consent decisions deleted
  // The service desk: the person's tickets stay (numbers, statuses, times, history, tags, the
  // customer number) for the desk's statistics, de-identified: subject, message texts and survey
  // comments become kErasedText, custom field values, attachment links (and files no other
  // message links), search tokens, e-mail Message-IDs and the outbox deliveries of their replies
  // and surveys (channel_messages / csat_surveys name them) go.
  std::int64_t tickets = 0;          // tickets de-identified
  std::int64_t ticket_messages = 0;  // their messages whose text was replaced
  std::int64_t ticket_fields = 0;    // custom field values deleted
  std::int64_t attachments = 0;      // attachment links deleted
  std::int64_t deliveries = 0;       // outbox deliveries of their replies and surveys deleted
  friend bool operator==(const ErasureCounts&, const ErasureCounts&) = default;
};

// What a de-identified ticket's texts read as after an erasure (store-written, never sealed).
inline constexpr char kErasedText[] = "[erased]";

// Record kinds a retention period applies to.
enum class RetentionKind { kEvents, kMessages, kSurveys, kOrders, kEscalations };

class ErasureRepository {
 public:
  virtual ~ErasureRepository() = default;

  // Removes every record of `customers` (original customer ids): their events (tombstoned in
  // their chunks), customer rows, identifiers, merges and merge blocks naming them, profiles,
  // orders, messages, surveys, escalation firings and consent decisions; and de-identifies the
  // service desk's tickets opened for them (ErasureCounts says what stays). A de-identified
  // ticket's version is raised, so a desk holding it from before fails its next update as
  // "changed concurrently" instead of writing the texts back. Unknown ids are no error.
  virtual Result<ErasureCounts> Erase(Transaction& txn, std::span<const CustomerId> customers) = 0;

  // After a committed erasure: makes the freed bytes unreadable in the store's files where the
  // backend can (SQLite: secure_delete was on during Erase; the WAL is checkpointed into the
  // database and truncated). kUnavailable when readers kept the WAL from being truncated (the
  // next call, or the next checkpoint, finishes it). PostgreSQL: nothing (crypto-shredding).
  virtual Status Scrub() = 0;

  // Deletes up to `limit` records of `kind` older than `before` (time < before) in `txn`;
  // returns how many. Events go a whole chunk at a time: a chunk whose newest event is older
  // (never the last chunk, whose seq range numbers the next events). 0: nothing left to delete.
  virtual Result<std::int64_t> DeleteOlderThan(Transaction& txn, RetentionKind kind, Millis before, int limit) = 0;
};

}  // namespace touchpoint::store
