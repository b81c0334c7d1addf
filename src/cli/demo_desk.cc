// The demo's service desk (cli/demo_desk.h): a year of contacts replayed through the desk's real
// code paths on a simulated clock.
//
// What runs is what a server runs: the engine with text analysis and the escalation rules, the
// desk attached to its post-commit hook (inbound customer messages open, join and reopen
// tickets), the router (agents, skills, capacities, shifts), the SLA timer and the complaint loop
// (SlaService::RunDue at every moment something is due), deskflow's listeners (repeat inquiries,
// the search index). The simulation only decides what customers write and what agents and
// supervisors do, and when; the clock the desk and the SLA service read is set to that moment
// before each step, so histories are back-dated exactly as if the desk had run that year.
//
// The story (docs/service-desk.md, "The demo desk"): four teams and 30 agents (plus four
// supervisors) on early, late and flex shifts of the `cn` calendar; three SLA policies on `cn`
// (high priority, complaints, standard); contacts on chat, app, e-mail, social and phone, some
// answered by a bot first; requests that pause for the customer, refunds that wait for finance's
// approval (pending_third_party in the queue refund_approval: the slowest step), complaints with
// their two tasks (some late), reopens, repeat contacts about the same intent, phone tickets for
// credit cards and loans, and agents who answer late often enough to warn and breach.
#include "cli/demo_desk.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <queue>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include <touchpoint/calendar/calendar.h>
#include <touchpoint/calendar/calendar_file.h>
#include <touchpoint/ingest/parser.h>
#include <touchpoint/pipeline/engine.h>
#include <touchpoint/service/agents.h>
#include <touchpoint/service/desk.h>
#include <touchpoint/service/escalation.h>
#include <touchpoint/service/sla.h>
#include <touchpoint/store/open.h>
#include <touchpoint/store/sla_repository.h>
#include <touchpoint/store/team_repository.h>
#include <touchpoint/store/ticket_repository.h>
#include <touchpoint/store/user_repository.h>

#include "cli/commands.h"
#include "cli/data_access.h"
#include "cli/engine_options.h"

namespace touchpoint::cli {
namespace {

using service::Actor;
using service::TicketStatus;

constexpr Millis kMinute = 60'000;
constexpr Millis kHour = 60 * kMinute;
constexpr Millis kDay = 24 * kHour;

// The clock the desk, the router and the SLA service read: set by the simulation.
class SimulatedClock final : public Clock {
 public:
  Millis Now() const override { return now_.load(std::memory_order_relaxed); }
  void Advance(Millis t) {
    if (t > Now()) now_.store(t, std::memory_order_relaxed);
  }

 private:
  std::atomic<Millis> now_{0};
};

// Subscribed after the desk: when it has seen N events, the desk has handled them (one hook
// thread calls the observers in order).
class HookBarrier final : public pipeline::CommitObserver {
 public:
  void OnCommitted(std::span<const pipeline::CommittedEvent> events) override {
    {
      std::scoped_lock lock(mu_);
      seen_ += static_cast<std::int64_t>(events.size());
    }
    cv_.notify_all();
  }
  Status WaitFor(std::int64_t n) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::seconds(120), [&] { return seen_ >= n; })) {
      return Status::Unavailable("demo desk: the engine's hook did not deliver a message within 120 s");
    }
    return Status::Ok();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::int64_t seen_ = 0;
};

// SplitMix64: a small deterministic generator (the standard distributions differ by library).
struct Rng {
  std::uint64_t s;
  std::uint64_t Next() {
    s += 0x9E3779B97F4A7C15ull;
    std::uint64_t z = s;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  std::uint64_t Below(std::uint64_t n) { return n == 0 ? 0 : Next() % n; }
  double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  bool Chance(double p) { return Unit() < p; }
  double Between(double a, double b) { return a + (b - a) * Unit(); }
  Millis Span(Millis a, Millis b) { return a + static_cast<Millis>(Below(static_cast<std::uint64_t>(b - a) + 1)); }
};

enum class Flow { kGeneral, kRefund, kComplaint, kPhone };

// What customers write about, with the words the text module's intent rules know.
struct Topic {
  const char* intent;  // the ticket's skill (the intent ingest finds; phone tickets: named)
  Flow flow;
  int weight;  // of first contacts
  std::array<const char*, 2> zh;
  const char* en;
  const char* reply_zh;
  const char* reply_en;
};

const std::array<Topic, 10> kTopics = {{
    {"refund", Flow::kRefund, 26,
     {"我要退款，收到的杯子是碎的", "申请退货退款，衣服质量有问题，钱什么时候退回"},
     "I want a refund, the blender is broken",
     "您好，已为您提交退款申请，需要财务审批，请耐心等待。",
     "Hello, your refund request is submitted and waits for approval by finance."},
    {"delivery_status", Flow::kGeneral, 20,
     {"我的快递还没到，物流信息三天不动了", "包裹什么时候到？快递单号查不到"},
     "Where is my order? The package has not been delivered yet",
     "您好，已为您联系快递公司，包裹预计明天送达。",
     "Hello, I checked with the courier: your package will be delivered tomorrow."},
    {"complaint", Flow::kComplaint, 9,
     {"我要投诉！快递员态度很差，还不理人，太失望了", "客服一直敷衍，我要投诉到12315"},
     "This is unacceptable, I want to file a complaint about your rude staff",
     "非常抱歉给您带来不好的体验，主管会尽快联系您跟进处理。",
     "We are very sorry. A supervisor will call you to follow up."},
    {"cancel_order", Flow::kGeneral, 7,
     {"拍错了，帮我取消订单", "不要了，订单能撤销吗"},
     "Please cancel my order, I ordered the wrong one",
     "您好，订单已为您取消，款项会原路退回。",
     "Hello, your order is cancelled."},
    {"change_address", Flow::kGeneral, 5,
     {"地址写错了，麻烦帮我修改地址", "收货地址要改成公司地址"},
     "I need to change my address for this order",
     "您好，收货地址已为您修改。",
     "Hello, the delivery address is updated."},
    {"invoice", Flow::kGeneral, 6,
     {"请帮我开一张电子发票，抬头是公司名称", "发票的税号填错了，能重开吗"},
     "Please send me an invoice with our tax number",
     "您好，电子发票已开具，会发送到您的邮箱。",
     "Hello, the invoice is issued and on its way to your mailbox."},
    {"account_login", Flow::kGeneral, 5,
     {"账号登录不了，验证码一直收不到", "忘记密码了，手机号换了怎么办"},
     "I cannot log in, the verification code never comes",
     "您好，账号已为您解锁，请重新获取验证码登录。",
     "Hello, your account is unlocked; please request a new code."},
    {"product_question", Flow::kGeneral, 5,
     {"这款外套有没有大一点的尺码？", "这个充电器和我的手机兼容吗"},
     "Is this jacket in stock in a larger size?",
     "您好，这款有大一号的尺码，现货充足。",
     "Hello, the larger size is in stock."},
    {"credit_card", Flow::kPhone, 10, {"信用卡分期还款咨询", "信用卡账单有疑问"}, "Credit card instalment question",
     "已电话回复客户，说明分期还款规则。", "Called the customer back and explained the instalments."},
    {"loan", Flow::kPhone, 7, {"消费贷额度申请进度查询", "贷款提前还款咨询"}, "Loan application status",
     "已电话回复客户，额度审核已通过。", "Called the customer back: the loan is approved."},
}};

const std::array<const char*, 5> kChannels = {"chat", "app", "email", "social", "phone"};

enum class Step {
  kArrive,
  kBotReply,
  kHumanRequest,
  kFirstReply,
  kAskInfo,
  kCustomerReply,
  kNextReply,
  kSolve,
  kReopen,
  kApprovalStart,
  kApprovalEnd,
  kTaskFollowup,
  kTaskFeedback,
  kTickRoute,  // a shift begins: waiting tickets go to the agents who arrive
  kTickClose,  // the nightly auto-close of solved tickets
};

struct Contact {
  int topic = 0;
  size_t customer = 0;
  bool en = false;
  std::string channel;
  int ordinal = 1;
  bool bot = false;
  bool approved = false;  // refund: finance said yes (the next reply says so)
  bool reopened = false;
  std::int64_t number = 0;
  int tries = 0;
};

struct Action {
  Millis at = 0;
  std::uint64_t seq = 0;
  int contact = -1;
  Step step = Step::kArrive;
  bool operator>(const Action& o) const { return std::tie(at, seq) > std::tie(o.at, o.seq); }
};

struct AgentSeed {
  const char* name;
  const char* email;
  const char* team;
  const char* skills;  // comma-separated
  const char* languages;
  const char* attributes;
  int capacity;
  int shift;  // 0 early, 1 late, 2 flex
  const char* state;
};

// 30 agents: general (orders), refunds, credit (cards and loans), vip.
const std::array<AgentSeed, 30> kAgents = {{
    {"Wang Fang", "wang.fang@desk.example", "general", "delivery_status,cancel_order,change_address", "zh", "", 8, 0, "online"},
    {"Li Na", "li.na@desk.example", "general", "delivery_status,invoice,product_question", "en,zh", "senior", 8, 0, "online"},
    {"Zhang Wei", "zhang.wei@desk.example", "general", "delivery_status,account_login,change_address", "zh", "", 8, 1, "online"},
    {"Liu Yang", "liu.yang@desk.example", "general", "delivery_status,cancel_order,invoice", "zh", "", 8, 1, "online"},
    {"Chen Jing", "chen.jing@desk.example", "general", "product_question,change_address,delivery_status", "en,zh", "patient", 6, 2, "online"},
    {"Yang Min", "yang.min@desk.example", "general", "account_login,invoice,delivery_status", "zh", "", 8, 0, "online"},
    {"Zhao Lei", "zhao.lei@desk.example", "general", "delivery_status,complaint,cancel_order", "zh", "senior", 8, 1, "online"},
    {"Huang Li", "huang.li@desk.example", "general", "delivery_status,product_question", "en,zh", "", 8, 2, "online"},
    {"Zhou Jie", "zhou.jie@desk.example", "general", "cancel_order,change_address,account_login", "zh", "", 8, 0, "online"},
    {"Wu Ting", "wu.ting@desk.example", "general", "complaint,delivery_status,invoice", "zh", "patient", 6, 1, "online"},
    {"Xu Qiang", "xu.qiang@desk.example", "general", "delivery_status,account_login", "en,zh", "", 8, 2, "online"},
    {"Sun Yan", "sun.yan@desk.example", "general", "product_question,invoice,complaint", "zh", "", 8, 0, "online"},
    {"Ma Chao", "ma.chao@desk.example", "general", "delivery_status,cancel_order", "zh", "", 8, 1, "away"},
    {"Hu Xin", "hu.xin@desk.example", "general", "change_address,invoice", "zh", "", 8, 0, "offline"},
    {"Guo Hui", "guo.hui@desk.example", "refunds", "refund,cancel_order", "zh", "", 10, 0, "online"},
    {"He Ping", "he.ping@desk.example", "refunds", "refund,complaint", "en,zh", "senior", 10, 1, "online"},
    {"Lin Xiao", "lin.xiao@desk.example", "refunds", "refund,cancel_order,complaint", "zh", "", 10, 2, "online"},
    {"Luo Dan", "luo.dan@desk.example", "refunds", "refund", "zh", "", 10, 0, "online"},
    {"Gao Yu", "gao.yu@desk.example", "refunds", "refund,complaint", "en,zh", "patient", 8, 1, "online"},
    {"Zheng Hao", "zheng.hao@desk.example", "refunds", "refund,cancel_order", "zh", "", 10, 2, "online"},
    {"Liang Qi", "liang.qi@desk.example", "refunds", "refund", "en,zh", "", 10, 1, "online"},
    {"Song Jia", "song.jia@desk.example", "refunds", "refund,complaint", "zh", "", 10, 0, "offline"},
    {"Tang Rui", "tang.rui@desk.example", "credit", "credit_card,loan", "zh", "senior", 8, 0, "online"},
    {"Han Mei", "han.mei@desk.example", "credit", "credit_card,invoice", "zh", "", 8, 1, "online"},
    {"Feng Bo", "feng.bo@desk.example", "credit", "loan,credit_card", "en,zh", "", 8, 2, "online"},
    {"Cao Lin", "cao.lin@desk.example", "credit", "loan", "zh", "patient", 8, 0, "online"},
    {"Deng Kai", "deng.kai@desk.example", "credit", "credit_card", "zh", "", 8, 1, "away"},
    {"Xie Wen", "xie.wen@desk.example", "vip",
     "account_login,cancel_order,change_address,complaint,credit_card,delivery_status,invoice,loan,product_question,refund",
     "en,zh", "patient,senior", 6, 2, "online"},
    {"Peng Yue", "peng.yue@desk.example", "vip",
     "account_login,cancel_order,change_address,complaint,delivery_status,invoice,product_question,refund", "en,zh",
     "senior", 6, 0, "online"},
    {"Jiang Hua", "jiang.hua@desk.example", "vip",
     "cancel_order,complaint,credit_card,delivery_status,invoice,loan,refund", "en,zh", "patient", 6, 1, "online"},
}};

const std::array<const char*, 4> kTeams = {"general", "refunds", "credit", "vip"};

std::vector<std::string> Split(const char* s) {
  std::vector<std::string> out;
  std::string cur;
  for (const char* p = s; *p; ++p) {
    if (*p == ',') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(*p);
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

// The three shift patterns on the cn calendar's holidays and make-up days.
Result<calendar::CalendarSpec> ShiftSpec(int shift) {
  std::optional<calendar::CalendarSpec> spec = calendar::FindBuiltinCalendar("cn");
  if (!spec) return Status::Internal("the built-in calendar cn is missing");
  spec->name = shift == 0 ? "early" : shift == 1 ? "late" : "flex";
  for (auto& day : spec->week) day.clear();
  for (int d = 0; d < 7; ++d) {
    if (shift == 0 && d < 5) spec->week[static_cast<size_t>(d)] = {{8 * 3600 + 1800, 12 * 3600}, {13 * 3600, 17 * 3600 + 1800}};
    if (shift == 1 && d < 5) spec->week[static_cast<size_t>(d)] = {{12 * 3600 + 1800, 21 * 3600}};
    if (shift == 2) spec->week[static_cast<size_t>(d)] = {{10 * 3600, 19 * 3600}};
  }
  for (auto& m : spec->makeup_days) m.hours.clear();  // make-up days: the weekday hours
  return *spec;
}

service::SlaGoal Goal(double minutes, double warning) { return service::SlaGoal{minutes, warning}; }

std::vector<service::SlaPolicy> DemoPolicies() {
  service::SlaPolicy high;
  high.name = "high_priority";
  high.position = 10;
  high.when.priorities = {"high"};
  high.calendar = "cn";
  high.first_response = Goal(60, 15);
  high.next_response = Goal(120, 30);
  high.resolution = Goal(1080, 180);
  service::SlaPolicy complaints;
  complaints.name = "complaints";
  complaints.position = 20;
  complaints.when.types = {"complaint"};
  complaints.calendar = "cn";
  complaints.first_response = Goal(120, 30);
  complaints.next_response = Goal(240, 60);
  complaints.resolution = Goal(1620, 240);
  service::SlaPolicy standard;
  standard.name = "standard";
  standard.position = 30;
  standard.calendar = "cn";
  standard.first_response = Goal(240, 60);
  standard.next_response = Goal(480, 120);
  standard.resolution = Goal(2700, 540);
  return {high, complaints, standard};
}

// The whole run: state shared by the steps.
class Simulation {
 public:
  Simulation(const DemoDeskOptions& options, std::span<const std::string> users)
      : options_(options), users_(users), rng_{options.seed ^ 0x5DE5C0DEull} {}

  Status Open(const std::string& data_dir);
  Status Setup();
  Status Schedule();
  Status Run();
  Status Finish(DemoDeskStats* stats);
  bool skipped() const { return stats_.skipped; }

 private:
  void At(Millis at, int contact, Step step) { queue_.push(Action{at, ++seq_, contact, step}); }
  Millis Now() const { return clock_.Now(); }
  // `minutes` of working time on `cal` after `from` (the agent's shift, or cn).
  Millis AfterWork(const calendar::Calendar& cal, Millis from, double minutes) const {
    auto due = cal.Due(from / 1000, static_cast<std::int64_t>(minutes * 60));
    return due.ok() ? *due * 1000 : from + static_cast<Millis>(minutes * 60'000);
  }
  const calendar::Calendar& ShiftOf(std::int64_t agent) const {
    auto it = shift_of_.find(agent);
    return it == shift_of_.end() ? *cn_ : *it->second;
  }
  // An agent's typical answer time: mostly minutes, sometimes hours, now and then late enough
  // to warn and breach.
  double ReplyMinutes() {
    const double r = rng_.Unit();
    if (r < 0.70) return rng_.Between(3, 90);
    if (r < 0.88) return rng_.Between(90, 220);
    return rng_.Between(230, 700);
  }
  Actor AgentActor(std::int64_t agent) const {
    auto it = email_of_.find(agent);
    return Actor{Actor::Kind::kAgent, agent, it == email_of_.end() ? "" : it->second};
  }
  Actor Supervisor() const { return Actor{Actor::Kind::kSupervisor, supervisor_, supervisor_email_}; }
  const Topic& TopicOf(const Contact& c) const { return kTopics[static_cast<size_t>(c.topic)]; }

  Status Perform(const Action& a);
  Status Arrive(int id);
  Status Say(int id, const std::string& text);
  Result<CustomerId> CustomerOf(size_t customer);
  // The ticket, or nullopt when it is gone (closed, merged): the contact ends.
  Result<std::optional<store::TicketRecord>> Live(const Contact& c);
  // Whether the ticket has an agent; otherwise the step is tried again in 30 minutes.
  bool Assigned(const store::TicketRecord& t, int id, Step step);
  Status Reply(int id, Step step);
  Status Solve(int id);
  Status AfterSolved(int id);
  Status MoveQueue(std::int64_t number, const std::string& to);
  Status CompleteTask(int id, std::string_view kind);
  Status Tolerate(Status s);

  DemoDeskOptions options_;
  std::span<const std::string> users_;
  Rng rng_;
  SimulatedClock clock_;
  Millis start_ = 0;

  std::unique_ptr<pipeline::Engine> engine_;
  std::shared_ptr<service::EscalationConsumer> escalation_;
  std::shared_ptr<service::Desk> desk_;
  std::shared_ptr<HookBarrier> barrier_;
  std::unique_ptr<service::SlaService> sla_;
  std::unique_ptr<calendar::Calendar> cn_;
  std::vector<std::unique_ptr<calendar::Calendar>> shifts_;
  ingest::Parser parser_;
  std::function<void(ingest::MessagePayload&)> analyze_;  // the engine's text analysis (the desk's catch-up)
  std::int64_t expected_events_ = 0;

  std::map<std::int64_t, const calendar::Calendar*> shift_of_;
  std::map<std::int64_t, std::string> email_of_;
  std::int64_t supervisor_ = 0;  // general's: the complaints' tasks and overrides
  std::string supervisor_email_;
  std::map<size_t, CustomerId> customer_ids_;
  std::vector<Millis> busy_until_;  // per customer: a conversation runs until then
  std::vector<size_t> special_;     // VIP (with an advisor) and elderly customers
  std::vector<Contact> contacts_;
  std::priority_queue<Action, std::vector<Action>, std::greater<>> queue_;
  std::uint64_t seq_ = 0;
  std::uint64_t message_seq_ = 0;
  DemoDeskStats stats_;
  std::int64_t tolerated_ = 0;
  std::string first_tolerated_;
};

Status Simulation::Open(const std::string& data_dir) {
  TP_ASSIGN_OR_RETURN(store::OpenOptions base, BaseOpenOptions());
  const std::string url = StoreUrl(data_dir);
  store::OpenOptions writer = base;
  writer.purpose = "touchpoint demo";
  writer.synchronous = "normal";  // a demo: nobody was promised these events
  pipeline::EngineOptions engine_options = MakeEngineOptions(5, true);
  // Profiles written with every commit (as a server's writer does): routing reads them from the
  // store, so what it sees must not depend on when a timed checkpoint ran (determinism).
  engine_options.profile_checkpoint_ms = 0;
  auto analyze = engine_options.analyze_message;
  analyze_ = analyze;
  TP_ASSIGN_OR_RETURN(auto writer_store, store::Open(url, writer));
  TP_ASSIGN_OR_RETURN(engine_, pipeline::Engine::Open(std::move(writer_store), std::move(engine_options)));
  store::OpenOptions side = base;
  side.synchronous = "normal";
  side.cache_mib = 8;
  if (analyze) {
    TP_ASSIGN_OR_RETURN(auto escalation_store, store::Open(url, side));
    auto attached = service::AttachEscalation(*engine_, std::move(escalation_store));
    if (attached.ok()) escalation_ = std::move(*attached);
  }
  TP_ASSIGN_OR_RETURN(auto desk_store, store::Open(url, side));
  {
    // Tickets exist: the desk was built before (or the desk ran): leave it as it is.
    TP_ASSIGN_OR_RETURN(auto next, desk_store->Get<store::TicketRepository>().List(store::TicketFilter{}));
    if (!next.empty()) {
      stats_.skipped = true;
      return Status::Ok();
    }
  }
  start_ = options_.end - Millis{options_.days} * kDay;
  clock_.Advance(start_ - kDay);  // the desk is set up the day before its first contact
  service::DeskOptions desk_options = DeskflowDeskOptions(data_dir);  // repeats, search, KPI spans
  desk_options.routing_refresh_ms = 6 * kHour;  // nothing else changes agents while this runs
  TP_ASSIGN_OR_RETURN(desk_, service::AttachDesk(*engine_, std::move(desk_store), analyze, clock_, std::move(desk_options)));
  if (escalation_) {
    std::weak_ptr<service::Desk> weak = desk_;
    escalation_->SetListener([weak](std::span<const store::EscalationRecord> firings) {
      if (auto d = weak.lock()) d->OnEscalations(firings);
    });
  }
  barrier_ = std::make_shared<HookBarrier>();
  engine_->Subscribe(barrier_);
  return Status::Ok();
}

Status Simulation::Setup() {
  const Millis now = Now();
  std::optional<calendar::CalendarSpec> cn = calendar::FindBuiltinCalendar("cn");
  if (!cn) return Status::Internal("the built-in calendar cn is missing");
  calendar::BuildOptions years;
  years.first_year = calendar::YearOf(calendar::Date{start_ / kDay}) - 1;
  years.last_year = calendar::YearOf(calendar::Date{options_.end / kDay}) + 1;
  TP_ASSIGN_OR_RETURN(calendar::Calendar built, calendar::Calendar::Build(std::move(*cn), years));
  cn_ = std::make_unique<calendar::Calendar>(std::move(built));
  std::array<std::string, 3> shift_text;
  for (int s = 0; s < 3; ++s) {
    TP_ASSIGN_OR_RETURN(calendar::CalendarSpec spec, ShiftSpec(s));
    shift_text[static_cast<size_t>(s)] = calendar::CalendarToJson(spec);
    TP_ASSIGN_OR_RETURN(calendar::Calendar compiled, calendar::Calendar::Build(std::move(spec), years));
    shifts_.push_back(std::make_unique<calendar::Calendar>(std::move(compiled)));
  }
  // Teams, each with a supervisor (a user with the supervisor role, also on the desk as an agent
  // who is away: routing explanations name them).
  std::map<std::string, std::int64_t> supervisors;
  static constexpr std::array<const char*, 4> kSupervisors = {"zhao.min@desk.example", "qian.rong@desk.example",
                                                              "sun.li@desk.example", "zhou.ning@desk.example"};
  Status teams = desk_->WithStore([&](store::Store& st) -> Status {
    for (size_t i = 0; i < kTeams.size(); ++i) {
      TP_ASSIGN_OR_RETURN(store::TeamRecord team, st.Get<store::TeamRepository>().Create(kTeams[i], now));
      store::UserRecord u;
      u.email = kSupervisors[i];
      u.role = "supervisor";
      u.team_id = team.id;
      u.created_at = now;
      TP_ASSIGN_OR_RETURN(store::UserRecord created, st.Get<store::UserRepository>().Create(u));
      TP_RETURN_IF_ERROR(st.Get<store::TeamRepository>().AddSupervisor(team.id, created.id));
      supervisors[kTeams[i]] = created.id;
    }
    return Status::Ok();
  });
  TP_RETURN_IF_ERROR(teams);
  stats_.teams = static_cast<std::int64_t>(kTeams.size());
  const Actor admin{Actor::Kind::kAdmin, 0, "demo"};
  static constexpr std::array<const char*, 4> kSupervisorNames = {"Zhao Min", "Qian Rong", "Sun Li", "Zhou Ning"};
  for (size_t i = 0; i < kTeams.size(); ++i) {
    service::NewAgent a;
    a.name = std::string(kSupervisorNames[i]) + " (supervisor)";
    a.skills = {"complaint"};
    a.languages = {"en", "zh"};
    a.attributes = {"senior"};
    a.capacity = 4;
    a.state = service::AgentState::kAway;
    a.team = kTeams[i];
    a.shift = shift_text[0];
    a.user_id = supervisors[kTeams[i]];
    TP_RETURN_IF_ERROR(desk_->PutAgent(std::move(a), admin).status());
    email_of_[supervisors[kTeams[i]]] = kSupervisors[i];
    ++stats_.agents;
  }
  supervisor_ = supervisors["general"];
  supervisor_email_ = kSupervisors[0];
  for (const AgentSeed& s : kAgents) {
    service::NewAgent a;
    a.name = s.name;
    a.email = s.email;
    a.team = s.team;
    a.skills = Split(s.skills);
    a.languages = Split(s.languages);
    a.attributes = Split(s.attributes);
    a.capacity = s.capacity;
    TP_ASSIGN_OR_RETURN(a.state, service::ParseAgentState(s.state));
    a.shift = shift_text[static_cast<size_t>(s.shift)];
    TP_ASSIGN_OR_RETURN(service::AgentView v, desk_->PutAgent(std::move(a), admin));
    shift_of_[v.agent.user_id] = shifts_[static_cast<size_t>(s.shift)].get();
    email_of_[v.agent.user_id] = v.email;
    ++stats_.agents;
  }
  // SLA policies, stored as `touchpoint desk sla-policies set` stores them (the server reads
  // them at its start), and the SLA service over the simulated clock.
  const std::vector<service::SlaPolicy> policies = DemoPolicies();
  Status stored = desk_->WithStore([&](store::Store& st) -> Status {
    TP_ASSIGN_OR_RETURN(auto txn, st.Begin());
    for (const service::SlaPolicy& p : policies) {
      TP_RETURN_IF_ERROR(st.Get<store::SlaRepository>().PutPolicy(
          *txn, store::SlaPolicyRecord{p.name, p.position, service::PolicyToJson(p), now}));
    }
    return txn->Commit();
  });
  TP_RETURN_IF_ERROR(stored);
  service::SlaOptions sla;
  sla.policies = policies;
  sla.calendars["cn"] = cn_.get();
  sla.default_calendar = "cn";
  pipeline::Engine* engine = engine_.get();
  sla.customer_facts = [engine](CustomerId customer) {
    service::CustomerFacts facts;
    auto found = engine->Find(std::to_string(customer.value()));
    if (!found.ok()) return facts;
    if (const std::string* tier = found->profile.FindTrait("tier")) {
      facts.tier = *tier;
      if (facts.tier.size() >= 2 && facts.tier.front() == '"') facts.tier = facts.tier.substr(1, facts.tier.size() - 2);
    }
    return facts;
  };
  TP_ASSIGN_OR_RETURN(sla_, service::SlaService::Open(*desk_, clock_, std::move(sla)));
  // Some customers are VIPs with a dedicated advisor, some are elderly (traits routing reads):
  // identify calls through the engine, as a CRM sync would send them.
  busy_until_.assign(users_.size(), 0);
  std::vector<ingest::Event> traits;
  static constexpr std::array<const char*, 3> kAdvisors = {"xie.wen@desk.example", "peng.yue@desk.example",
                                                           "jiang.hua@desk.example"};
  const size_t specials = std::min<size_t>(60, users_.size() / 4);
  for (size_t i = 0; i < specials; ++i) {
    const size_t who = static_cast<size_t>(rng_.Below(users_.size()));
    nlohmann::json t = i % 2 == 0 ? nlohmann::json{{"tier", "vip"}, {"advisor", kAdvisors[i / 2 % kAdvisors.size()]}}
                                  : nlohmann::json{{"age", 68 + static_cast<int>(i % 15)}};
    nlohmann::json j = {{"type", "identify"},
                        {"userId", users_[who]},
                        {"messageId", "demo-desk-" + std::to_string(options_.seed) + "-traits-" + std::to_string(i)},
                        {"timestamp", start_ - kDay},
                        {"traits", t}};
    TP_ASSIGN_OR_RETURN(ingest::Event e, parser_.ParseMessage(j.dump()));
    traits.push_back(std::move(e));
    special_.push_back(who);
  }
  if (!traits.empty()) {
    TP_ASSIGN_OR_RETURN(pipeline::SubmitResult r, engine_->Submit(std::move(traits)));
    expected_events_ += r.accepted;
    TP_RETURN_IF_ERROR(barrier_->WaitFor(expected_events_));
  }
  return Status::Ok();
}

Status Simulation::Schedule() {
  // First contacts: about 1 in 4 general and refund contacts brings a 2nd, some a 3rd (scheduled
  // when the first is solved), so about tickets / 1.25 first contacts.
  const auto first = static_cast<std::int64_t>(static_cast<double>(options_.tickets) / 1.25);
  int total_weight = 0;
  for (const Topic& t : kTopics) total_weight += t.weight;
  // Local (UTC+8) hour weights: quiet at night, busy from 9 to 22.
  static constexpr std::array<int, 24> kHourWeight = {2, 1, 1, 1, 1, 1, 2, 4, 7, 10, 11, 11,
                                                      10, 10, 11, 11, 10, 9, 9, 10, 10, 9, 6, 4};
  int hour_total = 0;
  for (int w : kHourWeight) hour_total += w;
  contacts_.reserve(static_cast<size_t>(first) * 2 + 16);
  for (std::int64_t i = 0; i < first; ++i) {
    Contact c;
    int pick = static_cast<int>(rng_.Below(static_cast<std::uint64_t>(total_weight)));
    for (size_t k = 0; k < kTopics.size(); ++k) {
      pick -= kTopics[k].weight;
      if (pick < 0) {
        c.topic = static_cast<int>(k);
        break;
      }
    }
    const Topic& topic = kTopics[static_cast<size_t>(c.topic)];
    c.channel = topic.flow == Flow::kPhone ? "phone" : kChannels[rng_.Below(4)];
    c.bot = (c.channel == "chat" || c.channel == "app") && rng_.Chance(0.3);
    const Millis day = start_ / kDay * kDay + static_cast<Millis>(rng_.Below(static_cast<std::uint64_t>(options_.days))) * kDay;
    int h = static_cast<int>(rng_.Below(static_cast<std::uint64_t>(hour_total)));
    int local_hour = 0;
    while (h >= kHourWeight[static_cast<size_t>(local_hour)]) h -= kHourWeight[static_cast<size_t>(local_hour++)];
    Millis at = day + Millis{(local_hour + 16) % 24} * kHour + rng_.Span(0, kHour - 1000);
    if (at < start_) at += kDay;
    if (at >= options_.end) at -= kDay;
    contacts_.push_back(std::move(c));
    At(at, static_cast<int>(contacts_.size() - 1), Step::kArrive);
  }
  // The desk's own rhythm: shifts begin (08:30, 10:00, 12:30 in Shanghai), solved tickets close.
  for (Millis day = start_ / kDay * kDay; day < options_.end; day += kDay) {
    for (Millis at : {day + 30 * kMinute, day + 2 * kHour, day + 4 * kHour + 30 * kMinute}) {
      if (at >= start_) At(at, -1, Step::kTickRoute);
    }
    if (day + 19 * kHour >= start_) At(day + 19 * kHour, -1, Step::kTickClose);
  }
  return Status::Ok();
}

Result<CustomerId> Simulation::CustomerOf(size_t customer) {
  auto it = customer_ids_.find(customer);
  if (it != customer_ids_.end()) return it->second;
  TP_ASSIGN_OR_RETURN(pipeline::CustomerData data, engine_->Find("user:" + users_[customer]));
  customer_ids_[customer] = data.id;
  return data.id;
}

Status Simulation::Say(int id, const std::string& text) {
  const Contact& c = contacts_[static_cast<size_t>(id)];
  nlohmann::json j = {{"type", "track"},
                      {"event", "Message Received"},
                      {"userId", users_[c.customer]},
                      {"messageId", "demo-desk-" + std::to_string(options_.seed) + "-" + std::to_string(++message_seq_)},
                      {"timestamp", Now()},
                      {"properties",
                       {{"conversation_id", "desk-" + std::to_string(id)},
                        {"channel", c.channel},
                        {"author", "customer"},
                        {"text", text}}}};
  TP_ASSIGN_OR_RETURN(ingest::Event e, parser_.ParseMessage(j.dump()));
  std::vector<ingest::Event> batch;
  batch.push_back(std::move(e));
  const std::int64_t failures = desk_->feed_failures();
  TP_ASSIGN_OR_RETURN(pipeline::SubmitResult r, engine_->Submit(std::move(batch)));
  expected_events_ += r.accepted;
  TP_RETURN_IF_ERROR(barrier_->WaitFor(expected_events_));
  if (desk_->feed_failures() != failures) {
    // The hook's batch failed (the desk retries it from the event log at the next batch): retry
    // now, and say why if it fails again.
    TP_RETURN_IF_ERROR(desk_->CatchUp(analyze_).WithContext("the desk could not take a message"));
  }
  ++stats_.customer_messages;
  return Status::Ok();
}

Result<std::optional<store::TicketRecord>> Simulation::Live(const Contact& c) {
  if (c.number == 0) return std::optional<store::TicketRecord>();
  TP_ASSIGN_OR_RETURN(service::TicketView v, desk_->Get(c.number));
  if (v.ticket.status == "closed" || v.ticket.merged_into != 0) return std::optional<store::TicketRecord>();
  return std::optional<store::TicketRecord>(std::move(v.ticket));
}

bool Simulation::Assigned(const store::TicketRecord& t, int id, Step step) {
  if (t.assignee != 0) return true;
  Contact& c = contacts_[static_cast<size_t>(id)];
  if (++c.tries < 500) At(Now() + 30 * kMinute, id, step);  // waits in its queue: look again later
  return false;
}

// Errors a busy desk may answer a step with (someone else changed the ticket first) end that
// step only; anything else (the store) ends the run.
Status Simulation::Tolerate(Status s) {
  if (s.ok()) return s;
  const StatusCode code = s.code();
  if (code == StatusCode::kFailedPrecondition || code == StatusCode::kPermissionDenied ||
      code == StatusCode::kNotFound || code == StatusCode::kInvalidArgument) {
    if (tolerated_++ == 0) first_tolerated_ = s.ToString();
    return Status::Ok();
  }
  return s;
}

Status Simulation::Arrive(int id) {
  Contact& c = contacts_[static_cast<size_t>(id)];
  const Topic& topic = TopicOf(c);
  if (c.ordinal == 1) {
    // A customer with no conversation running; now and then one of the VIP or elderly ones.
    size_t who = rng_.Chance(0.12) && !special_.empty() ? special_[rng_.Below(special_.size())]
                                                         : static_cast<size_t>(rng_.Below(users_.size()));
    for (size_t probe = 0; probe < users_.size() && busy_until_[who] > Now(); ++probe) who = (who + 1) % users_.size();
    if (busy_until_[who] > Now()) return Status::Ok();  // everyone is talking to the desk already
    c.customer = who;
    c.en = (users_[who].size() + who * 7) % 5 == 0;  // about one customer in five writes English
  }
  busy_until_[c.customer] = std::numeric_limits<Millis>::max();
  TP_ASSIGN_OR_RETURN(CustomerId customer, CustomerOf(c.customer));
  if (topic.flow == Flow::kPhone) {
    // A call the IVR turns into a ticket with the product it asked about.
    TP_ASSIGN_OR_RETURN(pipeline::CustomerData data, engine_->Find(std::to_string(customer.value())));
    service::NewTicket t;
    t.customer = customer;
    t.customer_revenue = data.profile.revenue();
    t.subject = c.en ? topic.en : topic.zh[rng_.Below(2)];
    t.channel = "phone";
    t.skill = topic.intent;
    t.language = c.en ? "en" : "zh";
    TP_ASSIGN_OR_RETURN(store::TicketRecord created, desk_->Create(t, Actor{Actor::Kind::kSystem, 0, "ivr"}));
    c.number = created.number;
    At(AfterWork(*cn_, Now(), ReplyMinutes()), id, Step::kFirstReply);
  } else {
    TP_RETURN_IF_ERROR(Say(id, c.en ? topic.en : topic.zh[rng_.Below(2)]));
    store::TicketFilter f;
    f.customer = customer;
    f.limit = 10000;  // read to the end: the newest is first
    TP_ASSIGN_OR_RETURN(auto newest, desk_->List(f));
    if (newest.empty()) {
      return Status::Internal("demo desk: the message of " + users_[c.customer] + " at " + FormatTimestamp(Now()) +
                              " opened no ticket");
    }
    c.number = newest.front().number;
    if (c.bot) {
      At(Now() + rng_.Span(5'000, 40'000), id, Step::kBotReply);
    } else {
      At(AfterWork(*cn_, Now(), ReplyMinutes()), id, Step::kFirstReply);
    }
  }
  if (topic.flow == Flow::kComplaint) ++stats_.complaints;
  if (c.ordinal >= 2) ++stats_.repeats;
  if (stats_.routing_example == 0) {
    TP_ASSIGN_OR_RETURN(auto decisions, desk_->Routing(c.number));
    for (const auto& d : decisions) {
      if (d.rule == "dedicated_advisor" || d.rule == "continuity" || d.rule == "senior_for_vulnerable") {
        stats_.routing_example = c.number;
      }
    }
  }
  return Status::Ok();
}

// An agent's reply: the first answer, the next one after the customer wrote, or the news after
// finance approved a refund; then what the flow does next.
Status Simulation::Reply(int id, Step step) {
  Contact& c = contacts_[static_cast<size_t>(id)];
  const Topic& topic = TopicOf(c);
  TP_ASSIGN_OR_RETURN(auto t, Live(c));
  if (!t || t->status == "solved") return Status::Ok();
  if (!Assigned(*t, id, step)) return Status::Ok();
  std::string text;
  if (step == Step::kFirstReply) {
    text = c.en ? topic.reply_en : topic.reply_zh;
  } else if (c.approved) {
    text = c.en ? "Your refund is approved; the money goes back to your card within 1-3 working days."
                : "退款已审批通过，款项将在1-3个工作日内原路返回。";
  } else {
    text = c.en ? "Thank you, it is taken care of now." : "好的，已经为您处理完毕，请查收。";
  }
  const Actor agent = AgentActor(t->assignee);
  TP_RETURN_IF_ERROR(Tolerate(desk_->AddMessage(c.number, service::NewMessage{text, false, ""}, agent).status()));
  ++stats_.agent_actions;
  if (step != Step::kFirstReply) {
    At(Now() + rng_.Span(2 * kMinute, 25 * kMinute), id, Step::kSolve);
    return Status::Ok();
  }
  const calendar::Calendar& shift = ShiftOf(t->assignee);
  switch (topic.flow) {
    case Flow::kGeneral:
      if (rng_.Chance(0.45)) {
        At(Now() + rng_.Span(kMinute, 3 * kMinute), id, Step::kAskInfo);
      } else {
        At(AfterWork(shift, Now(), rng_.Between(5, 150)), id, Step::kSolve);
      }
      break;
    case Flow::kRefund:
      At(Now() + rng_.Span(2 * kMinute, 6 * kMinute), id, Step::kApprovalStart);
      break;
    case Flow::kComplaint: {
      // The supervisor's call (due within 24 hours) and the feedback on the fix (3 working days).
      const double r = rng_.Unit();
      At(Now() + (r < 0.75 ? rng_.Span(2 * kHour, 20 * kHour) : rng_.Span(28 * kHour, 60 * kHour)), id,
         Step::kTaskFollowup);
      const double f = rng_.Unit();
      if (f < 0.6) {
        At(AfterWork(*cn_, Now(), rng_.Between(540, 1080)), id, Step::kTaskFeedback);
      } else if (f < 0.85) {
        At(AfterWork(*cn_, Now(), rng_.Between(2400, 3600)), id, Step::kTaskFeedback);
      }  // else: never given; the supervisor overrides the open task to solve
      At(AfterWork(*cn_, Now(), rng_.Between(900, 1800)), id, Step::kSolve);
      break;
    }
    case Flow::kPhone:
      At(AfterWork(shift, Now(), rng_.Between(5, 60)), id, Step::kSolve);
      break;
  }
  return Status::Ok();
}

Status Simulation::MoveQueue(std::int64_t number, const std::string& to) {
  const Millis now = Now();
  auto changed = desk_->ApplyChange(number, [&](store::Store&, store::Transaction&, store::TicketRecord& t,
                                                std::vector<store::TicketHistoryRecord>& rows) -> Status {
    if (t.queue == to) return Status::AlreadyExists("in that queue");
    rows.push_back(store::TicketHistoryRecord{0, number, now, "system", "workflow:refund_approval", "queue", t.queue, to});
    t.queue = to;
    t.updated_at = now;
    return Status::Ok();
  });
  return changed.status();
}

Status Simulation::CompleteTask(int id, std::string_view kind) {
  Contact& c = contacts_[static_cast<size_t>(id)];
  TP_ASSIGN_OR_RETURN(auto tasks, sla_->TicketTasks(c.number));
  for (const auto& t : tasks) {
    if (t.task.kind != kind || t.task.completed_at != 0) continue;
    TP_RETURN_IF_ERROR(Tolerate(sla_->CompleteTask(c.number, t.task.id, Supervisor()).status()));
    ++stats_.agent_actions;
  }
  return Status::Ok();
}

Status Simulation::Solve(int id) {
  Contact& c = contacts_[static_cast<size_t>(id)];
  const Topic& topic = TopicOf(c);
  TP_ASSIGN_OR_RETURN(auto t, Live(c));
  if (!t || t->status == "solved") return Status::Ok();
  if (!Assigned(*t, id, Step::kSolve)) return Status::Ok();
  const Actor agent = AgentActor(t->assignee);
  if (t->status == "new") {  // nobody answered yet: answer first
    At(Now(), id, Step::kFirstReply);
    return Status::Ok();
  }
  if (t->status == "pending_customer" || t->status == "pending_third_party") {
    // The customer never answered: the agent closes the loop.
    TP_RETURN_IF_ERROR(Tolerate(desk_->SetStatus(c.number, TicketStatus::kOpen, agent).status()));
  }
  if (topic.flow == Flow::kComplaint) {
    TP_ASSIGN_OR_RETURN(auto tasks, sla_->TicketTasks(c.number));
    bool open = false;
    for (const auto& task : tasks) open = open || task.task.completed_at == 0;
    if (open) {
      if (c.tries < 3 && rng_.Chance(0.5)) {
        ++c.tries;
        At(AfterWork(*cn_, Now(), 540), id, Step::kSolve);  // the agent waits a working day for the tasks
        return Status::Ok();
      }
      // The supervisor solves it with the task still open (the override is in the history).
      TP_RETURN_IF_ERROR(
          Tolerate(desk_->ChangeStatus(c.number, TicketStatus::kSolved, Supervisor(), "", true).status()));
      ++stats_.agent_actions;
      return AfterSolved(id);
    }
  }
  TP_RETURN_IF_ERROR(Tolerate(desk_->SetStatus(c.number, TicketStatus::kSolved, agent).status()));
  ++stats_.agent_actions;
  return AfterSolved(id);
}

Status Simulation::AfterSolved(int id) {
  Contact& c = contacts_[static_cast<size_t>(id)];
  const Topic& topic = TopicOf(c);
  if (!c.reopened && topic.flow != Flow::kPhone && rng_.Chance(0.12)) {
    c.reopened = true;
    At(Now() + rng_.Span(2 * kHour, 40 * kHour), id, Step::kReopen);
    return Status::Ok();
  }
  // The same customer comes back about the same thing (after the 72-hour continuity window, so
  // a new ticket: a repeat inquiry), on another channel.
  const bool again = (topic.flow == Flow::kGeneral || topic.flow == Flow::kRefund) && c.ordinal < 3 &&
                     rng_.Chance(c.ordinal == 1 ? 0.25 : 0.35);
  if (again) {
    Contact next;
    next.topic = c.topic;
    next.customer = c.customer;
    next.en = c.en;
    next.ordinal = c.ordinal + 1;
    do {
      next.channel = kChannels[rng_.Below(kChannels.size())];
    } while (next.channel == c.channel);
    const Millis at = Now() + rng_.Span(4 * kDay, 12 * kDay);
    busy_until_[c.customer] = at + kHour;
    contacts_.push_back(std::move(next));
    if (at < options_.end) At(at, static_cast<int>(contacts_.size() - 1), Step::kArrive);
  } else {
    busy_until_[c.customer] = Now() + 73 * kHour;
  }
  return Status::Ok();
}

Status Simulation::Perform(const Action& a) {
  if (a.step == Step::kTickRoute) return desk_->RouteWaiting().status();
  if (a.step == Step::kTickClose) return desk_->AutoClose(7 * kDay, 5000).status();
  const int id = a.contact;
  Contact& c = contacts_[static_cast<size_t>(id)];
  switch (a.step) {
    case Step::kArrive:
      return Arrive(id);
    case Step::kBotReply: {
      TP_ASSIGN_OR_RETURN(auto t, Live(c));
      if (!t) return Status::Ok();
      const std::string text = c.en ? "Hi, I am the assistant. Could you tell me your order number?"
                                    : "您好，我是智能助手小T，请问您的订单号是多少？";
      TP_RETURN_IF_ERROR(Tolerate(
          desk_->AddMessage(c.number, service::NewMessage{text, false, ""}, Actor{Actor::Kind::kBot, 0, "bot"}).status()));
      At(Now() + rng_.Span(40'000, 4 * kMinute), id, Step::kHumanRequest);
      return Status::Ok();
    }
    case Step::kHumanRequest:
      TP_RETURN_IF_ERROR(Say(id, c.en ? "I want to talk to a real person" : "转人工，我要找真人客服"));
      At(AfterWork(*cn_, Now(), ReplyMinutes()), id, Step::kFirstReply);
      return Status::Ok();
    case Step::kFirstReply:
    case Step::kNextReply:
      return Reply(id, a.step);
    case Step::kAskInfo: {
      TP_ASSIGN_OR_RETURN(auto t, Live(c));
      if (!t || t->status != "open" || !Assigned(*t, id, a.step)) return Status::Ok();
      TP_RETURN_IF_ERROR(Tolerate(desk_->ChangeStatus(c.number, TicketStatus::kPendingCustomer, AgentActor(t->assignee),
                                                      "asked the customer for the order number", false)
                                      .status()));
      ++stats_.agent_actions;
      if (rng_.Chance(0.8)) {
        At(Now() + rng_.Span(20 * kMinute, 30 * kHour), id, Step::kCustomerReply);
      } else {
        At(Now() + rng_.Span(3 * kDay, 5 * kDay), id, Step::kSolve);  // no answer: solved after a few days
      }
      return Status::Ok();
    }
    case Step::kCustomerReply:
    case Step::kReopen: {
      TP_ASSIGN_OR_RETURN(auto t, Live(c));
      if (!t) return Status::Ok();
      const bool reopen = a.step == Step::kReopen;
      const std::string text = reopen ? (c.en ? "It is still not solved, what is going on?" : "问题还是没有解决，怎么回事")
                                      : (c.en ? "The order number is 2025110388, please hurry"
                                              : "订单号是2025110388，麻烦尽快处理");
      TP_RETURN_IF_ERROR(Say(id, text));
      if (reopen) ++stats_.reopens;
      At(AfterWork(*cn_, Now(), ReplyMinutes()), id, Step::kNextReply);
      return Status::Ok();
    }
    case Step::kSolve:
      return Solve(id);
    case Step::kApprovalStart: {
      // The refund waits for finance: paused (pending_third_party) in the approval queue.
      TP_ASSIGN_OR_RETURN(auto t, Live(c));
      if (!t || t->status != "open" || !Assigned(*t, id, a.step)) return Status::Ok();
      Status paused = Tolerate(desk_->ChangeStatus(c.number, TicketStatus::kPendingThirdParty, AgentActor(t->assignee),
                                                   "refund approval by finance", false)
                                   .status());
      TP_RETURN_IF_ERROR(paused);
      TP_RETURN_IF_ERROR(Tolerate(MoveQueue(c.number, "refund_approval")));
      ++stats_.refunds;
      ++stats_.agent_actions;
      // Finance takes 1 to 7 working days, mostly 2 to 4.
      const double r = rng_.Unit();
      const double days = r < 0.15 ? 1 : r < 0.45 ? 2 : r < 0.70 ? 3 : r < 0.85 ? 4 : rng_.Between(5, 7);
      At(AfterWork(*cn_, Now(), days * 540 - rng_.Between(0, 240)), id, Step::kApprovalEnd);
      return Status::Ok();
    }
    case Step::kApprovalEnd: {
      TP_ASSIGN_OR_RETURN(auto t, Live(c));
      if (!t) return Status::Ok();
      TP_RETURN_IF_ERROR(Tolerate(MoveQueue(c.number, "general")));
      if (t->status == "pending_third_party") {
        TP_RETURN_IF_ERROR(Tolerate(
            desk_->SetStatus(c.number, TicketStatus::kOpen, Actor{Actor::Kind::kSystem, 0, "workflow:refund_approval"})
                .status()));
      }
      c.approved = true;
      At(AfterWork(ShiftOf(t->assignee), Now(), rng_.Between(5, 120)), id, Step::kNextReply);
      return Status::Ok();
    }
    case Step::kTaskFollowup:
      return CompleteTask(id, "followup");
    case Step::kTaskFeedback:
      return CompleteTask(id, "feedback");
    case Step::kTickRoute:
    case Step::kTickClose:
      break;
  }
  return Status::Ok();
}

Status Simulation::Run() {
  while (!queue_.empty()) {
    const Action a = queue_.top();
    if (a.at >= options_.end) break;
    queue_.pop();
    // The SLA timer's moments before this step, each at its own time.
    for (int guard = 0; guard < 10'000; ++guard) {
      const Millis due = sla_->next_due();
      if (due == 0 || due > a.at) break;
      clock_.Advance(due);
      TP_RETURN_IF_ERROR(sla_->RunDue().status());
    }
    clock_.Advance(a.at);
    TP_RETURN_IF_ERROR(Perform(a).WithContext("demo desk"));
    TP_RETURN_IF_ERROR(sla_->RunDue().status());
  }
  for (int guard = 0; guard < 10'000; ++guard) {
    const Millis due = sla_->next_due();
    if (due == 0 || due >= options_.end) break;
    clock_.Advance(due);
    TP_RETURN_IF_ERROR(sla_->RunDue().status());
  }
  clock_.Advance(options_.end - 1);
  return sla_->RunDue().status();
}

Status Simulation::Finish(DemoDeskStats* stats) {
  if (!stats_.skipped && desk_ != nullptr && sla_ != nullptr) {
    TP_RETURN_IF_ERROR(desk_->WithStore([&](store::Store& st) -> Status {
      return st.Get<store::TicketRepository>().Scan([&](store::TicketRecord&&) { ++stats_.tickets; });
    }));
    stats_.warnings = sla_->warnings_fired();
    stats_.breaches = sla_->breaches_fired();
    stats_.overdue_tasks = sla_->overdue_fired();
  }
  if (tolerated_ > 0) {
    std::fprintf(stderr, "demo: %lld desk steps were refused and skipped (first: %s)\n",
                 static_cast<long long>(tolerated_), first_tolerated_.c_str());
  }
  // Down in the order the server uses: the timer, the engine (its hook drains into the desk),
  // then the desk's store.
  sla_.reset();
  if (engine_) engine_->Stop();
  engine_.reset();
  if (desk_) desk_->Close();
  desk_.reset();
  escalation_.reset();
  *stats = stats_;
  return Status::Ok();
}

}  // namespace

Result<DemoDeskStats> BuildDemoDesk(const std::string& data_dir, std::span<const std::string> users,
                                    const DemoDeskOptions& options) {
  if (users.empty()) return Status::InvalidArgument("demo desk: no customers");
  if (options.end <= 0 || options.days < 1) return Status::InvalidArgument("demo desk: no time window");
  const auto began = std::chrono::steady_clock::now();
  Simulation sim(options, users);
  Status s = sim.Open(data_dir);
  if (s.ok() && !sim.skipped()) s = sim.Setup();
  if (s.ok() && !sim.skipped()) s = sim.Schedule();
  if (s.ok() && !sim.skipped()) s = sim.Run();
  DemoDeskStats stats;
  Status closed = sim.Finish(&stats);
  TP_RETURN_IF_ERROR(s);
  TP_RETURN_IF_ERROR(closed);
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  return stats;
}

}  // namespace touchpoint::cli
