// The storage contract of the KPI repository (store/kpi_repository.h) on every backend: memory,
// SQLite and PostgreSQL (ctest's `pg` fixture or TP_TEST_PG_URL, one fresh database per case): a
// ticket's facts and spans round-trip exactly and are replaced as a whole (a span the ticket no
// longer has goes), scans select by creation time, Clear removes everything, and a rolled-back
// transaction leaves nothing.
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <touchpoint/store/kpi_repository.h>
#include <touchpoint/store/open.h>
#include <touchpoint/store/store.h>

#include "pipeline/test_dir.h"
#include "testing/matchers.h"
#include "testing/pg.h"

namespace touchpoint::store {
namespace {

using ::testing::ElementsAre;

constexpr Millis kT0 = 1'772'413'200'000;

KpiTicketRecord Ticket(std::int64_t number, Millis created_at) {
  KpiTicketRecord t;
  t.ticket = number;
  t.customer = CustomerId(40 + number);
  t.created_at = created_at;
  t.status = "solved";
  t.channel = "email";
  t.queue = "refunds";
  t.priority = "high";
  t.type = "complaint";
  t.intent = "refund";
  t.tier = "vip";
  t.team = "billing";
  t.agent = 12;
  t.policy = "vip_email";
  t.first_solved_at = created_at + 3'600'000;
  t.solved_at = created_at + 9'000'000;
  t.agent_replies = 2;
  t.reopened_at = {created_at + 5'000'000, created_at + 7'000'000};
  t.escalated = true;
  t.bot_first = true;
  t.sentiment_count = 3;
  t.sentiment_sum = -1.25;
  t.sentiment_negative = 2;
  t.measured_at = created_at + 10'000'000;
  return t;
}

KpiSpanRecord Span(std::int64_t ticket, std::string kind, std::int32_t seq, Millis start, Millis stop) {
  return KpiSpanRecord{ticket, std::move(kind), seq, start, stop, "customer_message", stop != 0 ? "agent_reply" : "",
                       (stop - start) / 1000, (stop - start) / 2000, 3600, stop != 0 ? 1 : -1};
}

class KpiContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    static int counter = 0;
    const std::string& backend = GetParam();
    if (backend == "sqlite") {
      url_ = "sqlite://" + tmp_.File("kpi.db");
    } else if (backend == "memory") {
      url_ = "memory:kpi-contract-" + std::to_string(counter++);
    } else if (backend == "postgres") {
      auto db = ::touchpoint::testing::PgDatabase::Create();
      if (!db.ok()) GTEST_SKIP() << db.status().message();
      pg_ = std::move(*db);
      url_ = pg_->url();
    }
    auto s = Open(url_, OpenOptions{});
    ASSERT_OK(s);
    store_ = std::move(*s);
  }
  KpiRepository& kpi() { return store_->Get<KpiRepository>(); }
  void Put(const KpiTicketRecord& t, const std::vector<KpiSpanRecord>& spans) {
    auto txn = store_->Begin();
    ASSERT_OK(txn);
    ASSERT_OK(kpi().PutTicket(**txn, t, spans));
    ASSERT_OK((*txn)->Commit());
  }
  std::vector<std::int64_t> Scanned(Millis from, Millis to) {
    std::vector<std::int64_t> out;
    EXPECT_OK(kpi().ScanTickets(from, to, [&](KpiTicketRecord&& t) { out.push_back(t.ticket); }));
    return out;
  }

  ::touchpoint::testing::TempDir tmp_;
  std::unique_ptr<::touchpoint::testing::PgDatabase> pg_;  // dropped after the store closes
  std::string url_;
  std::unique_ptr<Store> store_;
};

TEST_P(KpiContractTest, FactsAndSpansRoundTripAndAreReplacedAsAWhole) {
  const KpiTicketRecord t = Ticket(7, kT0);
  const std::vector<KpiSpanRecord> spans = {Span(7, "first_response", 0, kT0, kT0 + 60'000),
                                            Span(7, "next_response", 0, kT0 + 120'000, kT0 + 180'000),
                                            Span(7, "next_response", 1, kT0 + 240'000, 0)};
  Put(t, spans);
  auto found = kpi().FindTicket(7);
  ASSERT_OK(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ(**found, t);
  auto stored = kpi().Spans(7);
  ASSERT_OK(stored);
  EXPECT_EQ(*stored, spans);

  // Measured again: the running turn was answered and the second turn is gone (a corrected history).
  KpiTicketRecord again = t;
  again.status = "closed";
  again.reopened_at.clear();
  again.escalated = false;
  const std::vector<KpiSpanRecord> fewer = {Span(7, "first_response", 0, kT0, kT0 + 30'000)};
  Put(again, fewer);
  found = kpi().FindTicket(7);
  ASSERT_OK(found);
  EXPECT_EQ(**found, again);
  stored = kpi().Spans(7);
  ASSERT_OK(stored);
  EXPECT_EQ(*stored, fewer);
  auto none = kpi().FindTicket(8);
  ASSERT_OK(none);
  EXPECT_FALSE(none->has_value());
}

TEST_P(KpiContractTest, ScansSelectByCreationTimeAndClearRemovesAll) {
  const Millis day = kMillisPerDay;
  Put(Ticket(1, kT0), {Span(1, "first_response", 0, kT0, kT0 + 1000)});
  Put(Ticket(2, kT0 + day), {Span(2, "first_response", 0, kT0 + day, kT0 + day + 1000),
                             Span(2, "resolution", 0, kT0 + day, kT0 + day + 5000)});
  Put(Ticket(3, kT0 + 2 * day), {});
  EXPECT_THAT(Scanned(0, 0), ElementsAre(1, 2, 3));
  EXPECT_THAT(Scanned(kT0 + day, 0), ElementsAre(2, 3));
  EXPECT_THAT(Scanned(kT0, kT0 + day), ElementsAre(1));  // [from, to)
  std::vector<std::string> spans;
  ASSERT_OK(kpi().ScanSpans(kT0 + day, kT0 + 2 * day, [&](KpiSpanRecord&& s) {
    spans.push_back(std::to_string(s.ticket) + ":" + s.kind);
  }));
  EXPECT_THAT(spans, ElementsAre("2:first_response", "2:resolution"));

  auto txn = store_->Begin();
  ASSERT_OK(txn);
  auto cleared = kpi().Clear(**txn);
  ASSERT_OK(cleared);
  EXPECT_EQ(*cleared, 3);
  ASSERT_OK((*txn)->Commit());
  EXPECT_THAT(Scanned(0, 0), ElementsAre());
  auto stored = kpi().Spans(2);
  ASSERT_OK(stored);
  EXPECT_TRUE(stored->empty());
}

TEST_P(KpiContractTest, RolledBackTransactionLeavesNothing) {
  {
    auto txn = store_->Begin();
    ASSERT_OK(txn);
    ASSERT_OK(kpi().PutTicket(**txn, Ticket(5, kT0), std::vector<KpiSpanRecord>{Span(5, "first_response", 0, kT0, kT0 + 1)}));
  }  // no commit
  auto found = kpi().FindTicket(5);
  ASSERT_OK(found);
  EXPECT_FALSE(found->has_value());
  auto spans = kpi().Spans(5);
  ASSERT_OK(spans);
  EXPECT_TRUE(spans->empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, KpiContractTest, ::testing::Values("memory", "sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
}  // namespace touchpoint::store
