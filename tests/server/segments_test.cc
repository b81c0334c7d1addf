// Saved segments over real HTTP: the App on an ephemeral port over a memory store.
#include <touchpoint/server/app.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include <touchpoint/privacy/keys.h>
#include <touchpoint/store/api_key_repository.h>
#include <touchpoint/store/dp_budget_repository.h>
#include <touchpoint/store/open.h>
#include <touchpoint/store/segment_repository.h>

#include "server/test_util.h"
#include "testing/http_client.h"
#include "testing/matchers.h"

namespace touchpoint::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using ::touchpoint::privacy::Role;
using ::touchpoint::testing::HttpClient;
using ::touchpoint::testing::HttpResponse;
using json = nlohmann::json;
using namespace std::chrono_literals;

std::string Order(const std::string& user, const std::string& id, double total) {
  return R"({"type":"track","event":"Order Completed","userId":")" + user + R"(","messageId":")" + id +
         R"(","timestamp":"2024-06-01T10:00:00Z","properties":{"order_id":")" + id + R"(","total":)" +
         std::to_string(total) + R"(},"context":{"channel":"app"}})";
}

std::string Batch(const std::vector<std::string>& items) {
  std::string out = R"({"batch":[)";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + items[i];
  return out + "]}";
}

class SegmentsHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    url_ = "memory:segments-http-" + std::to_string(rd());
    auto st = store::Open(url_, {});
    ASSERT_OK(st);
    store_ = std::move(*st);
    config_.store_url = url_;
    config_.listen = "127.0.0.1:0";
    config_.io_threads = 1;
    config_.worker_threads = 4;
    config_.log_level = "warn";
    config_.key_cache_seconds = 0;
    config_.text_analysis = false;
    config_.jobs_schedule = "off";
    for (Role role : privacy::kAllRoles) {
      auto created = privacy::CreateApiKey(store_->Get<store::ApiKeyRepository>(), role, 1'700'000'000'000);
      ASSERT_OK(created);
      keys_[static_cast<size_t>(role)] = created->key;
    }
  }
  void TearDown() override { app_.reset(); }

  void StartApp() {
    auto app = App::Start(config_);
    ASSERT_OK(app);
    app_ = std::move(app).value();
    client_ = std::make_unique<HttpClient>(app_->port());
  }
  const std::string& Key(Role role) const { return keys_[static_cast<size_t>(role)]; }
  HttpResponse Send(const std::string& method, const std::string& path, const std::string& body, Role role) {
    auto r = client_->Send(method, path, body, "application/json", test::BearerAuth(Key(role)));
    EXPECT_OK(r) << method << " " << path;
    return r.ok() ? *r : HttpResponse{};
  }
  HttpResponse Get(const std::string& path, Role role = Role::kAdmin) { return Send("GET", path, "", role); }
  void Ingest(const std::vector<std::string>& items) {
    HttpResponse r = Send("POST", "/v1/batch", Batch(items), Role::kIngest);
    ASSERT_EQ(r.status, 200) << r.body;
  }
  // The segment's count once it reaches `want` (the hook updates it just after the batch's 200),
  // or its last value after a few seconds.
  std::int64_t CountReaching(const std::string& name, std::int64_t want) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    std::int64_t count = -1;
    for (;;) {
      HttpResponse r = Get("/v1/segments/" + name);
      if (r.status != 200) return -1;
      count = json::parse(r.body)["count"].get<std::int64_t>();
      if (count == want || std::chrono::steady_clock::now() > deadline) return count;
      std::this_thread::sleep_for(5ms);
    }
  }

  std::string url_;
  std::unique_ptr<store::Store> store_;  // keeps the named memory store alive; the keys' writer
  ServerConfig config_;
  std::string keys_[privacy::kAllRoles.size()];
  std::unique_ptr<App> app_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(SegmentsHttpTest, DefineCountListExportAndDelete) {
  StartApp();
  Ingest({Order("u1", "o1", 30000), Order("u2", "o2", 100)});

  HttpResponse r = Send("PUT", "/v1/segments/big-spenders",
                        R"({"rule": "monetary >= 20000", "description": "top customers"})", Role::kAdmin);
  ASSERT_EQ(r.status, 201) << r.body;
  json s = json::parse(r.body);
  EXPECT_EQ(s["name"], "big-spenders");
  EXPECT_EQ(s["rule"], "monetary >= 20000");
  EXPECT_EQ(s["description"], "top customers");
  EXPECT_EQ(s["count"], 1);

  // Counts move as events arrive.
  Ingest({Order("u2", "o3", 25000), Order("u3", "o4", 40000)});
  EXPECT_EQ(CountReaching("big-spenders", 3), 3);

  // Redefining answers 200 with the new count; the analyst may manage segments.
  r = Send("PUT", "/v1/segments/big-spenders", R"({"rule": "monetary >= 30000"})", Role::kAnalyst);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["count"], 2);

  r = Get("/v1/segments", Role::kSupervisor);
  ASSERT_EQ(r.status, 200) << r.body;
  json list = json::parse(r.body);
  ASSERT_EQ(list["segments"].size(), 1u);
  EXPECT_EQ(list["segments"][0]["name"], "big-spenders");
  EXPECT_EQ(list["segments"][0]["count"], 2);

  r = Get("/v1/segments/big-spenders/members?format=csv");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_NE(r.Header("content-type"), nullptr);
  EXPECT_THAT(*r.Header("content-type"), StartsWith("text/csv"));
  std::istringstream lines(r.body);
  std::vector<std::string> rows;
  for (std::string line; std::getline(lines, line);) rows.push_back(line);
  ASSERT_EQ(rows.size(), 3u) << r.body;
  EXPECT_EQ(rows[0], "customer_id,monetary\r");
  EXPECT_THAT(rows[1], HasSubstr(",30000"));
  EXPECT_THAT(rows[2], HasSubstr(",40000"));

  r = Get("/v1/segments/big-spenders/members?format=ndjson");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(*r.Header("content-type"), "application/x-ndjson");
  json first = json::parse(r.body.substr(0, r.body.find('\n')));
  EXPECT_EQ(first["monetary"], 30000);
  EXPECT_EQ(first["features"]["orders_total"], 1);

  r = Get("/v1/segments/big-spenders/members?format=xml");
  EXPECT_EQ(r.status, 400) << r.body;

  r = Send("DELETE", "/v1/segments/big-spenders", "", Role::kAdmin);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Get("/v1/segments/big-spenders").status, 404);
  EXPECT_EQ(Send("DELETE", "/v1/segments/big-spenders", "", Role::kAdmin).status, 404);
  EXPECT_EQ(Get("/v1/segments/big-spenders/members").status, 404);
}

TEST_F(SegmentsHttpTest, PermissionsFollowTheMatrix) {
  StartApp();
  const std::string body = R"({"rule": "orders_total >= 1"})";
  EXPECT_EQ(Send("PUT", "/v1/segments/buyers", body, Role::kIngest).status, 403);
  EXPECT_EQ(Send("PUT", "/v1/segments/buyers", body, Role::kAgent).status, 403);
  EXPECT_EQ(Send("PUT", "/v1/segments/buyers", body, Role::kSupervisor).status, 403);
  EXPECT_EQ(Get("/v1/segments", Role::kAgent).status, 403);
  EXPECT_EQ(Send("POST", "/v1/segments/preview", body, Role::kIngest).status, 403);
  ASSERT_EQ(Send("PUT", "/v1/segments/buyers", body, Role::kAdmin).status, 201);
  EXPECT_EQ(Send("DELETE", "/v1/segments/buyers", "", Role::kSupervisor).status, 403);
  EXPECT_EQ(Get("/v1/segments/buyers", Role::kSupervisor).status, 200);
  auto unauthenticated = client_->Get("/v1/segments");
  ASSERT_OK(unauthenticated);
  EXPECT_EQ(unauthenticated->status, 401);
}

TEST_F(SegmentsHttpTest, BadRulesAndBodiesAre400WithTheColumn) {
  StartApp();
  HttpResponse r = Send("PUT", "/v1/segments/bad", R"({"rule": "monetary_365d >="})", Role::kAdmin);
  ASSERT_EQ(r.status, 400) << r.body;
  json e = json::parse(r.body);
  EXPECT_EQ(e["error"]["code"], "invalid_request");
  EXPECT_THAT(e["error"]["message"].get<std::string>(), StartsWith("column 17: "));
  EXPECT_EQ(Get("/v1/segments/bad").status, 404) << "nothing was saved";

  EXPECT_EQ(Send("PUT", "/v1/segments/bad", "not json", Role::kAdmin).status, 400);
  EXPECT_EQ(Send("PUT", "/v1/segments/bad", R"({"rule": 3})", Role::kAdmin).status, 400);
  EXPECT_EQ(
      Send("PUT", "/v1/segments/bad", R"({"rule": "events > 1", "colour": "red"})", Role::kAdmin).status,
      400);
  EXPECT_EQ(Send("PUT", "/v1/segments/Bad%20Name", R"({"rule": "events > 1"})", Role::kAdmin).status, 400);
  r = Send("POST", "/v1/segments/preview", R"({"rule": "tier = 1 and"})", Role::kAdmin);
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("column "));
}

TEST_F(SegmentsHttpTest, PreviewCountsWithoutSaving) {
  StartApp();
  Ingest({Order("u1", "o1", 300), Order("u2", "o2", 50)});
  HttpResponse r = Send("POST", "/v1/segments/preview", R"({"rule": "monetary>=100  AND orders_total>0"})",
                        Role::kAnalyst);
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  EXPECT_EQ(j["count"], 1);
  EXPECT_EQ(j["rule"], "monetary >= 100 and orders_total > 0");
  EXPECT_EQ(json::parse(Get("/v1/segments").body)["segments"].size(), 0u);
}

// Tags written by an analytics job reach the counts (the jobs' tag sink notifies the index).
TEST_F(SegmentsHttpTest, CountsFollowTheTagsOfAnalyticsJobs) {
  StartApp();
  std::vector<std::string> orders;
  for (int i = 0; i < 30; ++i) orders.push_back(Order("u" + std::to_string(i), "o" + std::to_string(i), 100 + 50 * i));
  Ingest(orders);
  HttpResponse r = Send("PUT", "/v1/segments/tiered", R"({"rule": "tier is not null"})", Role::kAdmin);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(json::parse(r.body)["count"], 0);

  r = Send("POST", "/v1/jobs/rfm", "{}", Role::kAnalyst);
  ASSERT_EQ(r.status, 202) << r.body;
  const std::string id = std::to_string(json::parse(r.body)["id"].get<std::int64_t>());
  json job;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  do {
    std::this_thread::sleep_for(10ms);
    job = json::parse(Get("/v1/jobs/" + id, Role::kAnalyst).body);
  } while (job["state"] != "done" && job["state"] != "failed" && std::chrono::steady_clock::now() < deadline);
  ASSERT_EQ(job["state"], "done") << job.dump();

  // The tags are written before the job is done, and the count with them: no waiting.
  r = Get("/v1/segments/tiered");
  ASSERT_EQ(r.status, 200) << r.body;
  const json preview =
      json::parse(Send("POST", "/v1/segments/preview", R"({"rule": "tier is not null"})", Role::kAdmin).body);
  EXPECT_EQ(json::parse(r.body)["count"], 30);
  EXPECT_EQ(json::parse(r.body)["count"], preview["count"]);
}

TEST_F(SegmentsHttpTest, SavedSegmentsAreCountedAgainAfterARestart) {
  StartApp();
  Ingest({Order("u1", "o1", 300)});
  ASSERT_EQ(Send("PUT", "/v1/segments/buyers", R"({"rule": "orders_total >= 1"})", Role::kAdmin).status, 201);
  app_->Stop();
  app_.reset();
  StartApp();
  HttpResponse r = Get("/v1/segments/buyers");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["count"], 1);
}

TEST_F(SegmentsHttpTest, ReportsAreExactOrReleasedWithDifferentialPrivacyAgainstTheBudget) {
  StartApp();
  std::vector<std::string> orders;
  for (int i = 0; i < 30; ++i) {
    orders.push_back(Order("r" + std::to_string(i), "ro" + std::to_string(i), i < 12 ? 5000 : 50));
  }
  Ingest(orders);
  ASSERT_EQ(Send("PUT", "/v1/segments/big", R"({"rule": "monetary >= 1000"})", Role::kAdmin).status, 201);
  ASSERT_EQ(Send("PUT", "/v1/segments/buyers", R"({"rule": "orders_total >= 1"})", Role::kAdmin).status, 201);

  // Exact numbers (inside the company).
  HttpResponse exact = Get("/v1/reports/segments?value=monetary");
  ASSERT_EQ(exact.status, 200) << exact.body;
  json e = json::parse(exact.body);
  EXPECT_EQ(e["differential_privacy"], false);
  ASSERT_EQ(e["groups"].size(), 2u);
  EXPECT_EQ(e["groups"][0]["group"], "big");
  EXPECT_EQ(e["groups"][0]["count"], 12);
  EXPECT_DOUBLE_EQ(e["groups"][0]["sum"].get<double>(), 60000.0);
  EXPECT_EQ(e["groups"][1]["count"], 30);

  // With differential privacy: noisy, and the spend is in the store's ledger first.
  HttpResponse noisy = Get("/v1/reports/segments?value=monetary&dp_epsilon=0.5&upper=10000&min_count=0",
                           Role::kAnalyst);
  ASSERT_EQ(noisy.status, 200) << noisy.body;
  json n = json::parse(noisy.body);
  EXPECT_EQ(n["differential_privacy"], true);
  EXPECT_EQ(n["mechanism"], "discrete_laplace");
  EXPECT_EQ(n["epsilon"], "0.5");
  ASSERT_EQ(n["groups"].size(), 2u);
  EXPECT_EQ(n["groups"][0]["group"], "big");
  auto ledger = store_->Get<store::DpBudgetRepository>().Releases("customers");
  ASSERT_OK(ledger);
  ASSERT_EQ(ledger->size(), 1u);
  EXPECT_EQ((*ledger)[0].report, "segment-report");
  EXPECT_EQ((*ledger)[0].epsilon_micros, 500'000);
  EXPECT_EQ((*ledger)[0].actor, "api:analyst");

  // The default budget (1) cannot pay for 0.6 more: refused, nothing recorded, no numbers.
  HttpResponse refused = Get("/v1/reports/rfm?dp_epsilon=0.6");
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_THAT(refused.body, HasSubstr("budget"));
  EXPECT_THAT(refused.body, Not(HasSubstr("groups")));
  EXPECT_EQ(*store_->Get<store::DpBudgetRepository>().Spent("customers"), 500'000);
  // The RFM report: the eight layers, public groups, released even when empty.
  HttpResponse rfm = Get("/v1/reports/rfm?dp_epsilon=0.5&min_count=0");
  ASSERT_EQ(rfm.status, 200) << rfm.body;
  EXPECT_EQ(json::parse(rfm.body)["groups"].size(), 8u);
  EXPECT_EQ(Get("/v1/reports/segments?dp_epsilon=abc").status, 400);
  EXPECT_EQ(Get("/v1/reports/segments", Role::kIngest).status, 403);
}

}  // namespace
}  // namespace touchpoint::server
