// The storage contract of the service desk's repository (store/ticket_repository.h) on every
// backend: memory, SQLite, and PostgreSQL (ctest's `pg` fixture or TP_TEST_PG_URL, one fresh
// database per case). The fixture: contract_fixture.h.
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <touchpoint/store/store.h>
#include <touchpoint/store/ticket_repository.h>

#include "store/contract_fixture.h"
#include "testing/matchers.h"

namespace touchpoint::store {
namespace {

using ::touchpoint::testing::StatusIs;

TicketRecord Ticket(std::int64_t number, std::int64_t customer, std::string status = "new") {
  TicketRecord t;
  t.number = number;
  t.customer = CustomerId(customer);
  t.status = std::move(status);
  t.priority = "medium";
  t.type = "request";
  t.channel = "chat";
  t.skill = "refund";
  t.language = "zh";
  t.queue = "general";
  t.subject = "退款 refund for order 42";
  t.created_at = 1'700'000'000'000 + number;
  t.updated_at = t.created_at;
  t.last_message_at = t.created_at;
  return t;
}

class TicketContractTest : public ContractFixture {
 protected:
  TicketRepository& tickets() { return store_->Get<TicketRepository>(); }
  // Creates a ticket for `customer` in its own transaction; its number.
  std::int64_t CreateOne(std::int64_t customer, const std::string& status = "new") {
    auto txn = store_->Begin();
    EXPECT_OK(txn);
    auto n = tickets().NextNumber(**txn);
    EXPECT_OK(n);
    EXPECT_OK(tickets().Create(**txn, Ticket(*n, customer, status)));
    EXPECT_OK((*txn)->Commit());
    return *n;
  }
};

TEST_P(TicketContractTest, NumbersAreNeverHandedOutTwiceEvenAfterARollback) {
  const std::int64_t first = CreateOne(7);
  {
    auto txn = store_->Begin();
    ASSERT_OK(txn);
    auto n = tickets().NextNumber(**txn);
    ASSERT_OK(n);
    EXPECT_GT(*n, first);
    // rolled back: the ticket never existed
  }
  const std::int64_t next = CreateOne(7);
  EXPECT_GT(next, first);
  Reopen();
  const std::int64_t after_restart = CreateOne(8);
  EXPECT_GT(after_restart, next);
  auto found = tickets().Find(first);
  ASSERT_OK(found);
  ASSERT_TRUE(found->has_value());
  TicketRecord want = Ticket(first, 7);
  want.version = 1;
  EXPECT_EQ(**found, want);
}

TEST_P(TicketContractTest, UpdateWithAStaleVersionFailsAndChangesNothing) {
  const std::int64_t n = CreateOne(7);
  TicketRecord t = **tickets().Find(n);
  t.status = "open";
  t.assignee = 11;
  {
    auto txn = store_->Begin();
    ASSERT_OK(txn);
    ASSERT_OK(tickets().Update(**txn, t, 1));
    ASSERT_OK((*txn)->Commit());
  }
  TicketRecord other = t;
  other.assignee = 12;
  {
    auto txn = store_->Begin();
    ASSERT_OK(txn);
    EXPECT_THAT(tickets().Update(**txn, other, 1), StatusIs(StatusCode::kFailedPrecondition));
  }
  {
    auto txn = store_->Begin();
    ASSERT_OK(txn);
    EXPECT_THAT(tickets().Update(**txn, Ticket(999'999, 1), 1), StatusIs(StatusCode::kNotFound));
  }
  auto stored = tickets().Find(n);
  ASSERT_OK(stored);
  EXPECT_EQ((*stored)->assignee, 11);
  EXPECT_EQ((*stored)->status, "open");
  EXPECT_EQ((*stored)->version, 2);
}

TEST_P(TicketContractTest, TwoConnectionsUpdatingTheSameVersionOnlyOneWins) {
  // Named memory stores share state: a second store is a second connection there too.
  const std::int64_t n = CreateOne(7);
  auto second = OpenStore();
  ASSERT_NE(second, nullptr);
  TicketRecord a = **tickets().Find(n);
  TicketRecord b = a;
  a.assignee = 1;
  b.assignee = 2;
  Status sa, sb;
  std::thread t1([&] {
    auto txn = store_->Begin();
    if (!txn.ok()) {
      sa = txn.status();
      return;
    }
    sa = tickets().Update(**txn, a, 1);
    if (sa.ok()) sa = (*txn)->Commit();
  });
  std::thread t2([&] {
    auto txn = second->Begin();
    if (!txn.ok()) {
      sb = txn.status();
      return;
    }
    sb = second->Get<TicketRepository>().Update(**txn, b, 1);
    if (sb.ok()) sb = (*txn)->Commit();
  });
  t1.join();
  t2.join();
  EXPECT_NE(sa.ok(), sb.ok()) << sa.message() << " / " << sb.message();
  const Status& lost = sa.ok() ? sb : sa;
  EXPECT_EQ(lost.code(), StatusCode::kFailedPrecondition) << lost.message();
  auto stored = tickets().Find(n);
  ASSERT_OK(stored);
  EXPECT_EQ((*stored)->assignee, sa.ok() ? 1 : 2);
}

TEST_P(TicketContractTest, FindActiveSkipsClosedAndMergedTickets) {
  const std::int64_t closed = CreateOne(7, "closed");
  auto none = tickets().FindActive(CustomerId(7));
  ASSERT_OK(none);
  EXPECT_FALSE(none->has_value()) << closed;
  const std::int64_t solved = CreateOne(7, "solved");
  CreateOne(8, "open");
  auto found = tickets().FindActive(CustomerId(7));
  ASSERT_OK(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->number, solved);
}

TEST_P(TicketContractTest, ListFiltersAndPagesNewestFirst) {
  std::vector<std::int64_t> numbers;
  for (int i = 0; i < 5; ++i) numbers.push_back(CreateOne(100 + i % 2, i % 2 == 0 ? "open" : "new"));
  TicketFilter all;
  all.limit = 2;
  auto page1 = tickets().List(all);
  ASSERT_OK(page1);
  ASSERT_EQ(page1->size(), 2u);
  EXPECT_EQ((*page1)[0].number, numbers[4]);
  EXPECT_EQ((*page1)[1].number, numbers[3]);
  all.before = (*page1)[1].number;
  auto page2 = tickets().List(all);
  ASSERT_OK(page2);
  ASSERT_EQ(page2->size(), 2u);
  EXPECT_EQ((*page2)[0].number, numbers[2]);
  TicketFilter open;
  open.status = "open";
  auto opened = tickets().List(open);
  ASSERT_OK(opened);
  EXPECT_EQ(opened->size(), 3u);
  TicketFilter by_customer;
  by_customer.customer = CustomerId(101);
  auto mine = tickets().List(by_customer);
  ASSERT_OK(mine);
  EXPECT_EQ(mine->size(), 2u);
  TicketFilter unassigned;
  unassigned.assignee = 0;
  unassigned.queue = "general";
  auto un = tickets().List(unassigned);
  ASSERT_OK(un);
  EXPECT_EQ(un->size(), 5u);
  unassigned.queue = "vip";
  un = tickets().List(unassigned);
  ASSERT_OK(un);
  EXPECT_TRUE(un->empty());
}

TEST_P(TicketContractTest, MessagesHistoryAndCursorRoundTripAndMessagesMoveOnMerge) {
  const std::int64_t a = CreateOne(7);
  const std::int64_t b = CreateOne(7);
  {
    auto txn = store_->Begin();
    ASSERT_OK(txn);
    std::vector<TicketMessageRecord> msgs = {
        {0, a, 10, "customer", 0, "chat", false, "我要退款", "m-1", "negative", -0.8, "refund"},
        {0, a, 20, "agent", 42, "email", true, "internal: check the order", "", "", 0, ""},
        {0, b, 30, "customer", 0, "phone", false, "hello again", "m-2", "neutral", 0, ""},
    };
    ASSERT_OK(tickets().AddMessages(**txn, msgs));
    std::vector<TicketHistoryRecord> rows = {
        {0, a, 10, "system", "inbound", "created", "", "new"},
        {0, a, 20, "agent", "li@example.com", "status", "new", "open"},
        {0, b, 30, "system", "inbound", "created", "", "new"},
    };
    ASSERT_OK(tickets().AddHistory(**txn, rows));
    ASSERT_OK(tickets().SetCursor(**txn, "desk", 17));
    ASSERT_OK((*txn)->Commit());
  }
  auto cursor = tickets().Cursor("desk");
  ASSERT_OK(cursor);
  EXPECT_EQ(*cursor, std::optional<std::int64_t>(17));
  auto none = tickets().Cursor("other");
  ASSERT_OK(none);
  EXPECT_FALSE(none->has_value());
  auto msgs = tickets().Messages(a);
  ASSERT_OK(msgs);
  ASSERT_EQ(msgs->size(), 2u);
  EXPECT_EQ((*msgs)[0].text, "我要退款");
  EXPECT_EQ((*msgs)[0].sentiment_label, "negative");
  EXPECT_DOUBLE_EQ((*msgs)[0].sentiment_score, -0.8);
  EXPECT_TRUE((*msgs)[1].internal);
  EXPECT_EQ((*msgs)[1].agent, 42);
  EXPECT_LT((*msgs)[0].id, (*msgs)[1].id);
  auto hist = tickets().History(a);
  ASSERT_OK(hist);
  ASSERT_EQ(hist->size(), 2u);
  EXPECT_EQ((*hist)[1].actor, "li@example.com");
  EXPECT_EQ((*hist)[1].before, "new");
  EXPECT_EQ((*hist)[1].after, "open");
  {
    auto txn = store_->Begin();
    ASSERT_OK(txn);
    ASSERT_OK(tickets().MoveMessages(**txn, b, a));
    ASSERT_OK(tickets().SetCursor(**txn, "desk", 18));
    ASSERT_OK((*txn)->Commit());
  }
  msgs = tickets().Messages(a);
  ASSERT_OK(msgs);
  EXPECT_EQ(msgs->size(), 3u);
  EXPECT_EQ(*tickets().Cursor("desk"), std::optional<std::int64_t>(18));
  std::vector<std::int64_t> order;
  ASSERT_OK(tickets().ScanHistory([&](TicketHistoryRecord&& h) { order.push_back(h.ticket); }));
  EXPECT_EQ(order, (std::vector<std::int64_t>{a, a, b}));
}

TEST_P(TicketContractTest, AnUncommittedTransactionLeavesNoTicketMessageOrCursor) {
  {
    auto txn = store_->Begin();
    ASSERT_OK(txn);
    auto n = tickets().NextNumber(**txn);
    ASSERT_OK(n);
    ASSERT_OK(tickets().Create(**txn, Ticket(*n, 7)));
    TicketMessageRecord m{0, *n, 1, "customer", 0, "chat", false, "x", "m", "", 0, ""};
    ASSERT_OK(tickets().AddMessages(**txn, std::span(&m, 1)));
    ASSERT_OK(tickets().SetCursor(**txn, "desk", 5));
  }
  auto active = tickets().FindActive(CustomerId(7));
  ASSERT_OK(active);
  EXPECT_FALSE(active->has_value());
  EXPECT_FALSE(tickets().Cursor("desk")->has_value());
}

INSTANTIATE_TEST_SUITE_P(Backends, TicketContractTest, kContractBackends, BackendName);

}  // namespace
}  // namespace touchpoint::store
