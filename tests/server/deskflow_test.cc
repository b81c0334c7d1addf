// Deskflow over real HTTP (the App on an ephemeral port; SQLite, PostgreSQL in the postgres/ run):
// desk events reach a webhook receiver on loopback signed, with the same delivery id on every
// retry after the endpoint failed, and show on the live feed; a repeat inquiry carries its
// summary on GET /v1/tickets/{number} and counts in the repeat report; canned replies render
// their placeholders (an unknown one is 400 naming it); tags, fields and search.
#include <touchpoint/server/app.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include <touchpoint/outbox/signature.h>

#include "outbox/receivers.h"
#include "server/desk_fixture.h"
#include "server/test_util.h"
#include "testing/data_dir.h"
#include "testing/http_client.h"
#include "testing/matchers.h"

namespace touchpoint::server {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using ::touchpoint::privacy::Role;
using ::touchpoint::testing::HttpClient;
using ::touchpoint::testing::HttpHeaders;
using ::touchpoint::testing::HttpResponse;
using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr char kSecret[] = "whsec_deskflow_test_0123";

std::string Identify(const std::string& user) {
  return R"({"type":"identify","userId":")" + user + R"(","messageId":"id-)" + user +
         R"(","traits":{"name":"王芳"}})";
}

class DeskflowHttpTest : public test::DeskServerTest {
 protected:
  DeskflowHttpTest() : DeskServerTest("deskflow") {}
  void Identified(const std::string& user) {
    HttpResponse r = Post("/v1/batch", R"({"batch":[)" + Identify(user) + "]}", Admin());
    ASSERT_EQ(r.status, 200) << r.body;
  }
  std::string CreateTicket(const std::string& customer, const std::string& channel, const std::string& skill,
                           const std::string& subject = "card blocked") {
    HttpResponse r = Post("/v1/tickets",
                          json{{"customer", customer}, {"subject", subject}, {"channel", channel}, {"skill", skill}}.dump(),
                          Admin());
    EXPECT_EQ(r.status, 201) << r.body;
    json j = Body(r);
    return j.is_object() ? j.value("number", "") : "";
  }
};

TEST_F(DeskflowHttpTest, EventsReachAWebhookSignedAreRetriedWithOneDeliveryIdAndShowOnTheFeed) {
  ::touchpoint::testing::WebhookReceiver receiver;
  ASSERT_TRUE(receiver.ok());
  outbox::WebhookEndpoint crm;
  crm.name = "crm";
  crm.url = receiver.Url("/crm");
  crm.secret = kSecret;
  crm.events = {"ticket.created", "ticket.replied"};
  config_.outbox.webhooks.push_back(crm);
  config_.outbox.poll_interval = 50;
  config_.outbox.retry.initial_backoff = 100;
  config_.outbox.retry.max_backoff = 200;
  config_.outbox.retry.jitter = 0;
  receiver.SetStatus("/crm", 503);  // the endpoint is down at first: the desk does not wait for it
  Start();
  Identified("alice");
  const auto before = std::chrono::steady_clock::now();
  const std::string n = CreateTicket("user:alice", "chat", "refund");
  ASSERT_EQ(n, "TP-000001");
  EXPECT_LT(std::chrono::steady_clock::now() - before, 2s);
  ASSERT_TRUE(receiver.WaitFor([&] { return receiver.Count("/crm") >= 2; }));  // failed, retried
  receiver.SetStatus("/crm", 200);
  ASSERT_TRUE(receiver.WaitFor([&] {
    auto got = receiver.Received("/crm");
    return !got.empty() && got.size() >= 3;
  }));
  std::this_thread::sleep_for(300ms);  // an answered attempt is not sent again
  auto got = receiver.Received("/crm");
  ASSERT_GE(got.size(), 3u);
  const std::int64_t now = SystemClock::Instance().Now() / 1000;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].delivery, got[0].delivery) << "attempt " << i;  // one idempotency key
    EXPECT_EQ(got[i].attempt, std::to_string(i + 1));
    EXPECT_EQ(got[i].event, "ticket.created");
    EXPECT_EQ(got[i].body, got[0].body);
    EXPECT_OK(outbox::VerifySignature(got[i].signature, kSecret, got[i].body, now));
    EXPECT_THAT(outbox::VerifySignature(got[i].signature, "whsec_some_other_secret", got[i].body, now),
                ::touchpoint::testing::StatusIs(StatusCode::kPermissionDenied));
  }
  json body = json::parse(got[0].body);
  EXPECT_EQ(body["type"], "ticket.created");
  EXPECT_EQ(body["data"]["ticket"], n);
  EXPECT_EQ(body["data"]["channel"], "chat");
  EXPECT_EQ(got[0].body.find("card blocked"), std::string::npos);  // no ticket text leaves
  EXPECT_THAT(got[0].delivery, StartsWith(body["event_id"].get<std::string>()));

  // A reply: its own event; an assignment is not subscribed by this endpoint.
  ASSERT_EQ(Post("/v1/tickets/" + n + "/messages", R"({"text":"on it"})", Admin()).status, 200);
  ASSERT_TRUE(receiver.WaitFor([&] {
    for (const auto& w : receiver.Received("/crm")) {
      if (w.event == "ticket.replied") return true;
    }
    return false;
  }));
  ASSERT_EQ(Post("/v1/tickets/" + n + "/status", R"({"status":"solved"})", Admin()).status, 200);

  // The live feed: every desk event, in order, after a seq.
  json feed = Body(Get("/v1/desk/feed?after=0", Admin()));
  ASSERT_TRUE(feed["events"].is_array()) << feed.dump();
  std::vector<std::string> types;
  for (const auto& e : feed["events"]) types.push_back(e["type"]);
  EXPECT_EQ(types, (std::vector<std::string>{"ticket.created", "ticket.replied", "ticket.solved"}));
  EXPECT_EQ(feed["events"][0]["id"], body["event_id"]);
  EXPECT_EQ(feed["last_seq"], 3);
  json tail = Body(Get("/v1/desk/feed?after=2", Admin()));
  ASSERT_EQ(tail["events"].size(), 1u);
  EXPECT_EQ(tail["events"][0]["data"]["status"], "solved");
  EXPECT_EQ(Get("/v1/desk/feed?after=x", Admin()).status, 400);
}

TEST_F(DeskflowHttpTest, ARepeatInquiryCarriesItsSummaryAndCountsInTheReport) {
  Start();
  Identified("alice");
  const std::string first = CreateTicket("user:alice", "chat", "refund");
  ASSERT_EQ(Post("/v1/tickets/" + first + "/messages", R"({"text":"refund sent"})", Admin()).status, 200);
  ASSERT_EQ(Post("/v1/tickets/" + first + "/status", R"({"status":"solved"})", Admin()).status, 200);
  const std::string other = CreateTicket("user:alice", "chat", "loan");
  const std::string second = CreateTicket("user:alice", "email", "refund");
  json t = Body(Get("/v1/tickets/" + second, Admin()));
  EXPECT_EQ(t["repeat"], true) << t.dump();
  EXPECT_EQ(t["repeat_ordinal"], 2);
  EXPECT_EQ(t["contact_intent"], "refund");
  const std::string today = FormatTimestamp(SystemClock::Instance().Now()).substr(5, 5);
  EXPECT_EQ(t["repeat_summary"], "2nd contact in 30 days about refund: " + today + " chat (solved), now e-mail");
  ASSERT_EQ(t["repeat_of"].size(), 1u);
  EXPECT_EQ(t["repeat_of"][0]["number"], first);
  json o = Body(Get("/v1/tickets/" + other, Admin()));
  EXPECT_EQ(o["repeat"], false);
  EXPECT_TRUE(o["repeat_summary"].is_null());
  json report = Body(Get("/v1/desk/repeats", Admin()));
  EXPECT_EQ(report["contacts"], 3);
  EXPECT_EQ(report["repeats"], 1);
  EXPECT_EQ(report["by_intent"][0]["key"], "refund");
  EXPECT_EQ(report["by_intent"][0]["repeats"], 1);
  EXPECT_EQ(Get("/v1/desk/repeats?from=yesterday", Admin()).status, 400);
}

TEST_F(DeskflowHttpTest, CannedRepliesTagsFieldsAndSearch) {
  Start();
  Identified("alice");
  Identified("bob");
  const std::string n = CreateTicket("user:alice", "chat", "refund", "我的银行卡被冻结了");
  const std::string m = CreateTicket("user:bob", "email", "refund", "Refund for order 42");

  // Canned replies: an unknown placeholder is 400 naming it; agents use them but do not edit them.
  HttpResponse r = Post("/v1/canned", R"({"name":"thanks","body":"Dear {{customer.nickname}}"})", Admin());
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("{{customer.nickname}}"));
  r = Post("/v1/canned",
           R"({"name":"thanks","title":"Thanks","body":"您好 {{customer.name}}，工单 {{ticket.number}} 已处理。"})",
           Admin());
  ASSERT_EQ(r.status, 200) << r.body;
  const HttpHeaders agent = Agent("li@example.com", "general").second;
  EXPECT_EQ(Post("/v1/canned", R"({"name":"x","body":"y"})", agent).status, 403);
  EXPECT_EQ(Body(Get("/v1/canned", agent))["canned"].size(), 1u);
  r = Post("/v1/tickets/" + n + "/canned", R"({"name":"thanks","send":true})", Admin());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r)["text"], "您好 王芳，工单 " + n + " 已处理。");
  json t = Body(Get("/v1/tickets/" + n, Admin()));
  ASSERT_EQ(t["messages"].size(), 1u);
  EXPECT_EQ(t["status"], "open");
  EXPECT_EQ(Post("/v1/tickets/" + n + "/canned", R"({"name":"nope"})", Admin()).status, 404);

  // Tags and fields, with their history rows.
  r = Post("/v1/tickets/" + n + "/tags", R"({"add":["VIP","billing"]})", Admin());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r)["tags"], json::array({"billing", "vip"}));
  EXPECT_EQ(Post("/v1/tickets/" + n + "/tags", R"({"add":["no spaces"]})", Admin()).status, 400);
  r = Post("/v1/tickets/" + n + "/fields", R"({"fields":{"order_id":"A-42"}})", Admin());
  ASSERT_EQ(r.status, 200) << r.body;
  t = Body(Get("/v1/tickets/" + n, Admin()));
  EXPECT_EQ(t["tags"], json::array({"billing", "vip"}));
  EXPECT_EQ(t["fields"]["order_id"], "A-42");
  json h = Body(Get("/v1/tickets/" + n + "/history", Admin()));
  int tag_rows = 0;
  for (const auto& row : h["history"]) tag_rows += row["field"] == "tag" ? 1 : 0;
  EXPECT_EQ(tag_rows, 2);

  // Search: number, customer, tag, status, words (Chinese through the segmenter).
  auto numbers = [&](const std::string& query) {
    HttpResponse s = Get("/v1/tickets/search?" + query, Admin());
    EXPECT_EQ(s.status, 200) << s.body;
    std::vector<std::string> out;
    const json b = Body(s);
    for (const auto& x : b["tickets"]) out.push_back(x["number"]);
    return out;
  };
  EXPECT_EQ(numbers("q=" + m), std::vector<std::string>{m});
  EXPECT_EQ(numbers("q=user:alice"), std::vector<std::string>{n});
  EXPECT_EQ(numbers("tag=vip"), std::vector<std::string>{n});
  EXPECT_EQ(numbers("q=order%2042"), std::vector<std::string>{m});
  EXPECT_EQ(numbers("q=%E5%86%BB%E7%BB%93"), std::vector<std::string>{n});  // 冻结
  EXPECT_EQ(numbers("q=%E5%B7%B2%E5%A4%84%E7%90%86"), std::vector<std::string>{n});  // 已处理: the canned reply
  EXPECT_EQ(numbers("status=new"), std::vector<std::string>{m});
  EXPECT_EQ(Get("/v1/tickets/search?q=status:lost", Admin()).status, 400);
  EXPECT_EQ(Get("/v1/tickets/search?q=user:nobody", Admin()).status, 404);
}

}  // namespace
}  // namespace touchpoint::server
