#include <touchpoint/server/config.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "testing/matchers.h"

namespace touchpoint::server {
namespace {

using ::testing::HasSubstr;
using ::touchpoint::testing::StatusIs;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tp_config_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& text) {
    const std::string path = (dir_ / "touchpoint.toml").string();
    std::ofstream(path) << text;
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(ConfigTest, MissingDefaultFileKeepsDefaults) {
  ServerConfig defaults;
  defaults.data_dir = "/somewhere";
  auto c = LoadConfig((dir_ / "absent.toml").string(), defaults);
  ASSERT_OK(c);
  EXPECT_EQ(c->data_dir, "/somewhere");
  EXPECT_EQ(c->listen, "127.0.0.1:8080");
  EXPECT_EQ(c->max_message_bytes, 32u * 1024);
  EXPECT_EQ(c->max_batch_bytes, 500u * 1024);
}

TEST_F(ConfigTest, MissingExplicitFileIsAnError) {
  EXPECT_THAT(LoadConfig((dir_ / "absent.toml").string(), {}, /*must_exist=*/true),
              StatusIs(StatusCode::kNotFound));
}

TEST_F(ConfigTest, FileOverridesDefaults) {
  auto c = LoadConfig(Write("listen = \"0.0.0.0:9000\"\ninsecure_listen = true\nworker_threads = 4\n"
                            "synchronous = \"normal\"\nmax_message_bytes = 4096\ntext_analysis = false\n"
                            "log_level = \"warn\"\n"),
                      {});
  ASSERT_OK(c);
  EXPECT_EQ(c->listen, "0.0.0.0:9000");
  EXPECT_EQ(c->worker_threads, 4);
  EXPECT_EQ(c->synchronous, "normal");
  EXPECT_EQ(c->max_message_bytes, 4096u);
  EXPECT_FALSE(c->text_analysis);
  EXPECT_EQ(c->log_level, "warn");
  EXPECT_EQ(c->io_threads, 2);  // untouched default
}

TEST_F(ConfigTest, RejectsBadFilesWithAReason) {
  struct Case {
    const char* toml;
    const char* expected;  // substring of the message
  } cases[] = {
      {"listne = \"1.2.3.4:5\"\n", "unknown option 'listne'"},
      {"worker_threads = \"many\"\n", "'worker_threads' must be a non-negative integer"},
      {"listen = 8080\n", "'listen' must be a string"},
      {"text_analysis = 1\n", "'text_analysis' must be true or false"},
      {"synchronous = \"off\"\n", "synchronous must be"},
      {"listen = \"localhost\"\n", "not HOST:PORT"},
      {"listen = \"127.0.0.1:70000\"\n", "not HOST:PORT"},
      {"log_level = \"loud\"\n", "log_level"},
      {"max_batch_bytes = 100\n", "max_batch_bytes"},
      {"listen = \n", "touchpoint.toml:1"},
  };
  for (const auto& c : cases) {
    auto r = LoadConfig(Write(c.toml), {});
    ASSERT_FALSE(r.ok()) << c.toml;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.toml;
    EXPECT_THAT(r.status().message(), HasSubstr(c.expected)) << c.toml;
  }
}

TEST(ParseListenTest, SplitsHostAndPort) {
  struct Case {
    const char* text;
    bool ok;
    const char* host;
    uint16_t port;
  } cases[] = {
      {"127.0.0.1:8080", true, "127.0.0.1", 8080}, {"0.0.0.0:0", true, "0.0.0.0", 0},
      {"[::1]:9000", true, "::1", 9000},           {"localhost:80", true, "localhost", 80},
      {":8080", false, "", 0},                     {"127.0.0.1", false, "", 0},
      {"127.0.0.1:", false, "", 0},                {"127.0.0.1:80x", false, "", 0},
      {"127.0.0.1:65536", false, "", 0},
  };
  for (const auto& c : cases) {
    std::string host;
    uint16_t port = 1;
    Status s = ParseListen(c.text, &host, &port);
    EXPECT_EQ(s.ok(), c.ok) << c.text;
    if (c.ok && s.ok()) {
      EXPECT_EQ(host, c.host) << c.text;
      EXPECT_EQ(port, c.port) << c.text;
    }
  }
}

TEST_F(ConfigTest, TlsKeysAndTheServerTable) {
  auto c = LoadConfig(Write("listen = \"0.0.0.0:8443\"\ntls_cert = \"/etc/tp/cert.pem\"\n"
                            "[server]\ntls_key = \"/etc/tp/key.pem\"\ntls_redirect_port = 8080\n"
                            "tls_peer_ca = \"/etc/tp/ca.pem\"\n"),
                      {});
  ASSERT_OK(c);
  EXPECT_TRUE(TlsEnabled(*c));
  EXPECT_EQ(c->tls_cert, "/etc/tp/cert.pem");
  EXPECT_EQ(c->tls_key, "/etc/tp/key.pem");
  EXPECT_EQ(c->tls_redirect_port, 8080);
  EXPECT_EQ(c->tls_peer_ca, "/etc/tp/ca.pem");
  EXPECT_THAT(LoadConfig(Write("tls_cert = \"/c.pem\"\n"), {}).status().message(), HasSubstr("together"));
  EXPECT_THAT(LoadConfig(Write("tls_redirect_port = 8080\n"), {}).status().message(), HasSubstr("needs tls_cert"));
  EXPECT_THAT(LoadConfig(Write("[server]\nlisten = 1\n"), {}).status().message(), HasSubstr("'listen' must be a string"));
}

TEST(ValidateConfigTest, WithoutTlsOnlyLoopbackUnlessInsecureListen) {
  struct Case {
    const char* listen;
    bool tls;
    bool insecure;
    bool ok;
  } cases[] = {
      {"127.0.0.1:8080", false, false, true}, {"127.3.4.5:8080", false, false, true},
      {"[::1]:8080", false, false, true},     {"[::ffff:127.0.0.1]:8080", false, false, true},
      {"0.0.0.0:8080", false, false, false},  {"[::]:8080", false, false, false},
      {"10.0.0.5:8080", false, false, false}, {"0.0.0.0:8080", false, true, true},
      {"0.0.0.0:8443", true, false, true},    {"10.0.0.5:8443", true, false, true},
  };
  for (const auto& c : cases) {
    ServerConfig config;
    config.listen = c.listen;
    config.insecure_listen = c.insecure;
    if (c.tls) {
      config.tls_cert = "/c.pem";
      config.tls_key = "/k.pem";
    }
    const Status s = ValidateConfig(config);
    EXPECT_EQ(s.ok(), c.ok) << c.listen << " tls=" << c.tls << " insecure=" << c.insecure << ": " << s.message();
    if (!c.ok) {
      EXPECT_THAT(s.message(), HasSubstr("--insecure-listen")) << c.listen;
    }
  }
}

TEST(EngineOptionsForTest, CarriesTheMergeLimit) {
  ServerConfig c;
  c.max_customers_per_identifier = 9;
  EXPECT_EQ(EngineOptionsFor(c).max_customers_per_identifier, 9);
}

TEST_F(ConfigTest, ClusterTableNamesTheSecretFileNodeAndAdvertisedAddress) {
  auto c = LoadConfig(Write("listen = \"0.0.0.0:8080\"\ninsecure_listen = true\n[cluster]\nsecret_file = \"/etc/touchpoint/cluster.secret\"\n"
                            "node_id = \"tp-2\"\nadvertise = \"10.0.0.5:8080\"\n"),
                      {});
  ASSERT_OK(c);
  EXPECT_EQ(c->cluster_secret_file, "/etc/touchpoint/cluster.secret");
  EXPECT_EQ(c->node_id, "tp-2");
  EXPECT_EQ(c->advertise, "10.0.0.5:8080");
  EXPECT_THAT(LoadConfig(Write("[cluster]\nsecrets = \"x\"\n"), {}).status().message(),
              HasSubstr("unknown option 'cluster.secrets'"));
  EXPECT_THAT(LoadConfig(Write("[cluster]\nadvertise = \"10.0.0.5\"\n"), {}).status().message(),
              HasSubstr("cluster.advertise"));
  EXPECT_THAT(LoadConfig(Write("[cluster]\nsecret = \"0123456789abcdef\"\nsecret_file = \"/x\"\n"), {}),
              StatusIs(StatusCode::kInvalidArgument));
}

TEST_F(ConfigTest, PrivacyTableSetsRevealRolesAndMaskRules) {
  auto c = LoadConfig(Write("[privacy]\nreveal_roles = [\"admin\", \"supervisor\"]\n"
                            "[privacy.masking]\nphone = \"keep_start=3,keep_end=2\"\n"),
                      {});
  ASSERT_OK(c);
  EXPECT_EQ(c->reveal_roles, (std::vector<std::string>{"admin", "supervisor"}));
  EXPECT_EQ(c->masking.phone, (privacy::MaskRule{.keep_start = 3, .keep_end = 2, .hide = -1}));
  EXPECT_EQ(c->masking.id_number, privacy::MaskingConfig{}.id_number);  // untouched default
  EXPECT_EQ(ServerConfig{}.reveal_roles, std::vector<std::string>{"admin"});

  struct Case {
    const char* toml;
    const char* expected;
  } cases[] = {
      {"[privacy]\nreveal_roles = [\"ingest\"]\n", "cannot reveal"},
      {"[privacy]\nreveal_roles = [\"boss\"]\n", "privacy.reveal_roles"},
      {"[privacy]\nreveal_roles = \"admin\"\n", "an array of role names"},
      {"[privacy.masking]\nphone = \"keep_middle=2\"\n", "privacy.masking.phone"},
      {"[privacy.masking]\nfax = \"keep_end=2\"\n", "unknown option 'privacy.masking.fax'"},
      {"[privacy]\nreveal = true\n", "unknown option 'privacy.reveal'"},
  };
  for (const auto& k : cases) {
    auto r = LoadConfig(Write(k.toml), {});
    ASSERT_FALSE(r.ok()) << k.toml;
    EXPECT_THAT(r.status().message(), HasSubstr(k.expected)) << k.toml;
  }
}

TEST_F(ConfigTest, PrivacyTableNamesTheMasterKeyAndTheCheckpointFile) {
  auto c = LoadConfig(Write("[privacy]\nmaster_key_file = \"/etc/touchpoint/master.key\"\n"
                            "audit_checkpoints = \"/mnt/audit/checkpoints\"\n"),
                      {});
  ASSERT_OK(c);
  EXPECT_EQ(c->master_key_file, "/etc/touchpoint/master.key");
  EXPECT_EQ(c->audit_checkpoints, "/mnt/audit/checkpoints");
  EXPECT_THAT(LoadConfig(Write("[privacy]\nmaster_key = \"x\"\n"), {}).status().message(),
              HasSubstr("unknown option 'privacy.master_key'"));
  EXPECT_THAT(LoadConfig(Write("[privacy]\naudit_checkpoints = 5\n"), {}), StatusIs(StatusCode::kInvalidArgument));
}

TEST_F(ConfigTest, StoreTableNamesAReadReplicaAndItsLagLimit) {
  auto c = LoadConfig(Write("[store]\nurl = \"postgresql://tp@db-1/touchpoint\"\n"
                            "read_url = \"postgresql://tp@db-2/touchpoint\"\nread_max_lag_seconds = 3\n"),
                      {});
  ASSERT_OK(c);
  EXPECT_EQ(c->store_read_url, "postgresql://tp@db-2/touchpoint");
  EXPECT_EQ(c->store_read_max_lag_seconds, 3);
  EXPECT_EQ(ServerConfig{}.store_read_max_lag_seconds, 10) << "the documented default";
  EXPECT_TRUE(ServerConfig{}.store_read_url.empty()) << "followers read the primary unless told otherwise";
  // The store URL may still come from --store after the file: only a wrong one is refused here.
  EXPECT_OK(LoadConfig(Write("[store]\nread_url = \"postgresql://tp@db-2/touchpoint\"\n"), {}));
  struct Case {
    const char* toml;
    const char* expected;
  } cases[] = {
      {"[store]\nread_url = \"sqlite:///tmp/x.db\"\n", "must be a postgresql:// URL"},
      {"[store]\nread_url = \"postgresql://u:pw@db-2/x\"\nurl = \"sqlite:///tmp/x.db\"\n",
       "needs a PostgreSQL store.url"},
      {"[store]\nread_max_lag_seconds = 0\n", "read_max_lag_seconds must be at least 1"},
      {"[store]\nread_url = 5\n", "'store.read_url' must be a string"},
  };
  for (const auto& k : cases) {
    auto r = LoadConfig(Write(k.toml), {});
    EXPECT_THAT(r, StatusIs(StatusCode::kInvalidArgument)) << k.toml;
    EXPECT_THAT(r.status().message(), HasSubstr(k.expected)) << k.toml;
  }
  auto redacted = LoadConfig(Write("[store]\nread_url = \"mysql://u:secretpw@db-2/x\"\n"), {});
  EXPECT_THAT(redacted.status().message(), ::testing::Not(HasSubstr("secretpw"))) << "passwords never shown";
}

}  // namespace
}  // namespace touchpoint::server

namespace touchpoint::server {
namespace {

TEST_F(ConfigTest, WebhooksEmailAndOutboxTablesConfigureTheOutbox) {
  const std::string secret_file = (dir_ / "crm.secret").string();
  std::ofstream(secret_file) << "whsec_from_a_file_0123456789\n";
  std::filesystem::permissions(secret_file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  auto c = LoadConfig(Write("[[webhooks]]\nname = \"crm\"\nurl = \"https://crm.example.com/hooks\"\n"
                            "secret_file = \"" + secret_file + "\"\nevents = [\"ticket.*\", \"sla.breached\"]\n"
                            "timeout_seconds = 5\nconcurrency = 3\n"
                            "[[webhooks]]\nname = \"sms\"\nurl = \"http://127.0.0.1:9000/sms\"\n"
                            "secret = \"whsec_inline_secret_0123\"\n"
                            "[email]\nhost = \"smtp.example.com\"\nport = 587\ntls = \"starttls\"\n"
                            "username = \"touchpoint\"\nfrom = \"service@example.com\"\nfrom_name = \"客服\"\n"
                            "[outbox]\nmax_attempts = 8\ninitial_backoff_seconds = 10\nmax_backoff_seconds = 600\n"
                            "jitter = 0.1\nkeep_delivered_days = 30\n"),
                      ServerConfig{}, true);
  ASSERT_OK(c);
  const outbox::OutboxOptions& o = c->outbox;
  ASSERT_EQ(o.webhooks.size(), 2u);
  EXPECT_EQ(o.webhooks[0].name, "crm");
  EXPECT_EQ(o.webhooks[0].url, "https://crm.example.com/hooks");
  EXPECT_EQ(o.webhooks[0].secret, "whsec_from_a_file_0123456789");
  EXPECT_EQ(o.webhooks[0].events, (std::vector<std::string>{"ticket.*", "sla.breached"}));
  EXPECT_EQ(o.webhooks[0].timeout_ms, 5'000);
  EXPECT_EQ(o.webhooks[0].concurrency, 3);
  EXPECT_EQ(o.webhooks[1].secret, "whsec_inline_secret_0123");
  EXPECT_EQ(o.smtp.host, "smtp.example.com");
  EXPECT_EQ(o.smtp.port, 587);
  EXPECT_EQ(o.smtp.from_name, "客服");
  EXPECT_EQ(o.retry.max_attempts, 8);
  EXPECT_EQ(o.retry.initial_backoff, 10'000);
  EXPECT_EQ(o.retry.max_backoff, 600'000);
  EXPECT_DOUBLE_EQ(o.retry.jitter, 0.1);
  EXPECT_EQ(o.keep_delivered, 30 * kMillisPerDay);

  EXPECT_THAT(LoadConfig(Write("[[webhooks]]\nname = \"crm\"\nsecrett = \"x\"\n"), ServerConfig{}, true).status()
                  .message(),
              HasSubstr("unknown option 'webhooks[0].secrett'"));
  EXPECT_THAT(LoadConfig(Write("[email]\nport = 70000\n"), ServerConfig{}, true).status().message(),
              HasSubstr("email.port"));
  EXPECT_THAT(LoadConfig(Write("[outbox]\njitter = 2.0\n"), ServerConfig{}, true).status().message(),
              HasSubstr("outbox.jitter"));
}

}  // namespace
}  // namespace touchpoint::server
