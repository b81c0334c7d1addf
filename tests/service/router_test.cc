// Routing: the router's rules (dedicated advisor, continuity, senior/patient for vulnerable
// customers, least loaded with longest idle), its filters and every explanation it gives, policies
// as data (order and weights, TOML), and the desk's use of it over a memory store with a fake
// clock: routing on create and reopen, the decision stored, waiting tickets handed out when an
// agent frees up or comes online, in priority then arrival order.
#include <touchpoint/service/router.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include <touchpoint/calendar/calendar_file.h>
#include <touchpoint/profile/profile.h>
#include <touchpoint/service/agents.h>
#include <touchpoint/service/desk.h>
#include <touchpoint/store/agent_repository.h>
#include <touchpoint/store/memory.h>
#include <touchpoint/store/profile_repository.h>

#include "testing/matchers.h"

namespace touchpoint::service {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::touchpoint::testing::StatusIs;

// A status with `code` whose message contains `text`.
MATCHER_P2(StatusWith, code, text, "") {
  const Status& s = ::touchpoint::testing::GetStatus(arg);
  *result_listener << "status is " << s.ToString();
  return s.code() == code && s.message().find(text) != std::string::npos;
}

// 2025-10-09T08:53:20Z, a Thursday.
constexpr Millis kT0 = 1'760'000'000'000;
constexpr Millis kHour = 3'600'000;

RoutingAgent Agent(std::int64_t id, std::string name, std::int32_t load = 0, std::int32_t capacity = 8) {
  RoutingAgent a;
  a.id = id;
  a.name = std::move(name);
  a.skills = {"credit_card", "loan", "refund"};
  a.languages = {"en", "zh"};
  a.capacity = capacity;
  a.load = load;
  a.state = AgentState::kOnline;
  a.state_since = kT0 - kHour;
  return a;
}

RoutingRequest Request() {
  RoutingRequest r;
  r.ticket = 1;
  r.skill = "loan";
  r.language = "zh";
  r.now = kT0;
  return r;
}

const Candidate& Of(const RoutingDecision& d, std::int64_t agent) {
  for (const Candidate& c : d.candidates) {
    if (c.agent == agent) return c;
  }
  static const Candidate none;
  ADD_FAILURE() << "no candidate " << agent;
  return none;
}

std::string Why(const RoutingDecision& d, const RoutingRequest& r, const std::vector<RoutingAgent>& agents,
                std::int64_t agent, const RoutingPolicy& policy = DefaultRoutingPolicy()) {
  return ExplainCandidate(Of(d, agent), d, r, agents, policy);
}

TEST(RouterTest, FiltersAndTheirExplanations) {
  std::vector<RoutingAgent> agents = {Agent(1, "Offline"), Agent(2, "Away"), Agent(3, "Cards"), Agent(4, "English"),
                                      Agent(5, "Full", 8, 8), Agent(6, "Free", 2)};
  agents[0].state = AgentState::kOffline;
  agents[1].state = AgentState::kAway;
  agents[2].skills = {"credit_card"};
  agents[3].languages = {"en"};
  const RoutingRequest r = Request();
  const RoutingDecision d = Route(r, agents, DefaultRoutingPolicy());
  EXPECT_EQ(d.agent, 6);
  EXPECT_EQ(d.rule, "least_loaded");
  EXPECT_EQ(d.policy, "default");
  ASSERT_EQ(d.candidates.size(), 6u);
  EXPECT_EQ(d.candidates.front().agent, 6);  // the chosen one first
  EXPECT_EQ(Why(d, r, agents, 1), "offline");
  EXPECT_EQ(Why(d, r, agents, 2), "away");
  EXPECT_EQ(Why(d, r, agents, 3), "no skill loan");
  EXPECT_EQ(Why(d, r, agents, 4), "no language zh");
  EXPECT_EQ(Why(d, r, agents, 5), "at capacity 8/8");
  EXPECT_EQ(Why(d, r, agents, 6), "chosen by least_loaded: least loaded (2/8)");
}

TEST(RouterTest, OutsideShiftIsPassedOver) {
  auto doc = calendar::ParseCalendarDocument(R"({"zone":"UTC","week":{"mon":["09:00-18:00"],"tue":["09:00-18:00"],
      "wed":["09:00-18:00"],"thu":["09:00-12:00"],"fri":["09:00-18:00"]}})",
                                             calendar::FileFormat::kJson, "shift");
  ASSERT_OK(doc);
  calendar::BuildOptions range;
  range.first_year = 2025;
  range.last_year = 2025;
  auto cal = calendar::Calendar::Build(*doc->calendar, range);
  ASSERT_OK(cal);
  std::vector<RoutingAgent> agents = {Agent(1, "Morning", 0), Agent(2, "Anytime", 5)};
  agents[0].shift = &*cal;
  RoutingRequest r = Request();  // Thursday 08:53Z: before the shift
  RoutingDecision d = Route(r, agents, DefaultRoutingPolicy());
  EXPECT_EQ(d.agent, 2);
  EXPECT_EQ(Why(d, r, agents, 1), "outside shift");
  r.now = kT0 + kHour;  // 09:53Z: in the shift, and less loaded
  d = Route(r, agents, DefaultRoutingPolicy());
  EXPECT_EQ(d.agent, 1);
  r.now = kT0 + 4 * kHour;  // 12:53Z: Thursday's shift ended at 12:00
  d = Route(r, agents, DefaultRoutingPolicy());
  EXPECT_EQ(d.agent, 2);
}

TEST(RouterTest, NobodyFitsLeavesTheTicketWaiting) {
  std::vector<RoutingAgent> agents = {Agent(1, "Full", 3, 3), Agent(2, "Off")};
  agents[1].state = AgentState::kOffline;
  const RoutingRequest r = Request();
  const RoutingDecision d = Route(r, agents, DefaultRoutingPolicy());
  EXPECT_EQ(d.agent, 0);
  EXPECT_EQ(d.rule, "");
  EXPECT_EQ(Why(d, r, agents, 1), "at capacity 3/3");
  EXPECT_EQ(Why(d, r, agents, 2), "offline");
  EXPECT_TRUE(Route(r, {}, DefaultRoutingPolicy()).candidates.empty());
}

TEST(RouterTest, DedicatedAdvisorFirstForVipTiers) {
  std::vector<RoutingAgent> agents = {Agent(1, "Idle", 0), Agent(2, "Advisor", 6), Agent(3, "Last", 1)};
  RoutingRequest r = Request();
  r.tier = "gold";
  r.advisor = 2;
  r.last_agent = 3;
  r.last_served_at = kT0 - kHour;
  RoutingDecision d = Route(r, agents, DefaultRoutingPolicy());
  EXPECT_EQ(d.agent, 2);
  EXPECT_EQ(d.rule, "dedicated_advisor");
  EXPECT_EQ(Why(d, r, agents, 2), "chosen by dedicated_advisor: dedicated advisor of a gold customer");
  EXPECT_EQ(Why(d, r, agents, 3), "not chosen: Advisor is the customer's dedicated advisor");
  EXPECT_EQ(Why(d, r, agents, 1), "not chosen: Advisor is the customer's dedicated advisor");
  // Not a VIP tier: the advisor is nobody special; continuity decides.
  r.tier = "silver";
  d = Route(r, agents, DefaultRoutingPolicy());
  EXPECT_EQ(d.agent, 3);
  EXPECT_EQ(d.rule, "continuity");
  // The advisor at capacity is passed over with the reason.
  r.tier = "vip";
  agents[1].load = 8;
  d = Route(r, agents, DefaultRoutingPolicy());
  EXPECT_EQ(d.agent, 3);
  EXPECT_EQ(Why(d, r, agents, 2), "at capacity 8/8");
}

TEST(RouterTest, ContinuityWithinItsHours) {
  std::vector<RoutingAgent> agents = {Agent(1, "Idle", 0), Agent(2, "Last", 5)};
  RoutingRequest r = Request();
  r.last_agent = 2;
  r.last_served_at = kT0 - 72 * kHour;  // exactly at the edge: still counts
  RoutingDecision d = Route(r, agents, DefaultRoutingPolicy());
  EXPECT_EQ(d.agent, 2);
  EXPECT_EQ(d.rule, "continuity");
  EXPECT_EQ(Why(d, r, agents, 2), "chosen by continuity: served this customer within 72 hours");
  EXPECT_EQ(Why(d, r, agents, 1), "not chosen: Last served this customer last");
  r.last_served_at = kT0 - 72 * kHour - 1;  // past it: least loaded
  d = Route(r, agents, DefaultRoutingPolicy());
  EXPECT_EQ(d.agent, 1);
  EXPECT_EQ(d.rule, "least_loaded");
  EXPECT_EQ(Why(d, r, agents, 2), "not chosen: load 5/8, Idle had 0/8");
  // The last agent offline: passed over, said so.
  r.last_served_at = kT0 - kHour;
  agents[1].state = AgentState::kOffline;
  d = Route(r, agents, DefaultRoutingPolicy());
  EXPECT_EQ(d.agent, 1);
  EXPECT_EQ(Why(d, r, agents, 2), "offline");
}

TEST(RouterTest, SeniorOrPatientAgentsForVulnerableCustomers) {
  std::vector<RoutingAgent> agents = {Agent(1, "Junior", 0), Agent(2, "Patient", 4), Agent(3, "Senior", 6)};
  agents[1].attributes = {"patient"};
  agents[2].attributes = {"senior"};
  RoutingRequest r = Request();
  r.elderly = true;
  RoutingDecision d = Route(r, agents, DefaultRoutingPolicy());
  EXPECT_EQ(d.agent, 2);  // both match; Patient is less loaded
  EXPECT_EQ(d.rule, "senior_for_vulnerable");
  EXPECT_EQ(Why(d, r, agents, 2), "chosen by senior_for_vulnerable: customer flagged elderly, agent senior/patient");
  EXPECT_EQ(Why(d, r, agents, 1),
            "not chosen: no senior/patient attribute for a vulnerable customer; Patient has one");
  EXPECT_EQ(Why(d, r, agents, 3), "not chosen: load 6/8, Patient had 4/8");
  // By age, by churn risk, and not at all below the threshold.
  r.elderly = false;
  r.age = 70;
  EXPECT_EQ(Route(r, agents, DefaultRoutingPolicy()).agent, 2);
  r.age = 40;
  r.churn_risk = 0.8;
  d = Route(r, agents, DefaultRoutingPolicy());
  EXPECT_EQ(d.agent, 2);
  EXPECT_THAT(Why(d, r, agents, 2), HasSubstr("customer at high churn risk"));
  r.churn_risk = 0.5;
  EXPECT_EQ(Route(r, agents, DefaultRoutingPolicy()).agent, 1);
}

TEST(RouterTest, LeastLoadedThenLongestIdle) {
  std::vector<RoutingAgent> agents = {Agent(1, "Half", 4, 8), Agent(2, "Quarter", 1, 4), Agent(3, "Early", 1, 4)};
  agents[2].state_since = kT0 - 5 * kHour;  // idle longer than Quarter
  const RoutingRequest r = Request();
  const RoutingDecision d = Route(r, agents, DefaultRoutingPolicy());
  EXPECT_EQ(d.agent, 3);
  EXPECT_EQ(d.rule, "least_loaded");
  EXPECT_EQ(Why(d, r, agents, 2), "not chosen: same load 1/4, Early idle longer");
  EXPECT_EQ(Why(d, r, agents, 1), "not chosen: load 4/8, Early had 1/4");
  // Candidates after the winner by score.
  ASSERT_EQ(d.candidates.size(), 3u);
  EXPECT_EQ(d.candidates[1].agent, 2);
  EXPECT_EQ(d.candidates[2].agent, 1);
  // Same load, same idle time: the lower id.
  agents[2].state_since = agents[1].state_since;
  const RoutingDecision tie = Route(r, agents, DefaultRoutingPolicy());
  EXPECT_EQ(tie.agent, 2);
  EXPECT_EQ(Why(tie, r, agents, 3), "not chosen: same load 1/4, Quarter first by id");
}

TEST(RouterTest, NoSkillOrLanguageAsked) {
  std::vector<RoutingAgent> agents = {Agent(1, "A", 1)};
  agents[0].skills.clear();
  agents[0].languages.clear();
  RoutingRequest r = Request();
  r.skill.clear();
  r.language.clear();
  EXPECT_EQ(Route(r, agents, DefaultRoutingPolicy()).agent, 1);
}

TEST(RouterTest, OrderAndWeightsAreData) {
  std::vector<RoutingAgent> agents = {Agent(1, "Advisor", 2), Agent(2, "Last", 3)};
  RoutingRequest r = Request();
  r.tier = "gold";
  r.advisor = 1;
  r.last_agent = 2;
  r.last_served_at = kT0 - kHour;
  RoutingPolicy continuity_first;
  continuity_first.name = "continuity_first";
  continuity_first.rules = {{RoutingRule::kContinuity, 1000}, {RoutingRule::kDedicatedAdvisor, 100},
                            {RoutingRule::kLeastLoaded, 1}};
  ASSERT_OK(ValidateRoutingPolicy(continuity_first));
  RoutingDecision d = Route(r, agents, continuity_first);
  EXPECT_EQ(d.agent, 2);
  EXPECT_EQ(d.rule, "continuity");
  EXPECT_EQ(d.policy, "continuity_first");
  EXPECT_EQ(Route(r, agents, DefaultRoutingPolicy()).agent, 1);
  // Load only: weights let least_loaded outweigh an advisor that is busy.
  RoutingPolicy load_only;
  load_only.name = "load_only";
  load_only.rules = {{RoutingRule::kLeastLoaded, 1}};
  agents[0].load = 7;
  d = Route(r, agents, load_only);
  EXPECT_EQ(d.agent, 2);
  EXPECT_EQ(d.rule, "least_loaded");
}

TEST(RouterTest, PolicyValidationNamesTheField) {
  RoutingPolicy p = DefaultRoutingPolicy();
  p.rules.push_back({RoutingRule::kContinuity, 5});
  EXPECT_THAT(ValidateRoutingPolicy(p), StatusWith(StatusCode::kInvalidArgument, ("rules[4].rule")));
  p = DefaultRoutingPolicy();
  p.rules[1].weight = 0;
  EXPECT_THAT(ValidateRoutingPolicy(p), StatusWith(StatusCode::kInvalidArgument, ("rules[1].weight")));
  p = DefaultRoutingPolicy();
  p.name = "bad name";
  EXPECT_THAT(ValidateRoutingPolicy(p), StatusWith(StatusCode::kInvalidArgument, ("name")));
  p = DefaultRoutingPolicy();
  p.rules.clear();
  EXPECT_THAT(ValidateRoutingPolicy(p), StatusWith(StatusCode::kInvalidArgument, ("rules")));
}

TEST(RouterTest, PoliciesFromToml) {
  auto policies = ParseRoutingPolicies(R"(
[[policies]]
name = "continuity_first"
rules = [{rule = "continuity", weight = 500}, {rule = "least_loaded", weight = 2}]
continuity_hours = 24
vip_tiers = ["vip"]

[[policies]]
name = "plain"
rules = ["senior_for_vulnerable", "least_loaded"]
)");
  ASSERT_OK(policies);
  ASSERT_EQ(policies->size(), 2u);
  const RoutingPolicy& a = (*policies)[0];
  EXPECT_EQ(a.name, "continuity_first");
  ASSERT_EQ(a.rules.size(), 2u);
  EXPECT_EQ(a.rules[0].rule, RoutingRule::kContinuity);
  EXPECT_EQ(a.rules[0].weight, 500);
  EXPECT_EQ(a.continuity_hours, 24);
  EXPECT_EQ(a.vip_tiers, std::vector<std::string>{"vip"});
  const RoutingPolicy& b = (*policies)[1];
  ASSERT_EQ(b.rules.size(), 2u);
  EXPECT_EQ(b.rules[0].weight, 1000);  // by position
  EXPECT_EQ(b.rules[1].weight, 100);
  // Round trip.
  auto again = ParseRoutingPolicies(RoutingPolicyToml(a));
  ASSERT_OK(again);
  EXPECT_EQ((*again)[0].rules[0].weight, 500);
  EXPECT_EQ((*again)[0].continuity_hours, 24);
  // Errors name the field.
  EXPECT_THAT(ParseRoutingPolicies("[[policies]]\nname = \"x\"\nrules = [\"fastest\"]\n"),
              StatusWith(StatusCode::kInvalidArgument, ("policies[0].rules[0]: unknown rule \"fastest\"")));
  EXPECT_THAT(ParseRoutingPolicies("[[policies]]\nname = \"x\"\ncolour = 1\n"),
              StatusWith(StatusCode::kInvalidArgument, ("policies[0].colour: unknown key")));
  EXPECT_THAT(ParseRoutingPolicies("[[policies]]\nname = \"x\"\n[[policies]]\nname = \"x\"\n"),
              StatusWith(StatusCode::kInvalidArgument, ("policies[1].name")));
  EXPECT_THAT(ParseRoutingPolicies("[[policies]]\nname = \"x\"\nrules = [{rule = \"continuity\", weight = -1}]\n"),
              StatusWith(StatusCode::kInvalidArgument, ("rules[0].weight")));
}

TEST(AgentsTest, NormalizeAgentNamesTheField) {
  NewAgent a;
  a.name = "Li";
  a.skills = {"loan", "credit_card", "loan"};
  a.capacity = 8;
  ASSERT_OK(NormalizeAgent(&a));
  EXPECT_EQ(a.skills, (std::vector<std::string>{"credit_card", "loan"}));
  a.skills = {"loan", "Bad Skill"};
  EXPECT_THAT(NormalizeAgent(&a), StatusWith(StatusCode::kInvalidArgument, ("skills[1]")));
  a.skills = {};
  a.capacity = 0;
  EXPECT_THAT(NormalizeAgent(&a), StatusWith(StatusCode::kInvalidArgument, ("capacity")));
  a.capacity = 3;
  a.shift = R"({"zone":"Mars/Base","week":{"mon":["09:00-18:00"]}})";
  EXPECT_THAT(NormalizeAgent(&a), StatusWith(StatusCode::kInvalidArgument, ("shift")));
  a.shift = "zone = \"Asia/Shanghai\"\n[week]\nmon = [\"09:00-18:00\"]\n";
  ASSERT_OK(NormalizeAgent(&a));
  EXPECT_THAT(a.shift, HasSubstr("\"zone\": \"Asia/Shanghai\""));
}

// ---- the desk ----

class FakeClock final : public Clock {
 public:
  Millis Now() const override { return now.load(); }
  std::atomic<Millis> now{kT0};
};

const Actor kAdmin{Actor::Kind::kAdmin, 0, "admin@example.com"};

class DeskRoutingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int counter = 0;
    name_ = "desk-routing-test-" + std::to_string(counter++);
    desk_ = std::make_unique<Desk>(store::memory::OpenShared(name_), clock_);
    store_ = store::memory::OpenShared(name_);
  }
  std::int64_t AddAgent(const std::string& name, std::vector<std::string> skills, std::int32_t capacity,
                        AgentState state, std::vector<std::string> attributes = {}) {
    NewAgent a;
    a.name = name;
    a.skills = std::move(skills);
    a.languages = {"zh"};
    a.attributes = std::move(attributes);
    a.capacity = capacity;
    a.state = state;
    a.email = name + "@example.com";
    auto v = desk_->PutAgent(a, kAdmin);
    EXPECT_OK(v);
    return v.ok() ? v->agent.user_id : 0;
  }
  store::TicketRecord Open(std::int64_t customer, const std::string& skill, Priority priority = Priority::kMedium) {
    NewTicket t;
    t.customer = CustomerId(customer);
    t.subject = "help";
    t.channel = "chat";
    t.skill = skill;
    t.language = "zh";
    t.priority = priority;
    auto created = desk_->Create(t, kAdmin);
    EXPECT_OK(created);
    clock_.now += 1000;
    return created.ok() ? *created : store::TicketRecord{};
  }
  std::int64_t Assignee(std::int64_t number) {
    auto v = desk_->Get(number);
    EXPECT_OK(v);
    return v.ok() ? v->ticket.assignee : -1;
  }
  void SetProfileTraits(std::int64_t customer, const std::vector<std::pair<std::string, std::string>>& traits,
                        const std::vector<std::pair<std::string, std::string>>& tags = {}) {
    profile::Profile p;
    profile::Activity a;
    a.kind = profile::Activity::Kind::kIdentify;
    a.at = kT0 - kHour;
    a.traits = traits;
    p.Apply(a);
    for (const auto& [k, v] : tags) p.SetTag(k, v);
    auto txn = store_->Begin();
    ASSERT_OK(txn);
    store::ProfileRecord r{CustomerId(customer), p.Serialize(), kT0};
    ASSERT_OK(store_->Get<store::ProfileRepository>().Put(**txn, std::span<const store::ProfileRecord>(&r, 1)));
    ASSERT_OK((*txn)->Commit());
  }

  FakeClock clock_;
  std::string name_;
  std::unique_ptr<Desk> desk_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(DeskRoutingTest, CreateRoutesAndStoresTheDecision) {
  const std::int64_t li = AddAgent("li", {"loan"}, 8, AgentState::kOnline);
  const std::int64_t wang = AddAgent("wang", {"credit_card"}, 8, AgentState::kOnline);
  const store::TicketRecord t = Open(7, "loan");
  EXPECT_EQ(t.assignee, li);
  auto decisions = desk_->Routing(t.number);
  ASSERT_OK(decisions);
  ASSERT_EQ(decisions->size(), 1u);
  const store::RoutingDecisionRecord& d = decisions->front();
  EXPECT_EQ(d.agent, li);
  EXPECT_EQ(d.policy, "default");
  EXPECT_EQ(d.rule, "least_loaded");
  EXPECT_THAT(d.detail, HasSubstr("\"reason\":\"no skill loan\""));
  EXPECT_THAT(d.detail, HasSubstr("\"agent\":" + std::to_string(wang)));
  auto history = desk_->History(t.number);
  ASSERT_OK(history);
  EXPECT_EQ(history->back().field, "assignee");
  EXPECT_EQ(history->back().actor, "routing:least_loaded");
  EXPECT_EQ(history->back().after, std::to_string(li));
  // Loads: li has one ticket now.
  auto view = desk_->Agent(li);
  ASSERT_OK(view);
  EXPECT_EQ(view->load, 1);
  EXPECT_THAT(desk_->Routing(999), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(desk_->Agent(999), StatusIs(StatusCode::kNotFound));
}

TEST_F(DeskRoutingTest, NoAgentsNoDecision) {
  const store::TicketRecord t = Open(7, "loan");
  EXPECT_EQ(t.assignee, 0);
  auto decisions = desk_->Routing(t.number);
  ASSERT_OK(decisions);
  EXPECT_TRUE(decisions->empty());
}

TEST_F(DeskRoutingTest, WaitingTicketsGoOutByPriorityThenArrivalWhenAnAgentFreesUp) {
  const std::int64_t li = AddAgent("li", {"loan"}, 1, AgentState::kOnline);
  const store::TicketRecord first = Open(1, "loan");
  EXPECT_EQ(first.assignee, li);
  const store::TicketRecord low = Open(2, "loan", Priority::kLow);
  const store::TicketRecord medium = Open(3, "loan", Priority::kMedium);
  const store::TicketRecord high = Open(4, "loan", Priority::kHigh);
  EXPECT_EQ(low.assignee, 0);
  auto decisions = desk_->Routing(low.number);
  ASSERT_OK(decisions);
  ASSERT_EQ(decisions->size(), 1u);
  EXPECT_EQ(decisions->front().agent, 0);
  EXPECT_THAT(decisions->front().detail, HasSubstr("at capacity 1/1"));
  auto queues = desk_->Queues();
  ASSERT_OK(queues);
  ASSERT_FALSE(queues->empty());
  EXPECT_EQ(queues->front().queue, "general");
  EXPECT_EQ(queues->front().waiting, 3);
  EXPECT_EQ(queues->front().oldest_created_at, low.created_at);
  EXPECT_EQ(queues->front().high, 1);
  // li solves the first: the high-priority ticket goes to li, though it came last.
  ASSERT_OK(desk_->SetStatus(first.number, TicketStatus::kOpen, kAdmin));
  ASSERT_OK(desk_->SetStatus(first.number, TicketStatus::kSolved, kAdmin));
  EXPECT_EQ(Assignee(high.number), li);
  EXPECT_EQ(Assignee(medium.number), 0);
  // Reassigning away frees li again: the medium one (older than... only it and low remain).
  ASSERT_OK(desk_->Assign(high.number, 0, kAdmin));
  // The unassigned ticket waits again and is itself the oldest high-priority one: li takes it back.
  EXPECT_EQ(Assignee(high.number), li);
  ASSERT_OK(desk_->SetStatus(high.number, TicketStatus::kOpen, kAdmin));
  ASSERT_OK(desk_->SetStatus(high.number, TicketStatus::kSolved, kAdmin));
  EXPECT_EQ(Assignee(medium.number), li);
  EXPECT_EQ(Assignee(low.number), 0);
}

TEST_F(DeskRoutingTest, AnAgentComingOnlineTakesWaitingTickets) {
  const std::int64_t li = AddAgent("li", {"loan"}, 5, AgentState::kOffline);
  const store::TicketRecord t = Open(1, "loan");
  EXPECT_EQ(t.assignee, 0);
  auto decisions = desk_->Routing(t.number);
  ASSERT_OK(decisions);
  ASSERT_EQ(decisions->size(), 1u);
  EXPECT_THAT(decisions->front().detail, HasSubstr("\"reason\":\"offline\""));
  const Actor me{Actor::Kind::kAgent, li, "li@example.com"};
  auto view = desk_->SetAgentState(li, AgentState::kOnline, me);
  ASSERT_OK(view);
  EXPECT_EQ(view->agent.state, "online");
  EXPECT_EQ(view->load, 1);
  EXPECT_EQ(Assignee(t.number), li);
  // Another agent may not change li's state.
  const std::int64_t wang = AddAgent("wang", {"loan"}, 5, AgentState::kOnline);
  EXPECT_THAT(desk_->SetAgentState(li, AgentState::kAway, Actor{Actor::Kind::kAgent, wang, "wang@example.com"}),
              StatusIs(StatusCode::kPermissionDenied));
  EXPECT_THAT(desk_->SetAgentState(424242, AgentState::kAway, kAdmin), StatusIs(StatusCode::kNotFound));
}

// Handing a waiting ticket out is a change like any other: the change listeners (events out, the
// SLA timer) hear of it inside its transaction and after it commits.
TEST_F(DeskRoutingTest, AWaitingTicketHandedOutIsToldToTheChangeListeners) {
  class Recorder final : public ChangeListener {
   public:
    Status BeforeCommit(store::Store&, store::Transaction&, std::span<const TicketChange> changes) override {
      for (const TicketChange& c : changes) {
        for (const store::TicketHistoryRecord& h : c.history) {
          if (h.field == "assignee") before.push_back(c.ticket->number);
        }
      }
      return Status::Ok();
    }
    void AfterCommit(std::span<const TicketChange> changes) override {
      for (const TicketChange& c : changes) after.push_back(c.ticket->assignee);
    }
    std::vector<std::int64_t> before, after;
  };
  const std::int64_t li = AddAgent("li", {"loan"}, 5, AgentState::kOffline);
  const store::TicketRecord t = Open(1, "loan");
  auto recorder = std::make_shared<Recorder>();
  desk_->AddChangeListener(recorder);
  ASSERT_OK(desk_->SetAgentState(li, AgentState::kOnline, kAdmin));
  EXPECT_THAT(recorder->before, ElementsAre(t.number));
  EXPECT_THAT(recorder->after, ElementsAre(li));
  desk_->RemoveChangeListener(recorder.get());
  Open(2, "loan");
  EXPECT_THAT(recorder->after, ElementsAre(li));  // removed: hears nothing more
}

TEST_F(DeskRoutingTest, ANewAgentTakesWaitingTickets) {
  const store::TicketRecord t = Open(1, "loan");
  const std::int64_t li = AddAgent("li", {"loan"}, 5, AgentState::kOnline);
  EXPECT_EQ(Assignee(t.number), li);
}

TEST_F(DeskRoutingTest, ProfileFactsDriveTheRules) {
  const std::int64_t junior = AddAgent("junior", {"loan"}, 8, AgentState::kOnline);
  const std::int64_t senior = AddAgent("senior", {"loan"}, 8, AgentState::kOnline, {"senior"});
  const std::int64_t advisor = AddAgent("advisor", {"loan"}, 8, AgentState::kOnline);
  (void)junior;
  SetProfileTraits(10, {{"advisor", "\"ADVISOR@example.com\""}}, {{"tier", "\"gold\""}});
  SetProfileTraits(11, {{"age", "78"}});
  EXPECT_EQ(Open(10, "loan").assignee, advisor);
  EXPECT_EQ(Open(11, "loan").assignee, senior);
  auto d = desk_->Routing(Open(10, "loan").number);  // customer 10 again: still the advisor
  ASSERT_OK(d);
  EXPECT_EQ(d->front().agent, advisor);
  EXPECT_EQ(d->front().rule, "dedicated_advisor");
}

TEST_F(DeskRoutingTest, ContinuityAcrossTickets) {
  const std::int64_t a = AddAgent("a", {"loan"}, 8, AgentState::kOnline);
  const std::int64_t b = AddAgent("b", {"loan"}, 8, AgentState::kOnline);
  const store::TicketRecord first = Open(5, "loan");
  ASSERT_EQ(first.assignee, a);  // both idle: the lower id
  const store::TicketRecord other = Open(6, "loan");
  EXPECT_EQ(other.assignee, b);  // least loaded
  ASSERT_OK(desk_->SetStatus(first.number, TicketStatus::kOpen, kAdmin));
  ASSERT_OK(desk_->SetStatus(first.number, TicketStatus::kSolved, kAdmin));
  ASSERT_OK(desk_->SetStatus(first.number, TicketStatus::kClosed, kAdmin));
  // a now has no ticket and b one; customer 5 comes back: a by continuity (also least loaded) —
  // load a up to make continuity the deciding rule.
  Open(7, "loan");  // → a (least loaded)
  Open(8, "loan");  // → b
  Open(9, "loan");  // → a or b; then customer 5
  clock_.now += 10 * kHour;
  const store::TicketRecord again = Open(5, "loan");
  EXPECT_EQ(again.assignee, a);
  auto d = desk_->Routing(again.number);
  ASSERT_OK(d);
  EXPECT_EQ(d->back().rule, "continuity");
}

TEST_F(DeskRoutingTest, PoliciesPerTicketAndUnknownPolicy) {
  RoutingPolicy only_load;
  only_load.name = "only_load";
  only_load.rules = {{RoutingRule::kLeastLoaded, 1}};
  ASSERT_OK(desk_->SetRoutingPolicies({only_load}));
  auto policies = desk_->RoutingPolicies();
  ASSERT_EQ(policies.size(), 2u);
  EXPECT_EQ(policies[0].name, "default");
  EXPECT_EQ(policies[1].name, "only_load");
  AddAgent("a", {"loan"}, 8, AgentState::kOnline);
  NewTicket t;
  t.customer = CustomerId(1);
  t.subject = "help";
  t.channel = "chat";
  t.skill = "loan";
  t.routing_policy = "only_load";
  auto created = desk_->Create(t, kAdmin);
  ASSERT_OK(created);
  auto d = desk_->Routing(created->number);
  ASSERT_OK(d);
  EXPECT_EQ(d->front().policy, "only_load");
  t.routing_policy = "nope";
  EXPECT_THAT(desk_->Create(t, kAdmin), StatusWith(StatusCode::kInvalidArgument, ("routing_policy")));
}

}  // namespace
}  // namespace touchpoint::service
