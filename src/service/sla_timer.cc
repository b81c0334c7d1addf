// SlaService: the due-time heap, the timer thread, firing (service/sla.h).
#include <touchpoint/service/sla.h>

#include <algorithm>
#include <chrono>
#include <tuple>
#include <utility>

#include <touchpoint/service/complaints.h>

namespace touchpoint::service {
namespace {

using Key = std::tuple<std::string, std::string, std::int64_t>;  // target, kind, cycle

constexpr Millis kRetryMs = 5'000;       // a firing that failed (store busy) is tried again after this
constexpr Millis kMaxSleepMs = 60'000;   // the thread wakes at least this often (clock changes)

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

std::string Raised(const std::string& priority) {
  if (priority == "low") return "medium";
  return "high";
}

}  // namespace

struct SlaService::Preloaded {
  store::TicketRecord ticket;
  std::vector<store::TicketHistoryRecord> history;
  std::vector<store::ComplaintTaskRecord> open_tasks;
};

struct SlaService::Tracked {
  std::int64_t ticket = 0;
  std::string policy;
  std::vector<SlaDue> dues;  // current, fired ones included
  std::set<Key> fired;
  std::uint64_t generation = 0;
};

// The desk tells the timer of every committed change of a ticket.
class SlaService::DeskListener final : public ChangeListener {
 public:
  explicit DeskListener(SlaService& sla) : sla_(sla) {}
  void AfterCommit(std::span<const TicketChange> changes) override {
    for (const TicketChange& c : changes) {
      if (c.ticket != nullptr) sla_.OnTicketChanged(c.ticket->number);
    }
  }

 private:
  SlaService& sla_;
};

SlaService::SlaService(Desk& desk, const Clock& clock, SlaOptions options)
    : desk_(desk), listener_(std::make_shared<DeskListener>(*this)), clock_(clock), options_(std::move(options)), baseline_(BaselinePolicy()) {
  std::stable_sort(options_.policies.begin(), options_.policies.end(),
                   [](const SlaPolicy& a, const SlaPolicy& b) { return a.position < b.position; });
}

SlaService::~SlaService() {
  Stop();
  desk_.RemoveChangeListener(listener_.get());
  desk_.SetStatusGuard(nullptr);
}

Result<std::unique_ptr<SlaService>> SlaService::Open(Desk& desk, const Clock& clock, SlaOptions options) {
  for (const SlaPolicy& p : options.policies) {
    TP_RETURN_IF_ERROR(ValidatePolicy(p).WithContext("sla policy " + p.name));
    if (!p.calendar.empty() && !options.calendars.count(p.calendar)) {
      return Status::InvalidArgument("sla policy " + p.name + ": calendar: no calendar named '" + p.calendar + "'");
    }
  }
  if (!options.default_calendar.empty() && !options.calendars.count(options.default_calendar)) {
    return Status::InvalidArgument("sla calendar: no calendar named '" + options.default_calendar + "'");
  }
  std::unique_ptr<SlaService> s(new SlaService(desk, clock, std::move(options)));
  SlaService* self = s.get();
  desk.AddChangeListener(self->listener_);
  if (self->options_.complaint_loop) desk.SetStatusGuard(ComplaintGuard());
  TP_RETURN_IF_ERROR(s->Load());
  return s;
}

// One scan each of tickets, SLA events, histories and open tasks (not four queries per ticket):
// what the first RunDue's Recompute of each open ticket would read again, it finds in preloaded_.
Status SlaService::Load() {
  return desk_.WithStore([&](store::Store& store) -> Status {
    std::map<std::int64_t, std::unique_ptr<Preloaded>> open;  // by number
    TP_RETURN_IF_ERROR(store.Get<store::TicketRepository>().Scan([&](store::TicketRecord&& t) {
      if (t.status == "closed" || t.merged_into != 0) return;
      auto p = std::make_unique<Preloaded>();
      p->ticket = std::move(t);
      open.emplace(p->ticket.number, std::move(p));
    }));
    if (open.empty()) return Status::Ok();
    std::map<std::int64_t, std::set<Key>> fired;
    TP_RETURN_IF_ERROR(store.Get<store::SlaRepository>().ScanEvents(open.begin()->first, [&](store::SlaEventRecord&& e) {
      fired[e.ticket].insert(Key{e.target, e.kind, e.cycle});
    }));
    TP_RETURN_IF_ERROR(store.Get<store::TicketRepository>().ScanHistory([&](store::TicketHistoryRecord&& h) {
      auto it = open.find(h.ticket);
      if (it != open.end()) it->second->history.push_back(std::move(h));
    }));
    TP_ASSIGN_OR_RETURN(auto tasks, store.Get<store::SlaRepository>().OpenTasks());
    // Still under the desk's lock: a change committed after these reads drops its ticket's
    // preloaded facts (OnTicketChanged), so none is used stale.
    std::scoped_lock lock(mu_);
    for (auto& task : tasks) {
      auto it = open.find(task.ticket);
      if (it == open.end()) continue;
      it->second->open_tasks.push_back(task);
      tasks_[task.id] = std::move(task);
    }
    for (auto& [n, p] : open) {
      auto t = std::make_unique<Tracked>();
      t->ticket = n;
      auto it = fired.find(n);
      if (it != fired.end()) t->fired = std::move(it->second);
      tickets_[n] = std::move(t);
      dirty_.insert(n);
      preloaded_[n] = std::move(p);
    }
    return Status::Ok();
  });
}

const calendar::Calendar* SlaService::CalendarFor(const SlaPolicy& policy) const {
  const std::string& name = policy.calendar.empty() ? options_.default_calendar : policy.calendar;
  if (name.empty()) return nullptr;
  auto it = options_.calendars.find(name);
  return it == options_.calendars.end() ? nullptr : it->second;
}

const SlaPolicy& SlaService::PolicyOf(const store::TicketRecord& ticket) const {
  CustomerFacts facts;
  if (options_.customer_facts) facts = options_.customer_facts(ticket.customer);
  const SlaPolicy* p = MatchPolicy(options_.policies, ticket, facts);
  return p != nullptr ? *p : baseline_;
}

SlaService::TicketClock SlaService::ClockOf(const store::TicketRecord& ticket) const {
  CustomerFacts facts;
  if (options_.customer_facts) facts = options_.customer_facts(ticket.customer);
  return ResolveClock(options_, baseline_, ticket, facts);
}

void SlaService::OnTicketChanged(std::int64_t number) {
  {
    std::scoped_lock lock(mu_);
    dirty_.insert(number);
    preloaded_.erase(number);
  }
  cv_.notify_one();
}

Status SlaService::ReadTicket(std::int64_t number, std::optional<store::TicketRecord>* ticket,
                              std::vector<store::TicketHistoryRecord>* history,
                              std::vector<store::TicketMessageRecord>* messages,
                              std::vector<store::ComplaintTaskRecord>* tasks) {
  return desk_.WithStore([&](store::Store& store) -> Status {
    std::unique_ptr<Preloaded> pre;
    {
      std::scoped_lock lock(mu_);  // after the desk's lock, as OnTicketChanged
      auto it = preloaded_.find(number);
      if (it != preloaded_.end()) {
        pre = std::move(it->second);
        preloaded_.erase(it);
      }
    }
    store::TicketRepository& repo = store.Get<store::TicketRepository>();
    if (pre != nullptr) {
      *ticket = std::move(pre->ticket);
      *history = std::move(pre->history);
      *tasks = std::move(pre->open_tasks);
    } else {
      TP_ASSIGN_OR_RETURN(*ticket, repo.Find(number));
      if (!*ticket) return Status::Ok();
      TP_ASSIGN_OR_RETURN(*history, repo.History(number));
    }
    TP_ASSIGN_OR_RETURN(*messages, repo.Messages(number));
    // Preloaded are only the open tasks: whether a complaint has done ones matters (the loop does
    // not spawn them again), so it reads them all when none is open.
    if (pre == nullptr || (tasks->empty() && options_.complaint_loop && ComplaintSince(**ticket, *history))) {
      TP_ASSIGN_OR_RETURN(*tasks, store.Get<store::SlaRepository>().Tasks(number));
    }
    return Status::Ok();
  });
}

Status SlaService::Recompute(std::int64_t number) {
  std::optional<store::TicketRecord> ticket;
  std::vector<store::TicketHistoryRecord> history;
  std::vector<store::TicketMessageRecord> messages;
  std::vector<store::ComplaintTaskRecord> tasks;
  TP_RETURN_IF_ERROR(ReadTicket(number, &ticket, &history, &messages, &tasks));
  if (!ticket || ticket->status == "closed" || ticket->merged_into != 0) {
    std::scoped_lock lock(mu_);
    tickets_.erase(number);
    breaching_.erase(number);
    std::erase_if(tasks_, [&](const auto& kv) { return kv.second.ticket == number; });
    return Status::Ok();
  }
  const SlaPolicy& policy = PolicyOf(*ticket);
  const calendar::Calendar* cal = CalendarFor(policy);
  // The complaint loop: a complaint without its tasks gets them (due times from when it became
  // a complaint, so a late spawn — after a restart — gives the same due times).
  if (options_.complaint_loop && tasks.empty()) {
    if (std::optional<Millis> since = ComplaintSince(*ticket, history)) {
      TP_ASSIGN_OR_RETURN(auto fresh, ComplaintTasks(number, *since, cal));
      const Millis now = clock_.Now();
      auto changed = desk_.ApplyChange(number, [&](store::Store& store, store::Transaction& txn,
                                                   store::TicketRecord&, std::vector<store::TicketHistoryRecord>& rows) {
        TP_ASSIGN_OR_RETURN(auto existing, store.Get<store::SlaRepository>().Tasks(number));
        if (!existing.empty()) return Status::AlreadyExists("tasks exist");
        for (auto& t : fresh) {
          TP_ASSIGN_OR_RETURN(t.id, store.Get<store::SlaRepository>().AddTask(txn, t));
          rows.push_back(store::TicketHistoryRecord{0, number, now, "system", "complaint_loop", "task", "",
                                                    t.kind + " due " + FormatTimestamp(t.due_at)});
        }
        return Status::Ok();
      });
      TP_RETURN_IF_ERROR(changed.status());
      if (*changed) tasks = fresh;
    }
  }
  TP_ASSIGN_OR_RETURN(TicketSpans spans, ComputeSpans(*ticket, history, messages, SpanOptions{cal, clock_.Now()}));
  // Targets count on the policy's own calendar (none: wall clock); spans and tasks on the ticket's.
  const calendar::Calendar* target_cal = policy.calendar.empty() ? nullptr : cal;
  TP_ASSIGN_OR_RETURN(std::vector<SlaDue> dues, ComputeDues(policy, target_cal, *ticket, spans));
  for (const auto& t : tasks) {
    if (t.completed_at != 0) continue;
    dues.push_back(SlaDue{"task:" + t.kind, "overdue", t.id, t.due_at, t.due_at, 0, {"notify_supervisor"}});
  }
  std::scoped_lock lock(mu_);
  auto& slot = tickets_[number];
  if (slot == nullptr) {
    slot = std::make_unique<Tracked>();
    slot->ticket = number;
  }
  Tracked& tr = *slot;
  tr.policy = policy.name;
  tr.dues = std::move(dues);
  tr.generation += 1;
  for (size_t i = 0; i < tr.dues.size(); ++i) {
    const SlaDue& d = tr.dues[i];
    if (tr.fired.count(Key{d.target, d.kind, d.cycle})) continue;
    heap_.push(HeapEntry{d.at, number, tr.generation, i});
  }
  UpdateBreaching(tr);
  std::erase_if(tasks_, [&](const auto& kv) { return kv.second.ticket == number; });
  for (const auto& t : tasks) {
    if (t.completed_at == 0) tasks_[t.id] = t;
  }
  return Status::Ok();
}

Status SlaService::Fire(std::int64_t number, const SlaDue& due) {
  const Millis now = clock_.Now();
  std::string policy;
  {
    std::scoped_lock lock(mu_);
    auto it = tickets_.find(number);
    if (it != tickets_.end()) policy = it->second->policy;
  }
  store::SlaEventRecord event{0, number, due.target, due.kind, due.cycle, due.due_at, now, policy, Join(due.actions)};
  const bool raise = std::find(due.actions.begin(), due.actions.end(), "raise_priority") != due.actions.end();
  SlaEvent out{number, due.target, due.kind, due.cycle, due.due_at, now, policy, due.actions, 0, {}, {}};
  auto changed = desk_.ApplyChange(number, [&](store::Store& store, store::Transaction& txn, store::TicketRecord& t,
                                               std::vector<store::TicketHistoryRecord>& rows) -> Status {
    TP_ASSIGN_OR_RETURN(bool added, store.Get<store::SlaRepository>().AddEvent(txn, event));
    if (!added) return Status::AlreadyExists("fired before");
    const std::string actor = due.target.rfind("task:", 0) == 0 ? "complaint_loop" : "sla:" + policy;
    rows.push_back(store::TicketHistoryRecord{0, number, now, "system", actor, "sla", "",
                                              due.target + " " + due.kind});
    if (raise && t.priority != "high") {
      const std::string up = Raised(t.priority);
      rows.push_back(store::TicketHistoryRecord{0, number, now, "system", actor, "priority", t.priority, up});
      t.priority = up;
      t.updated_at = now;
    }
    out.assignee = t.assignee;
    out.queue = t.queue;
    out.priority = t.priority;
    // The webhook deliveries commit with the stored event (at least once: the timer never fires a
    // stored event again, so they cannot be left for after the commit).
    if (options_.enqueue) TP_RETURN_IF_ERROR(options_.enqueue(store, txn, out));
    return Status::Ok();
  });
  if (!changed.ok()) {
    if (changed.status().code() == StatusCode::kNotFound) return Status::Ok();
    return changed.status();
  }
  {
    std::scoped_lock lock(mu_);
    auto it = tickets_.find(number);
    if (it != tickets_.end()) {
      it->second->fired.insert(Key{due.target, due.kind, due.cycle});
      UpdateBreaching(*it->second);
    }
  }
  if (!*changed) return Status::Ok();  // fired before (another process, or before a crash)
  if (due.kind == "warning") warnings_.fetch_add(1);
  if (due.kind == "breach") breaches_.fetch_add(1);
  if (due.kind == "overdue") overdue_.fetch_add(1);
  if (options_.sink) options_.sink(out);
  return Status::Ok();
}

Result<int> SlaService::RunDue() {
  std::scoped_lock run(run_mu_);
  std::set<std::int64_t> dirty;
  {
    std::scoped_lock lock(mu_);
    dirty.swap(dirty_);
  }
  Status first = Status::Ok();
  for (std::int64_t n : dirty) {
    Status s = Recompute(n);
    if (!s.ok() && first.ok()) first = s;
  }
  const Millis now = clock_.Now();
  std::vector<std::pair<std::int64_t, SlaDue>> due;
  {
    std::scoped_lock lock(mu_);
    while (!heap_.empty() && heap_.top().at <= now) {
      HeapEntry e = heap_.top();
      heap_.pop();
      auto it = tickets_.find(e.ticket);
      if (it == tickets_.end() || it->second->generation != e.generation || e.index >= it->second->dues.size()) continue;
      const SlaDue& d = it->second->dues[e.index];
      if (it->second->fired.count(Key{d.target, d.kind, d.cycle})) continue;
      due.emplace_back(e.ticket, d);
    }
  }
  int fired = 0;
  for (auto& [number, d] : due) {
    Status s = Fire(number, d);
    if (s.ok()) {
      ++fired;
      continue;
    }
    if (first.ok()) first = s;
    std::scoped_lock lock(mu_);
    dirty_.insert(number);  // recomputed and tried again
  }
  if (!first.ok()) return first;
  return fired;
}

Millis SlaService::next_due() const {
  std::scoped_lock lock(mu_);
  return heap_.empty() ? 0 : heap_.top().at;
}

void SlaService::Start() {
  std::scoped_lock lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void SlaService::Stop() {
  {
    std::scoped_lock lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SlaService::Loop() {
  Millis backoff_until = 0;
  while (true) {
    if (clock_.Now() >= backoff_until) {
      auto r = RunDue();
      if (!r.ok()) backoff_until = clock_.Now() + kRetryMs;  // a busy store: try again shortly
    }
    std::unique_lock lock(mu_);
    if (stop_) return;
    if (!dirty_.empty() && clock_.Now() >= backoff_until) continue;
    Millis next = heap_.empty() ? 0 : heap_.top().at;
    if (backoff_until > clock_.Now()) next = next == 0 ? backoff_until : std::min(next, backoff_until);
    Millis wait = next == 0 ? kMaxSleepMs : std::clamp<Millis>(next - clock_.Now(), 0, kMaxSleepMs);
    if (wait == 0) continue;
    cv_.wait_for(lock, std::chrono::milliseconds(wait), [&] { return stop_ || !dirty_.empty(); });
    if (stop_) return;
  }
}

std::vector<SlaState> SlaService::States(std::string_view state) const {
  const Millis now = clock_.Now();
  std::vector<SlaState> out;
  std::scoped_lock lock(mu_);
  for (const auto& [number, tr] : tickets_) {
    std::map<std::pair<std::string, std::int64_t>, SlaState> targets;
    for (const SlaDue& d : tr->dues) {
      if (d.target.rfind("task:", 0) == 0) continue;
      SlaState& s = targets[{d.target, d.cycle}];
      s.ticket = number;
      s.target = d.target;
      s.cycle = d.cycle;
      s.warning_at = d.warning_at;
      s.due_at = d.due_at;
      s.policy = tr->policy;
      const bool breached = now >= d.due_at || tr->fired.count(Key{d.target, "breach", d.cycle});
      const bool warned = (d.warning_at > 0 && now >= d.warning_at) || tr->fired.count(Key{d.target, "warning", d.cycle});
      s.state = breached ? "breached" : warned ? "warning" : "ok";
    }
    for (auto& [k, s] : targets) {
      if (s.state == "ok") continue;
      if (!state.empty() && s.state != state) continue;
      out.push_back(std::move(s));
    }
  }
  std::sort(out.begin(), out.end(), [](const SlaState& a, const SlaState& b) {
    return std::tie(a.due_at, a.ticket, a.target) < std::tie(b.due_at, b.ticket, b.target);
  });
  return out;
}

std::vector<std::int64_t> SlaService::Breaching() const {
  std::scoped_lock lock(mu_);
  return std::vector<std::int64_t>(breaching_.rbegin(), breaching_.rend());
}

void SlaService::UpdateBreaching(const Tracked& tr) {
  for (const SlaDue& d : tr.dues) {
    if (d.kind == "breach" && d.target.rfind("task:", 0) != 0 && tr.fired.count(Key{d.target, d.kind, d.cycle})) {
      breaching_.insert(tr.ticket);
      return;
    }
  }
  breaching_.erase(tr.ticket);
}

const calendar::Calendar* SlaService::DefaultCalendar() const {
  if (options_.default_calendar.empty()) return nullptr;
  auto it = options_.calendars.find(options_.default_calendar);
  return it == options_.calendars.end() ? nullptr : it->second;
}

size_t SlaService::tracked() const {
  std::scoped_lock lock(mu_);
  return tickets_.size();
}

Result<TicketSpans> SlaService::Spans(std::int64_t number) {
  std::optional<store::TicketRecord> ticket;
  std::vector<store::TicketHistoryRecord> history;
  std::vector<store::TicketMessageRecord> messages;
  Status read = desk_.WithStore([&](store::Store& store) -> Status {
    store::TicketRepository& repo = store.Get<store::TicketRepository>();
    TP_ASSIGN_OR_RETURN(ticket, repo.Find(number));
    if (!ticket) return Status::NotFound("no ticket " + FormatTicketNumber(number));
    TP_ASSIGN_OR_RETURN(history, repo.History(number));
    TP_ASSIGN_OR_RETURN(messages, repo.Messages(number));
    return Status::Ok();
  });
  TP_RETURN_IF_ERROR(read);
  return ComputeSpans(*ticket, history, messages, SpanOptions{CalendarFor(PolicyOf(*ticket)), clock_.Now()});
}

Result<SlaPolicy> SlaService::PolicyFor(std::int64_t number) {
  TP_ASSIGN_OR_RETURN(TicketView view, desk_.Get(number));
  return PolicyOf(view.ticket);
}

std::vector<SlaService::TaskView> SlaService::Tasks(std::string_view state) const {
  const Millis now = clock_.Now();
  std::vector<TaskView> out;
  std::scoped_lock lock(mu_);
  for (const auto& [id, t] : tasks_) {
    const std::string s = now >= t.due_at ? "overdue" : "due";
    if (!state.empty() && s != state) continue;
    out.push_back(TaskView{t, s});
  }
  std::sort(out.begin(), out.end(), [](const TaskView& a, const TaskView& b) {
    return std::tie(a.task.due_at, a.task.id) < std::tie(b.task.due_at, b.task.id);
  });
  return out;
}

Result<std::vector<SlaService::TaskView>> SlaService::TicketTasks(std::int64_t number) {
  std::vector<store::ComplaintTaskRecord> tasks;
  Status read = desk_.WithStore([&](store::Store& store) -> Status {
    TP_ASSIGN_OR_RETURN(auto t, store.Get<store::TicketRepository>().Find(number));
    if (!t) return Status::NotFound("no ticket " + FormatTicketNumber(number));
    TP_ASSIGN_OR_RETURN(tasks, store.Get<store::SlaRepository>().Tasks(number));
    return Status::Ok();
  });
  TP_RETURN_IF_ERROR(read);
  const Millis now = clock_.Now();
  std::vector<TaskView> out;
  for (auto& t : tasks) {
    const std::string s = t.completed_at != 0 ? "done" : now >= t.due_at ? "overdue" : "due";
    out.push_back(TaskView{std::move(t), s});
  }
  return out;
}

Result<store::ComplaintTaskRecord> SlaService::CompleteTask(std::int64_t number, std::int64_t id, const Actor& actor) {
  TP_ASSIGN_OR_RETURN(TicketView view, desk_.Get(number));
  TP_RETURN_IF_ERROR(desk_.CheckCanChange(view.ticket, actor));
  const Millis now = clock_.Now();
  store::ComplaintTaskRecord done;
  auto changed = desk_.ApplyChange(number, [&](store::Store& store, store::Transaction& txn, store::TicketRecord&,
                                               std::vector<store::TicketHistoryRecord>& rows) -> Status {
    store::SlaRepository& repo = store.Get<store::SlaRepository>();
    TP_ASSIGN_OR_RETURN(auto tasks, repo.Tasks(number));
    auto it = std::find_if(tasks.begin(), tasks.end(), [&](const auto& t) { return t.id == id; });
    if (it == tasks.end()) return Status::NotFound("no task " + std::to_string(id) + " on " + FormatTicketNumber(number));
    const std::string by = actor.name.empty() ? std::string(ActorKindName(actor.kind)) : actor.name;
    TP_RETURN_IF_ERROR(repo.CompleteTask(txn, id, now, by));
    rows.push_back(store::TicketHistoryRecord{0, number, now, std::string(ActorKindName(actor.kind)), actor.name,
                                              "task", it->kind + " open", it->kind + " done"});
    done = *it;
    done.completed_at = now;
    done.completed_by = by;
    return Status::Ok();
  });
  TP_RETURN_IF_ERROR(changed.status());
  return done;
}

}  // namespace touchpoint::service
