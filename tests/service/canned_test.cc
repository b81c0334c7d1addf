// The agents' comforts: canned replies with placeholders (service/canned.h), tags and custom
// fields with their history rows, search by number, customer, tag, status and full text
// (service/search.h, Chinese through the segmenter), and the auto-close of solved tickets.
#include <touchpoint/service/canned.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <touchpoint/service/autoclose.h>
#include <touchpoint/service/search.h>
#include <touchpoint/text/segmenter.h>

#include "service/deskflow_fixture.h"

namespace touchpoint::service {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::touchpoint::testing::StatusIs;
using namespace test;  // NOLINT: the fixture's names

TEST(CannedTest, RendersKnownPlaceholdersAndNamesAnUnknownOne) {
  const std::map<std::string, std::string> values = {
      {"customer.name", "王芳"}, {"ticket.number", "TP-000123"}, {"agent.name", "li"}};
  auto text = RenderCanned("您好 {{customer.name}}，工单 {{ ticket.number }} 已处理。—{{agent.name}} {{agent.email}}", values);
  ASSERT_OK(text);
  EXPECT_EQ(*text, "您好 王芳，工单 TP-000123 已处理。—li ");  // a known placeholder without a value: ""
  auto bad = RenderCanned("Dear {{customer.age}}", values);
  EXPECT_THAT(bad, StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(bad.status().message(), HasSubstr("unknown placeholder {{customer.age}}"));
  EXPECT_THAT(RenderCanned("Dear {{customer.name", values).status().message(), HasSubstr("without \"}}\""));
  auto names = CannedPlaceholdersOf("{{ticket.number}} {{agent.name}} {{ticket.number}}");
  ASSERT_OK(names);
  EXPECT_THAT(*names, ElementsAre("ticket.number", "agent.name", "ticket.number"));
  EXPECT_EQ(*RenderCanned("no placeholders {single}", values), "no placeholders {single}");
}

TEST(CannedTest, CheckNamesTheBadField) {
  store::CannedReplyRecord r{"refund-done", "Refund", "Refund for {{ticket.number}}", 0, 0};
  EXPECT_OK(CheckCanned(r));
  r.name = "Refund Done";
  EXPECT_THAT(CheckCanned(r).message(), HasSubstr("name:"));
  r.name = "ok";
  r.body = "";
  EXPECT_THAT(CheckCanned(r).message(), HasSubstr("body: required"));
  r.body = "{{ticket.owner}}";
  EXPECT_THAT(CheckCanned(r).message(), HasSubstr("{{ticket.owner}}"));
}

class ComfortsTest : public DeskflowTest {
 protected:
  void SetUp() override {
    // The segmenter costs seconds to load in a debug build: only the search case loads it.
    const bool segment = std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()).find("Search") !=
                         std::string::npos;
    SegmenterLoader loader;
    if (segment) {
      loader = []() -> std::shared_ptr<const text::Segmenter> {
        auto seg = text::Segmenter::Create({});
        if (seg.ok()) return std::move(*seg);
        return nullptr;
      };
    }
    index_ = std::make_shared<SearchIndex>(std::make_shared<PlainTokenHasher>(), loader);
    OpenDesk({index_});
  }
  std::vector<std::int64_t> Find(const std::string& q) {
    auto parsed = ParseSearchQuery(q, [](const std::string& ref) -> Result<CustomerId> {
      if (ref == "phone:13812345678") return CustomerId(7);
      if (ref == "8") return CustomerId(8);
      return Status::NotFound("no customer " + ref);
    });
    EXPECT_OK(parsed);
    if (!parsed.ok()) return {};
    auto found = desk_->WithStore([&](store::Store& s) { return Search(s, *index_, *parsed); });
    EXPECT_OK(found);
    std::vector<std::int64_t> out;
    if (found.ok()) {
      for (const auto& t : *found) out.push_back(t.number);
    }
    return out;
  }
  std::shared_ptr<SearchIndex> index_;
};

TEST_F(ComfortsTest, TagsAndFieldsChangeWithHistoryRows) {
  const std::int64_t n = Create(7, "chat", "refund").number;
  auto tags = desk_->ChangeTags(n, TagChange{{"VIP", "billing"}, {}}, kAdmin);
  ASSERT_OK(tags);
  EXPECT_THAT(*tags, ElementsAre("billing", "vip"));
  tags = desk_->ChangeTags(n, TagChange{{"vip"}, {"billing", "absent"}}, kAdmin);
  ASSERT_OK(tags);
  EXPECT_THAT(*tags, ElementsAre("vip"));
  EXPECT_THAT(desk_->ChangeTags(n, TagChange{{"no spaces"}, {}}, kAdmin), StatusIs(StatusCode::kInvalidArgument));
  auto fields = desk_->SetFields(n, {{"order_id", "A-42"}, {"account", "gold"}}, kAdmin);
  ASSERT_OK(fields);
  fields = desk_->SetFields(n, {{"account", ""}, {"order_id", "A-43"}}, kAdmin);
  ASSERT_OK(fields);
  using P = std::pair<std::string, std::string>;
  EXPECT_THAT(*fields, ElementsAre(P{"order_id", "A-43"}));
  EXPECT_THAT(desk_->SetFields(n, {{"Bad Name", "x"}}, kAdmin).status().message(), HasSubstr("fields:"));
  auto rows = desk_->History(n);
  ASSERT_OK(rows);
  std::vector<std::string> changes;
  for (const auto& h : *rows) {
    if (h.field == "tag" || h.field.rfind("field:", 0) == 0) changes.push_back(h.field + ":" + h.before + ">" + h.after);
  }
  EXPECT_THAT(changes, ElementsAre("tag:>vip", "tag:>billing", "tag:billing>", "field:order_id:>A-42",
                                   "field:account:>gold", "field:account:gold>", "field:order_id:A-42>A-43"));
  // An agent outside the ticket's queue may not tag it.
  const std::int64_t agent = MakeUser("li@example.com", "agent");
  EXPECT_THAT(desk_->ChangeTags(n, TagChange{{"x"}, {}}, Actor{Actor::Kind::kAgent, agent, "li@example.com"}),
              StatusIs(StatusCode::kPermissionDenied));
  auto ticket = desk_->Get(n);
  ASSERT_OK(ticket);
  EXPECT_EQ(ticket->ticket.version, 5);  // each change that changed something went through the version check
}

TEST_F(ComfortsTest, SearchByNumberCustomerTagStatusAndWords) {
  const std::int64_t a = Create(7, "chat", "refund", "银行卡被冻结了").number;
  const std::int64_t b = Create(8, "email", "refund", "Refund for order 42").number;
  const std::int64_t c = Create(7, "phone", "loan", "loan question").number;
  ASSERT_OK(desk_->AddMessage(c, NewMessage{"我想申请退款 for ORDER 42", false, ""}, kAdmin));
  ASSERT_OK(desk_->ChangeTags(b, TagChange{{"vip"}, {}}, kAdmin).status());
  ASSERT_OK(desk_->ChangeTags(c, TagChange{{"vip"}, {}}, kAdmin).status());
  EXPECT_THAT(Find(FormatTicketNumber(b)), ElementsAre(b));
  EXPECT_THAT(Find("phone:13812345678"), ElementsAre(c, a));
  EXPECT_THAT(Find("tag:vip"), ElementsAre(c, b));
  EXPECT_THAT(Find("tag:vip customer:8"), ElementsAre(b));
  EXPECT_THAT(Find("order 42"), ElementsAre(c, b));  // the subject of b, a message of c
  EXPECT_THAT(Find("ORDER 42 tag:vip status:open"), ElementsAre(c));  // c was opened by the reply
  EXPECT_THAT(Find("冻结"), ElementsAre(a));
  EXPECT_THAT(Find("退款"), ElementsAre(c));
  EXPECT_THAT(Find("退"), ElementsAre(c));  // a character inside a word is found too
  EXPECT_THAT(Find("冻结银行卡"), ElementsAre(a));  // the segmenter's words, in any order
  EXPECT_THAT(Find("解冻"), IsEmpty());  // a word whose pair is not in any text
  EXPECT_THAT(Find("status:new"), ElementsAre(b, a));
  EXPECT_THAT(Find("nothing-like-this"), IsEmpty());
  EXPECT_THAT(Find("order 43"), IsEmpty());
  // Bad terms name themselves.
  auto bad = ParseSearchQuery("status:lost", {});
  EXPECT_THAT(bad.status().message(), HasSubstr("status"));
  EXPECT_THAT(ParseSearchQuery("phone:139", [](const std::string&) -> Result<CustomerId> {
                return Status::NotFound("no customer with this identifier");
              }),
              StatusIs(StatusCode::kNotFound));
}

TEST(SearchTokensTest, HanRunsAreIndexedByCharactersAndPairsAndQueriedByPairs) {
  SearchIndex index(std::make_shared<PlainTokenHasher>(), {});
  EXPECT_THAT(index.Tokens("退款，Order-42"), ElementsAre("42", "order", "款", "退", "退款"));
  EXPECT_THAT(index.QueryTokens("银行卡 退"), ElementsAre("行卡", "退", "银行"));  // no segmenter: runs as written
  EXPECT_THAT(index.QueryTokens("冻结。"), ElementsAre("冻结"));
}

TEST_F(ComfortsTest, TheIndexHoldsHashesThroughTheSeam) {
  // What the index stores for a word is the hasher's value: a keyed hasher stores other numbers.
  const std::int64_t n = Create(7, "chat", "refund", "card blocked").number;
  auto hits = desk_->WithStore([&](store::Store& s) {
    return s.Get<store::DeskflowRepository>().TicketsWithToken(PlainTokenHasher().Hash("blocked"), 0, 10);
  });
  ASSERT_OK(hits);
  EXPECT_THAT(*hits, ElementsAre(n));
  EXPECT_NE(PlainTokenHasher().Hash("blocked"), PlainTokenHasher().Hash("block"));
}

TEST_F(ComfortsTest, AutoCloseClosesSolvedTicketsAfterTheirDaysAsTheSystemRule) {
  const std::int64_t old = Create(7, "chat", "refund").number;
  const std::int64_t recent = Create(8, "chat", "refund").number;
  const std::int64_t reopened = Create(9, "chat", "refund").number;
  for (std::int64_t n : {old, reopened}) {
    ASSERT_OK(desk_->SetStatus(n, TicketStatus::kOpen, kAdmin));
    ASSERT_OK(desk_->SetStatus(n, TicketStatus::kSolved, kAdmin));
  }
  clock_.now = kT0 + 6 * kDay;
  ASSERT_OK(desk_->SetStatus(recent, TicketStatus::kOpen, kAdmin));
  ASSERT_OK(desk_->SetStatus(recent, TicketStatus::kSolved, kAdmin));
  ASSERT_OK(desk_->SetStatus(reopened, TicketStatus::kOpen, kAdmin));  // the customer came back
  clock_.now = kT0 + 7 * kDay;
  AutoCloseJob job(*desk_, 7 * kDay, kHour);
  auto closed = job.RunOnce();
  ASSERT_OK(closed);
  EXPECT_EQ(*closed, 1);
  EXPECT_EQ(desk_->Get(old)->ticket.status, "closed");
  EXPECT_EQ(desk_->Get(recent)->ticket.status, "solved");
  EXPECT_EQ(desk_->Get(reopened)->ticket.status, "open");
  auto rows = desk_->History(old);
  ASSERT_OK(rows);
  EXPECT_EQ(rows->back().field, "status");
  EXPECT_EQ(rows->back().after, "closed");
  EXPECT_EQ(rows->back().actor_kind, "system");
  EXPECT_EQ(rows->back().actor, "auto_close");
  EXPECT_EQ(*job.RunOnce(), 0);  // nothing twice
}

}  // namespace
}  // namespace touchpoint::service
