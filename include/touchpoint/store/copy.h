// store/copy.h — copying one store into another, repository by repository (`touchpoint store
// migrate`): an embedded SQLite installation into PostgreSQL, or any backend into any other, through
// the repositories alone.
//
// What a copy guarantees:
//  - Everything: the event log (same seq numbers, same newest-event time; numbers the source
//    holds no event at, erased or removed by retention, hold none on the target either, and the
//    source's last seq is kept even when its last events were erased), customers, identifiers,
//    merges, merge blocks, profiles and their checkpoint, orders, messages, surveys, escalations, consents,
//    API keys (hashes, roles, creation and revocation times), job records, saved segments, users
//    (password hashes, roles, TOTP secrets, locks) and teams with their supervisors, the audit
//    chain (same seq numbers and hashes), its signed checkpoints and the signing keys, the
//    differential-privacy budgets with their ledgers, and the erasure suppression list. Login
//    sessions are not copied: people log in again on the new store. Not copied yet: the service
//    desk (tickets and their threads, agents and routing decisions, SLA policies, events and
//    complaint tasks, contacts, tags, fields, the search index, canned replies, channel messages,
//    CSAT surveys, attachments) and the outbox's deliveries.
//  - Bounded memory: rows are read as a stream and written in batches of CopyOptions::batch_rows,
//    one target transaction per batch.
//  - Resumable: a copy that stopped midway (killed, database gone) and is run again continues where
//    the target ends and finishes with an exact copy, without duplicates. A target that has been
//    copied completely and whose source has grown since is brought up to date the same way.
//      events                 appended after the target's last seq with the source's numbers
//                             (EventLog::AppendWithSeqs; the target must be a prefix)
//      identity, profiles     upserted by id (every run rewrites them)
//      orders, messages,      append-only without ids: the first N source rows are skipped, N the
//      surveys, escalations,  target's count (insertion order is the contract); row N must be equal
//      consents               (consents: compared without their ids, which the target assigns)
//      API keys               created when the target has no key with the hash; a revocation the
//                             target lacks is applied
//      jobs                   paired in id order: the target's i-th job must be the source's i-th
//                             (same name, creation time, trigger, parameters); it is updated when
//                             it differs, later ones are created
//      segments               put by name when absent or different
//      audit entries          appended after the target's head, which must be the source's entry
//                             of that seq with the same hash; checkpoints: the target's must be
//                             the source's first ones; signing keys put (idempotent)
//      privacy ledgers        per data set, the target's releases must be the source's first
//                             ones; the rest are recorded, then the budget is set
//      suppressions           added (a set: every run adds every entry again)
//      teams, users           created by name / e-mail when absent, else updated; the target
//                             assigns ids, so team membership and supervisors are mapped over
//    The profile checkpoint and the newest-event time are written last, so a target cut off midway
//    never claims profiles it does not hold. Until a copy has finished, the target is not a usable
//    installation (its profiles and identity tables are partly copied): do not start Touchpoint on
//    it before CopyStore (or `touchpoint store migrate`) succeeded.
//  - Refusal instead of damage: a target that is not a prefix of the source (other events, more rows
//    than the source, keys, jobs or segments the source lacks) is refused with kFailedPrecondition
//    naming what differs, before anything of the table concerned is written.
//  - Verified: at the end the counts of both stores are compared table by table.
//
// Neither store may change during a copy (the CLI holds both writer locks). Single-threaded.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/store/store.h>

namespace touchpoint::store {

struct CopyOptions {
  // Rows per target transaction (and at most this many rows held in memory at once).
  std::int64_t batch_rows = 20'000;
  // For tests of resumption: once this many rows have been written (counted after each committed
  // batch, key, job or segment), the copy stops with kUnavailable as if it had been killed.
  // 0: no limit.
  std::int64_t stop_after_rows = 0;
};

// Receives the copy's progress (on the copying thread).
class CopyProgress {
 public:
  virtual ~CopyProgress() = default;
  // Called when a table starts (done = 0 or what the target already had), after each committed
  // batch, and when the table is finished (then done == total). `done` counts source rows dealt
  // with, including those the target already held; `total` is the source's row count (for
  // profiles an upper bound, the number of customers, until the final call).
  virtual void Update(std::string_view table, std::int64_t done, std::int64_t total) = 0;
};

// One row of the verification: a count (or, for "profile checkpoint", a value) in both stores.
struct TableCount {
  std::string table;
  std::int64_t source = 0;
  std::int64_t target = 0;
  friend bool operator==(const TableCount&, const TableCount&) = default;
};

struct CopyReport {
  // events, customers (live, not merged away), identifiers, merges (in force), orders, messages,
  // surveys, escalations, api keys, jobs, segments, users, teams, audit entries, audit
  // checkpoints, signing keys, privacy releases, suppressions, profile checkpoint.
  std::vector<TableCount> tables;
  // Rows this run wrote, counting the identity and profile rows every run upserts again.
  std::int64_t rows_written = 0;

  // The first row whose numbers differ; nullptr when every one is equal.
  const TableCount* FirstMismatch() const;
};

// The counts of both stores, table by table (rows_written = 0). Fails only when a store cannot be
// read; a difference is reported in the rows, not as an error.
Result<CopyReport> CompareCounts(Store& from, Store& to);

// Copies `from` into `to` (see the top of this file) and compares the counts. `to` must be
// writable; `progress` may be null. Errors:
//   kFailedPrecondition  the target is not a prefix of the source (the message says what differs)
//   kInternal            the counts differ after the copy (the message names the table and both
//                        numbers), or a target assigned other seq numbers than the source's
//   kUnavailable         a store failed, or CopyOptions::stop_after_rows was reached
//   kInvalidArgument     batch_rows < 1
// REQUIRES: neither store changes while the copy runs.
Result<CopyReport> CopyStore(Store& from, Store& to, const CopyOptions& options = {},
                             CopyProgress* progress = nullptr);

}  // namespace touchpoint::store
