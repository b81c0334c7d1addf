// Routing over real HTTP: the App on an ephemeral port over the data directory's store (SQLite;
// PostgreSQL in the postgres/ run). Agents are created (with their users), tickets are routed as
// they are created and the decision explains itself (GET /v1/tickets/{n}/routing); tickets nobody
// fits wait in the queue (GET /v1/desk/queues) and go out when an agent comes online or frees up;
// bad input is 400 naming the field, an unknown agent 404; policies from [[routing.policies]].
#include <touchpoint/server/app.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

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

std::string Identify(const std::string& user) {
  return R"({"type":"identify","userId":")" + user + R"(","messageId":"id-)" + user + R"(","traits":{"plan":"pro"}})";
}

class AgentsHttpTest : public test::DeskServerTest {
 protected:
  AgentsHttpTest() : DeskServerTest("agents") {}
  std::int64_t AddAgent(const std::string& body) {
    HttpResponse r = Post("/v1/agents", body);
    EXPECT_EQ(r.status, 201) << r.body;
    json j = Body(r);
    return j.is_object() ? j.value("id", std::int64_t{0}) : 0;
  }
  std::string CreateTicket(const std::string& customer, const std::string& extra) {
    HttpResponse r = Post("/v1/tickets", R"({"customer":")" + customer +
                                             R"(","subject":"help","channel":"chat","language":"zh")" + extra + "}");
    EXPECT_EQ(r.status, 201) << r.body;
    json j = Body(r);
    return j.is_object() ? j.value("number", "") : "";
  }
  json Ticket(const std::string& number) { return Body(Get("/v1/tickets/" + number)); }
  // The reason given for `agent` in the ticket's last decision.
  std::string Reason(const json& routing, std::int64_t agent) {
    for (const json& c : routing["decisions"].back()["candidates"]) {
      if (c.value("agent", std::int64_t{0}) == agent) return c.value("reason", "");
    }
    return "(not considered)";
  }
  void Track(const std::vector<std::string>& items) {
    std::string batch = R"({"batch":[)";
    for (size_t i = 0; i < items.size(); ++i) batch += (i ? "," : "") + items[i];
    batch += "]}";
    HttpResponse r = Post("/v1/batch", batch);
    ASSERT_EQ(r.status, 200) << r.body;
  }
};

TEST_F(AgentsHttpTest, TicketsAreRoutedExplainedQueuedAndHandedOut) {
  Start();
  Track({Identify("alice"), Identify("bob"), Identify("carol")});
  const std::int64_t li = AddAgent(
      R"({"name":"Li","skills":["loan"],"languages":["zh"],"capacity":1,"state":"online","email":"li@example.com"})");
  const std::int64_t wang = AddAgent(
      R"({"name":"Wang","skills":["credit_card"],"languages":["zh","en"],"capacity":2,"state":"offline"})");
  ASSERT_NE(li, 0);
  ASSERT_NE(wang, 0);
  json agents = Body(Get("/v1/agents"));
  ASSERT_EQ(agents["agents"].size(), 2u);
  EXPECT_EQ(agents["agents"][0]["email"], "li@example.com");
  EXPECT_EQ(agents["agents"][1]["state"], "offline");

  // Alice's loan ticket goes to Li; the explanation names why Wang was passed over.
  const std::string a = CreateTicket("user:alice", R"(,"skill":"loan")");
  EXPECT_EQ(Ticket(a)["assignee"], li);
  json routing = Body(Get("/v1/tickets/" + a + "/routing"));
  ASSERT_EQ(routing["decisions"].size(), 1u);
  EXPECT_EQ(routing["decisions"][0]["rule"], "least_loaded");
  EXPECT_EQ(routing["decisions"][0]["policy"], "default");
  EXPECT_EQ(routing["decisions"][0]["agent"], li);
  EXPECT_EQ(Reason(routing, li), "chosen by least_loaded: least loaded (0/1)");
  EXPECT_EQ(Reason(routing, wang), "offline");

  // Bob's loan ticket waits: Li is at capacity, Wang offline (and without the skill).
  const std::string b = CreateTicket("user:bob", R"(,"skill":"loan","priority":"high")");
  EXPECT_TRUE(Ticket(b)["assignee"].is_null());
  routing = Body(Get("/v1/tickets/" + b + "/routing"));
  EXPECT_TRUE(routing["decisions"][0]["agent"].is_null());
  EXPECT_TRUE(routing["decisions"][0]["rule"].is_null());
  EXPECT_EQ(Reason(routing, li), "at capacity 1/1");
  EXPECT_EQ(Reason(routing, wang), "offline");
  // Carol's card ticket waits for Wang.
  const std::string c = CreateTicket("user:carol", R"(,"skill":"credit_card")");
  EXPECT_TRUE(Ticket(c)["assignee"].is_null());
  json queues = Body(Get("/v1/desk/queues"));
  ASSERT_TRUE(queues["queues"].is_array());
  json general;
  for (const json& q : queues["queues"]) {
    if (q["queue"] == "general") general = q;
  }
  ASSERT_TRUE(general.is_object()) << queues.dump();
  EXPECT_EQ(general["waiting"], 2);
  EXPECT_EQ(general["by_priority"]["high"], 1);
  EXPECT_EQ(general["oldest_waiting_since"], Ticket(b)["created_at"]);
  EXPECT_EQ(general["breaching"], 0);

  // Wang comes online: Carol's ticket is his at once (not Bob's: no loan skill).
  HttpResponse r = Post("/v1/agents/" + std::to_string(wang) + "/state", R"({"state":"online"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r)["load"], 1);
  EXPECT_EQ(Ticket(c)["assignee"], wang);
  EXPECT_TRUE(Ticket(b)["assignee"].is_null());
  // Li solves Alice's ticket: Bob's goes to Li.
  ASSERT_EQ(Post("/v1/tickets/" + a + "/status", R"({"status":"open"})").status, 200);
  ASSERT_EQ(Post("/v1/tickets/" + a + "/status", R"({"status":"solved"})").status, 200);
  EXPECT_EQ(Ticket(b)["assignee"], li);
  routing = Body(Get("/v1/tickets/" + b + "/routing"));
  ASSERT_EQ(routing["decisions"].size(), 2u);
  EXPECT_EQ(routing["decisions"][1]["agent"], li);
  queues = Body(Get("/v1/desk/queues"));
  for (const json& q : queues["queues"]) {
    if (q["queue"] == "general") {
      EXPECT_EQ(q["waiting"], 0);
    }
  }
  EXPECT_EQ(Body(Get("/v1/agents/" + std::to_string(li)))["load"], 1);
}

TEST_F(AgentsHttpTest, BadInputAndUnknownAgents) {
  Start();
  HttpResponse r = Post("/v1/agents", R"({"name":"X","capacity":"many"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("capacity"));
  r = Post("/v1/agents", R"({"name":"X","skills":["loan","Bad Skill"]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("skills[1]"));
  r = Post("/v1/agents", R"({"name":"X","state":"busy"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("state"));
  r = Post("/v1/agents", R"({"name":"X","colour":"red"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("colour"));
  r = Post("/v1/agents", R"({"name":"X","shift":{"zone":"Mars/Base","week":{"mon":["09:00-18:00"]}}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("shift"));
  r = Post("/v1/agents", R"({"name":"X","team":"no-such-team"})");
  EXPECT_EQ(r.status, 404);
  EXPECT_THAT(r.body, HasSubstr("team"));
  r = Post("/v1/agents", R"({"name":"X","user":"nobody@example.com"})");
  EXPECT_EQ(r.status, 404);
  EXPECT_THAT(r.body, HasSubstr("user"));
  EXPECT_EQ(Post("/v1/agents/4242/state", R"({"state":"online"})").status, 404);
  EXPECT_EQ(Get("/v1/agents/4242").status, 404);
  EXPECT_EQ(Get("/v1/tickets/TP-004242/routing").status, 404);
  const std::int64_t id = AddAgent(R"({"name":"Ok","capacity":3})");
  r = Post("/v1/agents/" + std::to_string(id) + "/state", R"({"state":"lunch"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("state"));
  // An unknown policy named on a ticket.
  Track({Identify("dave")});
  r = Post("/v1/tickets", R"({"customer":"user:dave","subject":"s","channel":"chat","routing_policy":"nope"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("routing_policy"));
}

TEST_F(AgentsHttpTest, PoliciesFromTheConfig) {
  auto loaded = [&] {
    const std::string path = (dir_ / "routing.toml").string();
    FILE* f = std::fopen(path.c_str(), "w");
    std::fputs("[[routing.policies]]\nname = \"load_only\"\nrules = [{rule = \"least_loaded\", weight = 1}]\n", f);
    std::fclose(f);
    return LoadConfig(path, config_, /*must_exist=*/true);
  }();
  ASSERT_OK(loaded.status());
  config_ = *loaded;
  Start();
  Track({Identify("erin")});
  AddAgent(R"({"name":"A","capacity":3,"state":"online"})");
  const std::string n = CreateTicket("user:erin", R"(,"routing_policy":"load_only")");
  json routing = Body(Get("/v1/tickets/" + n + "/routing"));
  ASSERT_EQ(routing["decisions"].size(), 1u);
  EXPECT_EQ(routing["decisions"][0]["policy"], "load_only");
}

}  // namespace
}  // namespace touchpoint::server
