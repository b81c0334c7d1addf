// SLA timers and the complaint loop over real HTTP: the App on an ephemeral port over the data
// directory's store (SQLite; PostgreSQL in the postgres/ run). A breach fired by the timer on its
// own (nobody touches the ticket) within a second of its due time, visible in GET /v1/desk/sla,
// GET /v1/tickets?breaching=true, the ticket's history (priority raised by the policy's rule) and
// the Prometheus counters; a complaint with both tasks, refused solving, completion and the
// supervisor's override; bad input named.
#include <touchpoint/server/app.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include <touchpoint/service/sla.h>

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

class SlaHttpTest : public test::DeskServerTest {
 protected:
  SlaHttpTest() : DeskServerTest("sla") {}
  void SetUp() override {
    DeskServerTest::SetUp();
    // Phone tickets: a first reply within 2 seconds (warning 1 second before): short enough for a
    // test, and the timer has to fire on its own.
    service::SlaPolicy fast;
    fast.name = "phone_fast";
    fast.when.channels = {"phone"};
    fast.first_response = service::SlaGoal{2.0 / 60.0, 1.0 / 60.0};
    fast.ladder = service::DefaultLadder();
    config_.sla_policies.push_back(service::PolicyToJson(fast));
    config_.sla_calendar = "cn";
  }
  std::string CreateTicket(const std::string& channel, const std::string& extra = "") {
    Post("/v1/batch", R"({"batch":[{"type":"identify","userId":"alice","messageId":"id-alice","traits":{}}]})");
    HttpResponse r = Post("/v1/tickets", R"({"customer":"user:alice","subject":"card blocked","channel":")" + channel +
                                             "\"" + extra + "}");
    EXPECT_EQ(r.status, 201) << r.body;
    json j = Body(r);
    return j.is_object() ? j.value("number", "") : "";
  }
};

TEST_F(SlaHttpTest, TheTimerFiresABreachOnItsOwnWithinASecond) {
  Start();
  const std::string n = CreateTicket("phone");
  const std::string email = CreateTicket("email");  // the baseline: 24 h, nothing fires here
  ASSERT_FALSE(n.empty());
  json breached = WaitFor("/v1/desk/sla?state=breached", [](const json& j) { return !j["targets"].empty(); });
  ASSERT_EQ(breached["targets"].size(), 1u) << breached.dump();
  const json target = breached["targets"][0];
  EXPECT_EQ(target["ticket"], n);
  EXPECT_EQ(target["target"], "first_response");
  EXPECT_EQ(target["policy"], "phone_fast");
  auto due = ParseTimestamp(target["due_at"].get<std::string>());
  ASSERT_OK(due);

  // The history: warning, then breach with the priority raised by the policy's rule, on time.
  json history = Body(Get("/v1/tickets/" + n + "/history"))["history"];
  std::vector<std::string> sla;
  Millis breach_at = 0;
  for (const json& h : history) {
    if (h["field"] == "sla" || (h["field"] == "priority" && h["actor_kind"] == "system")) {
      sla.push_back(h["actor"].get<std::string>() + " " + h["field"].get<std::string>() + " " +
                    h["before"].get<std::string>() + ">" + h["after"].get<std::string>());
      if (h["after"] == "first_response breach") breach_at = *ParseTimestamp(h["at"].get<std::string>());
    }
  }
  EXPECT_THAT(sla, ::testing::ElementsAre("sla:phone_fast sla >first_response warning",
                                          "sla:phone_fast sla >first_response breach",
                                          "sla:phone_fast priority medium>high"));
  EXPECT_GE(breach_at, *due);
  EXPECT_LE(breach_at - *due, 1000) << "fired " << (breach_at - *due) << " ms after its due time";
  EXPECT_EQ(Body(Get("/v1/tickets/" + n))["priority"], "high");

  // The other views: breaching tickets, the state filter, the metrics, the ticket's spans.
  json list = Body(Get("/v1/tickets?breaching=true"));
  ASSERT_EQ(list["tickets"].size(), 1u);
  EXPECT_EQ(list["tickets"][0]["number"], n);
  EXPECT_EQ(Body(Get("/v1/tickets?breaching=false"))["tickets"].size(), 2u);
  EXPECT_TRUE(Body(Get("/v1/desk/sla?state=warning"))["targets"].empty());
  auto metrics = client_->Get("/metrics", {});
  ASSERT_OK(metrics.status());
  EXPECT_THAT(metrics->body, HasSubstr("touchpoint_sla_breaches_total 1\n"));
  EXPECT_THAT(metrics->body, HasSubstr("touchpoint_sla_warnings_total 1\n"));
  // The live feed (and the webhooks, whose `events` filters match these names) carries both under
  // the names docs/service-desk.md gives them.
  const auto sla_events = [](const json& feed) {
    std::vector<std::string> kinds;
    for (const json& e : feed["events"]) {
      const std::string type = e["type"].get<std::string>();
      if (type.rfind("sla.", 0) == 0) kinds.push_back(type + " " + e["data"].value("target", ""));
    }
    return kinds;
  };
  json feed = WaitFor("/v1/desk/feed?after=0", [&](const json& j) { return sla_events(j).size() >= 2; });
  EXPECT_THAT(sla_events(feed), ::testing::ElementsAre("sla.warning first_response", "sla.breached first_response"));
  json spans = Body(Get("/v1/tickets/" + n + "/sla"));
  EXPECT_EQ(spans["policy"]["name"], "phone_fast");
  EXPECT_TRUE(spans["spans"]["first_response"]["stop"].is_null());
  json baseline = Body(Get("/v1/tickets/" + email + "/sla"));
  EXPECT_EQ(baseline["policy"]["name"], "baseline");

  // A reply meets the target: no longer breaching.
  ASSERT_EQ(Post("/v1/tickets/" + n + "/messages", R"({"text":"Sorry for the wait."})").status, 200);
  WaitFor("/v1/tickets?breaching=true", [](const json& j) { return j["tickets"].empty(); });

  // Bad input: named.
  HttpResponse r = Get("/v1/desk/sla?state=late");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("state"));
  r = Get("/v1/tickets?breaching=maybe");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("breaching"));
  EXPECT_EQ(Get("/v1/tickets/TP-424242/sla").status, 404);
}

TEST_F(SlaHttpTest, AComplaintGetsBothTasksAndCannotBeSolvedWithAnOpenOne) {
  Start();
  const std::string n = CreateTicket("email", R"(,"type":"complaint")");
  json tasks = WaitFor("/v1/tickets/" + n + "/tasks", [](const json& j) { return j["tasks"].size() == 2; });
  ASSERT_EQ(tasks["tasks"].size(), 2u);
  EXPECT_EQ(tasks["tasks"][0]["kind"], "followup");
  EXPECT_EQ(tasks["tasks"][1]["kind"], "feedback");
  EXPECT_EQ(tasks["tasks"][0]["state"], "due");
  const Millis created = *ParseTimestamp(Body(Get("/v1/tickets/" + n))["created_at"].get<std::string>());
  EXPECT_EQ(*ParseTimestamp(tasks["tasks"][0]["due_at"].get<std::string>()), created + 24 * 3'600'000);
  EXPECT_GT(*ParseTimestamp(tasks["tasks"][1]["due_at"].get<std::string>()), created + 24 * 3'600'000);
  EXPECT_EQ(Body(Get("/v1/desk/tasks?state=due"))["tasks"].size(), 2u);
  EXPECT_TRUE(Body(Get("/v1/desk/tasks?state=overdue"))["tasks"].empty());

  ASSERT_EQ(Post("/v1/tickets/" + n + "/status", R"({"status":"open"})").status, 200);
  HttpResponse r = Post("/v1/tickets/" + n + "/status", R"({"status":"solved"})");
  EXPECT_EQ(r.status, 409);
  EXPECT_THAT(r.body, HasSubstr("open tasks (followup, feedback)"));
  const std::string followup = std::to_string(tasks["tasks"][0]["id"].get<std::int64_t>());
  r = Post("/v1/tickets/" + n + "/tasks/" + followup + "/complete", "");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r)["state"], "done");
  EXPECT_EQ(Post("/v1/tickets/" + n + "/tasks/" + followup + "/complete", "").status, 409);
  EXPECT_EQ(Post("/v1/tickets/" + n + "/tasks/999999/complete", "").status, 404);
  EXPECT_EQ(Body(Get("/v1/desk/tasks"))["tasks"].size(), 1u);
  // Still the feedback task: the supervisor's (here the admin's) override, in the history.
  EXPECT_EQ(Post("/v1/tickets/" + n + "/status", R"({"status":"solved"})").status, 409);
  r = Post("/v1/tickets/" + n + "/status", R"({"status":"solved","override":true})");
  ASSERT_EQ(r.status, 200) << r.body;
  json history = Body(Get("/v1/tickets/" + n + "/history"))["history"];
  bool overridden = false;
  for (const json& h : history) overridden = overridden || (h["field"] == "override" && h["before"] == "open tasks: feedback");
  EXPECT_TRUE(overridden) << history.dump();

  // A request changed to a complaint gets its tasks too; a pause keeps its reason.
  const std::string m = CreateTicket("chat");
  r = Post("/v1/tickets/" + m + "/type", R"({"type":"complaint"})");
  ASSERT_EQ(r.status, 200) << r.body;
  WaitFor("/v1/tickets/" + m + "/tasks", [](const json& j) { return j["tasks"].size() == 2; });
  EXPECT_EQ(Post("/v1/tickets/" + m + "/type", R"({"type":"grievance"})").status, 400);
  ASSERT_EQ(Post("/v1/tickets/" + m + "/status", R"({"status":"open"})").status, 200);
  ASSERT_EQ(Post("/v1/tickets/" + m + "/status", R"({"status":"pending_third_party","reason":"bank checks"})").status,
            200);
  json spans = Body(Get("/v1/tickets/" + m + "/sla"))["spans"];
  ASSERT_EQ(spans["pauses"].size(), 1u);
  EXPECT_EQ(spans["pauses"][0]["reason"], "bank checks");
  EXPECT_TRUE(spans["pauses"][0]["to"].is_null());
}

}  // namespace
}  // namespace touchpoint::server
