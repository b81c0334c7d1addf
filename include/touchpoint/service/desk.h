// service/desk.h — the service desk: tickets with their thread and history, changed only through
// here, and fed by the engine's post-commit hook (every inbound customer message opens, joins or
// reopens its customer's ticket).
//
// One writer: every change takes the desk's lock and is one store transaction (the ticket, its
// messages, its history rows and — for the feed — the cursor), and tickets carry a version the
// store checks, so concurrent changes never lose an update: of two agents claiming one ticket,
// exactly one wins and the other gets kFailedPrecondition (409). A second process (the CLI next
// to a server) is caught by the version check.
//
// The feed keeps a cursor (the last event seq handled) in the store, written in the transaction
// of the tickets it produced; at start, and whenever the hook skipped events (it is at most
// once), the desk catches up from the event log. So nothing committed is missed across a crash
// and nothing is handled twice.
//
// Thread safety: every public method may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/thread_annotations.h>
#include <touchpoint/core/time.h>
#include <touchpoint/pipeline/engine.h>
#include <touchpoint/service/agents.h>
#include <touchpoint/service/router.h>
#include <touchpoint/service/channels.h>
#include <touchpoint/service/ticket.h>
#include <touchpoint/store/escalation_repository.h>
#include <touchpoint/store/store.h>
#include <touchpoint/store/ticket_repository.h>

namespace touchpoint::service {

class ChangeListener;  // deskflow, below

struct DeskOptions {
  // An inbound message within this many hours after the last message of a solved ticket reopens
  // it; later, it opens a new ticket. Per channel overrides by channel name.
  int continuity_hours = 72;
  std::map<std::string, int> continuity_hours_by_channel;
  std::string default_queue = "general";
  PriorityRule priority;
  std::string cursor_name = "desk";
  size_t replay_batch = 1024;
  // Where the feed starts when no cursor was ever stored: false (default) at the end of the
  // event log, so a desk added to an installation with history does not open a ticket for every
  // past message; true: from the first event.
  bool backfill = false;
  // Routing (service/router.h, docs/service-desk.md "Routing"): the named policies ("default" is
  // DefaultRoutingPolicy() unless one here is named so).
  std::vector<RoutingPolicy> routing_policies;
  // Routing: how long the desk trusts its cached agents and their loads before reading them
  // again (changes made by another process, such as the CLI, show after at most this long).
  Millis routing_refresh_ms = 5000;
  // Routing: the policy of a ticket being routed when its creator named none (an experiment's
  // assignment plugs in here); empty answer or no hook: the policy of the ticket's last routing
  // decision, else "default".
  std::function<std::string(const store::TicketRecord&)> routing_policy_for;
  // Told about every change inside its transaction and after it commits (ChangeListener):
  // deskflow's repeat inquiries, events out and search index. Added before the desk catches up, so
  // tickets it opens at start are seen too. More can be added with AddChangeListener (the SLA
  // timer does).
  std::vector<std::shared_ptr<ChangeListener>> listeners;
  // Channels (service/channels.h): reply delivery, CSAT survey on solve, e-mail threading,
  // attachments — called inside the desk's transactions. Null: none.
  std::shared_ptr<ChannelHook> channels;
};

// Who makes a change; scopes what they may change (CheckCanChange) and names them in the history.
struct Actor {
  enum class Kind { kAdmin, kSupervisor, kAgent, kBot, kCustomer, kSystem };
  Kind kind = Kind::kSystem;
  std::int64_t user_id = 0;  // staff with a login; 0 for API keys, rules and customers
  std::string name;          // e-mail, "key:<prefix>", the rule's name
};
std::string_view ActorKindName(Actor::Kind kind);

struct NewTicket {
  CustomerId customer;
  double customer_revenue = 0;  // for the default priority
  std::string subject;
  std::string channel;
  std::optional<Priority> priority;  // default: DefaultPriority
  TicketType type = TicketType::kRequest;
  std::string skill;
  std::string language;
  std::string queue;  // default: DeskOptions::default_queue
  std::string routing_policy;  // routing: a policy's name; empty: DeskOptions::routing_policy_for, else default
};

struct NewMessage {
  std::string text;
  bool internal = false;  // an internal note
  std::string channel;    // empty: the ticket's channel
  std::vector<MessageAttachment> attachments = {};  // channels: files (need DeskOptions::channels)
};

struct TicketView {
  store::TicketRecord ticket;
  std::vector<store::TicketMessageRecord> messages;
};

// The seam for business time in the step report: how long a step from `from` to `to` lasted.
// WallClockMeter counts every second; the `calendar` module's business-seconds arithmetic
// (calendar::Calendar) plugs in here as another StepMeter, connected by the composition root.
class StepMeter {
 public:
  virtual ~StepMeter() = default;
  virtual double Seconds(Millis from, Millis to) const = 0;
  virtual std::string_view unit() const = 0;  // "wall-clock seconds", "business seconds"
};
class WallClockMeter final : public StepMeter {
 public:
  double Seconds(Millis from, Millis to) const override { return to > from ? static_cast<double>(to - from) / 1000.0 : 0; }
  std::string_view unit() const override { return "wall-clock seconds"; }
};

struct StepQuery {
  Millis from = 0;  // tickets created at or after; 0: no bound
  Millis to = 0;    // … and before; 0: no bound
  std::string type;     // empty: any
  std::string channel;  // empty: any
};
struct StepStat {
  std::string kind;  // status | queue | assignee
  std::string name;  // "pending_third_party", "refunds", "li@example.com"
  std::int64_t count = 0;  // tickets that spent time in it
  double median_seconds = 0;
  double p90_seconds = 0;
  double total_seconds = 0;
  double share = 0;  // of the total handling time (time in new, open and pending_*)
};
struct StepReport {
  std::int64_t tickets = 0;
  double handling_seconds = 0;
  std::string unit;
  std::vector<StepStat> steps;  // statuses, then queues, then assignees; slowest (median) first in each
};

struct RoutingCache;  // routing's state in the desk (src/service/routing_internal.h)
struct DeskChange;    // one ticket's change being written (src/service/desk_internal.h)

// ---- what the desk tells its change listeners ----

// One ticket's change as written in a transaction: the ticket after it, and the messages and
// history rows it appended.
struct TicketChange {
  bool created = false;
  const store::TicketRecord* ticket = nullptr;
  std::span<const store::TicketMessageRecord> messages;
  std::span<const store::TicketHistoryRecord> history;
};

// Told about every change of the desk (every commit of a ticket: its own changes, inbound
// messages, routing's assignments of waiting tickets, SLA firings, tags and fields), with the
// desk's lock held: a listener must not call the desk back.
class ChangeListener {
 public:
  virtual ~ChangeListener() = default;
  // Inside the change's transaction on the desk's store, before it commits: what the listener
  // writes there commits with the change or not at all; an error rolls the whole change back.
  virtual Status BeforeCommit(store::Store& store, store::Transaction& txn, std::span<const TicketChange> changes) {
    (void)store, (void)txn, (void)changes;
    return Status::Ok();
  }
  // After the transaction committed. Must only take locks of its own.
  virtual void AfterCommit(std::span<const TicketChange> changes) { (void)changes; }
};

// Deskflow's tag and field changes (Desk::ChangeTags, Desk::SetFields).
struct TagChange {
  std::vector<std::string> add;
  std::vector<std::string> remove;
};

class Desk final : public pipeline::CommitObserver {
 public:
  // `store` is the desk's own connection (owned). `clock` must outlive the desk.
  Desk(std::unique_ptr<store::Store> store, const Clock& clock, DeskOptions options = {});
  ~Desk() override;
  Desk(const Desk&) = delete;
  Desk& operator=(const Desk&) = delete;

  // kInvalidArgument naming the field (subject, channel); kNotFound for an unknown customer is
  // the caller's check (it resolves the identifier).
  Result<store::TicketRecord> Create(const NewTicket& ticket, const Actor& actor);
  // kNotFound for an unknown ticket.
  Result<TicketView> Get(std::int64_t number);
  Result<std::vector<store::TicketRecord>> List(const store::TicketFilter& filter);
  Result<std::vector<store::TicketHistoryRecord>> History(std::int64_t number);

  // An agent's reply or internal note. A reply to a new ticket opens it. kPermissionDenied when
  // `actor` may not change the ticket; kFailedPrecondition on a closed ticket.
  Result<store::TicketRecord> AddMessage(std::int64_t number, const NewMessage& message, const Actor& actor);
  // kFailedPrecondition naming the allowed statuses for an illegal transition.
  Result<store::TicketRecord> SetStatus(std::int64_t number, TicketStatus status, const Actor& actor);
  // Assigns to the agent with user id `agent` (0: unassigns). An agent may only claim an
  // unassigned ticket of their queue for themselves: kFailedPrecondition (409) when someone else
  // has it. kNotFound for an unknown or disabled agent.
  Result<store::TicketRecord> Assign(std::int64_t number, std::int64_t agent, const Actor& actor);
  // Moves `source`'s thread into `target` and closes `source` (merged_into = target). Both must
  // belong to the same customer and neither may be closed (kFailedPrecondition).
  Result<store::TicketRecord> Merge(std::int64_t source, std::int64_t target, const Actor& actor);

  // Step durations over the history (docs/service-desk.md, "Steps").
  Result<StepReport> Steps(const StepQuery& query, const StepMeter& meter);

  // kPermissionDenied unless `actor` may change `ticket`: admins anything; supervisors tickets
  // whose queue is a team they supervise or whose assignee is in one (or themselves); agents
  // tickets assigned to them or in their team's queue.
  Status CheckCanChange(const store::TicketRecord& ticket, const Actor& actor);

  // ---- the feed ----
  // Catches up from the event log: every event after the stored cursor. Call before events
  // flow (AttachDesk does). `analyze` re-runs text analysis on replayed messages (may be empty).
  Status CatchUp(std::function<void(ingest::MessagePayload&)> analyze);
  void OnCommitted(std::span<const pipeline::CommittedEvent> events) override;
  void OnStop() override;
  // Escalation firings of the batch about to be delivered (service::EscalationConsumer's
  // listener, on the hook thread before OnCommitted): applied to the tickets of their messages
  // in that batch — a history row named after the rule; high_risk and supervisor_alert raise the
  // priority to high, handoff raises low to medium. Firings of messages not in the next batch
  // are dropped (replayed messages have none).
  void OnEscalations(std::span<const store::EscalationRecord> firings);
  // The last event seq handled (and stored).
  std::int64_t cursor() const;
  // Hook batches whose tickets could not be written (retried from the log at the next batch).
  std::int64_t feed_failures() const { return feed_failures_.load(std::memory_order_relaxed); }

  // Closes the desk's store. REQUIRES: the engine's hook has stopped.
  void Close();

  // ---- routing: agents, decisions, queues (src/service/agents.cc) ----
  // Creates or replaces an agent (its user created with the agent role when agent.user_id is 0),
  // then hands waiting tickets to it. kInvalidArgument naming the field; kNotFound for an unknown
  // user or team; kAlreadyExists for a new user's e-mail in use.
  Result<AgentView> PutAgent(NewAgent agent, const Actor& actor);
  // Changes an agent's state; coming online (or any change) hands waiting tickets out.
  // kNotFound for an unknown agent; kPermissionDenied when an agent changes someone else.
  Result<AgentView> SetAgentState(std::int64_t agent, AgentState state, const Actor& actor);
  Result<std::vector<AgentView>> Agents();
  // kNotFound for an unknown agent.
  Result<AgentView> Agent(std::int64_t agent);
  // The routing decisions about a ticket, oldest first. kNotFound for an unknown ticket.
  Result<std::vector<store::RoutingDecisionRecord>> Routing(std::int64_t number);
  // Waiting tickets per queue (docs/service-desk.md, "Routing").
  Result<std::vector<QueueStat>> Queues();
  // The policies in effect (default first); Replace: kInvalidArgument naming the field.
  std::vector<RoutingPolicy> RoutingPolicies() const;
  Status SetRoutingPolicies(std::vector<RoutingPolicy> policies);
  // Offers every waiting ticket (priority, then arrival) to the agents with room: what the desk
  // does itself after a ticket is solved, closed, reassigned or merged and an agent changes;
  // callable by a timer (shifts that begin). Returns how many tickets were assigned.
  Result<int> RouteWaiting();
  // ---- SLA clocks and the complaint loop (service/sla.h, service/complaints.h) ----
  // (The SLA timer hears of every committed change as a ChangeListener: AddChangeListener.)
  // Checked under the lock before a status change is written: an error refuses the change; rows
  // it appends go into the change's history (the complaint loop's supervisor override).
  using StatusGuard = std::function<Status(store::Store& store, const store::TicketRecord& ticket, TicketStatus to,
                                           const Actor& actor, bool override_tasks,
                                           std::vector<store::TicketHistoryRecord>* rows)>;
  void SetStatusGuard(StatusGuard guard);
  // SetStatus with a reason (for pending_*: recorded as a `pause_reason` history row) and the
  // supervisor's override of open complaint tasks (see the guard). Errors as SetStatus.
  Result<store::TicketRecord> ChangeStatus(std::int64_t number, TicketStatus status, const Actor& actor,
                                           const std::string& reason, bool override_tasks);
  // A change made by a system rule (the SLA timer, the complaint loop) in one transaction: `fn`
  // may change the loaded ticket and append history rows, and writes its own rows (SLA events,
  // tasks) in `txn`. `fn` returning kAlreadyExists means nothing to do: the transaction rolls
  // back and the result is nullopt. kNotFound for an unknown ticket.
  using ChangeFn = std::function<Status(store::Store& store, store::Transaction& txn, store::TicketRecord& ticket,
                                        std::vector<store::TicketHistoryRecord>& rows)>;
  Result<std::optional<store::TicketRecord>> ApplyChange(std::int64_t number, const ChangeFn& fn);
  // ---- deskflow (desk_flow.cc) ----
  // Adds a change listener (before changes flow, or at any time: it sees later changes), and
  // removes one (by identity; unknown: nothing happens).
  void AddChangeListener(std::shared_ptr<ChangeListener> listener);
  void RemoveChangeListener(const ChangeListener* listener);
  // Adds and removes tags of a ticket (lower-cased; [a-z0-9_:.-], 1–40 bytes, at most 20 a
  // ticket), with a history row per tag (field "tag", after = added tag, before = removed tag).
  // kInvalidArgument naming the bad tag; kPermissionDenied as AddMessage. Returns the tags.
  Result<std::vector<std::string>> ChangeTags(std::int64_t number, const TagChange& change, const Actor& actor);
  // Sets custom fields (name → value; an empty value removes it; names [a-z0-9_], 1–40 bytes,
  // values ≤ 500 bytes), a history row per changed field (field "field:<name>"). Returns them all.
  Result<std::vector<std::pair<std::string, std::string>>> SetFields(
      std::int64_t number, const std::vector<std::pair<std::string, std::string>>& fields, const Actor& actor);
  // Closes the solved tickets whose solved_at is at least `after` old (status closed, history
  // actor system rule "auto_close"), at most `limit` of them; returns how many.
  Result<int> AutoClose(Millis after, int limit = 500);
  // Runs `fn` on the desk's store under its lock: consistent reads beside the desk's writes (the SLA
  // timer's, deskflow's tags, fields and search). Returns what `fn` returns; kUnavailable when the
  // desk is closed.
  template <class Fn>
  auto WithStore(Fn&& fn) -> decltype(fn(std::declval<store::Store&>())) {
    std::scoped_lock lock(mu_);
    if (store_ == nullptr) return Status::Unavailable("the desk is closed");
    return fn(*store_);
  }
  // Connects the channels (DeskOptions::channels) after construction: a composition root whose
  // outbox starts after the desk. Messages caught up before it are threaded by customer only.
  void SetChannels(std::shared_ptr<ChannelHook> channels);

 private:
  // ---- routing (src/service/agents.cc) ----
  // Routes `ticket` (unassigned, being created or reopened in `txn`): sets its assignee when an
  // agent fits, appends the history row and the decision to `history` / the store.
  Status RouteInTxnLocked(store::Transaction& txn, store::TicketRecord& ticket,
                          std::vector<store::TicketHistoryRecord>& history, const std::string& policy)
      TP_REQUIRES(mu_);
  // After a committed change (CommitLocked): keeps the cached loads (before: the ticket as it
  // was; null: new). Returns whether the change freed an agent (CommitLocked then offers the
  // waiting tickets: RouteWaitingLocked).
  bool RoutingAfterChangeLocked(const store::TicketRecord* before, const store::TicketRecord& after)
      TP_REQUIRES(mu_);
  Result<int> RouteWaitingLocked() TP_REQUIRES(mu_);

  Status HandleEvents(std::span<const pipeline::CommittedEvent> events) TP_REQUIRES(mu_);
  Status CatchUpLocked(std::int64_t to_seq) TP_REQUIRES(mu_);
  Result<store::TicketRecord> Load(std::int64_t number) TP_REQUIRES(mu_);
  Status CheckCanChangeLocked(const store::TicketRecord& ticket, const Actor& actor) TP_REQUIRES(mu_);
  std::string UserName(std::int64_t user_id) TP_REQUIRES(mu_);
  Millis ContinuityMs(const std::string& channel) const;
  // The one commit point of every ticket change (desk_flow.cc): the listeners' BeforeCommit in
  // `txn`, the commit, their AfterCommit, then routing's loads (RoutingAfterChangeLocked, which
  // may hand waiting tickets out in transactions of their own). `changes` are written already.
  Status CommitLocked(std::unique_ptr<store::Transaction> txn, std::span<const DeskChange> changes)
      TP_REQUIRES(mu_);
  // Tags and fields (written in `txn` by the caller): `ticket`'s updated_at and `history` rows in
  // `txn`, then CommitLocked.
  Status CommitTouched(std::unique_ptr<store::Transaction> txn, const store::TicketRecord& ticket, Millis now,
                       std::vector<store::TicketHistoryRecord> history) TP_REQUIRES(mu_);

  mutable std::mutex mu_;
  std::unique_ptr<store::Store> store_ TP_GUARDED_BY(mu_);
  const Clock& clock_;
  DeskOptions options_;
  std::function<void(ingest::MessagePayload&)> analyze_ TP_GUARDED_BY(mu_);
  std::int64_t cursor_ TP_GUARDED_BY(mu_) = -1;  // -1 until loaded
  std::map<std::int64_t, std::string> user_names_ TP_GUARDED_BY(mu_);
  std::multimap<std::string, store::EscalationRecord> firings_ TP_GUARDED_BY(mu_);  // by message id
  std::atomic<std::int64_t> feed_failures_{0};
  std::unique_ptr<RoutingCache> routing_ TP_GUARDED_BY(mu_);  // agents, loads, compiled shifts, policies
  StatusGuard status_guard_ TP_GUARDED_BY(mu_);  // the complaint loop (SetStatusGuard)
  std::vector<std::shared_ptr<ChangeListener>> listeners_ TP_GUARDED_BY(mu_);
};

// Creates a desk over `store`, catches it up from the event log and subscribes it to `engine`.
// REQUIRES: no events submitted yet.
Result<std::shared_ptr<Desk>> AttachDesk(pipeline::Engine& engine, std::unique_ptr<store::Store> store,
                                         std::function<void(ingest::MessagePayload&)> analyze, const Clock& clock,
                                         DeskOptions options = {});

}  // namespace touchpoint::service
