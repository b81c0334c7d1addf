// The storage contract of the SLA repository (store/sla_repository.h) on every backend: memory,
// SQLite and PostgreSQL (ctest's `pg` fixture or TP_TEST_PG_URL, one fresh database per case):
// events are unique per (ticket, target, kind, cycle) across transactions and reopening, policies
// are upserted and deleted, complaint tasks complete once, and a rolled-back transaction leaves
// nothing.
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <touchpoint/store/sla_repository.h>
#include <touchpoint/store/store.h>

#include "store/contract_fixture.h"
#include "testing/matchers.h"

namespace touchpoint::store {
namespace {

using ::testing::ElementsAre;
using ::touchpoint::testing::StatusIs;

SlaEventRecord Event(std::int64_t ticket, std::string target, std::string kind, std::int64_t cycle) {
  return SlaEventRecord{0, ticket, std::move(target), std::move(kind), cycle, 1'700'000'000'000, 1'700'000'001'000,
                        "vip", "notify_supervisor,raise_priority"};
}

class SlaContractTest : public ContractFixture {
 protected:
  SlaRepository& sla() { return store_->Get<SlaRepository>(); }
  // Adds `e` in its own transaction: whether it was new.
  bool AddOne(const SlaEventRecord& e) {
    auto txn = store_->Begin();
    EXPECT_OK(txn);
    auto added = sla().AddEvent(**txn, e);
    EXPECT_OK(added);
    EXPECT_OK((*txn)->Commit());
    return added.ok() && *added;
  }
};

TEST_P(SlaContractTest, EventsAreUniquePerTicketTargetKindCycleAcrossRestarts) {
  EXPECT_TRUE(AddOne(Event(1, "first_response", "warning", 0)));
  EXPECT_TRUE(AddOne(Event(1, "first_response", "breach", 0)));
  EXPECT_FALSE(AddOne(Event(1, "first_response", "breach", 0)));  // fired before
  EXPECT_TRUE(AddOne(Event(1, "next_response", "breach", 1)));
  EXPECT_TRUE(AddOne(Event(1, "next_response", "breach", 2)));     // another turn
  EXPECT_TRUE(AddOne(Event(2, "first_response", "breach", 0)));    // another ticket
  Reopen();
  EXPECT_FALSE(AddOne(Event(1, "first_response", "breach", 0)));
  auto events = sla().Events(1);
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), 4u);
  SlaEventRecord want = Event(1, "first_response", "breach", 0);
  want.id = (*events)[1].id;
  EXPECT_EQ((*events)[1], want);
  EXPECT_LT((*events)[0].id, (*events)[1].id);
  std::vector<std::string> scanned;
  ASSERT_OK(sla().ScanEvents(2, [&](SlaEventRecord&& e) { scanned.push_back(std::to_string(e.ticket) + e.kind); }));
  EXPECT_THAT(scanned, ElementsAre("2breach"));
}

TEST_P(SlaContractTest, ARolledBackEventIsNotStored) {
  {
    auto txn = store_->Begin();
    ASSERT_OK(txn);
    auto added = sla().AddEvent(**txn, Event(3, "resolution", "breach", 0));
    ASSERT_OK(added);
    EXPECT_TRUE(*added);
  }  // rolled back
  EXPECT_TRUE(sla().Events(3)->empty());
  EXPECT_TRUE(AddOne(Event(3, "resolution", "breach", 0)));
}

TEST_P(SlaContractTest, PoliciesAreUpsertedInPositionOrderAndDeleted) {
  {
    auto txn = store_->Begin();
    ASSERT_OK(txn);
    ASSERT_OK(sla().PutPolicy(**txn, SlaPolicyRecord{"vip", 10, R"({"name":"vip"})", 5}));
    ASSERT_OK(sla().PutPolicy(**txn, SlaPolicyRecord{"all", 20, R"({"name":"all"})", 5}));
    ASSERT_OK(sla().PutPolicy(**txn, SlaPolicyRecord{"urgent", 1, R"({"name":"urgent"})", 5}));
    ASSERT_OK((*txn)->Commit());
  }
  {
    auto txn = store_->Begin();
    ASSERT_OK(txn);
    ASSERT_OK(sla().PutPolicy(**txn, SlaPolicyRecord{"vip", 30, R"({"name":"vip","position":30})", 6}));
    auto gone = sla().DeletePolicy(**txn, "urgent");
    ASSERT_OK(gone);
    EXPECT_TRUE(*gone);
    auto none = sla().DeletePolicy(**txn, "nobody");
    ASSERT_OK(none);
    EXPECT_FALSE(*none);
    ASSERT_OK((*txn)->Commit());
  }
  Reopen();
  auto policies = sla().Policies();
  ASSERT_OK(policies);
  ASSERT_EQ(policies->size(), 2u);
  EXPECT_EQ((*policies)[0].name, "all");
  EXPECT_EQ((*policies)[1], (SlaPolicyRecord{"vip", 30, R"({"name":"vip","position":30})", 6}));
}

TEST_P(SlaContractTest, TasksCompleteOnce) {
  std::int64_t a = 0, b = 0;
  {
    auto txn = store_->Begin();
    ASSERT_OK(txn);
    auto ida = sla().AddTask(**txn, ComplaintTaskRecord{0, 7, "followup", 100, 200, 0, ""});
    auto idb = sla().AddTask(**txn, ComplaintTaskRecord{0, 7, "feedback", 100, 300, 0, ""});
    ASSERT_OK(ida);
    ASSERT_OK(idb);
    a = *ida;
    b = *idb;
    EXPECT_NE(a, b);
    ASSERT_OK((*txn)->Commit());
  }
  {
    auto txn = store_->Begin();
    ASSERT_OK(txn);
    ASSERT_OK(sla().CompleteTask(**txn, a, 150, "sup@example.com"));
    ASSERT_OK((*txn)->Commit());
  }
  {
    auto txn = store_->Begin();
    ASSERT_OK(txn);
    EXPECT_THAT(sla().CompleteTask(**txn, a, 160, "x"), StatusIs(StatusCode::kFailedPrecondition));
    EXPECT_THAT(sla().CompleteTask(**txn, 9999, 160, "x"), StatusIs(StatusCode::kNotFound));
  }
  Reopen();
  auto tasks = sla().Tasks(7);
  ASSERT_OK(tasks);
  ASSERT_EQ(tasks->size(), 2u);
  EXPECT_EQ((*tasks)[0], (ComplaintTaskRecord{a, 7, "followup", 100, 200, 150, "sup@example.com"}));
  auto open = sla().OpenTasks();
  ASSERT_OK(open);
  ASSERT_EQ(open->size(), 1u);
  EXPECT_EQ((*open)[0].id, b);
}

INSTANTIATE_TEST_SUITE_P(Backends, SlaContractTest, kContractBackends, BackendName);

}  // namespace
}  // namespace touchpoint::store
