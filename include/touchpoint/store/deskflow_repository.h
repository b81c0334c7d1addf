// store/deskflow_repository.h — what the service desk keeps beside its tickets for the agents'
// comforts and the repeat-inquiry detection (docs/service-desk.md, "Repeat inquiries" and
// "Canned replies, tags, search, auto-close"):
//
//   contacts       one row per ticket that has an intent: the customer, the intent, the channel,
//                  when it opened, and which contact about that intent it was (1 = first in the
//                  window; 2+ = a repeat, with the earlier tickets' numbers)
//   tags, fields   free tags and name → value custom fields of a ticket
//   search tokens  the full-text index: token hash → ticket (a token is a 64-bit hash, keyed with
//                  the blind-index key when encryption is on, so no text is stored here)
//   canned replies named texts with {{placeholders}}
//
// Writes take the transaction they belong to (the desk's change, so a ticket and its index rows
// commit together); reads see committed data. Safe for one thread at a time (as its store).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <touchpoint/core/ids.h>
#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/store/transaction.h>

namespace touchpoint::store {

struct TicketContactRecord {
  std::int64_t ticket = 0;  // number
  CustomerId customer;
  std::string intent;
  std::string channel;
  Millis at = 0;              // when the ticket opened
  std::int32_t ordinal = 1;   // 1: the first contact about `intent` in the window; ≥ 2: a repeat
  std::vector<std::int64_t> previous;  // the earlier contacts' ticket numbers, oldest first
  friend bool operator==(const TicketContactRecord&, const TicketContactRecord&) = default;
};

struct CannedReplyRecord {
  std::string name;   // unique: [a-z0-9_.-]
  std::string title;  // free text shown in pickers
  std::string body;   // the text with {{placeholders}}
  Millis created_at = 0;
  Millis updated_at = 0;
  friend bool operator==(const CannedReplyRecord&, const CannedReplyRecord&) = default;
};

class DeskflowRepository {
 public:
  virtual ~DeskflowRepository() = default;

  // ---- contacts (repeat inquiries) ----
  // Inserts or replaces the contact of record.ticket.
  virtual Status PutContact(Transaction& txn, const TicketContactRecord& record) = 0;
  virtual Result<std::optional<TicketContactRecord>> FindContact(std::int64_t ticket) = 0;
  // The customer's contacts opened at or after `since`, oldest first (by at, then ticket).
  virtual Result<std::vector<TicketContactRecord>> Contacts(CustomerId customer, Millis since) = 0;
  // Every contact opened in [from, to) (0: unbounded), by ticket.
  virtual Status ScanContacts(Millis from, Millis to, const std::function<void(TicketContactRecord&&)>& fn) = 0;

  // ---- tags ----
  // Adds `tag` to `ticket` (nothing when it has it).
  virtual Status AddTag(Transaction& txn, std::int64_t ticket, const std::string& tag) = 0;
  // Removes it (nothing when it does not have it).
  virtual Status RemoveTag(Transaction& txn, std::int64_t ticket, const std::string& tag) = 0;
  // The ticket's tags, sorted.
  virtual Result<std::vector<std::string>> Tags(std::int64_t ticket) = 0;
  // Tickets with `tag`, highest number first, numbers below `before` (0: any), at most `limit`.
  virtual Result<std::vector<std::int64_t>> TicketsWithTag(const std::string& tag, std::int64_t before, int limit) = 0;

  // ---- custom fields ----
  // Sets field `name` of `ticket` to `value`; an empty value removes the field.
  virtual Status SetField(Transaction& txn, std::int64_t ticket, const std::string& name, const std::string& value) = 0;
  // The ticket's fields, by name.
  virtual Result<std::vector<std::pair<std::string, std::string>>> Fields(std::int64_t ticket) = 0;

  // ---- the full-text index ----
  // Adds (token, ticket) pairs (duplicates are ignored).
  virtual Status AddTokens(Transaction& txn, std::int64_t ticket, std::span<const std::int64_t> tokens) = 0;
  // Tickets with `token`, highest number first, numbers below `before` (0: any), at most `limit`.
  virtual Result<std::vector<std::int64_t>> TicketsWithToken(std::int64_t token, std::int64_t before, int limit) = 0;

  // ---- canned replies ----
  // Inserts or replaces the reply named record.name.
  virtual Status PutCanned(Transaction& txn, const CannedReplyRecord& record) = 0;
  virtual Result<std::optional<CannedReplyRecord>> FindCanned(const std::string& name) = 0;
  // Every canned reply, by name.
  virtual Result<std::vector<CannedReplyRecord>> ListCanned() = 0;
  // kNotFound when there is none of that name.
  virtual Status DeleteCanned(Transaction& txn, const std::string& name) = 0;
};

}  // namespace touchpoint::store
