// service/sla.h — SLA policies as data, and the SLA service: a background timer that fires
// warnings, breaches and escalation steps on time for every open ticket (also those nobody
// touches), stores each as an event unique per (ticket, target, kind, cycle) with a history row,
// raises priorities through the desk, and tells a sink (webhooks, live feed) about each.
//
// Policies (docs/service-desk.md, "SLA policies and timers"): the first policy whose conditions
// all match a ticket applies (a condition that lists nothing matches everything); its targets
// are business minutes on its calendar (no calendar: wall-clock minutes) for first response,
// next response and resolution (service/spans.h defines them), each with a warning lead time;
// its ladder says what happens at warning, at breach and at breach + N minutes. Without a
// matching policy the baseline applies: reply within 24 hours (wall clock).
//
// Due times are recomputed from the ticket's history and messages whenever the ticket changes
// (never stored and shifted), so a restart computes the same due times and, as events are unique,
// fires only what was not fired before.
//
// Thread safety: SlaService's public methods may be called from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <touchpoint/calendar/calendar.h>
#include <touchpoint/core/result.h>
#include <touchpoint/core/thread_annotations.h>
#include <touchpoint/core/time.h>
#include <touchpoint/service/desk.h>
#include <touchpoint/service/spans.h>
#include <touchpoint/store/sla_repository.h>

namespace touchpoint::service {

// The three SLA targets, by their names in events and APIs.
inline constexpr std::string_view kFirstResponse = "first_response";
inline constexpr std::string_view kNextResponse = "next_response";
inline constexpr std::string_view kResolution = "resolution";

struct SlaGoal {
  double minutes = 0;          // 0: no target
  double warning_minutes = 0;  // the warning fires this long before the target (0: no warning)
  bool operator==(const SlaGoal&) const = default;
};

// One rung of the escalation ladder: at `at` (warning | breach) + after_minutes, do `actions`
// (notify_assignee, notify_supervisor, notify_manager, raise_priority).
struct SlaLadderStep {
  std::string at = "breach";
  double after_minutes = 0;
  std::vector<std::string> actions;
  bool operator==(const SlaLadderStep&) const = default;
};

struct SlaConditions {
  std::vector<std::string> priorities, types, channels, tiers, segments, queues;
  bool operator==(const SlaConditions&) const = default;
};

struct SlaPolicy {
  std::string name;
  std::int64_t position = 0;  // policies are tried in ascending position
  SlaConditions when;
  std::string calendar;  // a calendar's name; empty: wall clock
  SlaGoal first_response, next_response, resolution;
  std::vector<SlaLadderStep> ladder;  // empty: DefaultLadder()
  bool operator==(const SlaPolicy&) const = default;
};

// warning: notify_assignee; breach: notify_supervisor, raise_priority; breach + 60: notify_manager.
std::vector<SlaLadderStep> DefaultLadder();
// "baseline": first and next response within 24 h (wall clock), warning 1 h before; the default
// ladder; matches every ticket.
SlaPolicy BaselinePolicy();
// kInvalidArgument naming the field ("first_response.minutes", "ladder[1].at", …).
Status ValidatePolicy(const SlaPolicy& policy);
// The policy as a JSON document (the repository's body, the CLI's and API's shape), and back.
std::string PolicyToJson(const SlaPolicy& policy);
Result<SlaPolicy> PolicyFromJson(std::string_view json);

// What policies may select on besides the ticket itself.
struct CustomerFacts {
  std::string tier;
  std::vector<std::string> segments;
};
// The first of `policies` (in order) whose conditions match; nullptr when none does.
const SlaPolicy* MatchPolicy(std::span<const SlaPolicy> policies, const store::TicketRecord& ticket,
                             const CustomerFacts& customer);

// One moment the timer acts at.
struct SlaDue {
  std::string target;  // first_response | next_response | resolution | task:followup | task:feedback
  std::string kind;    // warning | breach | escalation+<minutes> | overdue
  std::int64_t cycle = 0;
  Millis at = 0;         // when this fires
  Millis due_at = 0;     // the target's due time (the breach instant)
  Millis warning_at = 0; // the target's warning instant (0: none)
  std::vector<std::string> actions;
};

// The due moments of `ticket` under `policy` from its spans: for each running target, its
// warning, breach and ladder steps (a target paused has none until the pause ends). `calendar`
// null: wall clock. kInvalidArgument outside the calendar's years.
Result<std::vector<SlaDue>> ComputeDues(const SlaPolicy& policy, const calendar::Calendar* calendar,
                                        const store::TicketRecord& ticket, const TicketSpans& spans);

// An SLA event as the sink sees it (after it is stored with its history row).
struct SlaEvent {
  std::int64_t ticket = 0;
  std::string target;
  std::string kind;
  std::int64_t cycle = 0;
  Millis due_at = 0;
  Millis fired_at = 0;
  std::string policy;
  std::vector<std::string> actions;
  std::int64_t assignee = 0;
  std::string queue;
  std::string priority;  // after the event (raised, if it raised it)
};
using SlaSink = std::function<void(const SlaEvent&)>;
// Runs inside the transaction that stores the SLA event (on the desk's store), before it commits:
// what must not be lost between the event's commit and a crash (the outbox's webhook deliveries,
// DeskEvents::Enqueue) goes here, so it commits with the event or not at all. An error rolls the
// event back; the timer fires it again after a pause.
using SlaTxnSink = std::function<Status(store::Store&, store::Transaction&, const SlaEvent&)>;

struct SlaOptions {
  std::vector<SlaPolicy> policies;  // in order; the baseline is tried last
  // Calendars by name (policies name them); must outlive the service.
  std::map<std::string, const calendar::Calendar*> calendars;
  // The ticket's calendar when its policy has none (complaint feedback, spans); empty: wall clock.
  std::string default_calendar;
  std::function<CustomerFacts(CustomerId)> customer_facts;  // may be empty
  SlaTxnSink enqueue;  // may be empty; in the event's transaction (above)
  SlaSink sink;        // may be empty; after the event committed (logs, the live feed)
  // The complaint loop (service/complaints.h): spawn its tasks for complaint tickets.
  bool complaint_loop = true;
};

// How a ticket is measured (insight/kpi_facts.h, the SLA timer, `ticket list --breaching`): the
// policy that applies, the ticket's calendar (its policy's, else the desk's default; null: wall
// clock), the targets' calendar (the policy's own; null: wall clock) and the customer's tier.
struct SlaClock {
  const SlaPolicy* policy = nullptr;
  const calendar::Calendar* calendar = nullptr;
  const calendar::Calendar* target_calendar = nullptr;
  std::string tier;
};
// The one resolution: the first of options.policies matching `ticket` and `facts`, else
// `baseline`, with its calendars from options.calendars.
SlaClock ResolveClock(const SlaOptions& options, const SlaPolicy& baseline, const store::TicketRecord& ticket,
                      const CustomerFacts& facts);

// The SLA setup as an installation runs it — the server, the CLI's desk, `kpi rebuild` and
// `ticket list --breaching` alike: the policies in force (those stored with `touchpoint desk
// sla-policies set`, by position, then the configured [[sla.policies]] whose names no stored one
// takes) and the calendars they and the desk name (built-in names or calendar files), owned here.
class SlaSetup {
 public:
  // `configured`: the config's policies as JSON; `default_calendar`: [sla] calendar ("" none).
  // kInvalidArgument naming the policy or calendar that does not parse or load.
  static Result<std::unique_ptr<SlaSetup>> Load(store::SlaRepository& stored, std::span<const std::string> configured,
                                                const std::string& default_calendar);
  // SlaService's options with these policies and calendars (pointing into this setup: it must
  // outlive the service); the caller adds customer_facts, sinks and the complaint loop.
  SlaOptions Options() const;
  // How `ticket` is measured (no customer facts: its tier is unknown here).
  SlaClock ClockOf(const store::TicketRecord& ticket) const;
  const std::vector<SlaPolicy>& policies() const { return options_.policies; }
  // The desk's calendar ([sla] calendar); null: wall clock.
  const calendar::Calendar* default_calendar() const;
  size_t stored_policies() const { return stored_; }

 private:
  SlaSetup() = default;
  SlaOptions options_;
  SlaPolicy baseline_ = BaselinePolicy();
  std::vector<std::unique_ptr<calendar::Calendar>> owned_;
  size_t stored_ = 0;
};

// A target's current state, for GET /v1/desk/sla.
struct SlaState {
  std::int64_t ticket = 0;
  std::string target;
  std::int64_t cycle = 0;
  std::string state;  // ok | warning | breached
  Millis warning_at = 0;
  Millis due_at = 0;
  std::string policy;
};

class SlaService {
 public:
  // Subscribes to the desk's changes and loads the open tickets with their histories, fired events
  // and open complaint tasks through `desk` (one scan each); their due times are computed by the
  // first RunDue (which then reads only each ticket's thread). `desk` and `clock` must outlive
  // the service. Nothing fires until RunDue() or Start().
  static Result<std::unique_ptr<SlaService>> Open(Desk& desk, const Clock& clock, SlaOptions options);
  ~SlaService();
  SlaService(const SlaService&) = delete;
  SlaService& operator=(const SlaService&) = delete;

  // Starts the timer thread: it sleeps until the next due time (or a change) and fires what is
  // due. Stop() ends it; the destructor stops it too.
  void Start();
  void Stop();

  // Recomputes the changed tickets and fires everything due at clock.Now(), on the calling
  // thread (the timer thread's step; tests call it with a fake clock). Returns the events fired.
  Result<int> RunDue();
  // Called after a ticket changed (by the desk's change listener that Open adds).
  void OnTicketChanged(std::int64_t number);
  // The next instant something is due (0: nothing).
  Millis next_due() const;

  // Targets whose state is `state` (warning | breached; empty: both), by ticket.
  std::vector<SlaState> States(std::string_view state) const;
  // Tickets with a fired breach of a target not yet met, highest number first (kept as the timer
  // fires and tickets change: no scan).
  std::vector<std::int64_t> Breaching() const;
  // The spans of a ticket (its calendar: its policy's, else the default).
  Result<TicketSpans> Spans(std::int64_t number);
  // The policy that applies to a ticket now.
  Result<SlaPolicy> PolicyFor(std::int64_t number);

  // ---- the complaint loop (service/complaints.h) ----
  // Open tasks (state due | overdue; empty: both), and every task of a ticket.
  struct TaskView {
    store::ComplaintTaskRecord task;
    std::string state;  // due | overdue | done
  };
  std::vector<TaskView> Tasks(std::string_view state) const;
  Result<std::vector<TaskView>> TicketTasks(std::int64_t number);
  // Completes task `id` of ticket `number`: kNotFound for an unknown task (or another ticket's),
  // kFailedPrecondition when done already; kPermissionDenied as Desk::CheckCanChange. A history
  // row records it.
  Result<store::ComplaintTaskRecord> CompleteTask(std::int64_t number, std::int64_t id, const Actor& actor);

  // The desk's calendar (SlaOptions::default_calendar); null: wall clock.
  const calendar::Calendar* DefaultCalendar() const;
  // How a ticket is measured now (insight/kpi_facts.h): the policy that applies, the ticket's
  // calendar (its policy's, else the default), the targets' calendar (the policy's own; null: wall
  // clock) and the customer's tier. Reads only what Open fixed: callable under the desk's lock.
  using TicketClock = SlaClock;
  TicketClock ClockOf(const store::TicketRecord& ticket) const;

  std::int64_t warnings_fired() const { return warnings_.load(); }
  std::int64_t breaches_fired() const { return breaches_.load(); }
  std::int64_t overdue_fired() const { return overdue_.load(); }
  size_t tracked() const;

 private:
  struct Tracked;
  struct Preloaded;
  class DeskListener;
  SlaService(Desk& desk, const Clock& clock, SlaOptions options);
  Status Load();
  Status Recompute(std::int64_t number);
  // Reads what Recompute needs of a ticket under the desk's lock: what Load read for it (if the
  // ticket did not change since), the rest from the store. Sets `*ticket` to nullopt when gone.
  Status ReadTicket(std::int64_t number, std::optional<store::TicketRecord>* ticket,
                    std::vector<store::TicketHistoryRecord>* history, std::vector<store::TicketMessageRecord>* messages,
                    std::vector<store::ComplaintTaskRecord>* tasks);
  Status Fire(std::int64_t number, const SlaDue& due);
  // The ticket's calendar: its policy's, else the default (null: wall clock).
  const calendar::Calendar* CalendarFor(const SlaPolicy& policy) const;
  const SlaPolicy& PolicyOf(const store::TicketRecord& ticket) const;
  void Loop();
  void UpdateBreaching(const Tracked& tracked) TP_REQUIRES(mu_);

  Desk& desk_;
  std::shared_ptr<DeskListener> listener_;  // added to the desk by Open, removed by the destructor
  const Clock& clock_;
  SlaOptions options_;
  SlaPolicy baseline_;
  std::mutex run_mu_;  // one RunDue at a time

  mutable std::mutex mu_;
  std::condition_variable cv_;
  struct HeapEntry {
    Millis at;
    std::int64_t ticket;
    std::uint64_t generation;
    size_t index;  // into the ticket's dues
    bool operator>(const HeapEntry& o) const { return at > o.at; }
  };
  std::priority_queue<HeapEntry, std::vector<HeapEntry>, std::greater<>> heap_ TP_GUARDED_BY(mu_);
  std::unordered_map<std::int64_t, std::unique_ptr<Tracked>> tickets_ TP_GUARDED_BY(mu_);
  std::set<std::int64_t> dirty_ TP_GUARDED_BY(mu_);
  // Load's reads by ticket until its first Recompute (a change of the ticket drops its entry).
  std::unordered_map<std::int64_t, std::unique_ptr<Preloaded>> preloaded_ TP_GUARDED_BY(mu_);
  std::map<std::int64_t, store::ComplaintTaskRecord> tasks_ TP_GUARDED_BY(mu_);  // open tasks by id
  std::set<std::int64_t> breaching_ TP_GUARDED_BY(mu_);  // see Breaching()
  bool stop_ TP_GUARDED_BY(mu_) = false;
  std::thread thread_;
  std::atomic<std::int64_t> warnings_{0}, breaches_{0}, overdue_{0};
};

}  // namespace touchpoint::service
