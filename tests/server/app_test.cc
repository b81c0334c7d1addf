// Integration tests: the real App on an ephemeral loopback port, spoken to over HTTP.
#include <touchpoint/server/app.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include <touchpoint/privacy/keys.h>
#include <touchpoint/store/api_key_repository.h>

#include "testing/data_dir.h"

#include "server/test_util.h"
#include "testing/http_client.h"
#include "testing/matchers.h"
#include "testing/message_ids.h"

namespace touchpoint::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::touchpoint::privacy::KeyPrefix;
using ::touchpoint::privacy::Role;
using ::touchpoint::testing::HttpClient;
using ::touchpoint::testing::HttpResponse;
using ::touchpoint::testing::RawConnection;
using ::touchpoint::testing::StatusIs;
using json = nlohmann::json;
using namespace std::chrono_literals;

// Payloads from Segment's HTTP Tracking API documentation.
constexpr const char* kIdentify = R"({
  "userId": "019mr8mf4r",
  "traits": {"email": "pgibbons@example.com", "name": "Peter Gibbons", "industry": "Technology"},
  "context": {"ip": "24.5.68.47"},
  "timestamp": "2012-12-02T00:30:08.276Z"
})";
constexpr const char* kTrack = R"({
  "userId": "019mr8mf4r",
  "event": "Item Purchased",
  "properties": {"name": "Leap to Conclusions Mat", "revenue": 14.99},
  "context": {"ip": "24.5.68.47"},
  "timestamp": "2012-12-02T00:30:12.984Z"
})";
constexpr const char* kPage = R"({
  "userId": "019mr8mf4r",
  "name": "Tracking HTTP API",
  "timestamp": "2012-12-02T00:31:29.738Z"
})";
constexpr const char* kAlias = R"({
  "previousId": "39239-239239-239239-23923",
  "userId": "019mr8mf4r",
  "timestamp": "2012-12-02T00:30:08.276Z"
})";
constexpr const char* kBatch = R"({
  "batch": [
    {"type": "identify", "userId": "019mr8mf4r",
     "traits": {"email": "jake@yahoo.com", "name": "Jake Peterson", "age": 26},
     "timestamp": "2012-12-02T00:30:08.276Z"},
    {"type": "track", "userId": "019mr8mf4r", "event": "Song Played",
     "properties": {"name": "Fallin for You", "artist": "Dierks Bentley"},
     "timestamp": "2012-12-02T00:30:12.984Z"}
  ],
  "context": {"device": {"type": "phone", "name": "Apple iPhone 6"}}
})";

json Parse(const HttpResponse& r) {
  json j = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  return j;
}

// An error body must be {"error":{"code":"…","message":"…"}}.
void ExpectJsonError(const Result<HttpResponse>& r, int status, const std::string& code) {
  ASSERT_OK(r);
  EXPECT_EQ(r->status, status) << r->body;
  json j = Parse(*r);
  ASSERT_TRUE(j.is_object()) << r->body;
  ASSERT_TRUE(j.contains("error")) << r->body;
  EXPECT_EQ(j["error"]["code"], code) << r->body;
  EXPECT_TRUE(j["error"]["message"].is_string()) << r->body;
  const std::string* ct = r->Header("content-type");
  ASSERT_NE(ct, nullptr);
  EXPECT_THAT(*ct, HasSubstr("application/json"));
}

class AppTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::MakeTempDir("app");
    // SQLite, or PostgreSQL (testing/pg.h)
    config_ = test::TestConfig(dir_.string(), testing::StoreUrlForDir(dir_.string()));
    ingest_key_ = test::MakeKey(config_.data_dir, Role::kIngest);
    admin_key_ = test::MakeKey(config_.data_dir, Role::kAdmin);
    agent_key_ = test::MakeKey(config_.data_dir, Role::kAgent);
    analyst_key_ = test::MakeKey(config_.data_dir, Role::kAnalyst);
    ASSERT_FALSE(admin_key_.empty());
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
    return client_->Post(path, body, "application/json", test::BasicAuth(key));
  }
  Result<HttpResponse> Get(const std::string& path, const std::string& key) {
    return client_->Get(path, test::BearerAuth(key));
  }

  std::filesystem::path dir_;
  ServerConfig config_;
  std::string ingest_key_, admin_key_, agent_key_, analyst_key_;
  std::unique_ptr<App> app_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(AppTest, SegmentDocumentationPayloadsAreAcceptedAndVisible) {
  StartApp();
  const std::pair<const char*, const char*> calls[] = {
      {"/v1/identify", kIdentify}, {"/v1/track", kTrack}, {"/v1/page", kPage},
      {"/v1/alias", kAlias},       {"/v1/batch", kBatch},
  };
  for (const auto& [path, body] : calls) {
    auto r = Post(path, body, ingest_key_);
    ASSERT_OK(r);
    EXPECT_EQ(r->status, 200) << path << ": " << r->body;
    EXPECT_EQ(Parse(*r), json::parse(R"({"success":true})")) << path;
  }
  // Visible at once (a 200 means durable and applied).
  auto c = Get("/v1/customers/user:019mr8mf4r?reveal=email&reason=checking+the+import", admin_key_);
  ASSERT_OK(c);
  ASSERT_EQ(c->status, 200) << c->body;
  json j = Parse(*c);
  ASSERT_TRUE(j.is_object()) << c->body;
  EXPECT_THAT(c->body, HasSubstr("pgibbons@example.com"));
  // alias joined the anonymous/previous id into the same customer
  auto by_id = Get("/v1/customers/" + std::to_string(j["id"].get<std::int64_t>()), admin_key_);
  ASSERT_OK(by_id);
  EXPECT_EQ(by_id->status, 200);
  EXPECT_EQ(Parse(*by_id)["id"], j["id"]);
  // e-mail (normalised as at ingest, URL-encoded in the path)
  auto by_email = Get("/v1/customers/email:PGibbons%40Example.com", admin_key_);
  ASSERT_OK(by_email);
  EXPECT_EQ(by_email->status, 200) << by_email->body;
  EXPECT_EQ(Parse(*by_email)["id"], j["id"]);

  auto stats = Get("/v1/stats", analyst_key_);
  ASSERT_OK(stats);
  ASSERT_EQ(stats->status, 200) << stats->body;
  json s = Parse(*stats);
  for (const char* field : {"events", "customers", "identifiers", "messages", "surveys"}) {
    EXPECT_TRUE(s.contains(field)) << field;
  }
  EXPECT_EQ(s["events"], 6);
  EXPECT_GE(s["customers"].get<int>(), 1);
}

TEST_F(AppTest, PersonalDataIsMaskedForEveryRoleUntilARevealRoleAsksWithAReason) {
  StartApp();
  ASSERT_EQ(Post("/v1/identify", kIdentify, admin_key_)->status, 200);
  const std::string path = "/v1/customers/user:019mr8mf4r";
  for (const std::string* key : {&admin_key_, &agent_key_, &analyst_key_}) {
    auto r = Get(path, *key);
    ASSERT_OK(r);
    ASSERT_EQ(r->status, 200) << r->body;
    EXPECT_THAT(r->body, Not(HasSubstr("pgibbons@example.com")));
    EXPECT_THAT(r->body, HasSubstr("p***@example.com"));
  }
  // An admin names the field and says why: that field in clear, the others still masked.
  auto revealed = Get(path + "?reveal=email&reason=customer+asked+for+a+callback", admin_key_);
  ASSERT_OK(revealed);
  ASSERT_EQ(revealed->status, 200) << revealed->body;
  EXPECT_THAT(revealed->body, HasSubstr("pgibbons@example.com"));
  EXPECT_EQ(Parse(*revealed)["id"], Parse(*Get(path, agent_key_))["id"]);
  // No reason: 400. A role outside [privacy] reveal_roles: 403. A field that is never masked: 400.
  auto no_reason = Get(path + "?reveal=email", admin_key_);
  EXPECT_EQ(no_reason->status, 400) << no_reason->body;
  EXPECT_THAT(no_reason->body, HasSubstr("reason"));
  auto agent = Get(path + "?reveal=email&reason=curious", agent_key_);
  EXPECT_EQ(agent->status, 403) << agent->body;
  EXPECT_THAT(agent->body, Not(HasSubstr("pgibbons")));
  EXPECT_EQ(Get(path + "?reveal=plan&reason=x", admin_key_)->status, 400);

  // The reveal is in the audit log, with the fields and the reason (its own personal data masked);
  // the refused ones are not.
  ASSERT_EQ(Get(path + "?reveal=phone,email&reason=called+back+13812345678", admin_key_)->status, 200);
  auto audit = Get("/v1/audit?action=pii.reveal", admin_key_);
  ASSERT_OK(audit);
  ASSERT_EQ(audit->status, 200) << audit->body;
  const json entries = Parse(*audit)["entries"];
  ASSERT_EQ(entries.size(), 2u) << audit->body;
  const json newest = entries[0];
  EXPECT_EQ(newest["target"], "customer:" + Parse(*revealed)["id"].dump());
  EXPECT_THAT(newest["actor"].get<std::string>(), HasSubstr("key:"));
  const json details = newest["details"].is_string() ? json::parse(newest["details"].get<std::string>()) : newest["details"];
  EXPECT_EQ(details["fields"], json::array({"email", "phone"}));
  EXPECT_EQ(details["reason"], "called back 138****5678");
  EXPECT_THAT(audit->body, Not(HasSubstr("13812345678")));
}

TEST_F(AppTest, PartlyBadBatchIsAcceptedItemByItem) {
  StartApp();
  const std::string body = R"({"batch":[
    {"type":"track","userId":"u-1","event":"Signed Up","messageId":"m-good-1"},
    {"type":"track","event":"No Identity","messageId":"m-bad-1"},
    {"type":"teleport","userId":"u-2","messageId":"m-bad-2"},
    {"type":"identify","userId":"u-2","traits":{"plan":"pro"},"messageId":"m-good-2"},
    42
  ]})";
  auto r = Post("/v1/batch", body, ingest_key_);
  ASSERT_OK(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json j = Parse(*r);
  EXPECT_EQ(j["success"], true);
  ASSERT_TRUE(j["rejected"].is_array()) << r->body;
  ASSERT_EQ(j["rejected"].size(), 3u) << r->body;
  EXPECT_EQ(j["rejected"][0]["index"], 1);
  EXPECT_EQ(j["rejected"][0]["messageId"], "m-bad-1");
  EXPECT_EQ(j["rejected"][1]["index"], 2);
  EXPECT_EQ(j["rejected"][1]["messageId"], "m-bad-2");
  EXPECT_EQ(j["rejected"][2]["index"], 4);
  for (const auto& rej : j["rejected"]) {
    EXPECT_FALSE(rej["reason"].get<std::string>().empty());
  }
  EXPECT_EQ(Get("/v1/customers/user:u-1", admin_key_)->status, 200);
  EXPECT_EQ(Get("/v1/customers/user:u-2", admin_key_)->status, 200);
  auto stats = Parse(*Get("/v1/stats", admin_key_));
  EXPECT_EQ(stats["events"], 2);

  // Sending the same batch again stores nothing twice.
  ASSERT_EQ(Post("/v1/batch", body, ingest_key_)->status, 200);
  EXPECT_EQ(Parse(*Get("/v1/stats", admin_key_))["events"], 2);
}

TEST_F(AppTest, MalformedBodiesAre400) {
  StartApp();
  ExpectJsonError(Post("/v1/track", "{\"userId\":", ingest_key_), 400, "invalid_message");
  ExpectJsonError(Post("/v1/track", "[]", ingest_key_), 400, "invalid_message");
  ExpectJsonError(Post("/v1/track", R"({"userId":"u","event":"x","timestamp":"yesterday"})", ingest_key_), 400,
                  "invalid_message");
  ExpectJsonError(Post("/v1/batch", R"({"items":[]})", ingest_key_), 400, "invalid_batch");
  ExpectJsonError(Post("/v1/batch", "not json", ingest_key_), 400, "invalid_batch");
  ExpectJsonError(client_->Post("/v1/track", kTrack, "text/csv", test::BasicAuth(ingest_key_)), 415,
                  "unsupported_media_type");
  ExpectJsonError(Get("/v1/customers/planet:earth", admin_key_), 400, "invalid_request");
  ExpectJsonError(Get("/v1/customers/user:nobody", admin_key_), 404, "not_found");
  ExpectJsonError(Get("/v1/customers/999999", admin_key_), 404, "not_found");
  ExpectJsonError(Get("/v1/nothing", admin_key_), 404, "not_found");
  ExpectJsonError(Get("/v1/track", ingest_key_), 405, "method_not_allowed");
}

// The identifier is the decoded rest of the path: a space in a phone number, a '/' in an
// external id.
TEST_F(AppTest, CustomerIdentifiersArePercentDecoded) {
  StartApp();
  const char* identify = R"({"userId":"u-dec","traits":{"phone":"138 1234 5678","external_id":"crm/42"}})";
  ASSERT_EQ(Post("/v1/identify", identify, ingest_key_)->status, 200);
  auto by_user = Get("/v1/customers/user:u-dec", admin_key_);
  ASSERT_OK(by_user);
  ASSERT_EQ(by_user->status, 200) << by_user->body;
  for (const char* path : {"/v1/customers/phone:138%201234%205678", "/v1/customers/external:crm%2F42"}) {
    auto r = Get(path, admin_key_);
    ASSERT_OK(r);
    EXPECT_EQ(r->status, 200) << path << ": " << r->body;
    EXPECT_EQ(Parse(*r)["id"], Parse(*by_user)["id"]) << path;
  }
}

TEST_F(AppTest, WrongMethodNamesTheAllowedOnes) {
  StartApp();
  auto track = Get("/v1/track", ingest_key_);
  ExpectJsonError(track, 405, "method_not_allowed");
  ASSERT_NE(track->Header("allow"), nullptr);
  EXPECT_EQ(*track->Header("allow"), "POST");
  auto health = client_->Post("/healthz", "{}", "application/json");
  ExpectJsonError(health, 405, "method_not_allowed");
  ASSERT_NE(health->Header("allow"), nullptr);
  EXPECT_EQ(*health->Header("allow"), "GET, HEAD");
  auto customers = Post("/v1/customers/user:x", "{}", admin_key_);
  ExpectJsonError(customers, 405, "method_not_allowed");
}

TEST_F(AppTest, SizeLimitsAreSegments) {
  StartApp();
  const std::string padding(33 * 1024, 'x');
  const std::string big_message =
      R"({"userId":"u-big","event":"Big","properties":{"pad":")" + padding + R"("}})";
  ExpectJsonError(Post("/v1/track", big_message, ingest_key_), 413, "payload_too_large");

  // A batch within 500 KB whose one item is over 32 KB: only that item is rejected.
  const std::string batch = R"({"batch":[{"type":"track","userId":"u-small","event":"Ok","messageId":"s1"},)" +
                            std::string(R"({"type":"track","userId":"u-big","event":"Big","messageId":"b1",)") +
                            R"("properties":{"pad":")" + padding + R"("}}]})";
  auto r = Post("/v1/batch", batch, ingest_key_);
  ASSERT_OK(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json j = Parse(*r);
  ASSERT_EQ(j["rejected"].size(), 1u);
  EXPECT_EQ(j["rejected"][0]["messageId"], "b1");
  EXPECT_THAT(j["rejected"][0]["reason"].get<std::string>(), HasSubstr("32768"));

  // A batch over 500 KB.
  std::string huge = R"({"batch":[)";
  for (int i = 0; i < 20; ++i) {
    if (i) huge += ",";
    huge += R"({"type":"track","userId":"u","event":"e","properties":{"pad":")" + std::string(30 * 1024, 'y') +
            R"("}})";
  }
  huge += "]}";
  ASSERT_GT(huge.size(), 500u * 1024);
  HttpClient fresh(app_->port());
  ExpectJsonError(fresh.Post("/v1/batch", huge, "application/json", test::BasicAuth(ingest_key_)), 413,
                  "payload_too_large");
  EXPECT_EQ(Parse(*Get("/v1/stats", admin_key_))["events"], 1);
}

TEST_F(AppTest, AuthenticationAndRoles) {
  StartApp();
  // No key, bad key, malformed header.
  ExpectJsonError(client_->Post("/v1/track", kTrack), 401, "unauthorized");
  ExpectJsonError(Post("/v1/track", kTrack, "tp_0000000000000000000000000000000000000000"), 401, "unauthorized");
  ExpectJsonError(client_->Post("/v1/track", kTrack, "application/json", {{"Authorization", "Token abc"}}), 401,
                  "unauthorized");
  ExpectJsonError(client_->Get("/v1/stats"), 401, "unauthorized");
  ExpectJsonError(client_->Get("/v1/customers/user:x"), 401, "unauthorized");
  // Wrong role.
  ExpectJsonError(Post("/v1/track", kTrack, agent_key_), 403, "forbidden");
  ExpectJsonError(Post("/v1/batch", kBatch, analyst_key_), 403, "forbidden");
  ExpectJsonError(Get("/v1/stats", ingest_key_), 403, "forbidden");
  ExpectJsonError(Get("/v1/customers/user:019mr8mf4r", ingest_key_), 403, "forbidden");
  // Both header styles work on every route.
  EXPECT_EQ(client_->Post("/v1/track", kTrack, "application/json", test::BearerAuth(ingest_key_))->status, 200);
  EXPECT_EQ(client_->Get("/v1/stats", test::BasicAuth(analyst_key_))->status, 200);
  // Health and metrics need no key.
  EXPECT_EQ(client_->Get("/healthz")->status, 200);
  EXPECT_EQ(client_->Get("/metrics")->status, 200);
}

TEST_F(AppTest, KeysCreatedOrRevokedWhileRunningTakeEffect) {
  config_.key_cache_seconds = 1;
  StartApp();
  const std::string late = test::MakeKey(config_.data_dir, Role::kIngest);
  ASSERT_FALSE(late.empty());
  auto r = Post("/v1/track", kTrack, late);
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 200) << r->body;

  auto store = testing::OpenForKeys(config_.data_dir);
  ASSERT_OK(store);
  ASSERT_OK((*store)->Get<store::ApiKeyRepository>().Revoke(KeyPrefix(late), 1'700'000'000'000));
  int status = 200;
  const auto deadline = std::chrono::steady_clock::now() + 4s;
  while (status == 200 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
    status = Post("/v1/track", kTrack, late)->status;
  }
  EXPECT_EQ(status, 401);
}

TEST_F(AppTest, MetricsUseRouteTemplatesAndCountEvents) {
  StartApp();
  ASSERT_EQ(Post("/v1/batch", kBatch, ingest_key_)->status, 200);
  ASSERT_EQ(Post("/v1/track", "{", ingest_key_)->status, 400);
  ASSERT_EQ(Get("/v1/customers/user:019mr8mf4r", admin_key_)->status, 200);
  ASSERT_EQ(Get("/v1/customers/user:secret-person", admin_key_)->status, 404);
  auto m = client_->Get("/metrics");
  ASSERT_OK(m);
  ASSERT_EQ(m->status, 200);
  EXPECT_THAT(*m->Header("content-type"), HasSubstr("text/plain"));
  EXPECT_THAT(m->body, HasSubstr(R"(touchpoint_http_requests_total{route="/v1/customers/{id}",method="GET",status="200"} 1)"));
  EXPECT_THAT(m->body, HasSubstr(R"(touchpoint_http_requests_total{route="/v1/customers/{id}",method="GET",status="404"} 1)"));
  EXPECT_THAT(m->body, HasSubstr(R"(touchpoint_http_requests_total{route="/v1/batch",method="POST",status="200"} 1)"));
  EXPECT_THAT(m->body, HasSubstr(R"(touchpoint_http_request_duration_seconds_bucket{route="/v1/batch",le="+Inf"} 1)"));
  EXPECT_THAT(m->body, HasSubstr("touchpoint_events_accepted_total 2\n"));
  EXPECT_THAT(m->body, HasSubstr("touchpoint_events_rejected_total 1\n"));
  EXPECT_THAT(m->body, Not(HasSubstr("secret-person")));
  EXPECT_THAT(m->body, Not(HasSubstr("019mr8mf4r")));
}

TEST_F(AppTest, IdleKeepAliveConnectionsDoNotDelayOthers) {
  StartApp();
  std::vector<RawConnection> idle;
  idle.reserve(1000);
  for (int i = 0; i < 1000; ++i) {
    auto c = RawConnection::Connect(app_->port());
    ASSERT_OK(c);
    idle.push_back(std::move(c).value());
  }
  // Keep-alive: one connection serves several requests.
  auto& conn = idle.front();
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK(conn.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = conn.ReadResponse(2s);
    ASSERT_OK(r);
    EXPECT_EQ(r->status, 200);
  }
  const auto start = std::chrono::steady_clock::now();
  HttpClient other(app_->port());
  auto r = other.Post("/v1/track", kTrack, "application/json", test::BasicAuth(ingest_key_));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_LT(elapsed, 1s);
  EXPECT_FALSE(idle.back().WaitForClose(10ms));  // still open, still idle
}

TEST_F(AppTest, SecondWriterIsRefused) {
  StartApp();
  auto second = App::Start(config_);
  EXPECT_THAT(second, StatusIs(StatusCode::kUnavailable));
  if (!second.ok()) {
    EXPECT_THAT(second.status().message(), HasSubstr("touchpoint serve"));
  }
}

TEST_F(AppTest, GracefulStopKeepsEveryAcknowledgedEvent) {
  StartApp();
  std::mutex mu;
  std::vector<std::string> acked;
  std::atomic<bool> go{true};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      HttpClient c(app_->port());
      for (int n = 0; go && n < 10'000; ++n) {
        const std::string id = "g-" + std::to_string(t) + "-" + std::to_string(n);
        auto r = c.Post("/v1/track", R"({"userId":"u-)" + std::to_string(n % 50) +
                                         R"(","event":"E","messageId":")" + id + "\"}",
                        "application/json", test::BasicAuth(ingest_key_));
        if (!r.ok()) break;
        if (r->status == 200) {
          std::scoped_lock lock(mu);
          acked.push_back(id);
        }
      }
    });
  }
  std::this_thread::sleep_for(300ms);
  app_->Stop();
  go = false;
  for (auto& th : threads) th.join();
  app_.reset();
  ASSERT_FALSE(acked.empty());
  auto store = testing::OpenReadOnly(config_.data_dir);
  ASSERT_OK(store);
  auto counts = ::touchpoint::testing::MessageIdCounts(**store);
  ASSERT_OK(counts);
  for (const auto& id : acked) ASSERT_EQ(::touchpoint::testing::CountOf(*counts, id), 1) << id;
}

}  // namespace
}  // namespace touchpoint::server
