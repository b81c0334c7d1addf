// SLA policies (matching, the JSON shape, validation, due times) and the SLA service over a
// memory store with a fake clock: warnings and breaches fire on time for a ticket nobody touches,
// each once (also after a restart, and when the service was down at the due time), with a
// history row, a raised priority and a sink call; replies stop the clock and pauses hold it.
#include <touchpoint/service/sla.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <string>
#include <vector>

#include <touchpoint/calendar/calendar_file.h>
#include <touchpoint/store/memory.h>
#include <touchpoint/store/outbox_repository.h>
#include <touchpoint/store/sla_repository.h>

#include "testing/matchers.h"

namespace touchpoint::service {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::touchpoint::testing::StatusIs;

// 2026-03-02 (Monday) 09:00 Asia/Shanghai = 01:00Z.
constexpr Millis kT0 = 1'772'413'200'000;
constexpr Millis kMin = 60'000;

class FakeClock final : public Clock {
 public:
  Millis Now() const override { return now.load(); }
  std::atomic<Millis> now{kT0};
};

const Actor kAdmin{Actor::Kind::kAdmin, 0, "admin@example.com"};

SlaPolicy Policy(std::string name, double first, double warning) {
  SlaPolicy p;
  p.name = std::move(name);
  p.first_response = SlaGoal{first, warning};
  p.ladder = DefaultLadder();
  return p;
}

store::TicketRecord Ticket(std::string priority, std::string type, std::string channel, std::string queue) {
  store::TicketRecord t;
  t.priority = std::move(priority);
  t.type = std::move(type);
  t.channel = std::move(channel);
  t.queue = std::move(queue);
  return t;
}

TEST(SlaPolicyTest, FirstMatchingPolicyWinsAndEmptyConditionsMatchAll) {
  std::vector<SlaPolicy> policies(4);
  policies[0].name = "vip_complaints";
  policies[0].when.types = {"complaint"};
  policies[0].when.tiers = {"vip"};
  policies[1].name = "urgent_chat";
  policies[1].when.priorities = {"high"};
  policies[1].when.channels = {"chat", "app"};
  policies[2].name = "cards_queue_churn";
  policies[2].when.queues = {"cards"};
  policies[2].when.segments = {"churn_risk"};
  policies[3].name = "everything";
  struct Case {
    store::TicketRecord ticket;
    CustomerFacts customer;
    std::string want;
  } cases[] = {
      {Ticket("low", "complaint", "email", "general"), {"vip", {}}, "vip_complaints"},
      {Ticket("low", "complaint", "email", "general"), {"gold", {}}, "everything"},
      {Ticket("high", "request", "app", "general"), {"", {}}, "urgent_chat"},
      {Ticket("high", "request", "email", "general"), {"", {}}, "everything"},
      {Ticket("medium", "request", "email", "cards"), {"", {"big_spender", "churn_risk"}}, "cards_queue_churn"},
      {Ticket("medium", "request", "email", "cards"), {"", {"big_spender"}}, "everything"},
  };
  for (const Case& c : cases) {
    const SlaPolicy* p = MatchPolicy(policies, c.ticket, c.customer);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->name, c.want) << c.ticket.priority << " " << c.ticket.type << " " << c.ticket.channel;
  }
  policies.pop_back();
  EXPECT_EQ(MatchPolicy(policies, Ticket("low", "request", "email", "general"), {}), nullptr);
}

// The message of a refused policy document ("" when accepted).
std::string Error(std::string_view json) {
  auto p = PolicyFromJson(json);
  EXPECT_THAT(p.status(), StatusIs(StatusCode::kInvalidArgument));
  return p.ok() ? "" : std::string(p.status().message());
}

TEST(SlaPolicyTest, JsonRoundTripAndErrorsNameTheField) {
  SlaPolicy p = Policy("vip", 60, 15);
  p.calendar = "cn";
  p.when.tiers = {"vip"};
  p.resolution = SlaGoal{480, 60};
  p.ladder.push_back(SlaLadderStep{"breach", 240, {"notify_manager", "raise_priority"}});
  auto back = PolicyFromJson(PolicyToJson(p));
  ASSERT_OK(back);
  EXPECT_EQ(*back, p);
  EXPECT_THAT(Error(R"({"name":"x","first_response":{"minutes":10,"warning_minutes":20}})"), HasSubstr("first_response.warning_minutes"));
  EXPECT_THAT(Error(R"({"name":"x","ladder":[{"at":"later","actions":["notify_assignee"]}]})"), HasSubstr("ladder[0].at"));
  EXPECT_THAT(Error(R"({"name":"x","ladder":[{"at":"breach","actions":["page_ceo"]}]})"), HasSubstr("page_ceo"));
  EXPECT_THAT(Error(R"({"name":"x","when":{"colour":["red"]}})"), HasSubstr("when.colour"));
  EXPECT_THAT(Error(R"({"name":"x","speed":1})"), HasSubstr("speed"));
}

TEST(SlaPolicyTest, BaselineRepliesWithin24Hours) {
  SlaPolicy b = BaselinePolicy();
  EXPECT_EQ(b.name, "baseline");
  EXPECT_EQ(b.first_response.minutes, 24 * 60);
  EXPECT_EQ(b.next_response.minutes, 24 * 60);
  EXPECT_TRUE(b.calendar.empty());  // wall clock
  EXPECT_OK(ValidatePolicy(b));
}

// The setup the server and the CLI share: stored policies first (a configured one of the same
// name is shadowed), configured ones after them, every calendar a policy or the desk names loaded
// (built-in or file), and a calendar that does not load named in the error.
TEST(SlaSetupTest, StoredPoliciesFirstConfiguredAfterAndTheirCalendarsLoaded) {
  const std::string cal_path = ::testing::TempDir() + "/sla_setup_calendar.toml";
  {
    std::ofstream f(cal_path);
    f << "name = \"night-desk\"\nzone = \"Europe/Berlin\"\n\n[week]\nmon = [\"20:00-23:00\"]\n";
  }
  auto store = store::memory::OpenShared("sla-setup");
  SlaPolicy vip = Policy("vip", 30, 10);
  vip.when.priorities = {"urgent"};
  vip.calendar = "cn";
  vip.position = 1;
  SlaPolicy standard = Policy("standard", 240, 60);
  standard.position = 2;
  {
    auto txn = store->Begin();
    ASSERT_OK(txn);
    auto& repo = store->Get<store::SlaRepository>();
    ASSERT_OK(repo.PutPolicy(**txn, store::SlaPolicyRecord{"vip", 1, PolicyToJson(vip), kT0}));
    ASSERT_OK(repo.PutPolicy(**txn, store::SlaPolicyRecord{"standard", 2, PolicyToJson(standard), kT0}));
    ASSERT_OK((*txn)->Commit());
  }
  SlaPolicy shadowed = Policy("vip", 1, 0);  // the stored "vip" wins
  shadowed.when.priorities = {"urgent"};
  SlaPolicy night = Policy("night", 120, 0);
  night.when.channels = {"phone"};
  night.calendar = cal_path;
  const std::vector<std::string> configured{PolicyToJson(shadowed), PolicyToJson(night)};

  auto setup = SlaSetup::Load(store->Get<store::SlaRepository>(), configured, "cn");
  ASSERT_OK(setup);
  std::vector<std::string> names;
  for (const SlaPolicy& p : (*setup)->policies()) names.push_back(p.name);
  EXPECT_THAT(names, ElementsAre("vip", "standard", "night"));
  EXPECT_EQ((*setup)->policies()[0].first_response.minutes, 30) << "the stored vip, not the configured one";
  ASSERT_NE((*setup)->default_calendar(), nullptr);

  const SlaClock urgent = (*setup)->ClockOf(Ticket("urgent", "request", "phone", "general"));
  EXPECT_EQ(urgent.policy->name, "vip");
  ASSERT_NE(urgent.target_calendar, nullptr) << "vip names cn";
  EXPECT_EQ(urgent.calendar, urgent.target_calendar);
  // "standard" names no calendar: its targets run on the wall clock, the ticket on the desk's.
  const SlaClock normal = (*setup)->ClockOf(Ticket("medium", "request", "phone", "general"));
  EXPECT_EQ(normal.policy->name, "standard");
  EXPECT_EQ(normal.target_calendar, nullptr);
  EXPECT_EQ(normal.calendar, (*setup)->default_calendar());

  // Without the stored ones the configured night policy applies to phone tickets, on its file.
  auto empty = store::memory::OpenShared("sla-setup-empty");
  auto only_config = SlaSetup::Load(empty->Get<store::SlaRepository>(), configured, "");
  ASSERT_OK(only_config);
  const SlaClock phone = (*only_config)->ClockOf(Ticket("medium", "request", "phone", "general"));
  EXPECT_EQ(phone.policy->name, "night");
  ASSERT_NE(phone.target_calendar, nullptr);
  EXPECT_EQ(phone.target_calendar->zone().name(), "Europe/Berlin");
  EXPECT_EQ((*only_config)->ClockOf(Ticket("medium", "request", "chat", "general")).policy->name, "baseline");
  EXPECT_EQ((*only_config)->default_calendar(), nullptr);

  SlaPolicy broken = Policy("broken", 10, 0);
  broken.calendar = ::testing::TempDir() + "/no-such-calendar.toml";
  const std::vector<std::string> bad{PolicyToJson(broken)};
  const Status failed = SlaSetup::Load(empty->Get<store::SlaRepository>(), bad, "").status();
  EXPECT_THAT(failed, StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(failed.message()), HasSubstr("no-such-calendar.toml"));
}

TEST(SlaDuesTest, BusinessMinutesOnTheCalendarWithTheLadder) {
  auto spec = calendar::FindBuiltinCalendar("cn");
  ASSERT_TRUE(spec);
  auto cal = calendar::Calendar::Build(*spec);
  ASSERT_OK(cal);
  // Friday 2026-03-06 17:00 (+08): 60 business minutes end exactly at Friday's close, 18:00 (the
  // closing time, not Monday's opening); warning 15 before → 17:45; breach + 60 business minutes
  // → Monday 10:00.
  const Millis fri1700 = kT0 + 4 * 24 * 60 * kMin + 8 * 60 * kMin;
  store::TicketRecord t = Ticket("medium", "request", "chat", "general");
  t.created_at = fri1700;
  TicketSpans spans;
  spans.first_response = Span{fri1700, 0, "", 0, 0};
  SlaPolicy p = Policy("cn60", 60, 15);
  p.calendar = "cn";
  auto dues = ComputeDues(p, &*cal, t, spans);
  ASSERT_OK(dues);
  const Millis mon = kT0 + 7 * 24 * 60 * kMin;  // Monday 2026-03-09 09:00 +08
  std::vector<std::string> got;
  for (const SlaDue& d : *dues) got.push_back(d.kind + "@" + FormatTimestamp(d.at));
  EXPECT_THAT(got, ElementsAre("warning@" + FormatTimestamp(fri1700 + 45 * kMin),
                               "breach@" + FormatTimestamp(fri1700 + 60 * kMin),
                               "breach+60@" + FormatTimestamp(mon + 60 * kMin)));
  EXPECT_THAT((*dues)[1].actions, ElementsAre("notify_supervisor", "raise_priority"));
  EXPECT_THAT((*dues)[0].actions, ElementsAre("notify_assignee"));
}

class SlaServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int counter = 0;
    name_ = "sla-test-" + std::to_string(counter++);
    desk_ = std::make_unique<Desk>(store::memory::OpenShared(name_), clock_);
  }
  void OpenService(std::vector<SlaPolicy> policies) {
    service_.reset();
    SlaOptions o;
    o.policies = std::move(policies);
    o.sink = [this](const SlaEvent& e) { sunk_.push_back(e.target + " " + e.kind); };
    o.enqueue = enqueue_;
    auto s = SlaService::Open(*desk_, clock_, std::move(o));
    ASSERT_OK(s);
    service_ = std::move(*s);
  }
  std::int64_t Create(std::string priority = "medium") {
    NewTicket t;
    t.customer = CustomerId(7);
    t.subject = "card blocked";
    t.channel = "phone";
    auto p = ParsePriority(priority);
    t.priority = *p;
    auto created = desk_->Create(t, kAdmin);
    EXPECT_OK(created);
    return created.ok() ? created->number : 0;
  }
  int Run() {
    auto r = service_->RunDue();
    EXPECT_OK(r);
    return r.ok() ? *r : -1;
  }
  std::vector<std::string> SlaRows(std::int64_t number) {
    std::vector<std::string> out;
    auto rows = desk_->History(number);
    EXPECT_OK(rows);
    for (const auto& r : *rows) {
      if (r.field == "sla" || (r.field == "priority" && r.actor_kind == "system")) {
        out.push_back(r.actor + " " + r.field + " " + r.before + ">" + r.after + " @" + std::to_string((r.at - kT0) / kMin));
      }
    }
    return out;
  }

  FakeClock clock_;
  std::string name_;
  std::unique_ptr<Desk> desk_;
  std::unique_ptr<SlaService> service_;
  std::vector<std::string> sunk_;
  SlaTxnSink enqueue_;  // OpenService's SlaOptions::enqueue
};

TEST_F(SlaServiceTest, FiresWarningAndBreachOnTimeForAnUntouchedTicket) {
  OpenService({Policy("phone60", 60, 10)});
  const std::int64_t n = Create();
  EXPECT_EQ(Run(), 0);
  EXPECT_EQ(service_->next_due(), kT0 + 50 * kMin);
  clock_.now = kT0 + 50 * kMin - 1000;
  EXPECT_EQ(Run(), 0);  // a second early: nothing
  clock_.now = kT0 + 50 * kMin;
  EXPECT_EQ(Run(), 1);
  EXPECT_THAT(sunk_, ElementsAre("first_response warning"));
  EXPECT_EQ(service_->States("warning").size(), 1u);
  clock_.now = kT0 + 60 * kMin;
  EXPECT_EQ(Run(), 1);
  EXPECT_THAT(SlaRows(n), ElementsAre("sla:phone60 sla >first_response warning @50",
                                      "sla:phone60 sla >first_response breach @60",
                                      "sla:phone60 priority medium>high @60"));
  auto view = desk_->Get(n);
  ASSERT_OK(view);
  EXPECT_EQ(view->ticket.priority, "high");
  EXPECT_THAT(service_->Breaching(), ElementsAre(n));
  EXPECT_EQ(service_->warnings_fired(), 1);
  EXPECT_EQ(service_->breaches_fired(), 1);
  clock_.now = kT0 + 120 * kMin;
  EXPECT_EQ(Run(), 1);  // breach + 60: the manager
  EXPECT_THAT(sunk_, ElementsAre("first_response warning", "first_response breach", "first_response breach+60"));
  clock_.now = kT0 + 600 * kMin;
  EXPECT_EQ(Run(), 0);  // nothing twice
}

TEST_F(SlaServiceTest, ARestartFiresNothingTwiceAndCatchesUpWhatItMissed) {
  OpenService({Policy("phone60", 60, 10)});
  const std::int64_t a = Create();
  clock_.now = kT0 + 50 * kMin;
  EXPECT_EQ(Run(), 1);  // a's warning
  const std::int64_t b = Create();
  service_.reset();  // "crash": b's timers were pending
  clock_.now = kT0 + 200 * kMin;
  OpenService({Policy("phone60", 60, 10)});
  EXPECT_EQ(Run(), 5);  // a: breach, breach+60; b: warning, breach, breach+60 — a's warning not again
  auto events = [&](std::int64_t n) {
    std::vector<std::string> out;
    EXPECT_OK(desk_->WithStore([&](store::Store& s) -> Status {
      TP_ASSIGN_OR_RETURN(auto es, s.Get<store::SlaRepository>().Events(n));
      for (const auto& e : es) out.push_back(e.kind + " due@" + std::to_string((e.due_at - kT0) / kMin));
      return Status::Ok();
    }));
    return out;
  };
  EXPECT_THAT(events(a), ElementsAre("warning due@60", "breach due@60", "breach+60 due@60"));
  EXPECT_THAT(events(b), ElementsAre("warning due@110", "breach due@110", "breach+60 due@110"));
  OpenService({Policy("phone60", 60, 10)});
  EXPECT_EQ(Run(), 0);
  EXPECT_THAT(service_->Breaching(), ElementsAre(b, a));
}

// Open reads every open ticket once (for the first RunDue); a change in between is not missed.
TEST_F(SlaServiceTest, AChangeBetweenOpenAndTheFirstRunIsSeen) {
  const std::int64_t n = Create();
  OpenService({Policy("phone60", 60, 10)});
  clock_.now = kT0 + 10 * kMin;
  ASSERT_OK(desk_->SetStatus(n, TicketStatus::kOpen, kAdmin));
  ASSERT_OK(desk_->ChangeStatus(n, TicketStatus::kPendingThirdParty, kAdmin, "card issuer", false));
  clock_.now = kT0 + 300 * kMin;
  EXPECT_EQ(Run(), 0);  // paused from minute 10 (history Open read before the pause): nothing fires
  EXPECT_TRUE(sunk_.empty());
  EXPECT_EQ(service_->next_due(), 0);
  EXPECT_EQ(service_->tracked(), 1u);
}

TEST_F(SlaServiceTest, AnAgentReplyStopsTheClock) {
  OpenService({Policy("phone60", 60, 10)});
  const std::int64_t n = Create();
  clock_.now = kT0 + 30 * kMin;
  ASSERT_OK(desk_->AddMessage(n, NewMessage{"on it", false, ""}, kAdmin));
  EXPECT_EQ(Run(), 0);
  clock_.now = kT0 + 300 * kMin;
  EXPECT_EQ(Run(), 0);
  EXPECT_TRUE(service_->States("").empty());
  EXPECT_TRUE(sunk_.empty());
}

TEST_F(SlaServiceTest, APauseHoldsTheClockAndMovesTheDueTime) {
  SlaPolicy p;
  p.name = "resolve2h";
  p.resolution = SlaGoal{120, 0};
  p.ladder = {SlaLadderStep{"breach", 0, {"notify_supervisor"}}};
  OpenService({p});
  const std::int64_t n = Create();
  clock_.now = kT0 + 10 * kMin;
  ASSERT_OK(desk_->SetStatus(n, TicketStatus::kOpen, kAdmin));
  clock_.now = kT0 + 30 * kMin;
  ASSERT_OK(desk_->ChangeStatus(n, TicketStatus::kPendingThirdParty, kAdmin, "waiting for the card issuer", false));
  EXPECT_EQ(Run(), 0);
  EXPECT_EQ(service_->next_due(), 0);  // paused: nothing due
  clock_.now = kT0 + 300 * kMin;
  EXPECT_EQ(Run(), 0);  // 5 h later, still paused: no breach
  ASSERT_OK(desk_->SetStatus(n, TicketStatus::kOpen, kAdmin));
  EXPECT_EQ(Run(), 0);
  EXPECT_EQ(service_->next_due(), kT0 + 300 * kMin + 90 * kMin);  // 30 min ran before the pause
  auto rows = desk_->History(n);
  ASSERT_OK(rows);
  EXPECT_THAT(*rows, Contains(::testing::Field(&store::TicketHistoryRecord::after, "waiting for the card issuer")));
}

TEST_F(SlaServiceTest, NoMatchingPolicyMeansTheBaselineReplyWithin24Hours) {
  SlaPolicy vip = Policy("vip", 30, 0);
  vip.when.priorities = {"high"};
  OpenService({vip});
  Create("low");
  EXPECT_EQ(Run(), 0);
  EXPECT_EQ(service_->next_due(), kT0 + 23 * 60 * kMin);  // the baseline's warning, 1 h before 24 h
}

}  // namespace
}  // namespace touchpoint::service

namespace touchpoint::service {
namespace {

// The webhook delivery of an SLA event commits in the event's own transaction: while enqueueing
// fails (the outbox's table unwritable), the event is not stored either and fires again on a
// later run, so no webhook is lost between the event's commit and a crash; once it goes through,
// the stored event has its delivery, and the sink hears of it after the commit.
TEST_F(SlaServiceTest, TheWebhookDeliveryCommitsWithTheSlaEvent) {
  bool outbox_down = true;
  enqueue_ = [&](store::Store& s, store::Transaction& txn, const SlaEvent& e) -> Status {
    if (outbox_down) return Status::Unavailable("outbox unavailable");
    store::Delivery d;
    d.target = "crm";
    d.event = "sla." + e.kind;
    d.payload = R"({"ticket":)" + std::to_string(e.ticket) + R"(,"priority":")" + e.priority + R"("})";
    d.idempotency_key = "sla:" + std::to_string(e.ticket) + ":" + e.target + ":" + e.kind + ":" + std::to_string(e.cycle);
    d.created_at = e.fired_at;
    d.next_attempt_at = e.fired_at;
    return s.Get<store::OutboxRepository>().Enqueue(txn, d).status();
  };
  OpenService({Policy("phone60", 60, 10)});
  const std::int64_t n = Create();
  const auto stored = [&] {
    std::vector<std::string> out;
    EXPECT_OK(desk_->WithStore([&](store::Store& s) -> Status {
      TP_ASSIGN_OR_RETURN(auto es, s.Get<store::SlaRepository>().Events(n));
      for (const auto& e : es) out.push_back(e.kind);
      return Status::Ok();
    }));
    return out;
  };
  const auto deliveries = [&] {
    std::vector<std::string> out;
    EXPECT_OK(desk_->WithStore([&](store::Store& s) -> Status {
      TP_ASSIGN_OR_RETURN(auto ds, s.Get<store::OutboxRepository>().List(store::DeliveryQuery{}));
      for (const auto& d : ds) out.push_back(d.event + " " + d.payload);
      return Status::Ok();
    }));
    return out;
  };

  clock_.now = kT0 + 50 * kMin;
  EXPECT_THAT(service_->RunDue(), StatusIs(StatusCode::kUnavailable));
  EXPECT_TRUE(stored().empty());  // rolled back with the failed enqueue: it will fire again
  EXPECT_TRUE(deliveries().empty());
  EXPECT_TRUE(sunk_.empty());
  EXPECT_TRUE(SlaRows(n).empty());

  outbox_down = false;
  clock_.now = kT0 + 51 * kMin;
  EXPECT_EQ(Run(), 1);
  EXPECT_THAT(stored(), ElementsAre("warning"));
  EXPECT_THAT(deliveries(), ElementsAre("sla.warning {\"ticket\":" + std::to_string(n) + ",\"priority\":\"medium\"}"));
  EXPECT_THAT(sunk_, ElementsAre("first_response warning"));

  // The breach raises the priority in the same change: the delivery carries the raised one.
  clock_.now = kT0 + 60 * kMin;
  EXPECT_EQ(Run(), 1);
  EXPECT_THAT(deliveries(), Contains("sla.breach {\"ticket\":" + std::to_string(n) + ",\"priority\":\"high\"}"));
  EXPECT_EQ(deliveries().size(), 2u);
  clock_.now = kT0 + 600 * kMin;
  Run();
  EXPECT_EQ(deliveries().size(), 3u);  // breach+60; nothing twice
  EXPECT_EQ(Run(), 0);
  EXPECT_EQ(deliveries().size(), 3u);
}

}  // namespace
}  // namespace touchpoint::service
