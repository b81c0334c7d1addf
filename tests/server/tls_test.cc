// TLS in the server (docs/security.md, "TLS"): the API over HTTPS with a throwaway self-signed
// certificate and a client that verifies it; a follower forwarding to its writer over TLS,
// verifying the writer against the configured CA; the loopback-only default without TLS and
// --insecure-listen, through App::Start and through the real `touchpoint serve`.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <random>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <touchpoint/privacy/keys.h>
#include <touchpoint/server/app.h>
#include <touchpoint/server/config.h>
#include <touchpoint/server/node.h>
#include <touchpoint/store/api_key_repository.h>
#include <touchpoint/store/cluster.h>
#include <touchpoint/store/event_log.h>
#include <touchpoint/store/open.h>

#include "server/test_util.h"
#include "testing/http_client.h"
#include "testing/matchers.h"
#include "testing/tls_testing.h"

namespace touchpoint::server {
namespace {

using ::testing::HasSubstr;
using ::touchpoint::privacy::Role;
using ::touchpoint::testing::HttpClient;
using ::touchpoint::testing::HttpsClient;
using ::touchpoint::testing::RawConnection;
using ::touchpoint::testing::StatusIs;
using ::touchpoint::testing::WriteFileWithMode;
using json = nlohmann::json;

constexpr const char* kSecret = "test-cluster-secret-0123456789abcdef";
constexpr const char* kBatch =
    R"({"batch":[{"type":"identify","userId":"u-tls","traits":{"email":"tls@example.com"},"messageId":"tls-1",)"
    R"("timestamp":"2024-06-01T10:00:00Z"},{"type":"track","userId":"u-tls","event":"Order Completed",)"
    R"("messageId":"tls-2","timestamp":"2024-06-01T10:00:01Z","properties":{"order_id":"o-1","total":10}}]})";

class ServerTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::MakeTempDir("tls");
    const auto cert = testing::MakeSelfSignedCertificate();
    cert_file_ = WriteFileWithMode((dir_ / "cert.pem").string(), cert.cert_pem, 0644);
    key_file_ = WriteFileWithMode((dir_ / "key.pem").string(), cert.key_pem, 0600);
    std::random_device rd;
    url_ = "memory:tls-test-" + std::to_string(rd());
    auto st = store::Open(url_, {});
    ASSERT_OK(st);
    store_ = std::move(*st);
    auto created = privacy::CreateApiKey(store_->Get<store::ApiKeyRepository>(), Role::kAdmin, 1'700'000'000'000);
    ASSERT_OK(created);
    admin_ = created->key;
    config_.data_dir = dir_.string();
    config_.store_url = url_;
    config_.listen = "127.0.0.1:0";
    config_.io_threads = 1;
    config_.worker_threads = 4;
    config_.log_level = "error";
    config_.text_analysis = false;
    config_.jobs_schedule = "off";
    config_.tls_cert = cert_file_;
    config_.tls_key = key_file_;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  std::string cert_file_, key_file_;
  std::string url_;
  std::unique_ptr<store::Store> store_;
  std::string admin_;
  ServerConfig config_;
};

TEST_F(ServerTlsTest, TheApiIsServedOverHttpsOnly) {
  auto app = App::Start(config_);
  ASSERT_OK(app);
  HttpsClient client((*app)->port(), cert_file_);
  auto health = client.Get("/healthz");
  ASSERT_OK(health);
  EXPECT_EQ(health->status, 200);
  auto batch = client.Post("/v1/batch", kBatch, "application/json", test::BasicAuth(admin_));
  ASSERT_OK(batch);
  EXPECT_EQ(batch->status, 200) << batch->body;
  auto customer = client.Get("/v1/customers/user:u-tls", test::BearerAuth(admin_));
  ASSERT_OK(customer);
  EXPECT_EQ(customer->status, 200) << customer->body;
  // Plain HTTP to the same port: told to use https, no API answer.
  HttpClient plain((*app)->port());
  auto r = plain.Get("/healthz");
  if (r.ok()) {
    EXPECT_EQ(r->status, 400);
    EXPECT_THAT(r->body, HasSubstr("tls_required"));
  }
}

TEST_F(ServerTlsTest, AFollowerForwardsToItsWriterOverVerifiedTls) {
  config_.cluster_secret = kSecret;
  config_.tls_peer_ca = cert_file_;  // the nodes share the self-signed certificate: it is the CA
  auto lease = store_->cluster()->TryAcquire("w");
  ASSERT_OK(lease);
  ASSERT_NE(*lease, nullptr);
  NodeState writer_state("w", "");
  auto writer = App::Start(config_, AppRole{NodeRole::kWriter, (*lease)->epoch(), &writer_state, kSecret});
  ASSERT_OK(writer);
  const std::string writer_address = "127.0.0.1:" + std::to_string((*writer)->port());
  writer_state.SetAddress(writer_address);
  writer_state.SetRole(NodeRole::kWriter, (*lease)->epoch());
  writer_state.SetWriter(writer_address);

  NodeState follower_state("f", "");
  follower_state.SetRole(NodeRole::kFollower, 0);
  follower_state.SetWriter(writer_address);
  auto follower = App::Start(config_, AppRole{NodeRole::kFollower, 0, &follower_state, kSecret});
  ASSERT_OK(follower);
  const std::int64_t before = *store_->Get<store::EventLog>().Count();
  HttpsClient client((*follower)->port(), cert_file_);
  auto r = client.Post("/v1/batch", kBatch, "application/json", test::BasicAuth(admin_));
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(*store_->Get<store::EventLog>().Count(), before + 2) << "committed by the writer";

  // A follower that trusts another CA refuses the writer: 503, nothing forwarded.
  const auto other = testing::MakeSelfSignedCertificate();
  ServerConfig distrustful = config_;
  distrustful.tls_peer_ca = WriteFileWithMode((dir_ / "other-ca.pem").string(), other.cert_pem, 0644);
  NodeState f2_state("f2", "");
  f2_state.SetRole(NodeRole::kFollower, 0);
  f2_state.SetWriter(writer_address);
  auto f2 = App::Start(distrustful, AppRole{NodeRole::kFollower, 0, &f2_state, kSecret});
  ASSERT_OK(f2);
  HttpsClient c2((*f2)->port(), cert_file_);
  auto refused = c2.Post("/v1/batch", kBatch, "application/json", test::BasicAuth(admin_));
  ASSERT_OK(refused);
  EXPECT_EQ(refused->status, 503) << refused->body;
  EXPECT_THAT(refused->body, HasSubstr("could not be reached"));
  f2->reset();
  follower->reset();
  writer->reset();
}

TEST_F(ServerTlsTest, WithoutTlsOnlyLoopbackUnlessInsecureListen) {
  ServerConfig plain = config_;
  plain.tls_cert.clear();
  plain.tls_key.clear();
  plain.listen = "0.0.0.0:0";
  auto refused = App::Start(plain);
  EXPECT_THAT(refused.status(), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(refused.status().message(), HasSubstr("--insecure-listen"));
  plain.insecure_listen = true;
  auto allowed = App::Start(plain);
  ASSERT_OK(allowed);
  HttpClient client((*allowed)->port());
  auto r = client.Get("/healthz");
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 200);
  allowed->reset();
  // With TLS any address is fine.
  ServerConfig tls = config_;
  tls.listen = "0.0.0.0:0";
  auto with_tls = App::Start(tls);
  ASSERT_OK(with_tls);
  HttpsClient https((*with_tls)->port(), cert_file_);
  ASSERT_OK(https.Get("/healthz"));
}

// The real command line: exit code and message of `touchpoint serve` on a non-loopback address.
TEST_F(ServerTlsTest, ServeRefusesAPlainNonLoopbackListenWithExitCode2) {
  const std::string cmd = std::string(TP_TOUCHPOINT_BIN) + " serve --data " + dir_.string() +
                          " --store memory: --listen 0.0.0.0:0 2>&1";
  std::FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[512];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int status = ::pclose(p);
  ASSERT_TRUE(WIFEXITED(status)) << out;
  EXPECT_EQ(WEXITSTATUS(status), 2) << out;
  EXPECT_THAT(out, HasSubstr("loopback"));
  EXPECT_THAT(out, HasSubstr("--insecure-listen"));
}

}  // namespace
}  // namespace touchpoint::server
