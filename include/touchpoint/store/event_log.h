// store/event_log.h — the append-only log of every accepted tracking message (the truth that
// profiles are derived from), with its de-duplication hashes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include <touchpoint/core/ids.h>
#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/store/transaction.h>

namespace touchpoint::store {

// 128-bit hash of a Segment messageId: the de-duplication key.
struct MessageHash {
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;
  friend bool operator==(const MessageHash&, const MessageHash&) = default;
};

enum class EventKind : int { kIdentify = 1, kTrack = 2, kPage = 3, kAlias = 4 };

struct EventRecord {
  std::int64_t seq = 0;  // assigned by the log on Append (insertion order, from 1; erased events
                       // and retention leave numbers that no scan returns)
  MessageHash hash;
  std::string message_id;
  CustomerId customer;  // original customer of the event's anchor identifier
  Millis timestamp = 0;
  EventKind kind = EventKind::kTrack;
  std::string name;  // track event name or page name
  std::string body;  // the normalised event as JSON (replayed on identity splits)
};

// A backend's ahead-of-time encoding of events about to be appended (see Maintenance); opaque
// above the store.
struct PreparedEvents {
  virtual ~PreparedEvents() = default;
};

class EventLog {
 public:
  virtual ~EventLog() = default;

  // Appends `events` in order and assigns their seq. `prepared`, when given, must come from this
  // store's Maintenance::PrepareEvents for exactly these events (a stale one is ignored).
  virtual Status Append(Transaction& txn, std::span<EventRecord> events,
                        const PreparedEvents* prepared = nullptr) = 0;
  // For store copy only (store/copy.h): appends `events` keeping their seq numbers, which must
  // ascend and start above LastSeq. Numbers may be skipped: a skipped seq holds no event, as after
  // an erasure or retention on the source. Afterwards LastSeq is at least `last_seq`: the numbers
  // after the last event up to it are stored as erased events (tombstones: no personal data), so
  // the next Append continues after them. kInvalidArgument when a seq is not above the previous.
  virtual Status AppendWithSeqs(Transaction& txn, std::span<const EventRecord> events, std::int64_t last_seq) = 0;
  // Raises the stored time of the newest event to `at` when larger.
  virtual Status RaiseNewestEventAt(Transaction& txn, Millis at) = 0;

  // Every stored hash (start-up rebuilds the de-duplication set from it).
  virtual Status ScanHashes(const std::function<void(const MessageHash&)>& fn) = 0;
  // Events with seq >= from_seq, in seq order; `fn` returns false to stop.
  virtual Status ScanFrom(std::int64_t from_seq, const std::function<bool(EventRecord&&)>& fn) = 0;
  // The seq of the last stored event (0 when the log is empty).
  virtual Result<std::int64_t> LastSeq() = 0;
  // Time of the newest event ever stored (0 when none): features are relative to it.
  virtual Result<Millis> NewestEventAt() = 0;
  virtual Result<std::int64_t> Count() = 0;
};

}  // namespace touchpoint::store
