#include <touchpoint/service/desk_events.h>

#include <algorithm>
#include <random>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include <touchpoint/outbox/outbox.h>
#include <touchpoint/service/ticket.h>
#include <touchpoint/store/team_repository.h>
#include <touchpoint/store/user_repository.h>

namespace touchpoint::service {
namespace {

std::string RandomId() {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  std::scoped_lock lock(mu);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "evt_";
  for (int i = 0; i < 2; ++i) {
    std::uint64_t v = rng();
    for (int j = 0; j < 12; ++j) {
      out.push_back(kHex[v & 0xF]);
      v >>= 4;
    }
  }
  return out;
}

// The ticket's state every ticket event carries.
std::vector<std::pair<std::string, std::string>> TicketFields(const store::TicketRecord& t) {
  return {{"status", t.status},     {"priority", t.priority},
          {"type", t.type},         {"channel", t.channel},
          {"queue", t.queue},       {"assignee", t.assignee != 0 ? std::to_string(t.assignee) : ""},
          {"customer_id", std::to_string(t.customer.value())}};
}

}  // namespace

DeskEvents::DeskEvents(DeskEventsOptions options) : options_(options) {}

Millis DeskEvents::Now() const { return (options_.clock != nullptr ? *options_.clock : SystemClock::Instance()).Now(); }

Status DeskEvents::Validate(DeskEvent& e) const {
  if (e.kind.empty() || e.kind.size() > 64) return Status::InvalidArgument("kind: 1 to 64 bytes of a-z 0-9 _ .");
  for (char c : e.kind) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.')) {
      return Status::InvalidArgument("kind: \"" + e.kind + "\" has a character other than a-z 0-9 _ .");
    }
  }
  if (e.id.empty()) e.id = RandomId();
  if (e.at == 0) e.at = Now();
  return Status::Ok();
}

std::string DeskEvents::DataJson(const DeskEvent& e) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  if (e.ticket != 0) j["ticket"] = FormatTicketNumber(e.ticket);
  for (const auto& [k, v] : e.fields) j[k] = v;
  return j.dump();
}

Result<std::vector<DeskEvent>> DeskEvents::EventsOf(store::Store& store, const TicketChange& c) const {
  std::vector<DeskEvent> out;
  if (c.ticket == nullptr) return out;
  const store::TicketRecord& t = *c.ticket;
  auto make = [&](std::string kind, Millis at) {
    DeskEvent e;
    e.kind = std::move(kind);
    e.ticket = t.number;
    e.fields = TicketFields(t);
    e.at = at;
    return e;
  };
  if (c.created) out.push_back(make("ticket.created", t.created_at));
  for (const store::TicketHistoryRecord& h : c.history) {
    if (h.field == "assignee") {
      DeskEvent e = make("ticket.assigned", h.at);
      e.fields.emplace_back("assignee_before", h.before);
      e.fields.emplace_back("by", h.actor_kind);
      out.push_back(std::move(e));
    } else if (h.field == "message" && h.after == "reply") {
      DeskEvent e = make("ticket.replied", h.at);
      e.fields.emplace_back("by", h.actor_kind);  // agent, supervisor, admin or bot; never the text
      out.push_back(std::move(e));
    } else if (h.field == "status" && h.after == "solved") {
      out.push_back(make("ticket.solved", h.at));
    } else if (h.field == "escalation" && h.after == "supervisor_alert") {
      DeskEvent e = make("supervisor.alert", h.at);
      e.fields.emplace_back("rule", h.actor);
      // The supervisors to notify: the queue's team, else the assignee's team, else every team's.
      TP_ASSIGN_OR_RETURN(auto teams, store.Get<store::TeamRepository>().List());
      std::vector<std::int64_t> supervisors;
      for (const auto& team : teams) {
        if (team.name == t.queue) supervisors = team.supervisors;
      }
      if (supervisors.empty() && t.assignee != 0) {
        TP_ASSIGN_OR_RETURN(auto a, store.Get<store::UserRepository>().Find(t.assignee));
        for (const auto& team : teams) {
          if (a && team.id == a->team_id) supervisors = team.supervisors;
        }
      }
      if (supervisors.empty()) {
        for (const auto& team : teams) supervisors.insert(supervisors.end(), team.supervisors.begin(), team.supervisors.end());
      }
      std::sort(supervisors.begin(), supervisors.end());
      supervisors.erase(std::unique(supervisors.begin(), supervisors.end()), supervisors.end());
      std::string ids, emails;
      for (std::int64_t id : supervisors) {
        TP_ASSIGN_OR_RETURN(auto u, store.Get<store::UserRepository>().Find(id));
        if (!u || u->disabled_at != 0) continue;
        ids += (ids.empty() ? "" : ",") + std::to_string(id);
        emails += (emails.empty() ? "" : ",") + u->email;
      }
      e.fields.emplace_back("supervisor_ids", ids);
      e.fields.emplace_back("supervisors", emails);
      out.push_back(std::move(e));
    }
  }
  return out;
}

Status DeskEvents::Enqueue(store::Store& store, store::Transaction& txn, DeskEvent& e) {
  TP_RETURN_IF_ERROR(Validate(e));
  outbox::Outbox* box = outbox_.load();
  if (box == nullptr) return Status::Ok();
  outbox::Event out{e.id, e.kind, e.at, DataJson(e)};
  TP_RETURN_IF_ERROR(box->EnqueueEvent(store, txn, out).status());
  if (e.kind != "supervisor.alert" || box->options().smtp.host.empty()) return Status::Ok();
  // With an SMTP relay, each supervisor also gets an e-mail (ticket number and rule: no text).
  std::string ids, emails;
  for (const auto& [k, v] : e.fields) {
    if (k == "supervisor_ids") ids = v;
    if (k == "supervisors") emails = v;
  }
  size_t ipos = 0, epos = 0;
  while (epos < emails.size()) {
    size_t eend = emails.find(',', epos), iend = ids.find(',', ipos);
    if (eend == std::string::npos) eend = emails.size();
    if (iend == std::string::npos) iend = ids.size();
    outbox::Email mail;
    mail.to = emails.substr(epos, eend - epos);
    mail.subject = "Supervisor alert: " + FormatTicketNumber(e.ticket);
    std::string rule, queue, priority;
    for (const auto& [k, v] : e.fields) {
      if (k == "rule") rule = v;
      if (k == "queue") queue = v;
      if (k == "priority") priority = v;
    }
    mail.text = "The escalation rule " + rule + " fired on " + FormatTicketNumber(e.ticket) + " (queue " + queue +
                ", priority " + priority + ").\n";
    mail.key = e.id + ".supervisor-" + ids.substr(ipos, iend - ipos);
    TP_RETURN_IF_ERROR(box->EnqueueEmail(store, txn, mail).status());
    epos = eend + 1;
    ipos = iend + 1;
  }
  return Status::Ok();
}

Status DeskEvents::BeforeCommit(store::Store& store, store::Transaction& txn, std::span<const TicketChange> changes) {
  std::vector<DeskEvent> staged;
  for (const TicketChange& c : changes) {
    TP_ASSIGN_OR_RETURN(auto events, EventsOf(store, c));
    for (DeskEvent& e : events) {
      TP_RETURN_IF_ERROR(Enqueue(store, txn, e));
      staged.push_back(std::move(e));
    }
  }
  std::scoped_lock lock(mu_);
  staged_ = std::move(staged);  // each commit's BeforeCommit replaces what a failed one left
  return Status::Ok();
}

void DeskEvents::AfterCommit(std::span<const TicketChange>) {
  std::vector<DeskEvent> staged;
  {
    std::scoped_lock lock(mu_);
    staged.swap(staged_);
  }
  for (const DeskEvent& e : staged) Publish(e);
}

Status DeskEvents::Emit(const DeskEvent& event) {
  DeskEvent e = event;
  TP_RETURN_IF_ERROR(Validate(e));
  if (outbox::Outbox* box = outbox_.load(); box != nullptr) {
    TP_RETURN_IF_ERROR(box->EnqueueEvent(outbox::Event{e.id, e.kind, e.at, DataJson(e)}).status());
  }
  Publish(e);
  return Status::Ok();
}

void DeskEvents::Publish(const DeskEvent& e) {
  std::scoped_lock lock(mu_);
  ring_.push_back(FeedEntry{++seq_, e.id, e.kind, e.ticket, e.at, DataJson(e)});
  while (ring_.size() > std::max<size_t>(1, options_.feed_capacity)) ring_.pop_front();
}

std::vector<FeedEntry> DeskEvents::Feed(std::int64_t after, int limit, bool* gap) const {
  std::scoped_lock lock(mu_);
  std::vector<FeedEntry> out;
  if (gap != nullptr) *gap = !ring_.empty() && ring_.front().seq > after + 1;
  for (const FeedEntry& f : ring_) {
    if (f.seq <= after) continue;
    if (static_cast<int>(out.size()) >= limit) break;
    out.push_back(f);
  }
  return out;
}

std::int64_t DeskEvents::last_seq() const {
  std::scoped_lock lock(mu_);
  return seq_;
}

}  // namespace touchpoint::service
