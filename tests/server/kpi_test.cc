// GET /v1/kpis over real HTTP: the App on an ephemeral port over the data directory's store
// (SQLite; PostgreSQL in the postgres/ run), with the desk's calendar cn. Tickets changed through
// the API have their spans stored by the server's listener (with the SLA's targets), the answer
// has the issue's shape (fields that do not apply absent, never NaN), buckets are named in the
// calendar's zone, and bad parameters are 400 naming them and the valid ones.
#include <touchpoint/server/app.h>

#include <touchpoint/core/time.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "server/test_util.h"
#include "testing/data_dir.h"
#include "testing/http_client.h"
#include "testing/matchers.h"

namespace touchpoint::server {
namespace {

using ::testing::HasSubstr;
using ::touchpoint::privacy::Role;
using ::touchpoint::testing::HttpClient;
using ::touchpoint::testing::HttpResponse;
using json = nlohmann::json;

class KpiHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::MakeTempDir("kpi");
    config_ = test::TestConfig(dir_.string(), testing::StoreUrlForDir(dir_.string()));
    config_.text_analysis = false;
    config_.sla_calendar = "cn";
    admin_key_ = test::MakeKey(dir_.string(), Role::kAdmin);
    analyst_key_ = test::MakeKey(dir_.string(), Role::kAnalyst);
    ASSERT_FALSE(admin_key_.empty());
    auto app = App::Start(config_);
    ASSERT_OK(app.status());
    app_ = std::move(*app);
    client_ = std::make_unique<HttpClient>(app_->port());
  }
  void TearDown() override {
    client_.reset();
    if (app_) app_->Stop();
    app_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  HttpResponse Post(const std::string& path, const std::string& body) {
    auto r = client_->Post(path, body, "application/json", test::BearerAuth(admin_key_));
    EXPECT_OK(r.status());
    return r.ok() ? *r : HttpResponse{};
  }
  HttpResponse Get(const std::string& path, const std::string& key) {
    auto r = client_->Get(path, test::BearerAuth(key));
    EXPECT_OK(r.status());
    return r.ok() ? *r : HttpResponse{};
  }
  std::string CreateTicket(const std::string& channel) {
    Post("/v1/batch", R"({"batch":[{"type":"identify","userId":"alice","messageId":"id-alice","traits":{}}]})");
    HttpResponse r = Post("/v1/tickets", R"({"customer":"user:alice","subject":"card blocked","channel":")" + channel + "\"}");
    EXPECT_EQ(r.status, 201) << r.body;
    json j = json::parse(r.body, nullptr, false);
    return j.is_object() ? j.value("number", "") : "";
  }

  std::filesystem::path dir_;
  ServerConfig config_;
  std::string admin_key_, analyst_key_;
  std::unique_ptr<App> app_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(KpiHttpTest, KpisOfTicketsChangedThroughTheApi) {
  const std::string email = CreateTicket("email");
  const std::string chat = CreateTicket("chat");
  ASSERT_FALSE(email.empty());
  ASSERT_EQ(Post("/v1/tickets/" + email + "/messages", R"({"text":"Sorry for the wait."})").status, 200);
  ASSERT_EQ(Post("/v1/tickets/" + email + "/status", R"({"status":"solved"})").status, 200);

  HttpResponse r = Get("/v1/kpis?metrics=frt,sla,resolution_rate,deflection&by=channel&interval=day", analyst_key_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, ::testing::Not(HasSubstr("nan")));
  const json j = json::parse(r.body);
  EXPECT_EQ(j["metrics"], json::array({"frt", "sla", "resolution_rate", "deflection"}));
  EXPECT_EQ(j["by"], "channel");
  EXPECT_EQ(j["interval"], "day");
  EXPECT_EQ(j["time_zone"], "Asia/Shanghai");  // the desk's calendar's
  ASSERT_EQ(j["rows"].size(), 2u) << r.body;
  json chat_row, email_row;
  for (const json& row : j["rows"]) {
    EXPECT_THAT(row["bucket"].get<std::string>(), HasSubstr("T00:00:00+08:00"));
    (row["group"] == "chat" ? chat_row : email_row) = row;
  }
  EXPECT_EQ(email_row["group"], "email");
  EXPECT_EQ(email_row["frt"]["count"], 1);
  for (const char* key : {"mean", "median", "p90"}) EXPECT_TRUE(email_row["frt"].contains(key)) << key;
  EXPECT_FALSE(email_row["frt"].contains("ci_low"));  // a duration: no interval
  EXPECT_EQ(email_row["sla"]["count"], 1);            // the baseline's first response, met
  EXPECT_DOUBLE_EQ(email_row["sla"]["value"].get<double>(), 1);
  EXPECT_DOUBLE_EQ(email_row["resolution_rate"]["value"].get<double>(), 1);
  EXPECT_TRUE(email_row["resolution_rate"].contains("ci_low"));
  EXPECT_EQ(email_row["resolution_rate"]["met"], true);
  EXPECT_EQ(chat_row["frt"]["count"], 0);
  EXPECT_FALSE(chat_row["frt"].contains("mean"));
  EXPECT_EQ(chat_row["resolution_rate"]["met"], false);
  EXPECT_FALSE(chat_row.contains("deflection"));
  EXPECT_EQ(j["notes"]["deflection"], "not available: no bot conversations");
}

// GET /v1/scorecards over tickets assigned through the API: the agent's card for this month (in
// the calendar's zone) with the desk's figures as evidence; no script-compliance figure, so no
// level and the gate named; unassigned tickets have no card.
TEST_F(KpiHttpTest, ScorecardsOfAgentsFromTheirTickets) {
  HttpResponse a = Post("/v1/agents", R"({"name":"Ann","email":"ann@example.com","capacity":5})");
  ASSERT_EQ(a.status, 201) << a.body;
  const std::int64_t ann = json::parse(a.body).value("id", std::int64_t{0});
  ASSERT_GT(ann, 0);
  const std::string mine = CreateTicket("email");
  const std::string nobody = CreateTicket("chat");
  ASSERT_EQ(Post("/v1/tickets/" + mine + "/assign", R"({"agent":)" + std::to_string(ann) + "}").status, 200);
  ASSERT_EQ(Post("/v1/tickets/" + mine + "/messages", R"({"text":"Done."})").status, 200);
  ASSERT_EQ(Post("/v1/tickets/" + mine + "/status", R"({"status":"solved"})").status, 200);
  (void)nobody;

  // This month in Shanghai (the cn calendar's zone).
  const std::string month = FormatTimestamp(SystemClock::Instance().Now() + 8 * 3'600'000).substr(0, 7);
  HttpResponse r = Get("/v1/scorecards?period=" + month, analyst_key_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, ::testing::Not(HasSubstr("nan")));
  json j = json::parse(r.body);
  EXPECT_EQ(j["by"], "agent");
  EXPECT_EQ(j["period"], month);
  EXPECT_GT(j["working_days"].get<double>(), 15);
  ASSERT_EQ(j["scorecards"].size(), 1u) << r.body;  // the unassigned ticket has no card
  const json& card = j["scorecards"][0];
  EXPECT_EQ(card["agent"], std::to_string(ann));
  EXPECT_EQ(card["tickets"], 1);
  EXPECT_TRUE(card["level"].is_null());
  EXPECT_THAT(card["unmet"].dump(), HasSubstr("script_compliance (no data)"));
  for (const json& d : card["dimensions"]) {
    for (const json& m : d["metrics"]) {
      if (m["id"] == "first_response_hours") {
        EXPECT_TRUE(m.contains("value"));
        EXPECT_EQ(m["samples"], 1);
      }
      if (m["id"] == "knowledge_articles_per_month") {
        EXPECT_FALSE(m.contains("value"));
      }
    }
  }
  r = Get("/v1/scorecards?period=" + month + "&agent=999999", analyst_key_);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["scorecards"].size(), 0u);
  r = Get("/v1/scorecards", analyst_key_);
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("period: required"));
  r = Get("/v1/scorecards?period=2026-11&by=desk", analyst_key_);
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("valid: agent, team"));
}

TEST_F(KpiHttpTest, BadParametersAre400NamingThemAndTheValidOnes) {
  HttpResponse r = Get("/v1/kpis?metrics=frt,speed", admin_key_);
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("unknown metric \\\"speed\\\"; valid: csat, csat_mean, nps, fcr, frt"));
  r = Get("/v1/kpis?metrics=frt&by=colour", admin_key_);
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("valid: channel, agent, team, queue, intent, priority, tier, type"));
  r = Get("/v1/kpis?metrics=frt&interval=fortnight", admin_key_);
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("valid: hour, day, week, month"));
  r = Get("/v1/kpis?metrics=frt&from=yesterday", admin_key_);
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("from"));
  EXPECT_EQ(Get("/v1/kpis", admin_key_).status, 400);  // no metric named
}

}  // namespace
}  // namespace touchpoint::server
