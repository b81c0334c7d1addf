// store/kpi_repository.h — the measured facts of the service desk's tickets (insight/kpi_facts.h,
// docs/measurement.md "Spans, stored once"): per ticket, what KPIs group and count by (channel,
// queue, agent, intent, …, first solve, reopens, agent replies, sentiment), and every span of its
// clock as service/spans.h defines it — first response, next responses, resolution (and since the
// last reopen), each pause — with its start and end instants, the events that started and ended it,
// wall-clock and business seconds, and the SLA target it had with whether it was met.
//
// A ticket's facts are replaced as a whole (PutTicket) in the desk's transaction of the change that
// produced them, so the spans here and the desk's history never disagree; Clear + PutTicket for
// every ticket is the recompute from the history (`touchpoint kpi rebuild`).
//
// Writes take the transaction they belong to; reads see committed data. Safe for one thread at a
// time (as its store).
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

struct KpiTicketRecord {
  std::int64_t ticket = 0;  // number
  CustomerId customer;
  Millis created_at = 0;
  std::string status;
  std::string channel;
  std::string queue;
  std::string priority;
  std::string type;
  std::string intent;  // of the first customer message ("" when none)
  std::string tier;    // the customer's tier when measured ("" when unknown)
  std::string team;    // the assignee's team ("" when none)
  std::int64_t agent = 0;  // the assignee's user id (0: nobody)
  std::string policy;      // the SLA policy that applied
  Millis first_solved_at = 0;  // 0: never solved
  Millis solved_at = 0;        // the last solve while solved or closed; 0 otherwise
  std::int32_t agent_replies = 0;               // public agent replies up to the first solve
  std::vector<Millis> reopened_at;              // every reopen, oldest first
  bool escalated = false;                       // an escalation rule fired (other than a bot hand-off)
  bool bot_first = false;                       // a bot answered before any agent
  std::int32_t sentiment_count = 0;             // customer messages with a sentiment
  double sentiment_sum = 0;                     // of their scores (−1 … 1)
  std::int32_t sentiment_negative = 0;          // of them labelled negative
  Millis measured_at = 0;                       // when these facts were computed
  friend bool operator==(const KpiTicketRecord&, const KpiTicketRecord&) = default;
};

struct KpiSpanRecord {
  std::int64_t ticket = 0;
  std::string kind;        // first_response | next_response | resolution | resolution_since_reopen | pause
  std::int32_t seq = 0;    // 0 … for next responses and pauses (oldest first); 0 for the others
  Millis start = 0;
  Millis stop = 0;         // 0: still running when measured
  std::string start_event; // customer_message | created | bot_handoff | reopened | pending_customer | …
  std::string end_event;   // agent_reply | solved | resumed | "" (running)
  std::int64_t wall_seconds = 0;
  std::int64_t business_seconds = 0;  // on the ticket's calendar (wall-clock without one)
  std::int64_t target_seconds = 0;    // the SLA target of this span (0: none)
  std::int32_t met = -1;              // 1 met, 0 breached, -1 no target or still running
  friend bool operator==(const KpiSpanRecord&, const KpiSpanRecord&) = default;
};

class KpiRepository {
 public:
  virtual ~KpiRepository() = default;

  // Replaces ticket.ticket's facts and all its spans with these (spans it no longer has go).
  virtual Status PutTicket(Transaction& txn, const KpiTicketRecord& ticket, std::span<const KpiSpanRecord> spans) = 0;
  virtual Result<std::optional<KpiTicketRecord>> FindTicket(std::int64_t ticket) = 0;
  // The ticket's spans by kind, then seq.
  virtual Result<std::vector<KpiSpanRecord>> Spans(std::int64_t ticket) = 0;
  // The tickets created in [from, to) (0: unbounded), by number.
  virtual Status ScanTickets(Millis from, Millis to, const std::function<void(KpiTicketRecord&&)>& fn) = 0;
  // The spans of the tickets created in [from, to) (0: unbounded), by ticket, kind, seq.
  virtual Status ScanSpans(Millis from, Millis to, const std::function<void(KpiSpanRecord&&)>& fn) = 0;
  // Removes every ticket's facts and spans (before a recompute). Returns how many tickets.
  virtual Result<std::int64_t> Clear(Transaction& txn) = 0;
};

}  // namespace touchpoint::store
