// The desk's agents and routing: agents' facts, the cache the router reads, routing tickets in
// the desk's transactions, and handing waiting tickets out when agents free up or come online
// (service/agents.h, service/router.h; docs/service-desk.md, "Routing").
#include <touchpoint/service/agents.h>

#include <algorithm>
#include <unordered_map>
#include <utility>

#include <nlohmann/json.hpp>

#include <touchpoint/calendar/calendar_file.h>
#include <touchpoint/core/strings.h>
#include <touchpoint/privacy/users.h>
#include <touchpoint/profile/profile.h>
#include <touchpoint/service/desk.h>
#include <touchpoint/store/profile_repository.h>
#include <touchpoint/store/team_repository.h>
#include <touchpoint/store/ticket_repository.h>
#include <touchpoint/store/user_repository.h>

#include "service/desk_internal.h"
#include "service/routing_internal.h"

namespace touchpoint::service {
namespace {

using Json = nlohmann::ordered_json;
using store::AgentRecord;
using store::TicketRecord;

constexpr std::int32_t kMaxCapacity = 1000;

bool ValidToken(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.')) return false;
  }
  return true;
}

Status NormalizeList(std::vector<std::string>* v, std::string_view field) {
  for (size_t i = 0; i < v->size(); ++i) {
    if (!ValidToken((*v)[i])) {
      return Status::InvalidArgument(std::string(field) + "[" + std::to_string(i) + "]: \"" + (*v)[i] +
                                     "\" is not a name (lower-case letters, digits, '_', '-', '.')");
    }
  }
  std::sort(v->begin(), v->end());
  v->erase(std::unique(v->begin(), v->end()), v->end());
  return Status::Ok();
}

bool Handling(const TicketRecord& t) {
  return t.merged_into == 0 &&
         (t.status == "new" || t.status == "open" || t.status == "pending_customer" ||
          t.status == "pending_third_party");
}
bool Counted(const TicketRecord& t) { return t.assignee != 0 && Handling(t); }

int PriorityRank(const std::string& p) { return p == "high" ? 0 : p == "medium" ? 1 : 2; }

int YearAt(Millis now) {
  const std::int64_t days = now / kMillisPerDay;
  return calendar::YearOf(calendar::Date{days});
}

// The compiled shift of `text` (cached), or null for "always".
Result<const calendar::Calendar*> CompileShift(RoutingCache& cache, const std::string& text, Millis now) {
  if (text.empty()) return static_cast<const calendar::Calendar*>(nullptr);
  const int year = YearAt(now);
  const std::string key = std::to_string(year) + "|" + text;
  auto it = cache.shifts.find(key);
  if (it != cache.shifts.end()) return static_cast<const calendar::Calendar*>(it->second.get());
  TP_ASSIGN_OR_RETURN(auto doc, calendar::ParseCalendarDocument(text, calendar::FileFormat::kJson, "shift"));
  if (!doc.calendar) return Status::InvalidArgument("shift: expected a calendar (zone and week)");
  calendar::BuildOptions range;
  range.first_year = std::max(2000, year - 1);
  range.last_year = std::min(2099, year + 1);
  TP_ASSIGN_OR_RETURN(calendar::Calendar cal, calendar::Calendar::Build(std::move(*doc.calendar), range));
  auto owned = std::make_unique<calendar::Calendar>(std::move(cal));
  const calendar::Calendar* out = owned.get();
  cache.shifts.emplace(key, std::move(owned));
  return out;
}

RoutingAgent ToRouting(const AgentRecord& r, const calendar::Calendar* shift) {
  RoutingAgent a;
  a.id = r.user_id;
  a.name = r.name;
  a.skills = r.skills;
  a.languages = r.languages;
  a.attributes = r.attributes;
  a.capacity = r.capacity;
  a.state = ParseAgentState(r.state).value_or(AgentState::kOffline);
  a.state_since = r.state_changed_at;
  a.shift = shift;
  return a;
}

// Reads the agents, their loads and their users (three queries, also on the hook thread every
// DeskOptions::routing_refresh_ms: not one per agent).
Status Reload(RoutingCache& cache, store::Store& store, Millis now) {
  TP_ASSIGN_OR_RETURN(auto records, store.Get<store::AgentRepository>().List());
  TP_ASSIGN_OR_RETURN(auto loads, store.Get<store::AgentRepository>().OpenLoads());
  TP_ASSIGN_OR_RETURN(auto user_list, store.Get<store::UserRepository>().List());
  std::unordered_map<std::int64_t, const store::UserRecord*> users;
  for (const store::UserRecord& u : user_list) users.emplace(u.id, &u);
  cache.records.clear();
  cache.agents.clear();
  cache.emails.clear();
  cache.index.clear();
  for (AgentRecord& r : records) {
    auto shift = CompileShift(cache, r.shift, now);
    RoutingAgent a = ToRouting(r, shift.ok() ? *shift : nullptr);
    if (!shift.ok()) a.state = AgentState::kOffline;  // a shift that no longer compiles: never routed to
    auto it = loads.find(r.user_id);
    a.load = it == loads.end() ? 0 : it->second;
    auto user = users.find(r.user_id);
    const store::UserRecord* u = user == users.end() ? nullptr : user->second;
    if (u == nullptr || u->disabled_at != 0) a.state = AgentState::kOffline;  // a disabled user takes nothing
    cache.index[r.user_id] = cache.records.size();
    cache.emails.push_back(u != nullptr ? u->email : "");
    cache.agents.push_back(std::move(a));
    cache.records.push_back(std::move(r));
  }
  cache.loaded = true;
  cache.loaded_at = now;
  return Status::Ok();
}

// The JSON value text `v` as a string (a JSON string's content, else the text itself).
std::string JsonString(const std::string* v) {
  if (v == nullptr) return "";
  Json j = Json::parse(*v, nullptr, false);
  if (j.is_string()) return j.get<std::string>();
  if (j.is_number_integer()) return std::to_string(j.get<std::int64_t>());
  return "";
}
double JsonNumber(const std::string* v, double otherwise) {
  if (v == nullptr) return otherwise;
  Json j = Json::parse(*v, nullptr, false);
  if (j.is_number()) return j.get<double>();
  if (j.is_string()) {
    try {
      return std::stod(j.get<std::string>());
    } catch (...) {
      return otherwise;
    }
  }
  return otherwise;
}

// What the router knows about `t`'s customer: the profile's tier, advisor, elderly flag, age and
// churn risk, and who last served them.
Status Facts(store::Store& store, const RoutingCache& cache, const TicketRecord& t, RoutingRequest* r) {
  auto stored = store.Get<store::ProfileRepository>().Find(t.customer);
  if (stored.ok() && stored->has_value()) {
    auto profile = profile::Profile::Parse((*stored)->data);
    if (profile.ok()) {
      const profile::Profile& p = *profile;
      r->tier = JsonString(p.FindTag("tier"));
      if (r->tier.empty()) r->tier = JsonString(p.FindTrait("tier"));
      const std::string advisor = JsonString(p.FindTrait("advisor"));
      if (!advisor.empty()) {
        const std::string advisor_email = AsciiLower(advisor);
        for (size_t i = 0; i < cache.records.size(); ++i) {
          const bool by_id = advisor == std::to_string(cache.records[i].user_id);
          if (by_id || (!cache.emails[i].empty() && advisor_email == cache.emails[i])) {
            r->advisor = cache.records[i].user_id;
            break;
          }
        }
      }
      const std::string* elderly = p.FindTrait("elderly");
      r->elderly = elderly != nullptr && (*elderly == "true" || JsonString(elderly) == "true");
      r->age = static_cast<int>(JsonNumber(p.FindTrait("age"), 0));
      r->churn_risk = JsonNumber(p.FindTag("churn_risk"), -1);
    }
  } else if (!stored.ok()) {
    return stored.status();
  }
  store::TicketFilter f;
  f.customer = t.customer;
  f.limit = 20;
  TP_ASSIGN_OR_RETURN(auto recent, store.Get<store::TicketRepository>().List(f));
  for (const TicketRecord& o : recent) {
    if (o.number == t.number || o.assignee == 0) continue;
    r->last_agent = o.assignee;
    r->last_served_at = std::max({o.last_message_at, o.solved_at, o.updated_at});
    break;
  }
  return Status::Ok();
}

std::string DecisionDetail(const RoutingDecision& d, const RoutingRequest& r, const RoutingCache& cache,
                           const RoutingPolicy& policy) {
  Json j;
  j["skill"] = r.skill;
  j["language"] = r.language;
  const bool vip = !r.tier.empty() && std::find(policy.vip_tiers.begin(), policy.vip_tiers.end(), r.tier) !=
                                          policy.vip_tiers.end();
  const bool vulnerable = r.elderly || (policy.elderly_age > 0 && r.age >= policy.elderly_age) ||
                          (r.churn_risk >= 0 && r.churn_risk >= policy.churn_risk_threshold);
  j["customer"] = Json{{"tier", r.tier.empty() ? Json(nullptr) : Json(r.tier)},
                       {"vip", vip},
                       {"advisor", r.advisor ? Json(r.advisor) : Json(nullptr)},
                       {"vulnerable", vulnerable},
                       {"last_agent", r.last_agent ? Json(r.last_agent) : Json(nullptr)}};
  j["candidates"] = Json::array();
  for (const Candidate& c : d.candidates) {
    auto it = cache.index.find(c.agent);
    Json e;
    e["agent"] = c.agent;
    e["name"] = it == cache.index.end() ? "" : cache.records[it->second].name;
    e["outcome"] = c.reason == PassReason::kChosen      ? "chosen"
                   : c.reason == PassReason::kOutscored ? "candidate"
                                                        : "passed";
    e["reason"] = ExplainCandidate(c, d, r, cache.agents, policy);
    e["load"] = c.load;
    e["capacity"] = c.capacity;
    if (c.reason == PassReason::kChosen || c.reason == PassReason::kOutscored) e["score"] = c.score;
    j["candidates"].push_back(std::move(e));
  }
  return j.dump();
}

// Whether some agent could take a ticket with these needs now (the cheap part of Route).
bool AnyoneFits(const RoutingCache& cache, const std::string& skill, const std::string& language, Millis now) {
  for (const RoutingAgent& a : cache.agents) {
    if (a.state != AgentState::kOnline || a.load >= a.capacity) continue;
    if (!skill.empty() && !std::binary_search(a.skills.begin(), a.skills.end(), skill)) continue;
    if (!language.empty() && !std::binary_search(a.languages.begin(), a.languages.end(), language)) continue;
    if (a.shift != nullptr) {
      auto s = a.shift->BusinessSeconds(now / 1000, now / 1000 + 1);
      if (!s.ok() || *s == 0) continue;
    }
    return true;
  }
  return false;
}

bool AnyoneHasRoom(const RoutingCache& cache) {
  for (const RoutingAgent& a : cache.agents) {
    if (a.state == AgentState::kOnline && a.load < a.capacity) return true;
  }
  return false;
}

}  // namespace

Result<std::string> NormalizeShift(const std::string& text) {
  if (text.empty()) return std::string();
  const bool json = text.find_first_not_of(" \t\r\n") != std::string::npos &&
                    text[text.find_first_not_of(" \t\r\n")] == '{';
  auto doc = calendar::ParseCalendarDocument(text, json ? calendar::FileFormat::kJson : calendar::FileFormat::kToml,
                                             "shift");
  if (!doc.ok()) return doc.status().WithContext("shift");
  if (!doc->calendar) return Status::InvalidArgument("shift: expected a calendar (zone and week)");
  calendar::BuildOptions range;
  range.first_year = 2024;
  range.last_year = 2025;
  auto built = calendar::Calendar::Build(*doc->calendar, range);  // checks the zone
  if (!built.ok()) return built.status().WithContext("shift");
  return calendar::CalendarToJson(*doc->calendar);
}

Status NormalizeAgent(NewAgent* a) {
  if (a->name.empty() || a->name.size() > 100) return Status::InvalidArgument("name: required (at most 100 bytes)");
  TP_RETURN_IF_ERROR(NormalizeList(&a->skills, "skills"));
  TP_RETURN_IF_ERROR(NormalizeList(&a->languages, "languages"));
  TP_RETURN_IF_ERROR(NormalizeList(&a->attributes, "attributes"));
  if (a->capacity < 1 || a->capacity > kMaxCapacity) {
    return Status::InvalidArgument("capacity: expected 1 to " + std::to_string(kMaxCapacity));
  }
  TP_ASSIGN_OR_RETURN(a->shift, NormalizeShift(a->shift));
  if (a->user_id < 0) return Status::InvalidArgument("user: expected a user id or e-mail");
  if (!a->email.empty()) {
    TP_ASSIGN_OR_RETURN(a->email, privacy::NormalizeEmail(a->email));
  }
  return Status::Ok();
}

RoutingCache::RoutingCache(const DeskOptions& options) {
  policies["default"] = DefaultRoutingPolicy();
  policy_order.push_back("default");
  for (const RoutingPolicy& p : options.routing_policies) {
    if (!policies.count(p.name)) policy_order.push_back(p.name);
    policies[p.name] = p;
  }
}

// ---- the desk's routing ----

Status Desk::RouteInTxnLocked(store::Transaction& txn, TicketRecord& ticket,
                              std::vector<store::TicketHistoryRecord>& history, const std::string& policy_name) {
  RoutingCache& cache = *routing_;
  const Millis now = clock_.Now();
  if (!cache.loaded || now - cache.loaded_at > options_.routing_refresh_ms || now < cache.loaded_at) {
    TP_RETURN_IF_ERROR(Reload(cache, *store_, now));
  }
  if (cache.agents.empty()) return Status::Ok();  // a desk without agents routes nothing (no decision)
  store::AgentRepository& agents = store_->Get<store::AgentRepository>();
  std::string name = policy_name;
  if (name.empty() && options_.routing_policy_for) name = options_.routing_policy_for(ticket);
  if (name.empty() && ticket.version != 0) {  // a ticket being created (version 0) has no decisions yet
    TP_ASSIGN_OR_RETURN(auto earlier, agents.Decisions(ticket.number));
    if (!earlier.empty()) name = earlier.back().policy;
  }
  if (name.empty() || !cache.policies.count(name)) {
    if (!policy_name.empty()) {
      return Status::InvalidArgument("routing_policy: no policy \"" + policy_name + "\"");
    }
    name = "default";
  }
  const RoutingPolicy& policy = cache.policies.at(name);
  RoutingRequest r;
  r.ticket = ticket.number;
  r.skill = ticket.skill;
  r.language = ticket.language;
  r.now = now;
  TP_RETURN_IF_ERROR(Facts(*store_, cache, ticket, &r));
  const RoutingDecision d = Route(r, cache.agents, policy);
  if (d.agent != 0) {
    ticket.assignee = d.agent;
    ticket.updated_at = std::max(ticket.updated_at, now);
    history.push_back(store::TicketHistoryRecord{0, ticket.number, now, "system", "routing:" + d.rule, "assignee", "",
                                                 std::to_string(d.agent)});
  }
  return agents.AddDecision(
      txn, store::RoutingDecisionRecord{0, ticket.number, now, d.policy, d.rule, d.agent,
                                        DecisionDetail(d, r, cache, policy)});
}

bool Desk::RoutingAfterChangeLocked(const TicketRecord* before, const TicketRecord& after) {
  RoutingCache& cache = *routing_;
  const bool was = before != nullptr && Counted(*before);
  const bool is = Counted(after);
  if (cache.loaded) {
    auto adjust = [&](std::int64_t agent, std::int32_t delta) {
      auto it = cache.index.find(agent);
      if (it != cache.index.end()) cache.agents[it->second].load += delta;
    };
    if (was) adjust(before->assignee, -1);
    if (is) adjust(after.assignee, +1);
  }
  return was && !(is && after.assignee == before->assignee);
}

Result<int> Desk::RouteWaitingLocked() {
  if (store_ == nullptr) return Status::Unavailable("the desk is closed");
  RoutingCache& cache = *routing_;
  const Millis now = clock_.Now();
  if (!cache.loaded || now - cache.loaded_at > options_.routing_refresh_ms || now < cache.loaded_at) {
    TP_RETURN_IF_ERROR(Reload(cache, *store_, now));
  }
  if (!AnyoneHasRoom(cache)) return 0;
  TP_ASSIGN_OR_RETURN(auto waiting, store_->Get<store::AgentRepository>().Waiting());
  std::stable_sort(waiting.begin(), waiting.end(), [](const store::WaitingTicket& a, const store::WaitingTicket& b) {
    if (PriorityRank(a.priority) != PriorityRank(b.priority)) return PriorityRank(a.priority) < PriorityRank(b.priority);
    if (a.created_at != b.created_at) return a.created_at < b.created_at;
    return a.number < b.number;
  });
  store::TicketRepository& tickets = store_->Get<store::TicketRepository>();
  int assigned = 0;
  for (const store::WaitingTicket& w : waiting) {
    if (!AnyoneHasRoom(cache)) break;
    if (!AnyoneFits(cache, w.skill, w.language, now)) continue;
    TP_ASSIGN_OR_RETURN(auto found, tickets.Find(w.number));
    if (!found || found->assignee != 0 || !Handling(*found)) continue;
    DeskChange c = DeskChange::Of(*found);
    TP_ASSIGN_OR_RETURN(auto txn, store_->Begin());
    TP_RETURN_IF_ERROR(RouteInTxnLocked(*txn, c.ticket, c.history, ""));
    if (c.ticket.assignee == 0) continue;  // rolled back
    TP_RETURN_IF_ERROR(WriteChange(tickets, *txn, c));
    // Like every change: the listeners (events out, the SLA timer) hear of the assignment.
    TP_RETURN_IF_ERROR(CommitLocked(std::move(txn), std::span(&c, 1)));
    ++assigned;
  }
  return assigned;
}

Result<int> Desk::RouteWaiting() {
  std::scoped_lock lock(mu_);
  return RouteWaitingLocked();
}

namespace {

AgentView ViewOf(const RoutingCache& cache, size_t i, Millis now) {
  AgentView v;
  v.agent = cache.records[i];
  v.email = cache.emails[i];
  v.load = cache.agents[i].load;
  if (const calendar::Calendar* shift = cache.agents[i].shift) {
    auto s = shift->BusinessSeconds(now / 1000, now / 1000 + 1);
    v.in_shift = s.ok() && *s > 0;
  }
  return v;
}

}  // namespace

Result<AgentView> Desk::PutAgent(NewAgent in, const Actor& actor) {
  (void)actor;
  TP_RETURN_IF_ERROR(NormalizeAgent(&in));
  std::scoped_lock lock(mu_);
  if (store_ == nullptr) return Status::Unavailable("the desk is closed");
  const Millis now = clock_.Now();
  store::UserRepository& users = store_->Get<store::UserRepository>();
  store::TeamRepository& teams = store_->Get<store::TeamRepository>();
  std::int64_t team_id = 0;
  if (!in.team.empty()) {
    TP_ASSIGN_OR_RETURN(auto team, teams.FindByName(in.team));
    if (!team) return Status::NotFound("team: no team \"" + in.team + "\"");
    team_id = team->id;
  }
  store::UserRecord user;
  if (in.user_id == 0 && !in.user_email.empty()) {
    TP_ASSIGN_OR_RETURN(auto found, users.FindByEmail(in.user_email));
    if (!found) return Status::NotFound("user: no user " + in.user_email);
    in.user_id = found->id;
  }
  if (in.user_id != 0) {
    TP_ASSIGN_OR_RETURN(auto found, users.Find(in.user_id));
    if (!found || found->disabled_at != 0) return Status::NotFound("user: no user with id " + std::to_string(in.user_id));
    if (found->role != "agent" && found->role != "supervisor" && found->role != "admin") {
      return Status::InvalidArgument("user: " + found->email + " has the role " + found->role +
                                     " (an agent is an agent, supervisor or admin)");
    }
    user = *found;
  } else {
    store::UserRecord fresh;
    fresh.email = in.email;
    if (fresh.email.empty()) {
      TP_ASSIGN_OR_RETURN(auto all, users.List());
      fresh.email = "agent-" + std::to_string(all.empty() ? 1 : all.back().id + 1) + "@agents.invalid";
    }
    fresh.role = "agent";
    fresh.team_id = team_id;
    fresh.created_at = now;
    TP_ASSIGN_OR_RETURN(user, users.Create(fresh));
  }
  if (team_id != 0 && user.team_id != team_id) {
    store::UserUpdate u;
    u.team_id = team_id;
    TP_RETURN_IF_ERROR(users.Update(user.id, u));
    user.team_id = team_id;
  }
  std::string team_name = in.team;
  if (team_name.empty() && user.team_id != 0) {
    TP_ASSIGN_OR_RETURN(auto team, teams.Find(user.team_id));
    if (team) team_name = team->name;
  }
  store::AgentRepository& agents = store_->Get<store::AgentRepository>();
  TP_ASSIGN_OR_RETURN(auto existing, agents.Find(user.id));
  AgentRecord r;
  r.user_id = user.id;
  r.name = in.name;
  r.skills = in.skills;
  r.languages = in.languages;
  r.attributes = in.attributes;
  r.capacity = in.capacity;
  r.state = std::string(AgentStateName(in.state));
  r.team = team_name;
  r.shift = in.shift;
  r.created_at = existing ? existing->created_at : now;
  r.state_changed_at = existing && existing->state == r.state ? existing->state_changed_at : now;
  r.updated_at = now;
  {
    TP_ASSIGN_OR_RETURN(auto txn, store_->Begin());
    TP_RETURN_IF_ERROR(agents.Put(*txn, r));
    TP_RETURN_IF_ERROR(txn->Commit());
  }
  routing_->loaded = false;
  (void)RouteWaitingLocked();  // the new agent takes what waits for them
  if (!routing_->loaded) TP_RETURN_IF_ERROR(Reload(*routing_, *store_, now));
  return ViewOf(*routing_, routing_->index.at(user.id), now);
}

Result<AgentView> Desk::SetAgentState(std::int64_t id, AgentState state, const Actor& actor) {
  std::scoped_lock lock(mu_);
  if (store_ == nullptr) return Status::Unavailable("the desk is closed");
  const Millis now = clock_.Now();
  store::AgentRepository& agents = store_->Get<store::AgentRepository>();
  TP_ASSIGN_OR_RETURN(auto found, agents.Find(id));
  if (!found) return Status::NotFound("no agent with id " + std::to_string(id));
  if (actor.kind == Actor::Kind::kAgent && actor.user_id != id) {
    return Status::PermissionDenied("an agent may only change their own state");
  }
  if (actor.kind == Actor::Kind::kSupervisor && actor.user_id != id) {
    // Supervisors: the agents of the teams they supervise.
    TP_ASSIGN_OR_RETURN(auto teams, store_->Get<store::TeamRepository>().List());
    bool mine = false;
    for (const store::TeamRecord& t : teams) {
      mine = mine || (t.name == found->team && std::find(t.supervisors.begin(), t.supervisors.end(),
                                                         actor.user_id) != t.supervisors.end());
    }
    if (!mine) return Status::PermissionDenied("a supervisor may only change the agents of the teams they supervise");
  }
  AgentRecord r = *found;
  const std::string name(AgentStateName(state));
  if (r.state != name) {
    r.state = name;
    r.state_changed_at = now;
    r.updated_at = now;
    {
      TP_ASSIGN_OR_RETURN(auto txn, store_->Begin());
      TP_RETURN_IF_ERROR(agents.Put(*txn, r));
      TP_RETURN_IF_ERROR(txn->Commit());
    }
    if (routing_->loaded) {
      auto it = routing_->index.find(id);
      if (it == routing_->index.end()) {
        routing_->loaded = false;
      } else {
        routing_->records[it->second] = r;
        routing_->agents[it->second].state = state;
        routing_->agents[it->second].state_since = now;
      }
    }
    if (state == AgentState::kOnline) (void)RouteWaitingLocked();  // waiting tickets go to them now
  }
  if (!routing_->loaded || !routing_->index.count(id)) TP_RETURN_IF_ERROR(Reload(*routing_, *store_, now));
  return ViewOf(*routing_, routing_->index.at(id), now);
}

Result<std::vector<AgentView>> Desk::Agents() {
  std::scoped_lock lock(mu_);
  if (store_ == nullptr) return Status::Unavailable("the desk is closed");
  const Millis now = clock_.Now();
  TP_RETURN_IF_ERROR(Reload(*routing_, *store_, now));
  std::vector<AgentView> out;
  for (size_t i = 0; i < routing_->records.size(); ++i) out.push_back(ViewOf(*routing_, i, now));
  return out;
}

Result<AgentView> Desk::Agent(std::int64_t id) {
  std::scoped_lock lock(mu_);
  if (store_ == nullptr) return Status::Unavailable("the desk is closed");
  const Millis now = clock_.Now();
  TP_RETURN_IF_ERROR(Reload(*routing_, *store_, now));
  auto it = routing_->index.find(id);
  if (it == routing_->index.end()) return Status::NotFound("no agent with id " + std::to_string(id));
  return ViewOf(*routing_, it->second, now);
}

Result<std::vector<store::RoutingDecisionRecord>> Desk::Routing(std::int64_t number) {
  std::scoped_lock lock(mu_);
  TP_RETURN_IF_ERROR(Load(number).status());
  return store_->Get<store::AgentRepository>().Decisions(number);
}

Result<std::vector<QueueStat>> Desk::Queues() {
  std::scoped_lock lock(mu_);
  if (store_ == nullptr) return Status::Unavailable("the desk is closed");
  TP_ASSIGN_OR_RETURN(auto waiting, store_->Get<store::AgentRepository>().Waiting());
  std::map<std::string, QueueStat> by_queue;
  for (const store::WaitingTicket& w : waiting) {
    QueueStat& q = by_queue[w.queue];
    q.queue = w.queue;
    ++q.waiting;
    if (q.oldest_created_at == 0 || w.created_at < q.oldest_created_at) q.oldest_created_at = w.created_at;
    (w.priority == "high" ? q.high : w.priority == "medium" ? q.medium : q.low) += 1;
  }
  // Every team's queue and the default one show, also when nothing waits there.
  TP_ASSIGN_OR_RETURN(auto teams, store_->Get<store::TeamRepository>().List());
  for (const store::TeamRecord& t : teams) by_queue[t.name].queue = t.name;
  by_queue[options_.default_queue].queue = options_.default_queue;
  std::vector<QueueStat> out;
  for (auto& [name, q] : by_queue) out.push_back(std::move(q));
  return out;
}

std::vector<RoutingPolicy> Desk::RoutingPolicies() const {
  std::scoped_lock lock(mu_);
  std::vector<RoutingPolicy> out;
  for (const std::string& name : routing_->policy_order) out.push_back(routing_->policies.at(name));
  return out;
}

Status Desk::SetRoutingPolicies(std::vector<RoutingPolicy> policies) {
  for (size_t i = 0; i < policies.size(); ++i) {
    if (Status s = ValidateRoutingPolicy(policies[i]); !s.ok()) {
      return s.WithContext("policies[" + std::to_string(i) + "]");
    }
  }
  DeskOptions o;
  o.routing_policies = std::move(policies);
  RoutingCache fresh(o);
  std::scoped_lock lock(mu_);
  routing_->policies = std::move(fresh.policies);
  routing_->policy_order = std::move(fresh.policy_order);
  return Status::Ok();
}

}  // namespace touchpoint::service
