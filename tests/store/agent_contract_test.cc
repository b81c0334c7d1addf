// The storage contract of the desk's agents and routing decisions (store/agent_repository.h) on
// every backend: memory, SQLite, and PostgreSQL (ctest's `pg` fixture or TP_TEST_PG_URL, one fresh
// database per case). The fixture: contract_fixture.h.
#include <map>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <touchpoint/store/agent_repository.h>
#include <touchpoint/store/store.h>
#include <touchpoint/store/ticket_repository.h>

#include "store/contract_fixture.h"
#include "testing/matchers.h"

namespace touchpoint::store {
namespace {

AgentRecord Agent(std::int64_t user, std::string state = "online") {
  AgentRecord a;
  a.user_id = user;
  a.name = "李娜 " + std::to_string(user);
  a.skills = {"credit_card", "loan"};
  a.languages = {"en", "zh"};
  a.attributes = {"senior"};
  a.capacity = 8;
  a.state = std::move(state);
  a.team = "cards";
  a.shift = R"({"zone":"Asia/Shanghai","week":{"mon":["09:00-18:00"]}})";
  a.state_changed_at = 1'700'000'000'000 + user;
  a.created_at = 1'700'000'000'000;
  a.updated_at = a.state_changed_at;
  return a;
}

TicketRecord Ticket(std::int64_t number, std::string status, std::int64_t assignee, std::string priority = "medium") {
  TicketRecord t;
  t.number = number;
  t.customer = CustomerId(100 + number);
  t.status = std::move(status);
  t.priority = std::move(priority);
  t.type = "request";
  t.channel = "chat";
  t.skill = "loan";
  t.language = "zh";
  t.queue = "general";
  t.assignee = assignee;
  t.subject = "s";
  t.created_at = 1'700'000'000'000 + number;
  t.updated_at = t.created_at;
  return t;
}

class AgentContractTest : public ContractFixture {
 protected:
  AgentRepository& agents() { return store_->Get<AgentRepository>(); }
};

TEST_P(AgentContractTest, EveryBackendImplementsIt) {
  EXPECT_NE(store_->Find<AgentRepository>(), nullptr);
  EXPECT_EQ(store_->backend(), GetParam());
}

TEST_P(AgentContractTest, PutFindListReplaceAndSurviveAReopen) {
  {
    auto txn = store_->Begin();
    ASSERT_OK(txn);
    ASSERT_OK(agents().Put(**txn, Agent(12)));
    ASSERT_OK(agents().Put(**txn, Agent(3, "offline")));
    ASSERT_OK((*txn)->Commit());
  }
  AgentRecord no_lists = Agent(5);
  no_lists.skills.clear();
  no_lists.languages.clear();
  no_lists.attributes.clear();
  no_lists.shift.clear();
  no_lists.team.clear();
  {
    auto txn = store_->Begin();
    ASSERT_OK(txn);
    ASSERT_OK(agents().Put(**txn, no_lists));
    AgentRecord changed = Agent(12, "away");
    changed.capacity = 3;
    ASSERT_OK(agents().Put(**txn, changed));
    ASSERT_OK((*txn)->Commit());
  }
  Reopen();
  auto all = agents().List();
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0], Agent(3, "offline"));
  EXPECT_EQ((*all)[1], no_lists);
  AgentRecord want = Agent(12, "away");
  want.capacity = 3;
  EXPECT_EQ((*all)[2], want);
  auto one = agents().Find(12);
  ASSERT_OK(one);
  ASSERT_TRUE(one->has_value());
  EXPECT_EQ(**one, want);
  auto none = agents().Find(99);
  ASSERT_OK(none);
  EXPECT_FALSE(none->has_value());
}

TEST_P(AgentContractTest, ARolledBackPutLeavesNothing) {
  {
    auto txn = store_->Begin();
    ASSERT_OK(txn);
    ASSERT_OK(agents().Put(**txn, Agent(1)));
    ASSERT_OK(agents().AddDecision(**txn, RoutingDecisionRecord{0, 7, 1, "default", "", 0, "{}"}));
  }
  EXPECT_TRUE(agents().List()->empty());
  EXPECT_TRUE(agents().Decisions(7)->empty());
}

TEST_P(AgentContractTest, DecisionsAreAppendedInOrderPerTicket) {
  {
    auto txn = store_->Begin();
    ASSERT_OK(txn);
    ASSERT_OK(agents().AddDecision(**txn, RoutingDecisionRecord{0, 7, 10, "default", "", 0, R"({"candidates":[]})"}));
    ASSERT_OK(agents().AddDecision(**txn, RoutingDecisionRecord{0, 8, 11, "default", "least_loaded", 3, "{}"}));
    ASSERT_OK((*txn)->Commit());
  }
  {
    auto txn = store_->Begin();
    ASSERT_OK(txn);
    ASSERT_OK(agents().AddDecision(**txn, RoutingDecisionRecord{0, 7, 12, "b", "continuity", 4, "{\"x\":\"李\"}"}));
    ASSERT_OK((*txn)->Commit());
  }
  Reopen();
  auto d = agents().Decisions(7);
  ASSERT_OK(d);
  ASSERT_EQ(d->size(), 2u);
  EXPECT_LT((*d)[0].id, (*d)[1].id);
  EXPECT_EQ((*d)[0], (RoutingDecisionRecord{(*d)[0].id, 7, 10, "default", "", 0, R"({"candidates":[]})"}));
  EXPECT_EQ((*d)[1], (RoutingDecisionRecord{(*d)[1].id, 7, 12, "b", "continuity", 4, "{\"x\":\"李\"}"}));
  EXPECT_EQ(agents().Decisions(8)->size(), 1u);
  EXPECT_TRUE(agents().Decisions(9)->empty());
}

TEST_P(AgentContractTest, LoadsAndWaitingComeFromTheTickets) {
  TicketRepository& tickets = store_->Get<TicketRepository>();
  {
    auto txn = store_->Begin();
    ASSERT_OK(txn);
    for (int i = 0; i < 8; ++i) ASSERT_OK(tickets.NextNumber(**txn).status());
    ASSERT_OK(tickets.Create(**txn, Ticket(1, "open", 3)));
    ASSERT_OK(tickets.Create(**txn, Ticket(2, "pending_customer", 3)));
    ASSERT_OK(tickets.Create(**txn, Ticket(3, "solved", 3)));      // not open: no load
    ASSERT_OK(tickets.Create(**txn, Ticket(4, "new", 5)));
    ASSERT_OK(tickets.Create(**txn, Ticket(5, "new", 0, "high")));  // waiting
    ASSERT_OK(tickets.Create(**txn, Ticket(6, "closed", 0)));       // not waiting
    TicketRecord merged = Ticket(7, "open", 0);
    merged.merged_into = 5;  // merged away: not waiting
    ASSERT_OK(tickets.Create(**txn, merged));
    ASSERT_OK(tickets.Create(**txn, Ticket(8, "pending_third_party", 0)));  // waiting
    ASSERT_OK((*txn)->Commit());
  }
  auto loads = agents().OpenLoads();
  ASSERT_OK(loads);
  EXPECT_EQ(*loads, (std::map<std::int64_t, std::int32_t>{{3, 2}, {5, 1}}));
  auto waiting = agents().Waiting();
  ASSERT_OK(waiting);
  ASSERT_EQ(waiting->size(), 2u);
  EXPECT_EQ((*waiting)[0], (WaitingTicket{5, CustomerId(105), "new", "high", "loan", "zh", "general",
                                          1'700'000'000'005}));
  EXPECT_EQ((*waiting)[1].number, 8);
  EXPECT_EQ((*waiting)[1].status, "pending_third_party");
}

INSTANTIATE_TEST_SUITE_P(Backends, AgentContractTest, kContractBackends, BackendName);

}  // namespace
}  // namespace touchpoint::store
