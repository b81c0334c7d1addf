#include <touchpoint/insight/kpi_facts.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <utility>

#include <touchpoint/service/spans.h>
#include <touchpoint/service/ticket.h>
#include <touchpoint/store/team_repository.h>
#include <touchpoint/store/user_repository.h>

namespace touchpoint::insight {
namespace {

using store::KpiSpanRecord;
using store::TicketHistoryRecord;
using store::TicketMessageRecord;

calendar::UnixSeconds Sec(Millis t) { return t >= 0 ? t / 1000 : -((-t + 999) / 1000); }

// As the SLA policy's minutes become seconds (service/sla.cc): whole seconds, fractions truncated.
std::int64_t TargetSeconds(double minutes) {
  return minutes > 0 ? static_cast<std::int64_t>(std::floor(minutes * 60.0 + 1e-6)) : 0;
}

std::string EndEvent(const service::Span& s) {
  if (s.ended_by == "reply") return "agent_reply";
  return s.ended_by;  // "solved", or "" while running
}

KpiSpanRecord Record(std::string kind, std::int32_t seq, const service::Span& s, std::string start_event) {
  KpiSpanRecord r;
  r.kind = std::move(kind);
  r.seq = seq;
  r.start = s.start;
  r.stop = s.stop;
  r.start_event = std::move(start_event);
  r.end_event = EndEvent(s);
  r.wall_seconds = s.wall_seconds;
  r.business_seconds = s.business_seconds;
  return r;
}

// The target of a finished span under the SLA's rule: its due time is service::DueAfter from its
// start under the ticket's pauses on the target's clock (what the SLA timer fires the breach at);
// met when it stopped at or before that. Pauses still lasting end at the span's stop.
Status ApplyTarget(KpiSpanRecord& r, double minutes, std::span<const service::PauseSpan> pauses,
                   const calendar::Calendar* target_calendar) {
  r.target_seconds = TargetSeconds(minutes);
  if (r.target_seconds <= 0 || r.stop == 0) return Status::Ok();
  std::vector<service::PauseSpan> closed(pauses.begin(), pauses.end());
  for (auto& p : closed) {
    if (p.to == 0) p.to = std::max(p.from, r.stop);
  }
  TP_ASSIGN_OR_RETURN(std::optional<Millis> due, service::DueAfter(r.start, r.target_seconds, closed, target_calendar));
  if (due) r.met = r.stop <= *due ? 1 : 0;
  return Status::Ok();
}

bool SameMessage(const TicketMessageRecord& a, const TicketMessageRecord& b) {
  // Not the text (an encrypting repository may store it otherwise), nor the ticket (a merge moves).
  return a.at == b.at && a.author == b.author && a.agent == b.agent && a.channel == b.channel &&
         a.internal == b.internal && a.message_id == b.message_id && a.intent == b.intent &&
         a.sentiment_label == b.sentiment_label;
}
bool SameHistory(const TicketHistoryRecord& a, const TicketHistoryRecord& b) {
  return a.ticket == b.ticket && a.at == b.at && a.actor_kind == b.actor_kind && a.actor == b.actor &&
         a.field == b.field && a.before == b.before && a.after == b.after;
}

// Adds the rows of the change in flight unless the store's read already returned them (SQLite and
// PostgreSQL read the open transaction on the writer's connection; the memory store does not): they
// are then the last rows read, in any order.
template <class R, class Eq>
void AddUnseen(std::vector<R>& stored, std::span<const R> fresh, Eq same) {
  if (fresh.empty()) return;
  bool seen = stored.size() >= fresh.size();
  if (seen) {
    std::vector<bool> used(fresh.size(), false);
    for (size_t i = stored.size() - fresh.size(); i < stored.size() && seen; ++i) {
      bool matched = false;
      for (size_t j = 0; j < fresh.size() && !matched; ++j) {
        if (!used[j] && same(stored[i], fresh[j])) used[j] = matched = true;
      }
      seen = matched;
    }
  }
  if (seen) return;
  // Not stored yet: they come after every stored row (ids are assigned at insertion, in order).
  std::int64_t next = 0;
  for (const R& r : stored) next = std::max(next, r.id);
  for (const R& r : fresh) {
    stored.push_back(r);
    if (stored.back().id == 0) stored.back().id = ++next;
  }
}

}  // namespace

Result<KpiFacts> MeasureTicket(const store::TicketRecord& ticket, std::span<const TicketHistoryRecord> history,
                               std::span<const TicketMessageRecord> messages, const TicketMeasure& m, std::string team,
                               Millis now) {
  TP_ASSIGN_OR_RETURN(service::TicketSpans spans,
                      service::ComputeSpans(ticket, history, messages, service::SpanOptions{m.calendar, now}));
  KpiFacts f;
  store::KpiTicketRecord& t = f.ticket;
  t.ticket = ticket.number;
  t.customer = ticket.customer;
  t.created_at = ticket.created_at;
  t.status = ticket.merged_into != 0 ? "merged" : ticket.status;  // merged away: no KPI counts it
  t.channel = ticket.channel;
  t.queue = ticket.queue;
  t.priority = ticket.priority;
  t.type = ticket.type;
  t.tier = m.tier;
  t.team = std::move(team);
  t.agent = ticket.assignee;
  t.policy = m.policy != nullptr ? m.policy->name : m.policy_name;
  t.measured_at = now;
  if (!spans.solved.empty()) t.first_solved_at = spans.solved.front().from;
  if (ticket.status == "solved" || ticket.status == "closed") {
    t.solved_at = !spans.solved.empty() ? spans.solved.back().from : ticket.solved_at;
  }
  for (const service::PauseSpan& s : spans.solved) {
    if (s.to != 0) t.reopened_at.push_back(s.to);
  }

  // The thread in time order: intent, agent replies, the bot, sentiment.
  std::vector<const TicketMessageRecord*> thread;
  for (const auto& msg : messages) thread.push_back(&msg);
  std::stable_sort(thread.begin(), thread.end(), [](const auto* a, const auto* b) {
    if (a->at != b->at) return a->at < b->at;
    return a->id < b->id;
  });
  bool answered = false;
  bool has_customer = false;
  for (const TicketMessageRecord* msg : thread) {
    if (msg->internal) continue;
    if (msg->author == "customer") {
      if (!has_customer) t.intent = msg->intent == "other" ? "" : msg->intent;
      has_customer = true;
      if (!msg->sentiment_label.empty()) {
        ++t.sentiment_count;
        t.sentiment_sum += msg->sentiment_score;
        if (msg->sentiment_label == "negative") ++t.sentiment_negative;
      }
    } else if (msg->author == "agent") {
      if (t.first_solved_at == 0 || msg->at <= t.first_solved_at) ++t.agent_replies;
      answered = true;
    } else if (msg->author == "bot") {
      if (!answered) t.bot_first = true;
      answered = true;
    }
  }
  for (const TicketHistoryRecord& h : history) {
    if (h.field == "escalation" && h.after != "handoff") t.escalated = true;
  }

  const service::SlaPolicy* policy = m.policy;
  // First response: where it started (the customer, the creation, or the bot's hand-off).
  if (spans.first_response) {
    const service::Span& s = *spans.first_response;
    std::string start = has_customer ? "customer_message" : "created";
    if (t.bot_first) {
      start = "customer_after_bot";
      for (const TicketHistoryRecord& h : history) {
        if (h.at == s.start && (h.field == "handoff" || (h.field == "escalation" && h.after == "handoff"))) {
          start = "bot_handoff";
        }
      }
    }
    KpiSpanRecord r = Record("first_response", 0, s, std::move(start));
    if (policy != nullptr) TP_RETURN_IF_ERROR(ApplyTarget(r, policy->first_response.minutes, spans.pauses, m.target_calendar));
    f.spans.push_back(std::move(r));
  }
  for (size_t i = 0; i < spans.next_responses.size(); ++i) {
    KpiSpanRecord r = Record("next_response", static_cast<std::int32_t>(i), spans.next_responses[i], "customer_message");
    if (policy != nullptr) TP_RETURN_IF_ERROR(ApplyTarget(r, policy->next_response.minutes, spans.pauses, m.target_calendar));
    f.spans.push_back(std::move(r));
  }
  if (spans.resolution) {
    KpiSpanRecord r = Record("resolution", 0, *spans.resolution, "created");
    // The resolution target runs from the last reopen when there was one (as the SLA timer's).
    if (policy != nullptr && !spans.resolution_since_reopen) {
      TP_RETURN_IF_ERROR(ApplyTarget(r, policy->resolution.minutes, spans.pauses, m.target_calendar));
    }
    f.spans.push_back(std::move(r));
  }
  if (spans.resolution_since_reopen) {
    KpiSpanRecord r = Record("resolution_since_reopen", 0, *spans.resolution_since_reopen, "reopened");
    if (policy != nullptr) TP_RETURN_IF_ERROR(ApplyTarget(r, policy->resolution.minutes, spans.pauses, m.target_calendar));
    f.spans.push_back(std::move(r));
  }
  for (size_t i = 0; i < spans.pauses.size(); ++i) {
    const service::PauseSpan& p = spans.pauses[i];
    KpiSpanRecord r;
    r.kind = "pause";
    r.seq = static_cast<std::int32_t>(i);
    r.start = p.from;
    r.stop = p.to;
    r.start_event = p.status;
    r.end_event = p.to != 0 ? "resumed" : "";
    const Millis end = p.to != 0 ? p.to : std::max(now, p.from);
    r.wall_seconds = std::max<std::int64_t>(0, Sec(end) - Sec(p.from));
    r.business_seconds = r.wall_seconds;
    if (m.calendar != nullptr) {
      TP_ASSIGN_OR_RETURN(r.business_seconds, m.calendar->BusinessSeconds(Sec(p.from), Sec(end)));
    }
    f.spans.push_back(std::move(r));
  }
  for (auto& r : f.spans) r.ticket = ticket.number;
  std::stable_sort(f.spans.begin(), f.spans.end(), [](const KpiSpanRecord& a, const KpiSpanRecord& b) {
    if (a.kind != b.kind) return a.kind < b.kind;
    return a.seq < b.seq;
  });
  return f;
}

Status MeasureAndPut(store::Store& store, store::Transaction& txn, const store::TicketRecord& ticket,
                     std::span<const TicketMessageRecord> messages, std::span<const TicketHistoryRecord> history,
                     const TicketMeasure& measure, Millis now, KpiFacts* out) {
  store::TicketRepository& tickets = store.Get<store::TicketRepository>();
  TP_ASSIGN_OR_RETURN(std::vector<TicketHistoryRecord> rows, tickets.History(ticket.number));
  TP_ASSIGN_OR_RETURN(std::vector<TicketMessageRecord> thread, tickets.Messages(ticket.number));
  AddUnseen(rows, history, SameHistory);
  AddUnseen(thread, messages, SameMessage);
  // A merge moves the source's thread here in the same transaction: read it where it was.
  for (const TicketHistoryRecord& h : history) {
    if (h.field != "merge" || h.after.rfind("from ", 0) != 0) continue;
    auto source = service::ParseTicketNumber(h.after.substr(5));
    if (!source.ok()) continue;
    TP_ASSIGN_OR_RETURN(std::vector<TicketMessageRecord> moved, tickets.Messages(*source));
    for (auto& msg : moved) {
      const bool have = std::any_of(thread.begin(), thread.end(), [&](const auto& x) { return x.id == msg.id; });
      if (!have) thread.push_back(std::move(msg));
    }
  }
  std::string team;
  if (ticket.assignee != 0) {
    TP_ASSIGN_OR_RETURN(auto user, store.Get<store::UserRepository>().Find(ticket.assignee));
    if (user && user->team_id != 0) {
      TP_ASSIGN_OR_RETURN(auto found, store.Get<store::TeamRepository>().Find(user->team_id));
      if (found) team = found->name;
    }
  }
  TP_ASSIGN_OR_RETURN(KpiFacts facts, MeasureTicket(ticket, rows, thread, measure, std::move(team), now));
  TP_RETURN_IF_ERROR(store.Get<store::KpiRepository>().PutTicket(txn, facts.ticket, facts.spans));
  if (out != nullptr) *out = std::move(facts);
  return Status::Ok();
}

KpiSpanListener::KpiSpanListener(const Clock& clock, MeasureFn measure) : clock_(clock), measure_(std::move(measure)) {}

void KpiSpanListener::SetMeasure(MeasureFn measure) {
  std::scoped_lock lock(mu_);
  measure_ = std::move(measure);
}

void KpiSpanListener::SetObserver(std::function<void(std::span<const KpiFacts>)> observer) {
  std::scoped_lock lock(mu_);
  observer_ = std::move(observer);
}

Status KpiSpanListener::BeforeCommit(store::Store& store, store::Transaction& txn,
                                     std::span<const service::TicketChange> changes) {
  MeasureFn measure;
  bool observed = false;
  {
    std::scoped_lock lock(mu_);
    measure = measure_;
    observed = static_cast<bool>(observer_);
  }
  const Millis now = clock_.Now();
  std::vector<KpiFacts> staged;
  for (const service::TicketChange& c : changes) {
    if (c.ticket == nullptr) continue;
    TicketMeasure m = measure ? measure(*c.ticket) : TicketMeasure{};
    KpiFacts facts;
    TP_RETURN_IF_ERROR(MeasureAndPut(store, txn, *c.ticket, c.messages, c.history, m, now, observed ? &facts : nullptr));
    if (observed) staged.push_back(std::move(facts));
  }
  std::scoped_lock lock(mu_);
  staged_ = std::move(staged);  // each commit's BeforeCommit replaces what a failed one left
  return Status::Ok();
}

void KpiSpanListener::AfterCommit(std::span<const service::TicketChange>) {
  std::vector<KpiFacts> staged;
  std::function<void(std::span<const KpiFacts>)> observer;
  {
    std::scoped_lock lock(mu_);
    staged.swap(staged_);
    observer = observer_;
  }
  if (observer && !staged.empty()) observer(staged);
}

Result<std::int64_t> RebuildKpiFacts(store::Store& store, const MeasureFn& measure, Millis now) {
  std::vector<store::TicketRecord> all;
  store::TicketRepository& tickets = store.Get<store::TicketRepository>();
  TP_RETURN_IF_ERROR(tickets.Scan([&](store::TicketRecord&& t) { all.push_back(std::move(t)); }));
  TP_ASSIGN_OR_RETURN(auto txn, store.Begin());
  TP_RETURN_IF_ERROR(store.Get<store::KpiRepository>().Clear(*txn).status());
  std::int64_t n = 0;
  for (const store::TicketRecord& t : all) {
    const TicketMeasure m = measure ? measure(t) : TicketMeasure{};
    TP_RETURN_IF_ERROR(MeasureAndPut(store, *txn, t, {}, {}, m, now).WithContext(service::FormatTicketNumber(t.number)));
    ++n;
  }
  TP_RETURN_IF_ERROR(txn->Commit());
  return n;
}

}  // namespace touchpoint::insight
