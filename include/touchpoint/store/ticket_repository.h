// store/ticket_repository.h — the service desk's tickets: the ticket rows, the messages of their
// threads, the append-only history of every change, and the desk's feed cursor (the last event
// seq its post-commit consumer handled, written in the same transaction as what it produced).
//
// Texts are kept apart so that an encrypting wrapper repository can handle exactly them: the
// only free-text fields are TicketRecord::subject and TicketMessageRecord::text. History rows
// never carry a text (a message is recorded by its id, a subject change as "changed").
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <touchpoint/core/ids.h>
#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/store/transaction.h>

namespace touchpoint::store {

struct TicketRecord {
  std::int64_t number = 0;   // shown as TP-000123; unique, never reused (gaps allowed)
  std::int64_t version = 0;  // 1 when created; every Update stores expected + 1
  CustomerId customer;       // the live customer when the ticket was opened
  std::string status;        // new | open | pending_customer | pending_third_party | solved | closed
  std::string priority;      // high | medium | low
  std::string type;          // request | complaint | incident
  std::string channel;       // the channel it was opened on (chat, email, …)
  std::string skill;
  std::string language;
  std::string queue;
  std::int64_t assignee = 0;  // user id of the agent; 0: nobody
  std::string subject;        // text (see the top of this file)
  Millis created_at = 0;
  Millis updated_at = 0;
  Millis last_message_at = 0;   // the newest message of the thread (continuity counts from it)
  Millis solved_at = 0;         // 0 unless solved/closed
  std::int32_t reopen_count = 0;
  std::int64_t merged_into = 0;  // the ticket this one was merged into; 0: none
  friend bool operator==(const TicketRecord&, const TicketRecord&) = default;
};

struct TicketMessageRecord {
  std::int64_t id = 0;      // assigned by AddMessage (ascending in insertion order)
  std::int64_t ticket = 0;  // number
  Millis at = 0;
  std::string author;  // customer | agent | bot
  std::int64_t agent = 0;  // the agent's user id for author agent; 0 otherwise
  std::string channel;
  bool internal = false;  // an internal note (never sent to the customer)
  std::string text;       // text (see the top of this file)
  std::string message_id;  // the tracking event's messageId for inbound messages; empty otherwise
  std::string sentiment_label;
  double sentiment_score = 0;
  std::string intent;
  friend bool operator==(const TicketMessageRecord&, const TicketMessageRecord&) = default;
};

struct TicketHistoryRecord {
  std::int64_t id = 0;  // assigned by AddHistory (ascending in insertion order)
  std::int64_t ticket = 0;
  Millis at = 0;
  std::string actor_kind;  // agent | supervisor | admin | bot | customer | system
  std::string actor;       // user e-mail, "key:<prefix>", rule name ("handoff", "continuity"), …
  std::string field;       // status | priority | assignee | queue | type | skill | language | message | merge | created …
  std::string before;
  std::string after;
  friend bool operator==(const TicketHistoryRecord&, const TicketHistoryRecord&) = default;
};

struct TicketFilter {
  std::string status;        // empty: any
  std::string queue;         // empty: any
  std::int64_t assignee = -1;  // -1: any; 0: unassigned
  CustomerId customer;       // invalid: any
  std::int64_t before = 0;   // > 0: only numbers below it (the cursor: newest first)
  int limit = 50;
};

// Writes take the transaction they belong to; reads see committed data. Safe for one thread at a
// time (as its store).
class TicketRepository {
 public:
  virtual ~TicketRepository() = default;

  // A new ticket number, never handed out again (also when the transaction rolls back).
  virtual Result<std::int64_t> NextNumber(Transaction& txn) = 0;
  // Inserts `ticket` (its number from NextNumber; version 1). kAlreadyExists for a used number.
  virtual Status Create(Transaction& txn, const TicketRecord& ticket) = 0;
  // Stores `ticket` when the stored version is `expected_version`, with version expected + 1.
  // kFailedPrecondition ("changed concurrently") when another writer changed it first; kNotFound
  // for an unknown number.
  virtual Status Update(Transaction& txn, const TicketRecord& ticket, std::int64_t expected_version) = 0;
  virtual Result<std::optional<TicketRecord>> Find(std::int64_t number) = 0;
  // The customer's newest ticket that is not closed and not merged away.
  virtual Result<std::optional<TicketRecord>> FindActive(CustomerId customer) = 0;
  // Matching tickets, newest (highest number) first, at most filter.limit.
  virtual Result<std::vector<TicketRecord>> List(const TicketFilter& filter) = 0;
  // Every ticket in number order (reports).
  virtual Status Scan(const std::function<void(TicketRecord&&)>& fn) = 0;

  // Appends messages (ids assigned in order).
  virtual Status AddMessages(Transaction& txn, std::span<const TicketMessageRecord> messages) = 0;
  // The thread of `ticket`, oldest first.
  virtual Result<std::vector<TicketMessageRecord>> Messages(std::int64_t ticket) = 0;
  // Moves every message of `from` to the thread of `to` (a merge).
  virtual Status MoveMessages(Transaction& txn, std::int64_t from, std::int64_t to) = 0;

  // Appends history rows (append-only: there is no update or delete).
  virtual Status AddHistory(Transaction& txn, std::span<const TicketHistoryRecord> rows) = 0;
  // The history of `ticket`, oldest first.
  virtual Result<std::vector<TicketHistoryRecord>> History(std::int64_t ticket) = 0;
  // Every history row, by ticket then id (reports).
  virtual Status ScanHistory(const std::function<void(TicketHistoryRecord&&)>& fn) = 0;

  // The feed cursor named `name` (nullopt when never set), and setting it in a transaction.
  virtual Result<std::optional<std::int64_t>> Cursor(const std::string& name) = 0;
  virtual Status SetCursor(Transaction& txn, const std::string& name, std::int64_t seq) = 0;
};

}  // namespace touchpoint::store
