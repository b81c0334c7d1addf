// service/desk_events.h — the desk's events out (docs/service-desk.md, "Events and webhooks"):
// ticket.created, ticket.assigned, ticket.replied, ticket.solved and supervisor.alert from the
// desk's own changes, and sla.warning, sla.breached, complaint.task_overdue (or any other kind)
// from the SLA timer and the complaint loop through Emit. Each goes
//
//   - to the configured [[webhooks]] whose `events` filter matches, through the outbox (signed
//     HTTP POST of JSON, an idempotency key per delivery, retries with backoff: outbox/outbox.h).
//     The desk's own events are enqueued in the transaction of the change that caused them, so a
//     kill -9 never loses one nor sends one twice (the outbox's guarantee: at least once with the
//     same delivery id). Sending is the outbox dispatcher's: a failing endpoint never blocks the desk;
//   - onto the live feed: an in-memory ring of the newest events with increasing sequence numbers
//     (GET /v1/desk/feed?after=N), which starts empty at each process start.
//
// A supervisor alert (the escalation rule supervisor_alert fired on a ticket's message) names the
// supervisors to notify: those of the team whose name is the ticket's queue, else of the team of
// its assignee, else every team's; with an SMTP relay configured each of them also gets an e-mail
// through the outbox (ticket number, rule, queue, priority: never the customer's text).
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/thread_annotations.h>
#include <touchpoint/core/time.h>
#include <touchpoint/service/desk.h>
#include <touchpoint/store/store.h>

namespace touchpoint::outbox {
class Outbox;
}

namespace touchpoint::service {

// One event: what the SLA timer and the complaint loop hand to Emit (a plain struct, so that they
// can hold a std::function<void(const DeskEvent&)> sink and compile without this module).
struct DeskEvent {
  std::string kind;         // "sla.breached", "complaint.task_overdue", …: [a-z0-9_.], 1–64 bytes
  std::int64_t ticket = 0;  // the ticket's number; 0: none
  // Extra values for the payload's data (strings; e.g. {"span","first_response"}, {"due_at",…}).
  std::vector<std::pair<std::string, std::string>> fields;
  // Empty: a random id. Give a stable one ("sla.breached:TP-000123:first_response") to make a
  // repeated Emit after a crash send nothing twice (the outbox keeps one delivery per id).
  std::string id;
  Millis at = 0;  // 0: now
};

// An event on the live feed.
struct FeedEntry {
  std::int64_t seq = 0;  // 1, 2, … since the process started
  std::string id;        // the event id (the webhook deliveries' ids are "<id>.<endpoint>")
  std::string kind;
  std::int64_t ticket = 0;
  Millis at = 0;
  std::string data_json;  // the payload's data object
};

struct DeskEventsOptions {
  size_t feed_capacity = 1000;   // the ring keeps this many newest events
  const Clock* clock = nullptr;  // nullptr: the system clock; must outlive this
};

class DeskEvents final : public ChangeListener {
 public:
  explicit DeskEvents(DeskEventsOptions options = {});

  // The outbox the webhooks go through (null: the feed only). `outbox` must outlive this object
  // or be replaced first. May be set while the desk runs.
  void SetOutbox(outbox::Outbox* outbox) { outbox_.store(outbox); }

  // ChangeListener: the desk's changes → events, enqueued in the change's transaction and put
  // on the feed once it commits.
  Status BeforeCommit(store::Store& store, store::Transaction& txn, std::span<const TicketChange> changes) override;
  void AfterCommit(std::span<const TicketChange> changes) override;

  // The entry point of the SLA timer and the complaint loop: enqueues `event` in a transaction of
  // its own on the outbox's store, then puts it on the feed. kInvalidArgument for a bad kind;
  // the outbox's errors (kUnavailable) as they come — the caller retries (a stable id makes that safe).
  Status Emit(const DeskEvent& event);
  // The same inside the caller's transaction on `store` (same database as the outbox's store);
  // the caller puts it on the feed with Publish once its transaction committed.
  Status Enqueue(store::Store& store, store::Transaction& txn, DeskEvent& event);
  void Publish(const DeskEvent& event);

  // Feed entries with seq > `after`, oldest first, at most `limit`. *gap (optional) is set when
  // entries after `after` were already dropped from the ring.
  std::vector<FeedEntry> Feed(std::int64_t after, int limit, bool* gap = nullptr) const;
  std::int64_t last_seq() const;

  // The payload's data object of `event` (exposed for tests).
  static std::string DataJson(const DeskEvent& event);

 private:
  Millis Now() const;
  Status Validate(DeskEvent& event) const;
  Result<std::vector<DeskEvent>> EventsOf(store::Store& store, const TicketChange& change) const;

  DeskEventsOptions options_;
  std::atomic<outbox::Outbox*> outbox_{nullptr};
  mutable std::mutex mu_;
  std::deque<FeedEntry> ring_ TP_GUARDED_BY(mu_);
  std::int64_t seq_ TP_GUARDED_BY(mu_) = 0;
  std::vector<DeskEvent> staged_ TP_GUARDED_BY(mu_);  // BeforeCommit → AfterCommit
};

}  // namespace touchpoint::service
