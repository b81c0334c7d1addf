// The storage contract of the desk's repeat contacts, tags, custom fields, full-text index and
// canned replies (store/deskflow_repository.h) on every backend: memory, SQLite, PostgreSQL
// (ctest's `pg` fixture or TP_TEST_PG_URL). The fixture: contract_fixture.h.
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <touchpoint/store/deskflow_repository.h>
#include <touchpoint/store/store.h>

#include "store/contract_fixture.h"
#include "testing/matchers.h"

namespace touchpoint::store {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::touchpoint::testing::StatusIs;

class DeskflowContractTest : public ContractFixture {
 protected:
  DeskflowRepository& repo() { return store_->Get<DeskflowRepository>(); }
};

TEST_P(DeskflowContractTest, ContactsOfACustomerSinceAnInstantOldestFirst) {
  const TicketContactRecord a{11, CustomerId(7), "refund", "chat", 1000, 1, {}};
  const TicketContactRecord b{12, CustomerId(7), "refund", "phone", 3000, 2, {11}};
  const TicketContactRecord c{13, CustomerId(7), "refund", "email", 2000, 3, {11, 12}};
  const TicketContactRecord other{14, CustomerId(8), "refund", "chat", 2500, 1, {}};
  InTxn([&](Transaction& t) {
    for (const auto& r : {a, b, c, other}) ASSERT_OK(repo().PutContact(t, r));
  });
  auto all = repo().Contacts(CustomerId(7), 0);
  ASSERT_OK(all);
  EXPECT_THAT(*all, ElementsAre(a, c, b));
  auto recent = repo().Contacts(CustomerId(7), 2000);
  ASSERT_OK(recent);
  EXPECT_THAT(*recent, ElementsAre(c, b));
  auto found = repo().FindContact(13);
  ASSERT_OK(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ(**found, c);  // the previous tickets survive the round trip, in order
  auto none = repo().FindContact(99);
  ASSERT_OK(none);
  EXPECT_FALSE(none->has_value());
  std::vector<std::int64_t> scanned;
  ASSERT_OK(repo().ScanContacts(2000, 3000, [&](TicketContactRecord&& r) { scanned.push_back(r.ticket); }));
  EXPECT_THAT(scanned, ElementsAre(13, 14));
}

TEST_P(DeskflowContractTest, ARolledBackContactIsNotStored) {
  {
    auto txn = store_->Begin();
    ASSERT_OK(txn);
    ASSERT_OK(repo().PutContact(**txn, TicketContactRecord{11, CustomerId(7), "refund", "chat", 1000, 1, {}}));
  }
  auto all = repo().Contacts(CustomerId(7), 0);
  ASSERT_OK(all);
  EXPECT_THAT(*all, IsEmpty());
}

TEST_P(DeskflowContractTest, TagsAddRemoveAndListTicketsNewestFirst) {
  InTxn([&](Transaction& t) {
    ASSERT_OK(repo().AddTag(t, 5, "vip"));
    ASSERT_OK(repo().AddTag(t, 5, "billing"));
    ASSERT_OK(repo().AddTag(t, 7, "vip"));
    ASSERT_OK(repo().AddTag(t, 9, "vip"));
  });
  InTxn([&](Transaction& t) {
    ASSERT_OK(repo().AddTag(t, 5, "vip"));  // again: nothing changes
    ASSERT_OK(repo().RemoveTag(t, 7, "vip"));
    ASSERT_OK(repo().RemoveTag(t, 7, "never-had"));
  });
  auto tags = repo().Tags(5);
  ASSERT_OK(tags);
  EXPECT_THAT(*tags, ElementsAre("billing", "vip"));
  auto vip = repo().TicketsWithTag("vip", 0, 10);
  ASSERT_OK(vip);
  EXPECT_THAT(*vip, ElementsAre(9, 5));
  auto page = repo().TicketsWithTag("vip", 9, 10);
  ASSERT_OK(page);
  EXPECT_THAT(*page, ElementsAre(5));
  auto one = repo().TicketsWithTag("vip", 0, 1);
  ASSERT_OK(one);
  EXPECT_THAT(*one, ElementsAre(9));
}

TEST_P(DeskflowContractTest, FieldsSetReplaceAndRemoveWithAnEmptyValue) {
  InTxn([&](Transaction& t) {
    ASSERT_OK(repo().SetField(t, 5, "order", "A-1"));
    ASSERT_OK(repo().SetField(t, 5, "account", "6222"));
    ASSERT_OK(repo().SetField(t, 6, "order", "B-2"));
  });
  InTxn([&](Transaction& t) {
    ASSERT_OK(repo().SetField(t, 5, "order", "A-2"));
    ASSERT_OK(repo().SetField(t, 5, "account", ""));
  });
  auto f = repo().Fields(5);
  ASSERT_OK(f);
  using P = std::pair<std::string, std::string>;
  EXPECT_THAT(*f, ElementsAre(P{"order", "A-2"}));
}

TEST_P(DeskflowContractTest, TokensFindTicketsNewestFirstWithoutDuplicates) {
  const std::vector<std::int64_t> t1{-5, 42, 42, 7};
  const std::vector<std::int64_t> t2{42};
  InTxn([&](Transaction& t) {
    ASSERT_OK(repo().AddTokens(t, 3, t1));
    ASSERT_OK(repo().AddTokens(t, 8, t2));
  });
  InTxn([&](Transaction& t) { ASSERT_OK(repo().AddTokens(t, 3, t2)); });
  auto hits = repo().TicketsWithToken(42, 0, 10);
  ASSERT_OK(hits);
  EXPECT_THAT(*hits, ElementsAre(8, 3));
  auto neg = repo().TicketsWithToken(-5, 0, 10);
  ASSERT_OK(neg);
  EXPECT_THAT(*neg, ElementsAre(3));
  auto below = repo().TicketsWithToken(42, 8, 10);
  ASSERT_OK(below);
  EXPECT_THAT(*below, ElementsAre(3));
}

TEST_P(DeskflowContractTest, CannedRepliesPutReplaceListAndDelete) {
  const CannedReplyRecord hello{"hello", "Greeting", "您好 {{customer.name}}", 10, 10};
  CannedReplyRecord refund{"refund", "Refund", "Refund for {{ticket.number}}", 20, 20};
  InTxn([&](Transaction& t) {
    ASSERT_OK(repo().PutCanned(t, refund));
    ASSERT_OK(repo().PutCanned(t, hello));
  });
  refund.body = "Refund {{ticket.number}} on its way";
  refund.updated_at = 30;
  InTxn([&](Transaction& t) { ASSERT_OK(repo().PutCanned(t, refund)); });
  auto list = repo().ListCanned();
  ASSERT_OK(list);
  EXPECT_THAT(*list, ElementsAre(hello, refund));
  auto found = repo().FindCanned("refund");
  ASSERT_OK(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->body, "Refund {{ticket.number}} on its way");
  InTxn([&](Transaction& t) { ASSERT_OK(repo().DeleteCanned(t, "hello")); });
  {
    auto txn = store_->Begin();
    ASSERT_OK(txn);
    EXPECT_THAT(repo().DeleteCanned(**txn, "hello"), StatusIs(StatusCode::kNotFound));
  }
  auto after = repo().ListCanned();
  ASSERT_OK(after);
  EXPECT_THAT(*after, ElementsAre(refund));
}

INSTANTIATE_TEST_SUITE_P(Backends, DeskflowContractTest, kContractBackends, BackendName);

}  // namespace
}  // namespace touchpoint::store
