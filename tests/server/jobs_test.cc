// Analytics jobs over real HTTP: started and read through /v1/jobs while the server ingests.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <touchpoint/server/app.h>

#include "server/test_util.h"
#include "testing/http_client.h"
#include "testing/matchers.h"

namespace touchpoint::server {
namespace {

using ::testing::HasSubstr;
using ::touchpoint::privacy::Role;
using ::touchpoint::testing::HttpClient;
using ::touchpoint::testing::HttpResponse;
using json = nlohmann::json;
using namespace std::chrono_literals;

// One batch of orders for customers [first, first + n): customer i buys (i % 7) + 1 times.
std::string OrderBatch(int first, int n, int round) {
  json batch = json::array();
  for (int i = first; i < first + n; ++i) {
    for (int k = 0; k <= i % 7; ++k) {
      batch.push_back({{"type", "track"},
                       {"userId", "u" + std::to_string(i)},
                       {"event", "Order Completed"},
                       {"messageId", "o-" + std::to_string(round) + "-" + std::to_string(i) + "-" + std::to_string(k)},
                       {"timestamp", "2024-0" + std::to_string(1 + k % 6) + "-1" + std::to_string(k % 10) + "T10:00:00Z"},
                       {"properties", {{"order_id", "O" + std::to_string(round) + "-" + std::to_string(i) + "-" +
                                                        std::to_string(k)},
                                       {"total", 50.0 * (1 + i % 11) + k}}}});
    }
  }
  return json{{"batch", batch}}.dump();
}

class JobsApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::MakeTempDir("jobs");
    // SQLite, or PostgreSQL (testing/pg.h)
    config_ = test::TestConfig(dir_.string(), testing::StoreUrlForDir(dir_.string()));
    config_.text_analysis = false;
    ingest_key_ = test::MakeKey(config_.data_dir, Role::kIngest);
    analyst_key_ = test::MakeKey(config_.data_dir, Role::kAnalyst);
    agent_key_ = test::MakeKey(config_.data_dir, Role::kAgent);
    ASSERT_FALSE(analyst_key_.empty());
  }
  void TearDown() override {
    app_.reset();
    std::filesystem::remove_all(dir_);
  }
  void StartApp() {
    auto app = App::Start(config_);
    ASSERT_OK(app);
    app_ = std::move(app).value();
    client_ = std::make_unique<HttpClient>(app_->port());
  }
  Result<HttpResponse> Post(const std::string& path, const std::string& body, const std::string& key) {
    return client_->Post(path, body, "application/json", test::BearerAuth(key));
  }
  Result<HttpResponse> Get(const std::string& path, const std::string& key) {
    return client_->Get(path, test::BearerAuth(key));
  }
  // Polls the job until it is done or failed (30 s at most); returns its record.
  json WaitForJob(std::int64_t id) {
    json record;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = Get("/v1/jobs/" + std::to_string(id), analyst_key_);
      if (!r.ok() || r->status != 200) return json();
      record = json::parse(r->body);
      if (record["state"] == "done" || record["state"] == "failed") return record;
      std::this_thread::sleep_for(20ms);
    }
    return record;
  }

  std::filesystem::path dir_;
  ServerConfig config_;
  std::string ingest_key_, analyst_key_, agent_key_;
  std::unique_ptr<App> app_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(JobsApiTest, AnRfmJobRunsOverHttpWhileEventsAreIngestedAndTagsTheProfiles) {
  StartApp();
  auto first = Post("/v1/batch", OrderBatch(0, 60, 0), ingest_key_);
  ASSERT_OK(first);
  ASSERT_EQ(first->status, 200) << first->body;

  // Keep ingesting on a second connection while the job runs.
  std::atomic<bool> go{true};
  std::atomic<int> ok_batches{0}, bad_batches{0};
  std::thread ingester([&] {
    HttpClient c(app_->port());
    for (int round = 1; go.load() && round < 400; ++round) {
      auto r = c.Post("/v1/batch", OrderBatch(60 + (round % 40), 5, round), "application/json",
                      test::BasicAuth(ingest_key_));
      (r.ok() && r->status == 200 ? ok_batches : bad_batches).fetch_add(1);
    }
  });

  auto started = Post("/v1/jobs/rfm", R"({"gold": 600, "silver": 200})", analyst_key_);
  ASSERT_OK(started);
  ASSERT_EQ(started->status, 202) << started->body;
  const json accepted = json::parse(started->body);
  EXPECT_EQ(accepted["name"], "rfm");
  EXPECT_EQ(accepted["state"], "queued");
  const std::int64_t id = accepted["id"].get<std::int64_t>();
  const std::string* location = started->Header("location");
  ASSERT_NE(location, nullptr);
  EXPECT_EQ(*location, "/v1/jobs/" + std::to_string(id));

  const json record = WaitForJob(id);
  go = false;
  ingester.join();
  ASSERT_EQ(record["state"], "done") << record.dump();
  EXPECT_EQ(record["trigger"], "api");
  EXPECT_TRUE(record["result"].is_object()) << record.dump();
  EXPECT_GT(ok_batches.load(), 0) << "ingest went on while the job ran";
  EXPECT_EQ(bad_batches.load(), 0);

  // The job's tags are on the profiles, next to the features.
  auto customer = Get("/v1/customers/user:u6", analyst_key_);
  ASSERT_OK(customer);
  ASSERT_EQ(customer->status, 200) << customer->body;
  const json c = json::parse(customer->body);
  EXPECT_TRUE(c["tags"]["rfm_layer"].is_string()) << customer->body;
  EXPECT_TRUE(c["tags"]["tier"].is_string()) << customer->body;

  auto list = Get("/v1/jobs", analyst_key_);
  ASSERT_OK(list);
  ASSERT_EQ(list->status, 200);
  const json l = json::parse(list->body);
  ASSERT_FALSE(l["jobs"].empty());
  EXPECT_EQ(l["jobs"][0]["id"], id);
  EXPECT_TRUE(l["next_scheduled_run"].is_null()) << "the schedule is off";
}

TEST_F(JobsApiTest, BadJobRequestsGetClearErrors) {
  StartApp();
  auto unknown = Post("/v1/jobs/astrology", "{}", analyst_key_);
  ASSERT_OK(unknown);
  EXPECT_EQ(unknown->status, 404) << unknown->body;
  EXPECT_THAT(unknown->body, HasSubstr("unknown_job"));
  auto bad = Post("/v1/jobs/kmeans", R"({"k": 0})", analyst_key_);
  ASSERT_OK(bad);
  EXPECT_EQ(bad->status, 400) << bad->body;
  EXPECT_THAT(bad->body, HasSubstr("k"));
  auto agent = Post("/v1/jobs/rfm", "{}", agent_key_);
  ASSERT_OK(agent);
  EXPECT_EQ(agent->status, 403) << "agents may not run analytics";
  auto ingest = Get("/v1/jobs", ingest_key_);
  ASSERT_OK(ingest);
  EXPECT_EQ(ingest->status, 403);
  auto none = Get("/v1/jobs/999", analyst_key_);
  ASSERT_OK(none);
  EXPECT_EQ(none->status, 404);
  auto not_an_id = Get("/v1/jobs/rfm", analyst_key_);
  ASSERT_OK(not_an_id);
  EXPECT_EQ(not_an_id->status, 404);
  auto wrong_method = client_->Send("DELETE", "/v1/jobs/1", "", "", test::BearerAuth(analyst_key_));
  ASSERT_OK(wrong_method);
  EXPECT_EQ(wrong_method->status, 405);
}

TEST_F(JobsApiTest, AJobRecordSurvivesARestart) {
  StartApp();
  auto first = Post("/v1/batch", OrderBatch(0, 30, 0), ingest_key_);
  ASSERT_OK(first);
  auto started = Post("/v1/jobs/ltv", "{}", analyst_key_);
  ASSERT_OK(started);
  ASSERT_EQ(started->status, 202) << started->body;
  const std::int64_t id = json::parse(started->body)["id"].get<std::int64_t>();
  const json before = WaitForJob(id);
  ASSERT_TRUE(before["state"] == "done" || before["state"] == "failed") << before.dump();
  app_.reset();
  StartApp();
  auto after = Get("/v1/jobs/" + std::to_string(id), analyst_key_);
  ASSERT_OK(after);
  ASSERT_EQ(after->status, 200) << after->body;
  EXPECT_EQ(json::parse(after->body), before);
}

}  // namespace
}  // namespace touchpoint::server
