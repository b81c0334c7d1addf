// The storage contract of the experiment repository (store/experiment_repository.h) on every
// backend (contract_fixture.h): experiments round-trip exactly with assigned ids and unique names,
// status changes are compare-and-set, a unit's first exposure is kept, and a person's exposures
// are found and erased by unit kind.
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <touchpoint/store/erasure_repository.h>
#include <touchpoint/store/experiment_repository.h>

#include "store/contract_fixture.h"

namespace touchpoint::store {
namespace {

using ::testing::ElementsAre;
using ::touchpoint::testing::StatusIs;

constexpr Millis kT0 = 1'772'413'200'000;

ExperimentRecord Experiment(std::string name, std::string unit = "ticket") {
  ExperimentRecord e;
  e.name = std::move(name);
  e.description = "routing by skill vs. round robin";
  e.unit = std::move(unit);
  e.variants = {{"control", 50}, {"skills", 33.333333333333336}, {"bot_first", 0.125}};
  e.coverage = 0.8;
  e.salt = "0123456789abcdef0123456789abcdef";
  e.metrics = {{"art", "decrease"}, {"csat", "increase"}};
  e.pre_period_days = 14;
  e.sequential_tuning = 5000;
  e.alpha = 0.01;
  e.correction = "holm";
  e.status = "draft";
  e.created_at = kT0;
  e.created_by = "key:tp_ab12";
  return e;
}

class ExperimentContractTest : public ContractFixture {
 protected:
  ExperimentRepository& ex() { return repo<ExperimentRepository>(); }
  std::vector<std::string> Units(std::int64_t experiment) {
    std::vector<std::string> out;
    EXPECT_OK(ex().ScanExposures(experiment, [&](ExposureRecord&& x) { out.push_back(x.unit + "=" + x.variant); }));
    return out;
  }
};

TEST_P(ExperimentContractTest, ExperimentsRoundTripWithAssignedIdsAndUniqueNames) {
  auto a = ex().Create(Experiment("routing"));
  ASSERT_OK(a);
  EXPECT_GT(a->id, 0);
  auto b = ex().Create(Experiment("bot-script", "customer"));
  ASSERT_OK(b);
  EXPECT_GT(b->id, a->id);
  EXPECT_THAT(ex().Create(Experiment("routing")), StatusIs(StatusCode::kAlreadyExists));

  ExperimentRecord want = Experiment("routing");
  want.id = a->id;
  EXPECT_EQ(*a, want);
  Reopen();
  auto found = ex().Find(a->id);
  ASSERT_OK(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ(**found, want);
  auto by_name = ex().FindByName("bot-script");
  ASSERT_OK(by_name);
  ASSERT_TRUE(by_name->has_value());
  EXPECT_EQ((*by_name)->id, b->id);
  EXPECT_EQ((*by_name)->unit, "customer");
  auto none = ex().Find(a->id + 100);
  ASSERT_OK(none);
  EXPECT_FALSE(none->has_value());
  auto no_name = ex().FindByName("nope");
  ASSERT_OK(no_name);
  EXPECT_FALSE(no_name->has_value());
  auto all = ex().List();
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name, "routing");
  EXPECT_EQ((*all)[1].name, "bot-script");
}

TEST_P(ExperimentContractTest, StatusChangesAreCompareAndSet) {
  auto e = ex().Create(Experiment("routing"));
  ASSERT_OK(e);
  auto started = ex().SetStatus(e->id, "draft", "running", kT0 + 1000);
  ASSERT_OK(started);
  EXPECT_EQ(started->status, "running");
  EXPECT_EQ(started->started_at, kT0 + 1000);
  EXPECT_EQ(started->stopped_at, 0);
  // Started twice (a concurrent start): refused, nothing changes.
  EXPECT_THAT(ex().SetStatus(e->id, "draft", "running", kT0 + 2000), StatusIs(StatusCode::kFailedPrecondition));
  auto stopped = ex().SetStatus(e->id, "running", "stopped", kT0 + 5000);
  ASSERT_OK(stopped);
  EXPECT_EQ(stopped->started_at, kT0 + 1000);
  EXPECT_EQ(stopped->stopped_at, kT0 + 5000);
  EXPECT_THAT(ex().SetStatus(e->id + 7, "draft", "running", kT0), StatusIs(StatusCode::kNotFound));
  auto found = ex().Find(e->id);
  ASSERT_OK(found);
  EXPECT_EQ((*found)->status, "stopped");
}

TEST_P(ExperimentContractTest, AUnitsFirstExposureIsKept) {
  auto e = ex().Create(Experiment("routing"));
  ASSERT_OK(e);
  auto first = ex().Expose({e->id, "1002", "skills", kT0 + 10});
  ASSERT_OK(first);
  EXPECT_EQ(*first, (ExposureRecord{e->id, "1002", "skills", kT0 + 10}));
  // Again, later, even with another variant: the first stays.
  auto again = ex().Expose({e->id, "1002", "control", kT0 + 99});
  ASSERT_OK(again);
  EXPECT_EQ(*again, *first);
  ASSERT_OK(ex().Expose({e->id, "1001", "control", kT0 + 20}));
  ASSERT_OK(ex().Expose({e->id, "1000", "control", kT0 + 20}));
  EXPECT_THAT(Units(e->id), ElementsAre("1002=skills", "1000=control", "1001=control"));
  auto found = ex().FindExposure(e->id, "1001");
  ASSERT_OK(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->exposed_at, kT0 + 20);
  auto missing = ex().FindExposure(e->id, "77");
  ASSERT_OK(missing);
  EXPECT_FALSE(missing->has_value());
  EXPECT_THAT(ex().Expose({e->id + 5, "1", "control", kT0}), StatusIs(StatusCode::kNotFound));
  EXPECT_TRUE(Units(e->id + 5).empty());
}

TEST_P(ExperimentContractTest, APersonsExposuresAreFoundAndErasedByUnitKind) {
  auto by_customer = ex().Create(Experiment("outreach", "customer"));
  ASSERT_OK(by_customer);
  auto by_ticket = ex().Create(Experiment("routing", "ticket"));
  ASSERT_OK(by_ticket);
  ASSERT_OK(ex().Expose({by_customer->id, "42", "control", kT0}));
  ASSERT_OK(ex().Expose({by_customer->id, "43", "skills", kT0}));
  ASSERT_OK(ex().Expose({by_customer->id, "44", "skills", kT0}));
  ASSERT_OK(ex().Expose({by_ticket->id, "42", "control", kT0}));  // ticket 42, not customer 42
  auto mine = ex().ExposuresOfUnits("customer", {"42", "44"});
  ASSERT_OK(mine);
  ASSERT_EQ(mine->size(), 2u);
  EXPECT_EQ((*mine)[0], (ExposureRecord{by_customer->id, "42", "control", kT0}));
  EXPECT_EQ((*mine)[1].unit, "44");
  auto erased = ex().EraseExposures("customer", {"42", "44"});
  ASSERT_OK(erased);
  EXPECT_EQ(*erased, 2);
  EXPECT_THAT(Units(by_customer->id), ElementsAre("43=skills"));
  EXPECT_THAT(Units(by_ticket->id), ElementsAre("42=control"));
}

TEST_P(ExperimentContractTest, AReadOnlyStoreRefusesWrites) {
  auto e = ex().Create(Experiment("routing"));
  ASSERT_OK(e);
  auto ro = OpenStore(/*read_only=*/true);
  ASSERT_NE(ro, nullptr);
  auto& r = ro->Get<ExperimentRepository>();
  EXPECT_THAT(r.Create(Experiment("other")), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(r.Expose({e->id, "1", "control", kT0}), StatusIs(StatusCode::kFailedPrecondition));
  auto found = r.Find(e->id);
  ASSERT_OK(found);
  EXPECT_TRUE(found->has_value());
}

// An erasure (store/erasure_repository.h) removes the person's exposures as a customer, in the
// erasure's transaction; ticket units (tickets stay, de-identified) and other people stay.
TEST_P(ExperimentContractTest, AnErasureRemovesTheirCustomerExposuresOnly) {
  auto by_customer = ex().Create(Experiment("outreach", "customer"));
  ASSERT_OK(by_customer);
  auto by_ticket = ex().Create(Experiment("routing", "ticket"));
  ASSERT_OK(by_ticket);
  ASSERT_OK(ex().Expose({by_customer->id, "42", "control", kT0}));
  ASSERT_OK(ex().Expose({by_customer->id, "43", "skills", kT0}));
  ASSERT_OK(ex().Expose({by_customer->id, "420", "skills", kT0}));
  ASSERT_OK(ex().Expose({by_ticket->id, "42", "control", kT0}));
  const std::vector<CustomerId> person = {CustomerId(42), CustomerId(43)};
  {  // rolled back: nothing goes
    auto txn = s().Begin();
    ASSERT_OK(txn);
    ASSERT_OK(repo<ErasureRepository>().Erase(**txn, person));
  }
  EXPECT_THAT(Units(by_customer->id), ElementsAre("42=control", "420=skills", "43=skills"));
  {
    auto txn = s().Begin();
    ASSERT_OK(txn);
    ASSERT_OK(repo<ErasureRepository>().Erase(**txn, person));
    ASSERT_OK((*txn)->Commit());
  }
  EXPECT_THAT(Units(by_customer->id), ElementsAre("420=skills"));
  EXPECT_THAT(Units(by_ticket->id), ElementsAre("42=control"));
}

INSTANTIATE_TEST_SUITE_P(Backends, ExperimentContractTest, kContractBackends, BackendName);

}  // namespace
}  // namespace touchpoint::store
