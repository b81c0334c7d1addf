// Several nodes on one database (server/node.h), in one process over a shared memory store: a
// writer App and a follower App on loopback ports, and whole Nodes running the election loop.
// Waits are on conditions, with timeouts far above what the behaviour needs (upper bounds only).
#include <touchpoint/server/node.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <touchpoint/privacy/keys.h>
#include <touchpoint/server/app.h>
#include <touchpoint/store/api_key_repository.h>
#include <touchpoint/store/cluster.h>
#include <touchpoint/store/event_log.h>
#include <touchpoint/store/memory.h>
#include <touchpoint/store/open.h>
#include <touchpoint/store/profile_repository.h>

#include "server/forward_internal.h"
#include "server/role_keys.h"
#include "server/test_util.h"
#include "testing/http_client.h"
#include "testing/matchers.h"
#include "testing/pg.h"

namespace touchpoint::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::touchpoint::privacy::Role;
using ::touchpoint::testing::HttpClient;
using ::touchpoint::testing::HttpResponse;
using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kSecret = "test-cluster-secret-0123456789abcdef";

std::string Batch(const std::string& user, const std::string& email, int first, int n) {
  std::string out = R"({"batch":[)";
  out += R"({"type":"identify","userId":")" + user + R"(","traits":{"email":")" + email +
         R"("},"messageId":")" + user + "-id-" + std::to_string(first) +
         R"(","timestamp":"2024-06-01T10:00:00Z"})";
  for (int i = first; i < first + n; ++i) {
    out += R"(,{"type":"track","userId":")" + user + R"(","event":"Order Completed","messageId":")" + user +
           "-" + std::to_string(i) + R"(","timestamp":"2024-06-01T10:00:01Z","properties":{"order_id":"o-)" +
           std::to_string(i) + R"(","total":10}})";
  }
  return out + "]}";
}

// Polls `done` until it holds or `timeout` passes.
bool Eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override { Init(Backend()); }
  virtual std::string Backend() const { return "memory"; }

  // A fresh shared database: a named memory store, or a PostgreSQL database of the test server
  // (skips without one).
  void Init(const std::string& backend) {
    backend_ = backend;
    if (backend == "postgres") {
      auto db = testing::PgDatabase::Create();
      if (!db.ok()) GTEST_SKIP() << db.status().message();
      pg_ = std::move(*db);
      url_ = pg_->url();
    } else {
      std::random_device rd;
      name_ = "node-test-" + std::to_string(rd());
      url_ = "memory:" + name_;
    }
    auto st = store::Open(url_, {});
    ASSERT_OK(st);
    store_ = std::move(*st);
    ASSERT_NE(store_->cluster(), nullptr);
    config_.store_url = url_;
    config_.listen = "127.0.0.1:0";
    config_.io_threads = 1;
    config_.worker_threads = 4;
    config_.log_level = "error";
    config_.key_cache_seconds = 0;
    config_.text_analysis = false;
    config_.jobs_schedule = "off";
    config_.cluster_secret = kSecret;
    for (Role role : {Role::kIngest, Role::kAdmin, Role::kAgent}) {
      auto created = privacy::CreateApiKey(store_->Get<store::ApiKeyRepository>(), role, 1'700'000'000'000);
      ASSERT_OK(created);
      keys_[static_cast<size_t>(role)] = created->key;
    }
  }

  // Ends the session of the writer's lease (a cut connection, a frozen process).
  void EndWriterSession() {
    if (backend_ == "memory") {
      store::memory::ExpireLeases(name_);
    } else {
      ASSERT_OK(pg_->Exec("SELECT pg_terminate_backend(l.pid, 5000) FROM pg_locks l WHERE l.locktype = 'advisory' "
                          "AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = "
                          "current_database())"));
    }
  }

  const std::string& Key(Role role) const { return keys_[static_cast<size_t>(role)]; }
  store::Cluster& cluster() { return *store_->cluster(); }
  std::int64_t Events() { return *store_->Get<store::EventLog>().Count(); }

  static std::string Address(uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

  HttpResponse Post(uint16_t port, const std::string& path, const std::string& body, Role role,
                    const testing::HttpHeaders& extra = {}) {
    HttpClient client(port);
    testing::HttpHeaders headers = test::BasicAuth(Key(role));
    headers.insert(headers.end(), extra.begin(), extra.end());
    auto r = client.Post(path, body, "application/json", headers);
    EXPECT_OK(r);
    return r.ok() ? *r : HttpResponse{};
  }
  HttpResponse Get(uint16_t port, const std::string& path, std::optional<Role> role = std::nullopt) {
    HttpClient client(port);
    auto r = client.Get(path, role ? test::BearerAuth(Key(*role)) : testing::HttpHeaders{});
    EXPECT_OK(r);
    return r.ok() ? *r : HttpResponse{};
  }
  json Health(uint16_t port) { return json::parse(Get(port, "/healthz").body, nullptr, false); }

  std::string backend_;
  std::unique_ptr<testing::PgDatabase> pg_;  // dropped after everything connected to it
  std::string name_;
  std::string url_;
  std::unique_ptr<store::Store> store_;  // the test's own connection to the shared database
  ServerConfig config_;
  std::array<std::string, 8> keys_;
};

// A writer App elected by hand and a follower App forwarding to it.
class WriterFollowerTest : public ClusterTest {
 protected:
  void SetUp() override {
    ClusterTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    Configure();
    if (HasFatalFailure()) return;
    auto lease = cluster().TryAcquire("w");
    ASSERT_OK(lease);
    ASSERT_NE(*lease, nullptr);
    lease_ = std::move(*lease);
    writer_state_ = std::make_unique<NodeState>("w", "");
    auto writer =
        App::Start(config_, AppRole{NodeRole::kWriter, lease_->epoch(), writer_state_.get(), kSecret});
    ASSERT_OK(writer);
    writer_ = std::move(*writer);
    writer_state_->SetAddress(Address(writer_->port()));
    writer_state_->SetRole(NodeRole::kWriter, lease_->epoch());
    writer_state_->SetWriter(Address(writer_->port()));
    follower_state_ = std::make_unique<NodeState>("f", "");
    follower_state_->SetRole(NodeRole::kFollower, 0);
    follower_state_->SetWriter(Address(writer_->port()));
    StartFollower(kSecret);
  }
  void StartFollower(const std::string& secret) {
    follower_.reset();
    auto follower = App::Start(config_, AppRole{NodeRole::kFollower, 0, follower_state_.get(), secret});
    ASSERT_OK(follower);
    follower_ = std::move(*follower);
    follower_state_->SetAddress(Address(follower_->port()));
  }
  void TearDown() override {
    follower_.reset();
    writer_.reset();
  }
  // Changes config_ before the nodes start.
  virtual void Configure() {}

  std::unique_ptr<store::WriterLease> lease_;
  std::unique_ptr<NodeState> writer_state_, follower_state_;
  std::unique_ptr<App> writer_, follower_;
};

TEST_F(WriterFollowerTest, ABatchSentToTheFollowerIsDurableWhenItsOkArrives) {
  const std::int64_t before = Events();
  HttpResponse r = Post(follower_->port(), "/v1/batch", Batch("u-1", "one@example.com", 0, 5), Role::kIngest);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"success":true})"));
  // The 200 was sent after the writer committed: the events are in the database already.
  EXPECT_EQ(Events(), before + 6);
  EXPECT_EQ(cluster().Committed()->seq, before + 6);
  // The writer writes profiles with every commit: a reader of the database has nothing to replay.
  EXPECT_EQ(*store_->Get<store::ProfileRepository>().Checkpoint(), *store_->Get<store::EventLog>().LastSeq());
  // Counted where it was committed.
  EXPECT_THAT(writer_->MetricsText(), HasSubstr("touchpoint_events_accepted_total 6"));
}

TEST_F(WriterFollowerTest, TheFollowerReadsWhatTheWriterCommitted) {
  ASSERT_EQ(Post(follower_->port(), "/v1/batch", Batch("u-2", "two@example.com", 0, 3), Role::kIngest).status,
            200);
  HttpResponse on_follower = Get(follower_->port(), "/v1/customers/user:u-2", Role::kAdmin);
  HttpResponse on_writer = Get(writer_->port(), "/v1/customers/user:u-2", Role::kAdmin);
  ASSERT_EQ(on_follower.status, 200) << on_follower.body;
  ASSERT_EQ(on_writer.status, 200) << on_writer.body;
  json f = json::parse(on_follower.body);
  json w = json::parse(on_writer.body);
  EXPECT_EQ(f["id"], w["id"]);
  EXPECT_EQ(f["features"], w["features"]) << "the database's profile is the engine's";
  EXPECT_EQ(f["identifiers"], w["identifiers"]) << "masked alike";
  // A reveal is audited by the writer: a follower refuses it (nothing in clear), the writer answers.
  const std::string reveal = "/v1/customers/user:u-2?reveal=email&reason=test";
  HttpResponse revealed_on_follower = Get(follower_->port(), reveal, Role::kAdmin);
  EXPECT_EQ(revealed_on_follower.status, 503) << revealed_on_follower.body;
  EXPECT_THAT(revealed_on_follower.body, HasSubstr("writer"));
  EXPECT_THAT(revealed_on_follower.body, Not(HasSubstr("two@example.com")));
  HttpResponse revealed_on_writer = Get(writer_->port(), reveal, Role::kAdmin);
  ASSERT_EQ(revealed_on_writer.status, 200) << revealed_on_writer.body;
  EXPECT_THAT(revealed_on_writer.body, HasSubstr("two@example.com"));
  // Masking by role holds on the follower too, and so does the permission check.
  EXPECT_THAT(Get(follower_->port(), "/v1/customers/user:u-2", Role::kAgent).body,
              Not(HasSubstr("two@example.com")));
  EXPECT_EQ(Get(follower_->port(), "/v1/customers/user:u-2", Role::kIngest).status, 403);
  EXPECT_EQ(Get(follower_->port(), "/v1/customers/user:nobody", Role::kAdmin).status, 404);
  HttpResponse stats = Get(follower_->port(), "/v1/stats", Role::kAdmin);
  ASSERT_EQ(stats.status, 200) << stats.body;
  EXPECT_EQ(json::parse(stats.body)["events"], Events());
}

// The same writer and follower on PostgreSQL, where the follower answers customer reads from its
// warm copy (server/replica_internal.h), fed by the database's change feed.
class PgWriterFollowerTest : public WriterFollowerTest {
 protected:
  std::string Backend() const override { return "postgres"; }
};

TEST_F(PgWriterFollowerTest, TheWarmCopyAnswersAsTheWritersMemory) {
  ASSERT_EQ(Post(writer_->port(), "/v1/batch", Batch("u-a", "a@example.com", 0, 3), Role::kIngest).status, 200);
  ASSERT_EQ(Post(writer_->port(), "/v1/batch", Batch("u-b", "b@example.com", 0, 2), Role::kIngest).status, 200);
  // u-c shares u-a's e-mail: the two customers merge (the copy must follow merges too).
  ASSERT_EQ(Post(writer_->port(), "/v1/batch", Batch("u-c", "a@example.com", 10, 1), Role::kIngest).status, 200);
  for (const std::string ref : {"user:u-a", "user:u-b", "user:u-c", "email:a@example.com"}) {
    SCOPED_TRACE(ref);
    HttpResponse w = Get(writer_->port(), "/v1/customers/" + ref, Role::kAdmin);
    ASSERT_EQ(w.status, 200) << w.body;
    // The copy trails the database by one poll at most: wait for it, then it must be identical.
    EXPECT_TRUE(Eventually([&] {
      return json::parse(Get(follower_->port(), "/v1/customers/" + ref, Role::kAdmin).body, nullptr, false) ==
             json::parse(w.body);
    })) << "writer: " << w.body << "\nfollower: " << Get(follower_->port(), "/v1/customers/" + ref, Role::kAdmin).body;
  }
  EXPECT_EQ(json::parse(Get(follower_->port(), "/v1/customers/user:u-c", Role::kAdmin).body)["id"],
            json::parse(Get(follower_->port(), "/v1/customers/user:u-a", Role::kAdmin).body)["id"])
      << "merged";
  EXPECT_THAT(Get(follower_->port(), "/v1/customers/user:u-a", Role::kAgent).body, Not(HasSubstr("a@example.com")));
  EXPECT_EQ(Get(follower_->port(), "/v1/customers/user:nobody", Role::kAdmin).status, 404);
}

// With the master key (erasures sign receipts with it).
class PgErasureFollowerTest : public PgWriterFollowerTest {
 protected:
  void Configure() override {
    key_dir_ = test::MakeTempDir("node_erasure_key");
    ASSERT_OK(test::UseNewMasterKey(config_, (key_dir_ / "master.key").string()).status());
  }
  void TearDown() override {
    PgWriterFollowerTest::TearDown();
    std::error_code ec;
    std::filesystem::remove_all(key_dir_, ec);
  }
  std::filesystem::path key_dir_;
};

// The writer erases a person: the follower's warm copy forgets them (by every identifier) and
// keeps everyone else.
TEST_F(PgErasureFollowerTest, AFollowerForgetsAPersonTheWriterErased) {
  ASSERT_EQ(Post(writer_->port(), "/v1/batch", Batch("u-gone", "gone@example.com", 0, 3), Role::kIngest).status, 200);
  ASSERT_EQ(Post(writer_->port(), "/v1/batch", Batch("u-stay", "stay@example.com", 0, 2), Role::kIngest).status, 200);
  // u-twin shares u-gone's e-mail: merged into the same person, erased with them.
  ASSERT_EQ(Post(writer_->port(), "/v1/batch", Batch("u-twin", "gone@example.com", 10, 1), Role::kIngest).status, 200);
  for (const std::string ref : {"user:u-gone", "user:u-twin", "email:gone@example.com", "user:u-stay"}) {
    EXPECT_TRUE(Eventually([&] { return Get(follower_->port(), "/v1/customers/" + ref, Role::kAdmin).status == 200; }))
        << ref << " reaches the warm copy";
  }
  HttpResponse erased = Post(writer_->port(), "/v1/privacy/erasures", R"({"identifier":"user:u-gone"})", Role::kAdmin);
  ASSERT_EQ(erased.status, 200) << erased.body;
  ASSERT_EQ(json::parse(erased.body)["receipt"]["customer_ids"].size(), 2u) << erased.body;
  for (const std::string ref : {"user:u-gone", "user:u-twin", "email:gone@example.com"}) {
    EXPECT_TRUE(Eventually([&] { return Get(follower_->port(), "/v1/customers/" + ref, Role::kAdmin).status == 404; }))
        << ref << " still served by the follower: " << Get(follower_->port(), "/v1/customers/" + ref, Role::kAdmin).body;
  }
  EXPECT_EQ(Get(follower_->port(), "/v1/customers/user:u-stay", Role::kAdmin).status, 200);
  EXPECT_EQ(Get(writer_->port(), "/v1/customers/user:u-gone", Role::kAdmin).status, 404);
}

TEST_F(PgWriterFollowerTest, AFreshReadSeesAWriteAtOnce) {
  const testing::HttpHeaders fresh{{"X-Touchpoint-Consistency", "fresh"}};
  for (int i = 0; i < 5; ++i) {
    const std::string user = "u-fresh-" + std::to_string(i);
    ASSERT_EQ(Post(follower_->port(), "/v1/batch", Batch(user, user + "@example.com", 0, 1), Role::kIngest).status,
              200);
    // Right after the 200, without waiting for the warm copy: read from the primary.
    HttpClient client(follower_->port());
    testing::HttpHeaders headers = test::BearerAuth(Key(Role::kAdmin));
    headers.insert(headers.end(), fresh.begin(), fresh.end());
    auto r = client.Get("/v1/customers/user:" + user, headers);
    ASSERT_OK(r);
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_THAT(r->body, HasSubstr("\"value\":\"" + user + "\"")) << "the user id is not personal data";
    EXPECT_THAT(r->body, HasSubstr("u***@example.com")) << "the e-mail is there, masked";
    auto stats = client.Get("/v1/stats", headers);
    ASSERT_OK(stats);
    EXPECT_EQ(json::parse(stats->body)["events"], Events());
  }
}

TEST_F(WriterFollowerTest, RoutesThatNeedTheEngineAreForwarded) {
  ASSERT_EQ(
      Post(follower_->port(), "/v1/batch", Batch("u-3", "three@example.com", 0, 2), Role::kIngest).status,
      200);
  HttpClient client(follower_->port());
  auto put = client.Send("PUT", "/v1/segments/buyers", R"({"rule":"orders_365d >= 1"})", "application/json",
                         test::BearerAuth(Key(Role::kAdmin)));
  ASSERT_OK(put);
  EXPECT_EQ(put->status, 201) << put->body;
  HttpResponse listed = Get(writer_->port(), "/v1/segments", Role::kAdmin);
  EXPECT_THAT(listed.body, HasSubstr("\"buyers\"")) << "defined on the writer";
  HttpResponse jobs = Get(follower_->port(), "/v1/jobs", Role::kAdmin);
  EXPECT_EQ(jobs.status, 200) << jobs.body;
  // Refused here, before anything is forwarded.
  EXPECT_EQ(Post(follower_->port(), "/v1/batch", "{}", Role::kAgent).status, 403);
  HttpClient anonymous(follower_->port());
  EXPECT_EQ(anonymous.Post("/v1/track", "{}", "application/json")->status, 401);
}

TEST_F(WriterFollowerTest, HealthAndMetricsSayTheRole) {
  json f = Health(follower_->port());
  EXPECT_EQ(f["status"], "ok");
  EXPECT_EQ(f["role"], "follower");
  EXPECT_EQ(f["node_id"], "f");
  EXPECT_EQ(f["writer"], Address(writer_->port()));
  EXPECT_EQ(f["epoch"], 0);
  json w = Health(writer_->port());
  EXPECT_EQ(w["role"], "writer");
  EXPECT_EQ(w["epoch"], lease_->epoch());
  const std::string metrics = Get(follower_->port(), "/metrics").body;
  EXPECT_THAT(metrics, HasSubstr("touchpoint_node_role{role=\"follower\"} 1"));
  EXPECT_THAT(metrics, HasSubstr("touchpoint_replication_lag_seconds "));
  EXPECT_THAT(metrics, HasSubstr("touchpoint_store_events "));
  EXPECT_THAT(Get(writer_->port(), "/metrics").body, HasSubstr("touchpoint_node_role{role=\"writer\"} 1"));
}

TEST_F(WriterFollowerTest, NoReachableWriterIs503WithRetryAfter) {
  follower_state_->SetWriter("");
  HttpResponse none = Post(follower_->port(), "/v1/track", R"({"userId":"u","event":"E"})", Role::kIngest);
  EXPECT_EQ(none.status, 503) << none.body;
  ASSERT_NE(none.Header("retry-after"), nullptr);
  EXPECT_EQ(*none.Header("retry-after"), "1");
  // A registered writer that does not answer: its port is closed.
  const std::string gone = Address(writer_->port());
  writer_.reset();
  follower_state_->SetWriter(gone);
  HttpResponse unreachable =
      Post(follower_->port(), "/v1/batch", Batch("u-4", "x@example.com", 0, 1), Role::kIngest);
  EXPECT_EQ(unreachable.status, 503) << unreachable.body;
  ASSERT_NE(unreachable.Header("retry-after"), nullptr);
  // Reads do not need the writer.
  EXPECT_EQ(Get(follower_->port(), "/healthz").status, 200);
  EXPECT_EQ(Get(follower_->port(), "/v1/stats", Role::kAdmin).status, 200);
}

// A writer that accepts connections and never answers (SIGSTOP, a long pause) must not hold up
// the follower's stop — which is also how a follower makes way for its own promotion.
TEST_F(WriterFollowerTest, StoppingAFollowerAbortsRequestsWaitingOnAFrozenWriter) {
  const int frozen = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(frozen, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(frozen, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(frozen, 16), 0);  // the kernel completes connections; nobody reads them
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(frozen, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  follower_state_->SetWriter(Address(ntohs(addr.sin_port)));

  std::atomic<int> status{0};
  std::thread client([&] {
    status = Post(follower_->port(), "/v1/track", R"({"userId":"u","event":"E"})", Role::kIngest).status;
  });
  // The forwarded request arrives at the frozen writer, which never answers; then the follower stops.
  const int conn = ::accept(frozen, nullptr, nullptr);
  ASSERT_GE(conn, 0);
  char buf[256];
  ASSERT_GT(::recv(conn, buf, sizeof buf, 0), 0) << "the follower forwarded the request";
  std::thread stopper([&] { follower_->Stop(); });
  // config_.read_timeout_seconds (30 s) would pass before an unaborted forward gave up.
  EXPECT_TRUE(Eventually([&] { return status.load() != 0; }, 10s));
  stopper.join();
  client.join();
  EXPECT_EQ(status.load(), 503);
  ::close(conn);
  ::close(frozen);
}

TEST_F(WriterFollowerTest, TheWriterTrustsAForwardedRoleOnlyWithTheClusterSecret) {
  const std::string track = R"({"userId":"u-5","event":"E","messageId":"m-5"})";
  HttpClient direct(writer_->port());
  // A role header without the secret means nothing: no key, 401.
  auto no_secret = direct.Post("/v1/track", track, "application/json", {{"X-Touchpoint-Role", "admin"}});
  ASSERT_OK(no_secret);
  EXPECT_EQ(no_secret->status, 401);
  auto wrong = direct.Post(
      "/v1/track", track, "application/json",
      {{"X-Touchpoint-Cluster-Secret", "not-the-secret-0123456789"}, {"X-Touchpoint-Role", "admin"}});
  ASSERT_OK(wrong);
  EXPECT_EQ(wrong->status, 401) << wrong->body;
  auto no_role =
      direct.Post("/v1/track", track, "application/json", {{"X-Touchpoint-Cluster-Secret", kSecret}});
  ASSERT_OK(no_role);
  EXPECT_EQ(no_role->status, 401);
  EXPECT_EQ(Events(), 0) << "nothing was stored";
  // The forwarded role is checked like a key's: an agent may not track.
  auto agent = direct.Post("/v1/track", track, "application/json",
                           {{"X-Touchpoint-Cluster-Secret", kSecret}, {"X-Touchpoint-Role", "agent"}});
  ASSERT_OK(agent);
  EXPECT_EQ(agent->status, 403);
  auto ingest = direct.Post("/v1/track", track, "application/json",
                            {{"X-Touchpoint-Cluster-Secret", kSecret}, {"X-Touchpoint-Role", "ingest"}});
  ASSERT_OK(ingest);
  EXPECT_EQ(ingest->status, 200) << ingest->body;

  // A follower configured with another secret gets the writer's 401 back.
  StartFollower("another-cluster-secret-0123456789");
  EXPECT_EQ(Post(follower_->port(), "/v1/track", track, Role::kIngest).status, 401);
  // A request that another node forwarded is never forwarded again.
  StartFollower(kSecret);
  HttpClient to_follower(follower_->port());
  auto twice = to_follower.Post("/v1/track", track, "application/json",
                                {{"X-Touchpoint-Cluster-Secret", kSecret}, {"X-Touchpoint-Role", "ingest"}});
  ASSERT_OK(twice);
  EXPECT_EQ(twice->status, 503);
}

TEST_F(WriterFollowerTest, AFencedWriterCommitsNothingAndReportsIt) {
  ASSERT_EQ(Post(writer_->port(), "/v1/batch", Batch("u-6", "six@example.com", 0, 2), Role::kIngest).status,
            200);
  const std::int64_t stored = Events();
  std::mutex mu;
  Status reported;
  writer_state_->OnWriteFailure([&](const Status& s) {
    std::scoped_lock lock(mu);
    reported = s;
  });
  // The writer's lease session ends and another node is elected.
  store::memory::ExpireLeases(name_);
  auto next = cluster().TryAcquire("next");
  ASSERT_OK(next);
  ASSERT_NE(*next, nullptr);
  EXPECT_EQ((*next)->epoch(), lease_->epoch() + 1);
  HttpResponse r = Post(writer_->port(), "/v1/batch", Batch("u-6", "six@example.com", 10, 2), Role::kIngest);
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(Events(), stored) << "the fenced store committed nothing";
  {
    std::scoped_lock lock(mu);
    EXPECT_THAT(reported.message(), HasSubstr("fenced"));
  }
  EXPECT_FALSE(lease_->Check().ok());
}

TEST(ForwardTest, PathsAreEncodedSoThatTheWriterDecodesWhatTheFollowerMatched) {
  const std::pair<const char*, const char*> cases[] = {
      {"/v1/batch", "/v1/batch"},
      {"/v1/customers/email:a@example.com", "/v1/customers/email:a@example.com"},
      {"/v1/customers/phone:138 1234 5678", "/v1/customers/phone:138%201234%205678"},
      {"/v1/customers/external:crm/42", "/v1/customers/external:crm/42"},  // {id...}: '/' is part of it
      {"/v1/segments/a?b#c%d+e", "/v1/segments/a%3Fb%23c%25d%2Be"},
      {"/v1/customers/user:张三", "/v1/customers/user:%E5%BC%A0%E4%B8%89"},
  };
  for (const auto& [decoded, encoded] : cases) EXPECT_EQ(EncodePath(decoded), encoded) << decoded;
  EXPECT_TRUE(SecretsEqual("same-secret", "same-secret"));
  EXPECT_FALSE(SecretsEqual("same-secret", "same-secreT"));
  EXPECT_FALSE(SecretsEqual("same-secret", "same-secret-longer"));
  EXPECT_FALSE(SecretsEqual("", "x"));
}

// ---- whole nodes: the election loop ----

class NodeTest : public ClusterTest {
 protected:
  NodeOptions Fast(std::chrono::milliseconds step_down_backoff = 3s) {
    NodeOptions o;
    o.tick = 100ms;
    o.step_down_backoff = step_down_backoff;
    return o;
  }
  std::unique_ptr<Node> StartNode(const std::string& id, NodeOptions options) {
    ServerConfig c = config_;
    c.node_id = id;
    auto node = Node::Start(c, options);
    EXPECT_OK(node);
    return node.ok() ? std::move(*node) : nullptr;
  }
  // True once `node` forwards to `writer` (it refreshes the writer's address every tick).
  bool KnowsWriter(const Node& node, const Node& writer) {
    return Eventually([&] { return node.state().writer_address == Address(writer.port()); });
  }
};

TEST_F(NodeTest, AMemoryStoreWithoutASecretServesAsASingleNode) {
  config_.cluster_secret.clear();
  auto node = StartNode("solo", Fast());
  ASSERT_NE(node, nullptr);
  EXPECT_EQ(node->role(), NodeRole::kSingle);
  EXPECT_EQ(Health(node->port())["role"], "single");
  EXPECT_EQ(Post(node->port(), "/v1/batch", Batch("u-7", "s@example.com", 0, 1), Role::kIngest).status, 200);
}

// The same on every backend with several nodes: memory:NAME and PostgreSQL.
class NodeFailoverTest : public NodeTest, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override { Init(GetParam()); }
};

TEST_P(NodeFailoverTest, OneNodeWritesTheOtherFollowsAndTakesOverWhenTheLeaseIsLost) {
  auto a = StartNode("a", Fast(/*step_down_backoff=*/3s));
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(a->WaitForRole(NodeRole::kWriter, 10s)) << "alone: elected at its first tick";
  const std::int64_t first_epoch = a->epoch();
  EXPECT_GT(first_epoch, 0);
  auto b = StartNode("b", Fast());
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->role(), NodeRole::kFollower);
  ASSERT_TRUE(KnowsWriter(*b, *a));
  ASSERT_EQ(Post(b->port(), "/v1/batch", Batch("u-8", "eight@example.com", 0, 3), Role::kIngest).status, 200);
  EXPECT_EQ(Events(), 4);

  // a's lease session ends (a cut connection, a long pause): a steps down, b is elected.
  EndWriterSession();
  ASSERT_TRUE(b->WaitForRole(NodeRole::kWriter, 10s));
  EXPECT_EQ(b->epoch(), first_epoch + 1);
  ASSERT_TRUE(a->WaitForRole(NodeRole::kFollower, 10s)) << "the old writer rejoins as a follower";
  EXPECT_EQ(*cluster().CurrentEpoch(), first_epoch + 1);

  // The new writer loaded what the old one committed, and the old writer now forwards to it.
  HttpResponse seen = Get(b->port(), "/v1/customers/user:u-8?reveal=email&reason=test", Role::kAdmin);
  ASSERT_EQ(seen.status, 200) << seen.body;
  EXPECT_THAT(seen.body, HasSubstr("eight@example.com"));
  ASSERT_TRUE(KnowsWriter(*a, *b));
  HttpResponse via_a = Post(a->port(), "/v1/batch", Batch("u-8", "eight@example.com", 3, 2), Role::kIngest);
  EXPECT_EQ(via_a.status, 200) << via_a.body;
  EXPECT_EQ(Events(), 7);
  EXPECT_EQ(Health(a->port())["writer"], Address(b->port()));
  EXPECT_EQ(Health(b->port())["epoch"], first_epoch + 1);

  // Registry: both nodes, one writer of the current epoch.
  auto nodes = cluster().Nodes();
  ASSERT_OK(nodes);
  int writers = 0;
  for (const auto& n : *nodes) writers += n.role == "writer" && n.epoch == first_epoch + 1;
  EXPECT_EQ(writers, 1);
  EXPECT_EQ(nodes->size(), 2u);

  // A clean stop leaves the registry and frees the lease: a takes over.
  b->Stop();
  ASSERT_TRUE(a->WaitForRole(NodeRole::kWriter, 10s));
  EXPECT_EQ(a->epoch(), first_epoch + 2);
  nodes = cluster().Nodes();
  ASSERT_OK(nodes);
  ASSERT_EQ(nodes->size(), 1u);
  EXPECT_EQ((*nodes)[0].id, "a");
}

INSTANTIATE_TEST_SUITE_P(Backends, NodeFailoverTest, ::testing::Values("memory", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

TEST_F(NodeTest, ClusterSettingsAreCheckedAtStart) {
  config_.cluster_secret = "short";
  auto short_secret = Node::Start(config_, Fast());
  EXPECT_THAT(short_secret.status(), testing::StatusIs(StatusCode::kInvalidArgument));
  config_.cluster_secret.clear();
  config_.cluster_secret_file = "/nonexistent/secret";
  EXPECT_THAT(Node::Start(config_, Fast()).status(), testing::StatusIs(StatusCode::kInvalidArgument));
  config_.cluster_secret_file.clear();
  config_.cluster_secret = kSecret;
  config_.listen = "0.0.0.0:0";
  config_.insecure_listen = true;  // plain HTTP off loopback: allowed explicitly
  auto anywhere = Node::Start(config_, Fast());
  EXPECT_THAT(anywhere.status(), testing::StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(anywhere.status().message(), HasSubstr("advertise"));
  // A read replica is for followers of a PostgreSQL store only.
  config_.listen = "127.0.0.1:0";
  config_.store_read_url = "postgresql://tp@replica/touchpoint";
  auto replica_of_memory = Node::Start(config_, Fast());
  EXPECT_THAT(replica_of_memory.status(), testing::StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(replica_of_memory.status().message(), HasSubstr("read_url"));
}

}  // namespace
}  // namespace touchpoint::server
