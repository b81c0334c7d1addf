#include <touchpoint/identity/identity_graph.h>

#include <unistd.h>

#include <filesystem>
#include <set>

#include <gtest/gtest.h>
#include <touchpoint/store/sqlite.h>

#include "testing/matchers.h"

namespace touchpoint::identity {
namespace {

store::sqlite::Options Opts(const std::string& path) {
  store::sqlite::Options o;
  o.path = path;
  return o;
}

Identifier U(const std::string& v) { return {IdentifierKind::kUser, v}; }
Identifier D(const std::string& v) { return {IdentifierKind::kDevice, v}; }
Identifier A(const std::string& v) { return {IdentifierKind::kAnon, v}; }
Identifier P(const std::string& v) { return {IdentifierKind::kPhone, v}; }
Identifier E(const std::string& v) { return {IdentifierKind::kEmail, v}; }

class IdentityGraphTest : public ::testing::Test {
 protected:
  Resolution Resolve(std::vector<Identifier> ids, bool alias = false) {
    GraphChanges ch;
    ++clock_;
    auto r = graph_.Resolve(ids, alias, clock_, "m" + std::to_string(clock_), &ch);
    all_.push_back(std::move(ch));
    return r;
  }
  CustomerId Of(const Identifier& id) { return *graph_.Lookup(id); }

  IdentityGraph graph_{GraphOptions{5}};
  Millis clock_ = 1000;
  std::vector<GraphChanges> all_;
};

TEST_F(IdentityGraphTest, IdentifiersSeenTogetherBelongToOneCustomer) {
  auto r = Resolve({U("u1"), P("+8613800000001"), D("d1")});
  EXPECT_EQ(Of(P("+8613800000001")), r.customer);
  EXPECT_EQ(Of(D("d1")), r.customer);
  EXPECT_EQ(graph_.live_customers(), 1);
}

TEST_F(IdentityGraphTest, MergesTransitively) {
  auto a = Resolve({A("anon-1"), D("d1")});       // a browsing session
  auto b = Resolve({E("x@example.com"), D("d2")});  // an e-mail from another device
  ASSERT_NE(a.customer, b.customer);
  Resolve({U("u1"), A("anon-1")});                // logs in on the first device
  Resolve({U("u1"), E("x@example.com")});         // identify with the e-mail
  EXPECT_EQ(Of(D("d1")), Of(D("d2")));
  EXPECT_EQ(Of(A("anon-1")), Of(E("x@example.com")));
  EXPECT_EQ(graph_.live_customers(), 1);
  // The older customer survives the merge.
  EXPECT_EQ(Of(U("u1")), a.customer);
}

TEST_F(IdentityGraphTest, SharedDeviceStopsBeingAMergeKeyAboveTheThreshold) {
  // Five people use the shop's kiosk: it may join up to five customers.
  for (int i = 1; i <= 5; ++i) Resolve({U("user" + std::to_string(i)), D("kiosk")});
  EXPECT_EQ(graph_.live_customers(), 1) << "below the threshold the kiosk still joins";
  // The sixth would make it join six customers: it is blocked and its merges are undone.
  Resolve({U("user6"), D("kiosk")});
  std::set<std::int64_t> distinct;
  for (int i = 1; i <= 6; ++i) distinct.insert(Of(U("user" + std::to_string(i))).value());
  EXPECT_EQ(distinct.size(), 6u) << "every kiosk user is a customer of their own again";
  auto shared = graph_.SharedIdentifiers();
  ASSERT_EQ(shared.size(), 1u);
  EXPECT_EQ(shared[0].identifier, D("kiosk"));
  // From now on the kiosk joins nobody.
  Resolve({U("user7"), D("kiosk")});
  EXPECT_NE(Of(U("user7")), Of(U("user1")));
  EXPECT_NE(Of(D("kiosk")), Of(U("user1")));
}

TEST_F(IdentityGraphTest, SamePersonsDevicesAreNotConflicts) {
  // One person with a new anonymous id every session: never a conflict, never blocked.
  for (int i = 0; i < 20; ++i) Resolve({U("u1"), A("session-" + std::to_string(i)), D("phone-of-u1")});
  EXPECT_TRUE(graph_.SharedIdentifiers().empty());
  EXPECT_EQ(graph_.live_customers(), 1);
}

TEST_F(IdentityGraphTest, SplitUndoesExactlyOneMerge) {
  Resolve({U("u1"), D("d1")});
  Resolve({E("b@example.com"), D("d9")});
  Resolve({U("u1"), E("b@example.com")});  // merges the two
  ASSERT_EQ(graph_.live_customers(), 1);
  const auto merges = graph_.MergesOf(graph_.Members(Of(U("u1"))));
  ASSERT_EQ(merges.size(), 1u);
  GraphChanges ch;
  ASSERT_OK(graph_.Split(merges[0].id, 99999, &ch));
  EXPECT_EQ(graph_.live_customers(), 2);
  EXPECT_NE(Of(U("u1")), Of(E("b@example.com")));
  EXPECT_EQ(Of(E("b@example.com")), Of(D("d9")));
  EXPECT_EQ(ch.rebuild.size(), 2u);
  // The same evidence does not merge them again; splitting twice is an error.
  Resolve({U("u1"), E("b@example.com")});
  EXPECT_NE(Of(U("u1")), Of(E("b@example.com")));
  EXPECT_THAT(graph_.Split(merges[0].id, 100000, &ch), ::touchpoint::testing::StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(graph_.Split(MergeId(42), 100000, &ch), ::touchpoint::testing::StatusIs(StatusCode::kNotFound));
}

TEST_F(IdentityGraphTest, AliasMergesExplicitly) {
  Resolve({A("anon-7")});
  Resolve({U("u7")});
  Resolve({U("u7"), A("anon-7")}, /*alias=*/true);
  EXPECT_EQ(Of(U("u7")), Of(A("anon-7")));
}

TEST_F(IdentityGraphTest, ReloadsFromTheStore) {
  const auto path = std::filesystem::temp_directory_path() / ("tp_identity_" + std::to_string(getpid()) + ".db");
  std::filesystem::remove(path);
  {
    auto store = store::sqlite::Open(Opts(path.string()));
    ASSERT_OK(store);
    Resolve({U("u1"), D("d1")});
    Resolve({E("b@example.com"), D("d9")});
    Resolve({U("u1"), E("b@example.com")});
    auto txn = (*store)->Begin();
    ASSERT_OK(txn);
    auto& repo = (*store)->Get<store::IdentityRepository>();
    for (auto& ch : all_) {
      ASSERT_OK(repo.PutIdentifiers(**txn, ch.identifiers));
      ASSERT_OK(repo.PutCustomers(**txn, ch.customers));
      ASSERT_OK(repo.PutMerges(**txn, ch.merges));
    }
    ASSERT_OK((*txn)->Commit());
  }
  auto store = store::sqlite::Open(Opts(path.string()));
  ASSERT_OK(store);
  IdentityGraph reloaded;
  ASSERT_OK(reloaded.Load((*store)->Get<store::IdentityRepository>()));
  EXPECT_EQ(reloaded.live_customers(), 1);
  EXPECT_EQ(*reloaded.Lookup(D("d9")), *reloaded.Lookup(U("u1")));
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace touchpoint::identity

#include <thread>

namespace touchpoint::identity {
namespace {

TEST_F(IdentityGraphTest, ConcurrentLookupsOnAConstGraphAllSucceed) {
  // Readers share the graph under a shared lock (GET /v1/customers); lookups must not share
  // scratch state.
  constexpr int kPeople = 5000;
  for (int i = 0; i < kPeople; ++i) Resolve({U("user-" + std::to_string(i)), E("p" + std::to_string(i) + "@x.cn")});
  const IdentityGraph& g = graph_;
  std::vector<int> misses(4, 0);
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&, t] {
      for (int round = 0; round < 5; ++round) {
        for (int i = 0; i < kPeople; ++i) {
          // Different lengths per thread make a shared buffer's corruption visible.
          const std::string v = t % 2 ? "user-" + std::to_string(i) : "p" + std::to_string(i) + "@x.cn";
          if (!g.Lookup(t % 2 ? U(v) : E(v))) ++misses[static_cast<size_t>(t)];
        }
      }
    });
  }
  for (auto& r : readers) r.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(misses[static_cast<size_t>(t)], 0) << "reader " << t;
}

}  // namespace
}  // namespace touchpoint::identity
