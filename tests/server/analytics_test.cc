// GET /v1/funnels and GET /v1/journeys[/{name}] over real HTTP: the App on an ephemeral port over
// the data directory's store (SQLite; PostgreSQL in the postgres/ run). Events sent through
// /v1/batch are read back by the analytics pool's read-only connection (not the writer's): the
// funnel's counts and conversions, the built-in and a configured journey, and bad parameters as
// 400/404 naming them.
#include <touchpoint/server/app.h>

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

class AnalyticsHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::MakeTempDir("analytics");
    config_ = test::TestConfig(dir_.string(), testing::StoreUrlForDir(dir_.string()));
    config_.text_analysis = false;
    insight::JourneySpec j;
    j.name = "checkout";
    j.stages = {{"look", {"view"}, std::nullopt}, {"buy", {"order"}, 3600.0}};
    config_.journeys.push_back(j);
    analyst_key_ = test::MakeKey(dir_.string(), Role::kAnalyst);
    ingest_key_ = test::MakeKey(dir_.string(), Role::kIngest);
    ASSERT_FALSE(analyst_key_.empty());
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
  HttpResponse Get(const std::string& path) {
    auto r = client_->Get(path, test::BearerAuth(analyst_key_));
    EXPECT_OK(r.status());
    return r.ok() ? *r : HttpResponse{};
  }
  static std::string Track(const std::string& user, const std::string& event, const std::string& at, int id) {
    return R"({"type":"track","userId":")" + user + R"(","event":")" + event + R"(","messageId":"m)" +
           std::to_string(id) + R"(","timestamp":")" + at + R"(","properties":{"plan":")" +
           (user == "u3" ? "pro" : "free") + "\"}}";
  }

  std::filesystem::path dir_;
  ServerConfig config_;
  std::string analyst_key_, ingest_key_;
  std::unique_ptr<App> app_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(AnalyticsHttpTest, FunnelsAndJourneysOverTheStoredEvents) {
  // u1: view → order in 30 min; u2: view only; u3: view → order 2 h later.
  const std::string batch = "{\"batch\":[" + Track("u1", "view", "2026-05-01T08:00:00Z", 1) + "," +
                            Track("u1", "order", "2026-05-01T08:30:00Z", 2) + "," +
                            Track("u2", "view", "2026-05-01T09:00:00Z", 3) + "," +
                            Track("u3", "view", "2026-05-02T08:00:00Z", 4) + "," +
                            Track("u3", "order", "2026-05-02T10:00:00Z", 5) + "]}";
  auto posted = client_->Post("/v1/batch", batch, "application/json", test::BearerAuth(ingest_key_));
  ASSERT_OK(posted.status());
  ASSERT_EQ(posted->status, 200) << posted->body;

  HttpResponse r = Get("/v1/funnels?steps=view,order&by=plan");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  ASSERT_EQ(j["groups"].size(), 3u) << r.body;  // all, free, pro
  EXPECT_EQ(j["groups"][0]["breakdown"], "all");
  EXPECT_EQ(j["groups"][0]["steps"][0]["count"], 3);
  EXPECT_EQ(j["groups"][0]["steps"][1]["count"], 2);
  EXPECT_DOUBLE_EQ(j["groups"][0]["seconds_to_convert"]["median"].get<double>(), 4500);  // 30 min, 2 h

  r = Get("/v1/journeys");
  ASSERT_EQ(r.status, 200) << r.body;
  j = json::parse(r.body);
  ASSERT_EQ(j["journeys"].size(), 2u);  // the configured one, then the built-in
  EXPECT_EQ(j["journeys"][0]["name"], "checkout");
  EXPECT_EQ(j["journeys"][1]["name"], "purchase");

  r = Get("/v1/journeys/checkout?from=2026-05-01");
  ASSERT_EQ(r.status, 200) << r.body;
  j = json::parse(r.body);
  EXPECT_EQ(j["people"], 3);
  // Worst first: "look" (drop-off 1/3: score 66.7) before "buy" (no data but a target; no score).
  EXPECT_EQ(j["stages"][0]["stage"], "look");
  EXPECT_NEAR(j["stages"][0]["score"].get<double>(), 66.667, 0.01);
  EXPECT_DOUBLE_EQ(j["stages"][0]["dwell_seconds"]["median"].get<double>(), 4500);

  // The built-in journey answers too (nothing of it in this data but the people count).
  r = Get("/v1/journeys/purchase");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["stages"].size(), 4u);

  r = Get("/v1/journeys/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_THAT(r.body, HasSubstr("configured: checkout, purchase"));
  r = Get("/v1/funnels?steps=view");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("at least two"));
  r = Get("/v1/funnels");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("steps: required"));
  r = Get("/v1/funnels?steps=view,order&mode=loose");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("valid: ordered, strict, any"));
  r = Get("/v1/journeys/checkout?from=yesterday");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("from:"));
}

}  // namespace
}  // namespace touchpoint::server
