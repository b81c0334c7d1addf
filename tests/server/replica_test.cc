// A follower's warm copy (server/replica_internal.h): lookups answer exactly what
// pipeline::StoreCustomerView answers over a store holding the same rows, as rows arrive and
// change; and the read replica's lag, from change points read on the primary and the replica.
#include "server/replica_internal.h"

#include <chrono>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <touchpoint/store/erasure_repository.h>
#include <touchpoint/store/event_log.h>
#include <touchpoint/store/identity_repository.h>
#include <touchpoint/store/memory.h>
#include <touchpoint/store/profile_repository.h>

#include "testing/matchers.h"

namespace touchpoint::server {
namespace {

using ::touchpoint::testing::StatusIs;
using namespace std::chrono_literals;

// ---- LagTracker ----

using TimePoint = LagTracker::TimePoint;
const TimePoint kT0{};  // any origin: the tracker only subtracts

store::ChangePoint At(std::int64_t seq) { return store::ChangePoint{.seq = seq, .epoch = 1, .committed_at = 0}; }

TEST(LagTrackerTest, AReplicaHoldingThePrimarysLastCommitIsCurrentAsOfThatReading) {
  LagTracker t(kT0);
  t.Primary(At(10), kT0 + 1s);
  t.Replica(At(10), kT0 + 1s + 5ms);
  EXPECT_DOUBLE_EQ(t.LagSeconds(kT0 + 1s + 5ms), 0.005);
  EXPECT_DOUBLE_EQ(t.LagSeconds(kT0 + 2s), 1.0) << "an upper bound: the time since it was last confirmed";
}

TEST(LagTrackerTest, AnIdlePrimaryKeepsConfirmingAReplicaThatHasEverything) {
  LagTracker t(kT0);
  for (int i = 1; i <= 10; ++i) {
    t.Primary(At(10), kT0 + i * 500ms);  // nothing committed: the same point, read again
    t.Replica(At(10), kT0 + i * 500ms + 1ms);
  }
  EXPECT_NEAR(t.LagSeconds(kT0 + 5s + 1ms), 0.001, 1e-9);
}

TEST(LagTrackerTest, AReplicaBehindIsCurrentAsOfTheNewestReadingItReached) {
  LagTracker t(kT0);
  t.Primary(At(10), kT0 + 1s);
  t.Primary(At(20), kT0 + 2s);
  t.Primary(At(30), kT0 + 3s);
  t.Replica(At(25), kT0 + 3s + 1ms);  // has 20, not yet 30
  EXPECT_DOUBLE_EQ(t.LagSeconds(kT0 + 4s), 2.0);
  t.Replica(At(30), kT0 + 4s);
  EXPECT_DOUBLE_EQ(t.LagSeconds(kT0 + 4s), 1.0);
}

TEST(LagTrackerTest, TheLagGrowsWhileTheReplicaIsStuckOrUnreadable) {
  LagTracker t(kT0);
  t.Primary(At(5), kT0 + 1s);
  t.Replica(At(5), kT0 + 1s);
  for (int i = 2; i <= 9; ++i) {
    t.Primary(At(5 + i), kT0 + i * 1s);  // the primary commits on
    t.Replica(At(5), kT0 + i * 1s);      // replay stopped
  }
  EXPECT_DOUBLE_EQ(t.LagSeconds(kT0 + 10s), 9.0);
  // Unreadable: no replica readings at all; the lag keeps growing with time.
  EXPECT_DOUBLE_EQ(t.LagSeconds(kT0 + 20s), 19.0);
  // It never goes back in time when an old reading arrives late.
  t.Replica(At(4), kT0 + 21s);
  EXPECT_DOUBLE_EQ(t.LagSeconds(kT0 + 21s), 20.0);
}

TEST(LagTrackerTest, BeforeAnyConfirmationTheLagCountsFromTheStart) {
  LagTracker t(kT0 + 1s);
  EXPECT_DOUBLE_EQ(t.LagSeconds(kT0 + 4s), 3.0);
  EXPECT_DOUBLE_EQ(t.LagSeconds(kT0), 0.0) << "never negative";
}

// ---- Replica: the copy answers as StoreCustomerView over the same rows ----

std::string ProfileData(Millis at, double total, const std::string& email) {
  profile::Profile p;
  const std::vector<std::pair<std::string, std::string>> traits{{"email", "\"" + email + "\""}};
  profile::Activity identify;
  identify.kind = profile::Activity::Kind::kIdentify;
  identify.at = at;
  identify.traits = traits;
  p.Apply(identify);
  profile::Activity order;
  order.kind = profile::Activity::Kind::kOrder;
  order.at = at + 1000;
  order.order_total = total;
  p.Apply(order);
  return p.Serialize();
}

store::IdentifierRecord Ident(std::int64_t id, const std::string& kind, const std::string& value,
                              std::int64_t customer) {
  return store::IdentifierRecord{.id = IdentifierId(id),
                                 .kind = kind,
                                 .value = value,
                                 .customer = CustomerId(customer),
                                 .blocked = false,
                                 .joins = 0,
                                 .first_seen = 1'700'000'000'000 + id,
                                 .first_message_id = "m-" + std::to_string(id)};
}

class ReplicaTest : public ::testing::Test {
 protected:
  ReplicaTest() : reference_(store::memory::Open()), view_(pipeline::StoreCustomerView(*reference_)) {
    replica_ = Replica::ForTest(*view_);
  }

  // The same rows into the copy and into the reference store.
  void Apply(store::Changes changes) {
    auto txn = reference_->Begin();
    ASSERT_OK(txn);
    auto& identity = reference_->Get<store::IdentityRepository>();
    ASSERT_OK(identity.PutCustomers(**txn, changes.customers));
    ASSERT_OK(identity.PutIdentifiers(**txn, changes.identifiers));
    ASSERT_OK(identity.PutMerges(**txn, changes.merges));
    ASSERT_OK(reference_->Get<store::ProfileRepository>().Put(**txn, changes.profiles));
    ASSERT_OK(reference_->Get<store::EventLog>().RaiseNewestEventAt(**txn, changes.newest_event_at));
    if (!changes.erased.empty()) {
      ASSERT_OK(reference_->Get<store::ErasureRepository>().Erase(**txn, changes.erased));
    }
    ASSERT_OK((*txn)->Commit());
    ASSERT_OK(replica_->Apply(std::move(changes)));
  }

  // Both views answer `ref` alike: the same status, or the same customer field by field.
  void ExpectSame(const std::string& ref) {
    SCOPED_TRACE(ref);
    auto want = view_->Find(ref);
    auto got = replica_->Find(ref);
    ASSERT_EQ(got.ok(), want.ok()) << (got.ok() ? want.status().message() : got.status().message());
    if (!want.ok()) {
      EXPECT_EQ(got.status().code(), want.status().code());
      EXPECT_EQ(got.status().message(), want.status().message());
      return;
    }
    EXPECT_EQ(got->id, want->id);
    ASSERT_EQ(got->identifiers.size(), want->identifiers.size());
    for (size_t i = 0; i < want->identifiers.size(); ++i) {
      EXPECT_EQ(got->identifiers[i].id, want->identifiers[i].id);
      EXPECT_EQ(got->identifiers[i].identifier.value, want->identifiers[i].identifier.value);
      EXPECT_EQ(got->identifiers[i].identifier.kind, want->identifiers[i].identifier.kind);
      EXPECT_EQ(got->identifiers[i].blocked, want->identifiers[i].blocked);
      EXPECT_EQ(got->identifiers[i].original, want->identifiers[i].original);
      EXPECT_EQ(got->identifiers[i].first_message_id, want->identifiers[i].first_message_id);
    }
    EXPECT_EQ(got->merged, want->merged);
    EXPECT_EQ(got->merges, want->merges);
    EXPECT_EQ(got->profile.Serialize(), want->profile.Serialize());
  }

  std::unique_ptr<store::Store> reference_;
  std::unique_ptr<pipeline::CustomerView> view_;
  std::unique_ptr<Replica> replica_;
};

store::Changes TwoCustomers() {
  store::Changes c;
  c.mark = 3;
  c.customers = {{CustomerId(1), CustomerId(), 100}, {CustomerId(2), CustomerId(), 200}};
  c.identifiers = {Ident(1, "user", "alice", 1), Ident(2, "email", "alice@example.com", 1),
                   Ident(3, "user", "bob", 2), Ident(4, "phone", "+8613800000002", 2)};
  c.profiles = {{CustomerId(1), ProfileData(1'700'000'000'000, 30, "alice@example.com"), 0},
                {CustomerId(2), ProfileData(1'700'000'100'000, 50, "bob@example.com"), 0}};
  c.newest_event_at = 1'700'000'101'000;
  return c;
}

TEST_F(ReplicaTest, LooksUpCustomersAsTheStoreViewDoes) {
  Apply(TwoCustomers());
  for (const std::string ref : {"user:alice", "email:Alice@Example.com", "1", "2", "phone:+8613800000002",
                                "user:nobody", "99", "nonsense:kind", "user:"}) {
    ExpectSame(ref);
  }
  EXPECT_EQ(*replica_->NewestEventAt(), 1'700'000'101'000);
  EXPECT_THAT(replica_->Find("user:nobody"), StatusIs(StatusCode::kNotFound));
  const Replica::Sizes n = replica_->sizes();
  EXPECT_EQ(n.customers, 2u);
  EXPECT_EQ(n.identifiers, 4u);
  EXPECT_EQ(n.profiles, 2u);
}

TEST_F(ReplicaTest, FollowsMergesSplitsAndChangedProfiles) {
  Apply(TwoCustomers());
  // Bob merged into Alice: his row now points at her, a merge record, both profiles changed.
  store::Changes merge;
  merge.mark = 5;
  merge.customers = {{CustomerId(2), CustomerId(1), 200}};
  merge.merges = {{MergeId(1), 1'700'000'200'000, CustomerId(1), CustomerId(2), IdentifierId(2), "m-9", "shared email", 0}};
  merge.identifiers = {Ident(5, "device", "d-1", 2)};
  merge.profiles = {{CustomerId(2), ProfileData(1'700'000'150'000, 70, "bob@example.com"), 0}};
  merge.newest_event_at = 1'700'000'200'000;
  Apply(merge);
  for (const std::string ref : {"user:alice", "user:bob", "device:d-1", "1", "2"}) ExpectSame(ref);
  auto merged = replica_->Find("user:bob");
  ASSERT_OK(merged);
  EXPECT_EQ(merged->id, CustomerId(1)) << "the live root answers";
  EXPECT_EQ(merged->merged, std::vector<CustomerId>{CustomerId(2)});
  EXPECT_EQ(merged->profile.order_count(), 2);
  EXPECT_DOUBLE_EQ(merged->profile.revenue(), 100.0);

  // Split again (the merge undone, Bob live), the newest event time never goes back.
  store::Changes split;
  split.mark = 7;
  split.customers = {{CustomerId(2), CustomerId(), 200}};
  split.merges = {{MergeId(1), 1'700'000'200'000, CustomerId(1), CustomerId(2), IdentifierId(2), "m-9", "shared email",
                   1'700'000'300'000}};
  split.newest_event_at = 1'600'000'000'000;
  Apply(split);
  for (const std::string ref : {"user:alice", "user:bob", "device:d-1", "1", "2"}) ExpectSame(ref);
  EXPECT_EQ(replica_->Find("user:bob")->id, CustomerId(2));
  EXPECT_EQ(*replica_->NewestEventAt(), 1'700'000'200'000);
}

TEST_F(ReplicaTest, AnUnreadableProfileLeavesTheOneBeforeIt) {
  Apply(TwoCustomers());
  store::Changes bad;
  bad.profiles = {{CustomerId(1), "{not json", 0}};
  ASSERT_OK(replica_->Apply(std::move(bad)));
  auto alice = replica_->Find("user:alice");
  ASSERT_OK(alice);
  EXPECT_DOUBLE_EQ(alice->profile.revenue(), 30.0);
}

// An erasure on the writer (Changes::erased): the copy forgets the person — every identifier,
// the merge, the profile — and keeps everyone else as they were.
TEST_F(ReplicaTest, ForgetsErasedCustomers) {
  store::Changes three = TwoCustomers();
  three.customers.push_back({CustomerId(3), CustomerId(), 300});
  three.identifiers.push_back(Ident(6, "user", "carol", 3));
  three.profiles.push_back({CustomerId(3), ProfileData(1'700'000'050'000, 10, "carol@example.com"), 0});
  Apply(std::move(three));
  // Bob merged into Alice: one person of two customers.
  store::Changes merge;
  merge.customers = {{CustomerId(2), CustomerId(1), 200}};
  merge.merges = {{MergeId(1), 1'700'000'200'000, CustomerId(1), CustomerId(2), IdentifierId(2), "m-9", "shared email", 0}};
  Apply(merge);
  ASSERT_OK(replica_->Find("user:bob"));

  store::Changes erased;
  erased.mark = 9;
  erased.erased = {CustomerId(1), CustomerId(2)};
  Apply(erased);
  for (const std::string ref : {"user:alice", "email:alice@example.com", "user:bob", "phone:+8613800000002", "1", "2",
                                "user:carol", "3"}) {
    ExpectSame(ref);
  }
  EXPECT_THAT(replica_->Find("user:alice"), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(replica_->Find("phone:+8613800000002"), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(replica_->Find("2"), StatusIs(StatusCode::kNotFound));
  ASSERT_OK(replica_->Find("user:carol"));
  const Replica::Sizes n = replica_->sizes();
  EXPECT_EQ(n.customers, 1u);
  EXPECT_EQ(n.identifiers, 1u);
  EXPECT_EQ(n.merges, 0u);
  EXPECT_EQ(n.profiles, 1u);
  // An erasure read again (a first load reads every erasure ever made) changes nothing.
  store::Changes again;
  again.erased = {CustomerId(1), CustomerId(2)};
  ASSERT_OK(replica_->Apply(std::move(again)));
  ASSERT_OK(replica_->Find("user:carol"));
}

}  // namespace
}  // namespace touchpoint::server
