// service/repeats.h — repeat inquiries (docs/service-desk.md, "Repeat inquiries"): when a ticket
// opens, the customer's contacts (tickets) of the last 30 days (RepeatOptions::window_days) are
// grouped by intent; the 2nd and later contact about the same intent is a repeat, and the agent
// sees a summary of the earlier ones:
//
//   3rd contact in 30 days about refund: 11-02 chat (solved, agent li), 11-09 phone (solved), now e-mail
//
// A ticket's intent is the intent ingest computed on its first customer message; a ticket created
// directly (no message yet) counts with its skill as the intent. Contacts without an intent, or
// with the intent "other", are not counted. The contact row (store/deskflow_repository.h) is
// written in the transaction that opens the ticket, so a crash never leaves a ticket without it.
// The repeat rate per intent and per channel (RepeatRates) is what the measurement issue reads.
//
// Thread safety: RepeatDetector is called by the desk under its lock; the functions are pure or
// read the store given.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/service/desk.h>
#include <touchpoint/store/deskflow_repository.h>
#include <touchpoint/store/store.h>

namespace touchpoint::service {

struct RepeatOptions {
  int window_days = 30;  // contacts opened this many days before a new one count
};

// A ChangeListener (service/desk.h) that writes each new ticket's contact row.
class RepeatDetector final : public ChangeListener {
 public:
  explicit RepeatDetector(RepeatOptions options = {}) : options_(options) {}
  Status BeforeCommit(store::Store& store, store::Transaction& txn, std::span<const TicketChange> changes) override;
  const RepeatOptions& options() const { return options_; }

 private:
  RepeatOptions options_;
};

// The intent a new ticket counts with: its first customer message's, else its skill; empty when
// it has none or it is "other".
std::string ContactIntent(const TicketChange& change);

// One earlier contact, as the summary shows it (its status and agent as they are now).
struct EarlierContact {
  std::int64_t number = 0;
  Millis at = 0;
  std::string channel;
  std::string status;
  std::string agent;  // the assignee's name (the local part of their e-mail); empty: nobody
};

struct RepeatInfo {
  std::int64_t number = 0;
  std::string intent;
  int ordinal = 1;  // 2+: a repeat
  int window_days = 30;
  std::string channel;  // this ticket's
  std::vector<EarlierContact> previous;
  bool repeat() const { return ordinal >= 2; }
};

// The repeat information of ticket `number` (nullopt when it has no contact row: no intent, or
// opened before repeat detection). `user_name` names assignees by user id.
Result<std::optional<RepeatInfo>> FindRepeat(store::Store& store, std::int64_t number, int window_days,
                                             const std::function<std::string(std::int64_t)>& user_name);

// "3rd contact in 30 days about refund: 11-02 chat (solved, agent li), 11-09 phone (solved), now
// e-mail"; dates are MM-DD in UTC. Empty for a first contact.
std::string RepeatSummary(const RepeatInfo& info);
// "1st", "2nd", "3rd", "4th", "11th", "21st", …
std::string Ordinal(int n);

// Repeat rates over the contacts opened in [from, to) (0: unbounded).
struct RepeatRate {
  std::string key;  // the intent or the channel
  std::int64_t contacts = 0;
  std::int64_t repeats = 0;
  double rate = 0;  // repeats / contacts
};
struct RepeatReport {
  std::int64_t contacts = 0;
  std::int64_t repeats = 0;
  double rate = 0;
  std::vector<RepeatRate> by_intent;   // most contacts first, then by key
  std::vector<RepeatRate> by_channel;  // same
};
Result<RepeatReport> RepeatRates(store::DeskflowRepository& repo, Millis from, Millis to);

}  // namespace touchpoint::service
