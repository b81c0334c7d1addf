#include <touchpoint/service/desk.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <touchpoint/pipeline/replay.h>
#include <touchpoint/store/team_repository.h>
#include <touchpoint/store/user_repository.h>

#include "service/desk_internal.h"
#include "service/routing_internal.h"

namespace touchpoint::service {
namespace {

using store::TicketHistoryRecord;
using store::TicketMessageRecord;
using store::TicketRecord;

constexpr size_t kMaxSubject = 200;        // bytes of a subject
constexpr size_t kInboundSubject = 80;     // bytes of an inbound message's masked text as subject
constexpr size_t kMaxText = 64 * 1024;     // bytes of a message

// The first `max` bytes of `s`, cut at a UTF-8 character boundary.
std::string Utf8Prefix(std::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n));
}

TicketHistoryRecord Row(const TicketRecord& t, Millis at, const Actor& actor, std::string field, std::string before,
                        std::string after) {
  return HistoryRow(t.number, at, actor, std::move(field), std::move(before), std::move(after));
}

std::string Ticket(std::int64_t number) { return FormatTicketNumber(number); }

Status Unknown(std::int64_t number) { return Status::NotFound("no ticket " + Ticket(number)); }

// The value at `q` (0..1) of sorted `v` (nearest rank: always one of the samples). Note that
// insight's reports interpolate between ranks (ml::Quantile); the step report keeps nearest rank
// (docs/service-desk.md, "Steps").
double Quantile(const std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

}  // namespace

TicketHistoryRecord HistoryRow(std::int64_t number, Millis at, const Actor& actor, std::string field,
                               std::string before, std::string after) {
  return TicketHistoryRecord{0, number, at, std::string(ActorKindName(actor.kind)), actor.name, std::move(field),
                             std::move(before), std::move(after)};
}

Status WriteChange(store::TicketRepository& repo, store::Transaction& txn, const DeskChange& c) {
  if (!c.loaded) {
    TP_RETURN_IF_ERROR(repo.Create(txn, c.ticket));
  } else {
    TP_RETURN_IF_ERROR(repo.Update(txn, c.ticket, c.loaded->version));
  }
  if (!c.messages.empty()) TP_RETURN_IF_ERROR(repo.AddMessages(txn, c.messages));
  if (!c.history.empty()) TP_RETURN_IF_ERROR(repo.AddHistory(txn, c.history));
  return Status::Ok();
}

std::string_view ActorKindName(Actor::Kind kind) {
  switch (kind) {
    case Actor::Kind::kAdmin: return "admin";
    case Actor::Kind::kSupervisor: return "supervisor";
    case Actor::Kind::kAgent: return "agent";
    case Actor::Kind::kBot: return "bot";
    case Actor::Kind::kCustomer: return "customer";
    case Actor::Kind::kSystem: return "system";
  }
  return "system";
}

Desk::Desk(std::unique_ptr<store::Store> store, const Clock& clock, DeskOptions options)
    : store_(std::move(store)), clock_(clock), options_(std::move(options)), listeners_(options_.listeners) {
  routing_ = std::make_unique<RoutingCache>(options_);  // routing: agents, loads, policies (agents.cc)
}

Desk::~Desk() = default;

void Desk::Close() {
  std::scoped_lock lock(mu_);
  store_.reset();
}

void Desk::SetChannels(std::shared_ptr<ChannelHook> channels) {
  std::scoped_lock lock(mu_);
  options_.channels = std::move(channels);
}

std::int64_t Desk::cursor() const {
  std::scoped_lock lock(mu_);
  return cursor_;
}

Millis Desk::ContinuityMs(const std::string& channel) const {
  auto it = options_.continuity_hours_by_channel.find(channel);
  const int hours = it == options_.continuity_hours_by_channel.end() ? options_.continuity_hours : it->second;
  return Millis{hours} * 3'600'000;
}

Result<TicketRecord> Desk::Load(std::int64_t number) {
  if (store_ == nullptr) return Status::Unavailable("the desk is closed");
  TP_ASSIGN_OR_RETURN(auto t, store_->Get<store::TicketRepository>().Find(number));
  if (!t) return Unknown(number);
  return std::move(*t);
}

std::string Desk::UserName(std::int64_t user_id) {
  if (user_id == 0) return "";
  auto it = user_names_.find(user_id);
  if (it != user_names_.end()) return it->second;
  std::string name = "user:" + std::to_string(user_id);
  auto u = store_->Get<store::UserRepository>().Find(user_id);
  if (u.ok() && u->has_value()) name = (*u)->email;
  user_names_.emplace(user_id, name);
  return name;
}

Status Desk::CheckCanChange(const TicketRecord& ticket, const Actor& actor) {
  std::scoped_lock lock(mu_);
  return CheckCanChangeLocked(ticket, actor);
}

Status Desk::CheckCanChangeLocked(const TicketRecord& ticket, const Actor& actor) {
  switch (actor.kind) {
    case Actor::Kind::kAdmin:
    case Actor::Kind::kSystem:
    case Actor::Kind::kBot:
    case Actor::Kind::kCustomer: return Status::Ok();
    case Actor::Kind::kAgent:
    case Actor::Kind::kSupervisor: break;
  }
  const std::string who = actor.kind == Actor::Kind::kAgent ? "an agent" : "a supervisor";
  if (actor.user_id == 0) {
    return Status::PermissionDenied(who + " changes tickets as a logged-in user (an API key has no queue)");
  }
  if (ticket.assignee == actor.user_id) return Status::Ok();
  store::UserRepository& users = store_->Get<store::UserRepository>();
  store::TeamRepository& teams = store_->Get<store::TeamRepository>();
  TP_ASSIGN_OR_RETURN(auto me, users.Find(actor.user_id));
  if (!me) return Status::PermissionDenied(who + " without a user record");
  if (actor.kind == Actor::Kind::kAgent) {
    if (me->team_id != 0) {
      TP_ASSIGN_OR_RETURN(auto team, teams.Find(me->team_id));
      if (team && team->name == ticket.queue) return Status::Ok();
    }
    return Status::PermissionDenied("an agent may only change tickets assigned to them or in their team's queue");
  }
  // Supervisor: the teams they supervise.
  TP_ASSIGN_OR_RETURN(auto all, teams.List());
  std::int64_t assignee_team = -1;
  if (ticket.assignee != 0) {
    TP_ASSIGN_OR_RETURN(auto a, users.Find(ticket.assignee));
    if (a) assignee_team = a->team_id;
  }
  for (const store::TeamRecord& t : all) {
    if (std::find(t.supervisors.begin(), t.supervisors.end(), actor.user_id) == t.supervisors.end()) continue;
    if (t.name == ticket.queue || t.id == assignee_team) return Status::Ok();
  }
  return Status::PermissionDenied("a supervisor may only change tickets of the teams they supervise");
}

Result<TicketRecord> Desk::Create(const NewTicket& in, const Actor& actor) {
  if (!in.customer.valid()) return Status::InvalidArgument("customer: required");
  if (in.subject.empty()) return Status::InvalidArgument("subject: required");
  if (in.subject.size() > kMaxSubject) {
    return Status::InvalidArgument("subject: longer than " + std::to_string(kMaxSubject) + " bytes");
  }
  TP_RETURN_IF_ERROR(CheckChannel(in.channel));
  const Millis now = clock_.Now();
  TicketRecord t;
  t.customer = in.customer;
  t.status = std::string(StatusName(TicketStatus::kNew));
  t.type = std::string(TypeName(in.type));
  t.priority = std::string(PriorityName(
      in.priority ? *in.priority
                  : DefaultPriority(PrioritySignals{in.type, "", "", 0, in.customer_revenue}, options_.priority)));
  t.channel = in.channel;
  t.skill = in.skill;
  t.language = in.language;
  t.queue = in.queue.empty() ? options_.default_queue : in.queue;
  t.subject = in.subject;
  t.created_at = now;
  t.updated_at = now;
  std::scoped_lock lock(mu_);
  if (store_ == nullptr) return Status::Unavailable("the desk is closed");
  store::TicketRepository& repo = store_->Get<store::TicketRepository>();
  TP_ASSIGN_OR_RETURN(auto txn, store_->Begin());
  TP_ASSIGN_OR_RETURN(t.number, repo.NextNumber(*txn));
  DeskChange c{t, std::nullopt, {}, {}};
  c.history.push_back(Row(t, now, actor, "created", "", t.channel));
  c.history.push_back(Row(t, now, actor, "status", "", t.status));
  c.history.push_back(Row(t, now, actor, "priority", "", t.priority));
  c.history.push_back(Row(t, now, actor, "queue", "", t.queue));
  // Routing: an agent for the new ticket (or it waits in its queue), in this transaction.
  TP_RETURN_IF_ERROR(RouteInTxnLocked(*txn, c.ticket, c.history, in.routing_policy));
  TP_RETURN_IF_ERROR(WriteChange(repo, *txn, c));
  TP_RETURN_IF_ERROR(CommitLocked(std::move(txn), std::span(&c, 1)));
  c.ticket.version = 1;
  return c.ticket;
}

Result<TicketView> Desk::Get(std::int64_t number) {
  std::scoped_lock lock(mu_);
  TP_ASSIGN_OR_RETURN(TicketRecord t, Load(number));
  TP_ASSIGN_OR_RETURN(auto messages, store_->Get<store::TicketRepository>().Messages(number));
  return TicketView{std::move(t), std::move(messages)};
}

Result<std::vector<TicketRecord>> Desk::List(const store::TicketFilter& filter) {
  std::scoped_lock lock(mu_);
  if (store_ == nullptr) return Status::Unavailable("the desk is closed");
  return store_->Get<store::TicketRepository>().List(filter);
}

Result<std::vector<TicketHistoryRecord>> Desk::History(std::int64_t number) {
  std::scoped_lock lock(mu_);
  TP_RETURN_IF_ERROR(Load(number).status());
  return store_->Get<store::TicketRepository>().History(number);
}

Result<TicketRecord> Desk::AddMessage(std::int64_t number, const NewMessage& in, const Actor& actor) {
  if (in.text.empty()) return Status::InvalidArgument("text: required");
  if (in.text.size() > kMaxText) return Status::InvalidArgument("text: longer than 65536 bytes");
  if (!in.channel.empty()) TP_RETURN_IF_ERROR(CheckChannel(in.channel));
  std::scoped_lock lock(mu_);
  TP_ASSIGN_OR_RETURN(TicketRecord t, Load(number));
  TP_RETURN_IF_ERROR(CheckCanChangeLocked(t, actor));
  TP_ASSIGN_OR_RETURN(TicketStatus status, ParseStatus(t.status));
  if (status == TicketStatus::kClosed) {
    return Status::FailedPrecondition(Ticket(number) + " is closed: open a new ticket");
  }
  const Millis now = clock_.Now();
  DeskChange c = DeskChange::Of(t);
  const bool bot = actor.kind == Actor::Kind::kBot;
  c.messages.push_back(TicketMessageRecord{0, number, now, bot ? "bot" : "agent", actor.user_id,
                                           in.channel.empty() ? t.channel : in.channel, in.internal, in.text, "", "",
                                           0, ""});
  c.history.push_back(Row(t, now, actor, "message", "", in.internal ? "note" : "reply"));
  if (!in.internal && status == TicketStatus::kNew) {
    c.ticket.status = std::string(StatusName(TicketStatus::kOpen));
    c.history.push_back(Row(t, now, actor, "status", t.status, c.ticket.status));
  }
  c.ticket.updated_at = now;
  if (!in.internal) c.ticket.last_message_at = std::max(c.ticket.last_message_at, now);
  TP_ASSIGN_OR_RETURN(auto txn, store_->Begin());
  // channels: the reply's delivery and the message's attachments, in this transaction.
  if (options_.channels != nullptr) {
    TP_RETURN_IF_ERROR(options_.channels->OnAgentMessage(*store_, *txn, c.ticket, c.messages.back(), in.attachments));
  } else if (!in.attachments.empty()) {
    return Status::InvalidArgument("attachments: this server sends no files (no [channels] in its config)");
  }
  TP_RETURN_IF_ERROR(WriteChange(store_->Get<store::TicketRepository>(), *txn, c));
  TP_RETURN_IF_ERROR(CommitLocked(std::move(txn), std::span(&c, 1)));
  c.ticket.version = t.version + 1;
  return c.ticket;
}

Result<TicketRecord> Desk::SetStatus(std::int64_t number, TicketStatus to, const Actor& actor) {
  return ChangeStatus(number, to, actor, "", false);
}

Result<TicketRecord> Desk::ChangeStatus(std::int64_t number, TicketStatus to, const Actor& actor,
                                        const std::string& reason, bool override_tasks) {
  std::scoped_lock lock(mu_);
  TP_ASSIGN_OR_RETURN(TicketRecord t, Load(number));
  TP_RETURN_IF_ERROR(CheckCanChangeLocked(t, actor));
  TP_ASSIGN_OR_RETURN(TicketStatus from, ParseStatus(t.status));
  TP_RETURN_IF_ERROR(CheckTransition(from, to).WithContext(Ticket(number)));
  const Millis now = clock_.Now();
  DeskChange c = DeskChange::Of(t);
  c.ticket.status = std::string(StatusName(to));
  c.ticket.updated_at = now;
  if (to == TicketStatus::kSolved) c.ticket.solved_at = now;
  if (from == TicketStatus::kSolved && to == TicketStatus::kOpen) {
    c.ticket.reopen_count += 1;
    c.ticket.solved_at = 0;
    c.history.push_back(Row(t, now, actor, "reopened", std::to_string(t.reopen_count),
                            std::to_string(c.ticket.reopen_count)));
  }
  c.history.push_back(Row(t, now, actor, "status", t.status, c.ticket.status));
  // SLA: the pause's reason; the complaint loop's guard on solving with open tasks.
  if (!reason.empty()) c.history.push_back(Row(t, now, actor, "pause_reason", "", Utf8Prefix(reason, kMaxSubject)));
  if (status_guard_) TP_RETURN_IF_ERROR(status_guard_(*store_, t, to, actor, override_tasks, &c.history));
  for (auto& row : c.history) row.at = now;
  TP_ASSIGN_OR_RETURN(auto txn, store_->Begin());
  // Routing: a reopened ticket without an assignee gets one (or waits), in this transaction.
  if (from == TicketStatus::kSolved && to == TicketStatus::kOpen && c.ticket.assignee == 0) {
    TP_RETURN_IF_ERROR(RouteInTxnLocked(*txn, c.ticket, c.history, ""));
  }
  // channels: the CSAT survey of a solved ticket, in this transaction.
  if (to == TicketStatus::kSolved && options_.channels != nullptr) {
    TP_RETURN_IF_ERROR(options_.channels->OnSolved(*store_, *txn, c.ticket));
  }
  TP_RETURN_IF_ERROR(WriteChange(store_->Get<store::TicketRepository>(), *txn, c));
  TP_RETURN_IF_ERROR(CommitLocked(std::move(txn), std::span(&c, 1)));
  c.ticket.version = t.version + 1;
  return c.ticket;
}

Result<TicketRecord> Desk::Assign(std::int64_t number, std::int64_t agent, const Actor& actor) {
  std::scoped_lock lock(mu_);
  TP_ASSIGN_OR_RETURN(TicketRecord t, Load(number));
  if (agent != 0) {
    TP_ASSIGN_OR_RETURN(auto user, store_->Get<store::UserRepository>().Find(agent));
    if (!user || user->disabled_at != 0 || (user->role != "agent" && user->role != "supervisor" && user->role != "admin")) {
      return Status::NotFound("no agent with id " + std::to_string(agent));
    }
  }
  if (actor.kind == Actor::Kind::kAgent) {
    // An agent claims for themselves (or lets go of their own ticket).
    if (agent != 0 && agent != actor.user_id) {
      return Status::PermissionDenied("an agent may only assign tickets to themselves");
    }
    if (t.assignee != 0 && t.assignee != actor.user_id) {
      return Status::FailedPrecondition(Ticket(number) + " is already assigned to " + UserName(t.assignee));
    }
  }
  TP_RETURN_IF_ERROR(CheckCanChangeLocked(t, actor));
  if (t.status == StatusName(TicketStatus::kClosed)) {
    return Status::FailedPrecondition(Ticket(number) + " is closed");
  }
  if (t.assignee == agent) return t;  // nothing changes: no history row
  const Millis now = clock_.Now();
  DeskChange c = DeskChange::Of(t);
  c.ticket.assignee = agent;
  c.ticket.updated_at = now;
  c.history.push_back(Row(t, now, actor, "assignee", t.assignee ? std::to_string(t.assignee) : "",
                          agent ? std::to_string(agent) : ""));
  TP_ASSIGN_OR_RETURN(auto txn, store_->Begin());
  TP_RETURN_IF_ERROR(WriteChange(store_->Get<store::TicketRepository>(), *txn, c));
  TP_RETURN_IF_ERROR(CommitLocked(std::move(txn), std::span(&c, 1)));
  c.ticket.version = t.version + 1;
  return c.ticket;
}

Result<TicketRecord> Desk::Merge(std::int64_t source, std::int64_t target, const Actor& actor) {
  if (source == target) return Status::InvalidArgument("target: a ticket cannot be merged into itself");
  std::scoped_lock lock(mu_);
  TP_ASSIGN_OR_RETURN(TicketRecord from, Load(source));
  TP_ASSIGN_OR_RETURN(TicketRecord into, Load(target));
  TP_RETURN_IF_ERROR(CheckCanChangeLocked(from, actor));
  TP_RETURN_IF_ERROR(CheckCanChangeLocked(into, actor));
  if (from.customer != into.customer) {
    return Status::FailedPrecondition(Ticket(source) + " and " + Ticket(target) + " belong to different customers");
  }
  if (from.status == "closed") return Status::FailedPrecondition(Ticket(source) + " is closed");
  if (into.status == "closed") return Status::FailedPrecondition(Ticket(target) + " is closed");
  const Millis now = clock_.Now();
  std::array<DeskChange, 2> changes{DeskChange::Of(from), DeskChange::Of(into)};
  DeskChange& a = changes[0];
  a.ticket.status = std::string(StatusName(TicketStatus::kClosed));
  a.ticket.merged_into = target;
  a.ticket.updated_at = now;
  a.history.push_back(Row(from, now, actor, "merge", "", "into " + Ticket(target)));
  a.history.push_back(Row(from, now, actor, "status", from.status, a.ticket.status));
  DeskChange& b = changes[1];
  b.ticket.updated_at = now;
  b.ticket.last_message_at = std::max(into.last_message_at, from.last_message_at);
  b.history.push_back(Row(into, now, actor, "merge", "", "from " + Ticket(source)));
  store::TicketRepository& repo = store_->Get<store::TicketRepository>();
  TP_ASSIGN_OR_RETURN(auto txn, store_->Begin());
  TP_RETURN_IF_ERROR(repo.MoveMessages(*txn, source, target));
  TP_RETURN_IF_ERROR(WriteChange(repo, *txn, a));
  TP_RETURN_IF_ERROR(WriteChange(repo, *txn, b));
  TP_RETURN_IF_ERROR(CommitLocked(std::move(txn), changes));
  b.ticket.version = into.version + 1;
  return b.ticket;
}

// ---- the feed ----

Status Desk::CatchUp(std::function<void(ingest::MessagePayload&)> analyze) {
  std::scoped_lock lock(mu_);
  analyze_ = std::move(analyze);
  if (store_ == nullptr) return Status::Unavailable("the desk is closed");
  store::TicketRepository& repo = store_->Get<store::TicketRepository>();
  TP_ASSIGN_OR_RETURN(std::optional<std::int64_t> stored, repo.Cursor(options_.cursor_name));
  TP_ASSIGN_OR_RETURN(std::int64_t last, store_->Get<store::EventLog>().LastSeq());
  if (!stored) {
    // The desk's first start: it begins at the end of the log (DeskOptions::backfill: at its
    // start), and says so in the store at once, so that events committed from now on are never
    // skipped by a later start.
    const std::int64_t start = options_.backfill ? 0 : last;
    TP_ASSIGN_OR_RETURN(auto txn, store_->Begin());
    TP_RETURN_IF_ERROR(repo.SetCursor(*txn, options_.cursor_name, start));
    TP_RETURN_IF_ERROR(txn->Commit());
    stored = start;
  }
  cursor_ = *stored;
  return CatchUpLocked(last);
}

Status Desk::CatchUpLocked(std::int64_t to_seq) {
  if (to_seq <= cursor_) return Status::Ok();
  return pipeline::ReplayCommitted(
      *store_, cursor_ + 1, to_seq, analyze_,
      [&](std::span<const pipeline::CommittedEvent> events) { return HandleEvents(events); }, options_.replay_batch);
}

void Desk::OnCommitted(std::span<const pipeline::CommittedEvent> events) {
  if (events.empty()) return;
  std::scoped_lock lock(mu_);
  if (store_ == nullptr || cursor_ < 0) return;
  // Events the hook never delivered (a failed write before, or a gap) come from the log first.
  if (events.front().seq > cursor_ + 1) {
    if (!CatchUpLocked(events.front().seq - 1).ok()) {
      feed_failures_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
  size_t skip = 0;
  while (skip < events.size() && events[skip].seq <= cursor_) ++skip;  // handled already
  if (skip < events.size() && !HandleEvents(events.subspan(skip)).ok()) {
    feed_failures_.fetch_add(1, std::memory_order_relaxed);
  }
  firings_.clear();
}

void Desk::OnEscalations(std::span<const store::EscalationRecord> firings) {
  std::scoped_lock lock(mu_);
  for (const store::EscalationRecord& f : firings) firings_.emplace(f.message_id, f);
}

void Desk::OnStop() {
  // Everything handled is stored with its cursor; nothing is buffered.
}

// One transaction for the batch: the tickets its customer messages opened, joined or reopened,
// and the cursor. Events of the batch that are not inbound customer messages only move the
// cursor (stored when the batch changed a ticket; a restart re-reads the others harmlessly).
Status Desk::HandleEvents(std::span<const pipeline::CommittedEvent> events) {
  store::TicketRepository& repo = store_->Get<store::TicketRepository>();
  std::unordered_map<std::int64_t, DeskChange> by_customer;  // customer → its ticket's change
  std::vector<std::int64_t> order;                          // customers in first-touched order
  std::vector<DeskChange> finished;                         // tickets left behind by a new one
  std::unique_ptr<store::Transaction> txn;
  const Actor system{Actor::Kind::kSystem, 0, "inbound"};
  for (const pipeline::CommittedEvent& e : events) {
    if (e.message == nullptr) continue;
    const store::MessageRecord& m = *e.message;
    if (m.author != "customer" || m.direction != "in") continue;
    if (txn == nullptr) {
      TP_ASSIGN_OR_RETURN(txn, store_->Begin());
    }
    // channels: an e-mail answering one the desk sent or received joins that ticket (ChannelHook::
    // ThreadOf), also from another address; the thread is then kept under the ticket's customer.
    std::optional<TicketRecord> threaded;
    if (options_.channels != nullptr) {
      if (auto n = options_.channels->ThreadOf(*store_, m)) {
        TP_ASSIGN_OR_RETURN(threaded, repo.Find(*n));
      }
    }
    const std::int64_t key = threaded ? threaded->customer.value() : e.customer.value();
    auto it = by_customer.find(key);
    if (it == by_customer.end()) {
      std::optional<TicketRecord> active = std::move(threaded);
      if (!active) {
        TP_ASSIGN_OR_RETURN(active, repo.FindActive(e.customer));
      }
      if (active) {
        it = by_customer.emplace(key, DeskChange::Of(*active)).first;
        order.push_back(key);
      }
    }
    const std::string channel = m.channel.empty() ? "chat" : m.channel;
    DeskChange* c = it == by_customer.end() ? nullptr : &it->second;
    TicketMessageRecord incoming{0, 0, e.timestamp, "customer", 0, channel, false, m.text,
                                 m.message_id, m.sentiment_label, m.sentiment_score, m.intent};
    // channels: a reply "1"…"5" to a solved ticket's survey is its answer, and keeps it solved.
    bool survey_answer = false;
    if (c != nullptr && c->ticket.status == "solved" && options_.channels != nullptr) {
      TP_ASSIGN_OR_RETURN(survey_answer, options_.channels->AnswersSurvey(*store_, *txn, c->ticket, incoming));
    }
    // A solved ticket past its continuity window stays solved: the message opens a new one.
    if (c != nullptr && !survey_answer && c->ticket.status == "solved" &&
        e.timestamp - std::max(c->ticket.last_message_at, c->ticket.created_at) > ContinuityMs(channel)) {
      finished.push_back(std::move(*c));
      by_customer.erase(it);
      std::erase(order, key);
      c = nullptr;
    }
    if (c == nullptr) {
      TicketRecord t;
      TP_ASSIGN_OR_RETURN(t.number, repo.NextNumber(*txn));
      t.customer = e.customer;
      t.status = std::string(StatusName(TicketStatus::kNew));
      t.type = std::string(TypeName(m.intent == "complaint" ? TicketType::kComplaint : TicketType::kRequest));
      t.priority = std::string(PriorityName(DefaultPriority(
          PrioritySignals{m.intent == "complaint" ? TicketType::kComplaint : TicketType::kRequest, m.intent,
                          m.sentiment_label, m.sentiment_score, e.customer_revenue},
          options_.priority)));
      t.channel = channel;
      t.skill = m.intent == "other" ? "" : m.intent;
      t.language = m.language;
      t.queue = options_.default_queue;
      t.subject = Utf8Prefix(m.masked_text.empty() ? std::string_view("(message)") : std::string_view(m.masked_text),
                             kInboundSubject);
      t.created_at = e.timestamp;
      t.updated_at = e.timestamp;
      DeskChange fresh{t, std::nullopt, {}, {}};
      fresh.history.push_back(Row(t, e.timestamp, system, "created", "", channel));
      fresh.history.push_back(Row(t, e.timestamp, system, "status", "", t.status));
      fresh.history.push_back(Row(t, e.timestamp, system, "priority", "", t.priority));
      fresh.history.push_back(Row(t, e.timestamp, system, "queue", "", t.queue));
      c = &by_customer.emplace(key, std::move(fresh)).first->second;
      order.push_back(key);
    } else if (survey_answer) {
      // stays solved
    } else if (c->ticket.status == "solved") {
      const Actor rule{Actor::Kind::kSystem, 0, "continuity"};
      c->ticket.reopen_count += 1;
      c->ticket.solved_at = 0;
      c->history.push_back(Row(c->ticket, e.timestamp, rule, "reopened", std::to_string(c->ticket.reopen_count - 1),
                               std::to_string(c->ticket.reopen_count)));
      c->history.push_back(Row(c->ticket, e.timestamp, rule, "status", "solved", "open"));
      c->ticket.status = "open";
    } else if (c->ticket.status == "pending_customer") {
      const Actor rule{Actor::Kind::kSystem, 0, "customer_reply"};
      c->history.push_back(Row(c->ticket, e.timestamp, rule, "status", "pending_customer", "open"));
      c->ticket.status = "open";
    }
    incoming.ticket = c->ticket.number;
    c->messages.push_back(incoming);
    if (options_.channels != nullptr) {  // channels: the e-mail's Message-ID, for threading
      TP_RETURN_IF_ERROR(options_.channels->OnCustomerMessage(*store_, *txn, c->ticket, incoming));
    }
    c->history.push_back(Row(c->ticket, e.timestamp, Actor{Actor::Kind::kCustomer, 0, "customer"}, "message", "",
                             channel));
    // The escalation rules' firings on this message (OnEscalations).
    auto [first, last] = firings_.equal_range(m.message_id);
    for (auto f = first; f != last; ++f) {
      const store::EscalationRecord& r = f->second;
      const Actor rule{Actor::Kind::kSystem, 0, r.rule};
      c->history.push_back(Row(c->ticket, e.timestamp, rule, "escalation", "", r.action));
      std::string raised = c->ticket.priority;
      if (r.action == "high_risk" || r.action == "supervisor_alert") raised = "high";
      if (r.action == "handoff" && raised == "low") raised = "medium";
      if (raised != c->ticket.priority) {
        c->history.push_back(Row(c->ticket, e.timestamp, rule, "priority", c->ticket.priority, raised));
        c->ticket.priority = raised;
      }
    }
    c->ticket.last_message_at = std::max(c->ticket.last_message_at, e.timestamp);
    c->ticket.updated_at = std::max(c->ticket.updated_at, e.timestamp);
  }
  if (txn == nullptr) {
    cursor_ = events.back().seq;  // nothing to store: see above
    return Status::Ok();
  }
  std::vector<DeskChange> written;  // the tickets left behind that changed, then the touched ones
  for (DeskChange& c : finished) {
    if (c.history.empty()) continue;
    TP_RETURN_IF_ERROR(WriteChange(repo, *txn, c));
    written.push_back(std::move(c));
  }
  for (std::int64_t customer : order) {
    DeskChange& c = by_customer.at(customer);
    // Routing: new and reopened tickets without an assignee get one (or wait).
    const bool reopened = std::any_of(c.history.begin(), c.history.end(),
                                      [](const TicketHistoryRecord& h) { return h.field == "reopened"; });
    if (c.ticket.assignee == 0 && (!c.loaded || reopened)) {
      TP_RETURN_IF_ERROR(RouteInTxnLocked(*txn, c.ticket, c.history, ""));
    }
    TP_RETURN_IF_ERROR(WriteChange(repo, *txn, c));
    written.push_back(std::move(c));
  }
  TP_RETURN_IF_ERROR(repo.SetCursor(*txn, options_.cursor_name, events.back().seq));
  TP_RETURN_IF_ERROR(CommitLocked(std::move(txn), written));
  cursor_ = events.back().seq;
  return Status::Ok();
}

// ---- steps ----

Result<StepReport> Desk::Steps(const StepQuery& q, const StepMeter& meter) {
  std::scoped_lock lock(mu_);
  if (store_ == nullptr) return Status::Unavailable("the desk is closed");
  store::TicketRepository& repo = store_->Get<store::TicketRepository>();
  std::unordered_map<std::int64_t, TicketRecord> tickets;
  TP_RETURN_IF_ERROR(repo.Scan([&](TicketRecord&& t) {
    if (q.from > 0 && t.created_at < q.from) return;
    if (q.to > 0 && t.created_at >= q.to) return;
    if (!q.type.empty() && t.type != q.type) return;
    if (!q.channel.empty() && t.channel != q.channel) return;
    if (t.merged_into != 0) return;  // its time continues in the ticket it was merged into
    tickets.emplace(t.number, std::move(t));
  }));
  std::map<std::int64_t, std::vector<TicketHistoryRecord>> rows;
  TP_RETURN_IF_ERROR(repo.ScanHistory([&](TicketHistoryRecord&& h) {
    if (!tickets.count(h.ticket)) return;
    if (h.field != "status" && h.field != "queue" && h.field != "assignee") return;
    rows[h.ticket].push_back(std::move(h));
  }));
  const Millis now = clock_.Now();
  // (kind, name) → per-ticket seconds
  std::map<std::pair<int, std::string>, std::vector<double>> samples;
  StepReport report;
  report.unit = std::string(meter.unit());
  for (auto& [number, hist] : rows) {
    std::stable_sort(hist.begin(), hist.end(), [](const auto& a, const auto& b) { return a.at < b.at; });
    std::string status, queue, assignee;
    Millis since = 0;
    std::map<std::pair<int, std::string>, double> mine;
    auto account = [&](Millis until) {
      if (since == 0 || until <= since) return;
      auto parsed = ParseStatus(status);
      if (!parsed.ok() || !IsHandling(*parsed)) return;
      const double s = meter.Seconds(since, until);
      mine[{0, status}] += s;
      if (!queue.empty()) mine[{1, queue}] += s;
      if (!assignee.empty()) mine[{2, assignee}] += s;
    };
    for (const TicketHistoryRecord& h : hist) {
      account(h.at);
      since = std::max(since, h.at);
      if (h.field == "status") status = h.after;
      if (h.field == "queue") queue = h.after;
      if (h.field == "assignee") assignee = h.after;
    }
    account(now);
    for (auto& [key, s] : mine) {
      samples[key].push_back(s);
      if (key.first == 0) report.handling_seconds += s;
    }
  }
  report.tickets = static_cast<std::int64_t>(tickets.size());
  static constexpr const char* kKinds[] = {"status", "queue", "assignee"};
  for (auto& [key, v] : samples) {
    std::sort(v.begin(), v.end());
    StepStat st;
    st.kind = kKinds[key.first];
    st.name = key.second;
    if (key.first == 2) {
      std::int64_t id = 0;
      for (char ch : key.second) id = id * 10 + (ch - '0');
      st.name = UserName(id);
    }
    st.count = static_cast<std::int64_t>(v.size());
    st.median_seconds = Quantile(v, 0.5);
    st.p90_seconds = Quantile(v, 0.9);
    for (double x : v) st.total_seconds += x;
    st.share = report.handling_seconds > 0 ? st.total_seconds / report.handling_seconds : 0;
    report.steps.push_back(std::move(st));
  }
  auto kind_order = [](const std::string& k) { return k == "status" ? 0 : k == "queue" ? 1 : 2; };
  std::stable_sort(report.steps.begin(), report.steps.end(), [&](const StepStat& a, const StepStat& b) {
    if (a.kind != b.kind) return kind_order(a.kind) < kind_order(b.kind);
    if (a.median_seconds != b.median_seconds) return a.median_seconds > b.median_seconds;
    return a.name < b.name;
  });
  return report;
}

// ---- SLA clocks and the complaint loop ----

void Desk::SetStatusGuard(StatusGuard guard) {
  std::scoped_lock lock(mu_);
  status_guard_ = std::move(guard);
}

Result<std::optional<TicketRecord>> Desk::ApplyChange(std::int64_t number, const ChangeFn& fn) {
  std::scoped_lock lock(mu_);
  TP_ASSIGN_OR_RETURN(TicketRecord t, Load(number));
  DeskChange c = DeskChange::Of(t);
  TP_ASSIGN_OR_RETURN(auto txn, store_->Begin());
  Status s = fn(*store_, *txn, c.ticket, c.history);
  if (s.code() == StatusCode::kAlreadyExists) return std::optional<TicketRecord>();
  TP_RETURN_IF_ERROR(s);
  c.ticket.number = number;
  c.ticket.version = t.version;
  const bool changed = !(c.ticket == t);
  if (changed) {
    TP_RETURN_IF_ERROR(WriteChange(store_->Get<store::TicketRepository>(), *txn, c));
  } else if (!c.history.empty()) {
    TP_RETURN_IF_ERROR(store_->Get<store::TicketRepository>().AddHistory(*txn, c.history));
  }
  TP_RETURN_IF_ERROR(CommitLocked(std::move(txn), std::span(&c, 1)));
  if (changed) c.ticket.version = t.version + 1;
  return std::optional<TicketRecord>(c.ticket);
}

Result<std::shared_ptr<Desk>> AttachDesk(pipeline::Engine& engine, std::unique_ptr<store::Store> store,
                                         std::function<void(ingest::MessagePayload&)> analyze, const Clock& clock,
                                         DeskOptions options) {
  auto desk = std::make_shared<Desk>(std::move(store), clock, std::move(options));
  TP_RETURN_IF_ERROR(desk->CatchUp(std::move(analyze)));
  engine.Subscribe(desk);
  return desk;
}

}  // namespace touchpoint::service
