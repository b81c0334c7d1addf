// The service desk over real HTTP: the App on an ephemeral port over the data directory's store
// (SQLite; PostgreSQL in the postgres/ run). The ticket life cycle with its history, errors
// (400 naming the field, 404, 409 naming the allowed statuses), reopen, merge, two agents
// claiming one ticket at once, inbound messages opening and joining tickets, and the feed's
// cursor catching up after a restart on messages committed while no desk was listening.
#include <touchpoint/server/app.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include <touchpoint/ingest/parser.h>

#include "server/desk_fixture.h"
#include "server/test_util.h"
#include "testing/data_dir.h"
#include "testing/http_client.h"
#include "testing/matchers.h"

namespace touchpoint::server {
namespace {

using ::testing::HasSubstr;
using ::touchpoint::privacy::Role;
using ::touchpoint::testing::HttpClient;
using ::touchpoint::testing::HttpHeaders;
using ::touchpoint::testing::HttpResponse;
using json = nlohmann::json;
using namespace std::chrono_literals;

std::string Identify(const std::string& user, int n) {
  return R"({"type":"identify","userId":")" + user + R"(","messageId":"id-)" + user + "-" + std::to_string(n) +
         R"(","traits":{"plan":"pro"}})";
}
std::string Inbound(const std::string& user, const std::string& id, const std::string& channel,
                    const std::string& text) {
  return R"({"type":"track","event":"Message Received","userId":")" + user + R"(","messageId":")" + id +
         R"(","properties":{"text":")" + text + R"(","channel":")" + channel + R"("}})";
}

class DeskHttpTest : public test::DeskServerTest {
 protected:
  DeskHttpTest() : DeskServerTest("desk") {}
  void Track(const std::vector<std::string>& items) {
    std::string batch = R"({"batch":[)";
    for (size_t i = 0; i < items.size(); ++i) batch += (i ? "," : "") + items[i];
    batch += "]}";
    HttpResponse r = Post("/v1/batch", batch, Admin());
    ASSERT_EQ(r.status, 200) << r.body;
  }
  std::string CreateTicket(const std::string& customer, const std::string& extra = "") {
    HttpResponse r = Post("/v1/tickets",
                          R"({"customer":")" + customer + R"(","subject":"card blocked","channel":"phone")" + extra +
                              "}",
                          Admin());
    EXPECT_EQ(r.status, 201) << r.body;
    json j = Body(r);
    return j.is_object() ? j.value("number", "") : "";
  }
  // The tickets of `customer` (kind:value), once at least `n` exist (the feed runs after commit).
  json WaitForTickets(const std::string& customer, size_t n) {
    json j;
    for (int i = 0; i < 500; ++i) {
      HttpResponse r = Get("/v1/tickets?customer=" + customer, Admin());
      j = Body(r);
      if (r.status == 200 && j["tickets"].size() >= n) return j["tickets"];
      std::this_thread::sleep_for(10ms);
    }
    ADD_FAILURE() << "no " << n << " tickets for " << customer << ": " << j.dump();
    return json::array();
  }
  json WaitForMessages(const std::string& number, size_t n) {
    json j;
    for (int i = 0; i < 500; ++i) {
      j = Body(Get("/v1/tickets/" + number, Admin()));
      if (j.is_object() && j["messages"].size() >= n) return j;
      std::this_thread::sleep_for(10ms);
    }
    ADD_FAILURE() << number << " never had " << n << " messages: " << j.dump();
    return j;
  }
};

TEST_F(DeskHttpTest, FullLifeCycleWithHistoryErrorsAndReopen) {
  Start();
  Track({Identify("alice", 1)});
  const std::string n = CreateTicket("user:alice", R"(,"type":"complaint","priority":"high","skill":"credit_card")");
  EXPECT_EQ(n, "TP-000001");
  json t = Body(Get("/v1/tickets/" + n, Admin()));
  EXPECT_EQ(t["status"], "new");
  EXPECT_EQ(t["priority"], "high");
  EXPECT_EQ(t["type"], "complaint");
  EXPECT_EQ(t["queue"], "general");

  // Bad input: 400 naming the field; unknown things: 404.
  HttpResponse r = Post("/v1/tickets", R"({"customer":"user:alice","subject":"x","channel":"fax"})", Admin());
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("channel"));
  r = Post("/v1/tickets", R"({"customer":"user:alice","subject":"x","channel":"chat","colour":"red"})", Admin());
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("colour"));
  r = Post("/v1/tickets", R"({"customer":"user:nobody","subject":"x","channel":"chat"})", Admin());
  EXPECT_EQ(r.status, 404);
  EXPECT_THAT(r.body, HasSubstr("customer"));
  r = Post("/v1/tickets/" + n + "/status", R"({"status":"done"})", Admin());
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("status"));
  EXPECT_EQ(Get("/v1/tickets/TP-424242", Admin()).status, 404);
  EXPECT_EQ(Post("/v1/tickets/" + n + "/assign", R"({"agent":987654})", Admin()).status, 404);

  // Reply (opens it), pending on the customer, an illegal jump: 409 naming what is allowed.
  r = Post("/v1/tickets/" + n + "/messages", R"({"text":"We have blocked the card.","channel":"email"})", Admin());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r)["status"], "open");
  r = Post("/v1/tickets/" + n + "/messages", R"({"text":"check with the bank","internal":true})", Admin());
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(Post("/v1/tickets/" + n + "/status", R"({"status":"pending_customer"})", Admin()).status, 200);
  r = Post("/v1/tickets/" + n + "/status", R"({"status":"solved"})", Admin());
  EXPECT_EQ(r.status, 409);
  EXPECT_THAT(r.body, HasSubstr("allowed: open"));
  ASSERT_EQ(Post("/v1/tickets/" + n + "/status", R"({"status":"open"})", Admin()).status, 200);
  // A complaint with its open complaint-loop tasks: the admin overrides (tests/server/sla_test.cc).
  ASSERT_EQ(Post("/v1/tickets/" + n + "/status", R"({"status":"solved","override":true})", Admin()).status, 200);

  // The customer writes again (another channel): the solved ticket reopens, counted.
  Track({Inbound("alice", "in-1", "chat", "the card still does not work")});
  json reopened = WaitForMessages(n, 3);
  EXPECT_EQ(reopened["status"], "open");
  EXPECT_EQ(reopened["reopen_count"], 1);
  ASSERT_EQ(reopened["messages"].size(), 3u);
  EXPECT_EQ(reopened["messages"][1]["internal"], true);
  EXPECT_EQ(reopened["messages"][2]["author"], "customer");
  EXPECT_EQ(reopened["messages"][2]["channel"], "chat");

  json h = Body(Get("/v1/tickets/" + n + "/history", Admin()));
  std::vector<std::string> statuses;
  bool continuity = false;
  for (const auto& row : h["history"]) {
    if (row["field"] == "status") statuses.push_back(row["before"].get<std::string>() + ">" + row["after"].get<std::string>());
    continuity = continuity || (row["field"] == "reopened" && row["actor"] == "continuity");
    EXPECT_FALSE(row["actor"].get<std::string>().empty());
  }
  EXPECT_THAT(statuses, ::testing::ElementsAre(">new", "new>open", "open>pending_customer", "pending_customer>open",
                                               "open>solved", "solved>open"));
  EXPECT_TRUE(continuity);

  // Steps: the analyst sees the aggregate; an agent key is refused.
  const std::string analyst = test::MakeKey(dir_.string(), Role::kAnalyst);
  r = Get("/v1/desk/steps?channel=phone", test::BearerAuth(analyst));
  ASSERT_EQ(r.status, 200) << r.body;
  json steps = Body(r);
  EXPECT_EQ(steps["tickets"], 1);
  EXPECT_EQ(steps["steps"][0]["kind"], "status");
  EXPECT_EQ(Get("/v1/tickets/" + n, test::BearerAuth(analyst)).status, 403);
}

TEST_F(DeskHttpTest, InboundMessagesOpenOneTicketPerCustomerAndLaterOnesJoinItWhateverTheChannel) {
  Start();
  Track({Inbound("bob", "b-1", "chat", "hello"), Inbound("carol", "c-1", "email", "hi"),
         Inbound("bob", "b-2", "phone", "me again")});
  Track({Inbound("bob", "b-3", "app", "and once more")});
  json bob = WaitForTickets("user:bob", 1);
  ASSERT_EQ(bob.size(), 1u);
  const std::string n = bob[0]["number"];
  json t = WaitForMessages(n, 3);
  EXPECT_EQ(t["channel"], "chat");
  EXPECT_EQ(t["messages"][0]["channel"], "chat");
  EXPECT_EQ(t["messages"][1]["channel"], "phone");
  EXPECT_EQ(t["messages"][2]["channel"], "app");
  EXPECT_EQ(WaitForTickets("user:carol", 1).size(), 1u);
  // Replays of the same messageIds are duplicates: nothing new.
  Track({Inbound("bob", "b-3", "app", "and once more")});
  Track({Inbound("dave", "d-1", "chat", "x")});
  WaitForTickets("user:dave", 1);
  t = Body(Get("/v1/tickets/" + n, Admin()));
  EXPECT_EQ(t["messages"].size(), 3u);
  // Paging: newest first, by cursor.
  json page = Body(Get("/v1/tickets?limit=2", Admin()));
  ASSERT_EQ(page["tickets"].size(), 2u);
  ASSERT_TRUE(page["next_cursor"].is_string());
  json rest = Body(Get("/v1/tickets?limit=2&cursor=" + page["next_cursor"].get<std::string>(), Admin()));
  ASSERT_EQ(rest["tickets"].size(), 1u);
  EXPECT_EQ(rest["tickets"][0]["number"], "TP-000001");
}

TEST_F(DeskHttpTest, MergeMovesTheThreadAndClosesTheSource) {
  Start();
  Track({Identify("erin", 1), Identify("frank", 1)});
  const std::string a = CreateTicket("user:erin");
  const std::string b = CreateTicket("user:erin");
  const std::string c = CreateTicket("user:frank");
  ASSERT_EQ(Post("/v1/tickets/" + b + "/messages", R"({"text":"duplicate question"})", Admin()).status, 200);
  HttpResponse r = Post("/v1/tickets/merge", R"({"source":")" + b + R"(","target":")" + a + R"("})", Admin());
  ASSERT_EQ(r.status, 200) << r.body;
  json src = Body(Get("/v1/tickets/" + b, Admin()));
  EXPECT_EQ(src["status"], "closed");
  EXPECT_EQ(src["merged_into"], a);
  EXPECT_EQ(Body(Get("/v1/tickets/" + a, Admin()))["messages"].size(), 1u);
  r = Post("/v1/tickets/merge", R"({"source":")" + a + R"(","target":")" + c + R"("})", Admin());
  EXPECT_EQ(r.status, 409);
  EXPECT_THAT(r.body, HasSubstr("different customers"));
  EXPECT_EQ(Post("/v1/tickets/merge", R"({"source":"TP-1"})", Admin()).status, 400);
}

TEST_F(DeskHttpTest, TwoAgentsClaimingOneTicketAtOnceExactlyOneWinsAndOthersAreScoped) {
  Start();
  Track({Identify("gina", 1)});
  auto [ann_id, ann] = Agent("ann@example.com", "general");
  auto [ben_id, ben] = Agent("ben@example.com", "general");
  auto [cat_id, cat] = Agent("cat@example.com", "loans");
  for (int round = 0; round < 10; ++round) {
    const std::string n = CreateTicket("user:gina");
    HttpResponse ra, rb;
    std::thread ta([&, n] {
      HttpClient c(app_->port());
      auto r = c.Post("/v1/tickets/" + n + "/assign", R"({"agent":"me"})", "application/json", ann);
      if (r.ok()) ra = *r;
    });
    std::thread tb([&, n] {
      HttpClient c(app_->port());
      auto r = c.Post("/v1/tickets/" + n + "/assign", R"({"agent":"me"})", "application/json", ben);
      if (r.ok()) rb = *r;
    });
    ta.join();
    tb.join();
    EXPECT_TRUE((ra.status == 200 && rb.status == 409) || (ra.status == 409 && rb.status == 200))
        << ra.status << " " << ra.body << " / " << rb.status << " " << rb.body;
    json t = Body(Get("/v1/tickets/" + n, Admin()));
    EXPECT_EQ(t["assignee"], ra.status == 200 ? ann_id : ben_id);
    // The loser cannot take it over; an agent of another team may neither claim nor reply.
    const HttpHeaders& loser = ra.status == 200 ? ben : ann;
    EXPECT_EQ(Post("/v1/tickets/" + n + "/assign", R"({"agent":"me"})", loser).status, 409);
    EXPECT_EQ(Post("/v1/tickets/" + n + "/assign", R"({"agent":"me"})", cat).status, 409);
    EXPECT_EQ(Post("/v1/tickets/" + n + "/messages", R"({"text":"mine?"})", cat).status, 403);
  }
  const std::string other = CreateTicket("user:gina", R"(,"queue":"vip")");
  EXPECT_EQ(Post("/v1/tickets/" + other + "/assign", R"({"agent":"me"})", cat).status, 403);
  EXPECT_EQ(Post("/v1/tickets/" + other + "/status", R"({"status":"open"})", ann).status, 403);
  (void)cat_id;
}

// Messages committed while no desk listened (here: by an engine without the desk, as `touchpoint
// ingest` writes) are found after a restart from the stored cursor, and nothing is handled twice.
TEST_F(DeskHttpTest, TheFeedCatchesUpAfterARestartFromItsStoredCursor) {
  Start();
  Track({Inbound("hank", "h-1", "chat", "first")});
  const std::string n = WaitForTickets("user:hank", 1)[0]["number"];
  WaitForMessages(n, 1);
  Stop();
  {
    auto options = pipeline::DefaultEngineOptions(5, /*with_text=*/false);
    ASSERT_OK(options.status());
    auto data = testing::OpenForWriting(dir_.string(), *options, "test ingest");
    ASSERT_OK(data.status());
    ingest::Parser parser;
    std::vector<ingest::Event> events;
    for (const std::string& m : {Inbound("hank", "h-2", "email", "second"), Inbound("ivy", "i-1", "chat", "new one")}) {
      auto ev = parser.ParseMessage(m);
      ASSERT_OK(ev.status());
      events.push_back(std::move(*ev));
    }
    ASSERT_OK((*data)->engine->Submit(std::move(events)).status());
    (*data)->engine->Stop();
  }
  Start();
  json t = WaitForMessages(n, 2);
  EXPECT_EQ(t["messages"][1]["text"], "second");
  EXPECT_EQ(WaitForTickets("user:ivy", 1).size(), 1u);
  // A second restart handles nothing again.
  Stop();
  Start();
  Track({Inbound("jack", "j-1", "chat", "marker")});
  WaitForTickets("user:jack", 1);
  EXPECT_EQ(Body(Get("/v1/tickets/" + n, Admin()))["messages"].size(), 2u);
  EXPECT_EQ(WaitForTickets("user:hank", 1).size(), 1u);
  EXPECT_EQ(WaitForTickets("user:ivy", 1).size(), 1u);
}

}  // namespace
}  // namespace touchpoint::server
