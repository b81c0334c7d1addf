// `touchpoint privacy consent show|set` and `touchpoint privacy customer-token` as a user runs
// them: decisions from identify traits and the command line with their history, exit codes, the
// audit entries, and a token the server's check accepts. HOME points at a temporary directory.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <touchpoint/privacy/customer_token.h>
#include <touchpoint/privacy/master_key.h>

#include "cli/cli_runner.h"
#include "pipeline/test_dir.h"
#include "testing/pg.h"

namespace touchpoint {
namespace {

using ::touchpoint::testing::Touchpoint;
using json = nlohmann::json;

class PrivacyCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("HOME", tmp_.File("home").c_str(), 1);
    ::unsetenv("XDG_CONFIG_HOME");
    std::ofstream(tmp_.File("events.ndjson"))
        << R"({"type":"identify","userId":"u1","messageId":"m1","timestamp":"2026-01-01T00:00:00Z","traits":{"phone":"13812345678","consent_marketing_email":true,"consent_version":"v1"}})"
        << "\n"
        << R"({"type":"identify","userId":"u2","messageId":"m2","timestamp":"2026-01-01T00:00:00Z","traits":{"plan":"pro"}})"
        << "\n";
    // Not encrypted at rest (the key below is made after the data; encrypted installs:
    // tests/cli/encrypt_cli_test.cc).
    std::filesystem::create_directories(Data());
    std::ofstream(Data() + "/touchpoint.toml") << "[privacy]\nencryption = false\n";
    ASSERT_EQ(Touchpoint("ingest --data " + Data() + " " + tmp_.File("events.ndjson") + " >/dev/null 2>&1").code, 0);
    ASSERT_EQ(Touchpoint("keys init-master --key-file " + KeyFile() + " >/dev/null 2>&1").code, 0);
  }
  std::string Data() const { return tmp_.File("data"); }
  std::string KeyFile() const { return tmp_.File("secrets/master.key"); }
  std::string Keyed() const {
    return "--master-key-file " + KeyFile() + " --audit-checkpoints " + tmp_.File("checkpoints") + " ";
  }
  json Show(const std::string& ref) {
    auto r = Touchpoint("privacy consent show " + ref + " --data " + Data());
    EXPECT_EQ(r.code, 0) << r.out;
    return json::parse(r.out, nullptr, false);
  }

  ::touchpoint::testing::TempDir tmp_;
};

TEST_F(PrivacyCliTest, ConsentShowAndSetKeepTheHistoryAndAuditEachChange) {
  json c = Show("user:u1");
  EXPECT_EQ(c["consents"]["marketing"]["email"]["opt_in"], true);
  EXPECT_EQ(c["consents"]["marketing"]["email"]["source"], "identify");
  EXPECT_EQ(c["consents"]["personalisation"]["default"], true);
  auto set = Touchpoint(Keyed() + "privacy consent set phone:13812345678 --marketing email=out --marketing sms=in "
                                  "--personalisation high --wording-version v2 --data " + Data() + " 2>/dev/null");
  ASSERT_EQ(set.code, 0) << set.out;
  c = Show("user:u1");
  EXPECT_EQ(c["consents"]["marketing"]["email"]["opt_in"], false);
  EXPECT_EQ(c["consents"]["marketing"]["sms"]["opt_in"], true);
  EXPECT_EQ(c["consents"]["marketing"]["sms"]["source"], "cli");
  EXPECT_EQ(c["consents"]["personalisation"]["intensity"], "high");
  ASSERT_EQ(c["history"].size(), 4u);
  EXPECT_EQ(c["history"][0]["value"], "opt_in") << "nothing is replaced";
  EXPECT_EQ(Show("user:u2")["history"].size(), 0u);
  // Exit codes: unknown customer 4, bad usage 2.
  EXPECT_EQ(Touchpoint("privacy consent show user:nobody --data " + Data() + " 2>/dev/null").code, 4);
  EXPECT_EQ(Touchpoint(Keyed() + "privacy consent set user:u1 --marketing fax=in --data " + Data() + " 2>/dev/null").code, 2);
  EXPECT_EQ(Touchpoint(Keyed() + "privacy consent set user:u1 --data " + Data() + " 2>/dev/null").code, 2);
  EXPECT_EQ(Touchpoint(Keyed() + "privacy consent set user:nobody --marketing sms=in --data " + Data() + " 2>/dev/null").code, 4);
  auto verify = Touchpoint(Keyed() + "audit verify --data " + Data() + " --checkpoints " + tmp_.File("checkpoints") +
                           " 2>/dev/null");
  EXPECT_EQ(verify.code, 0) << verify.out;
  EXPECT_NE(verify.out.find("intact: 4 entries"), std::string::npos)
      << "one consent.change per decision (the ingested identify's too): " << verify.out;
}

TEST_F(PrivacyCliTest, CustomerTokenIsSignedWithTheMasterKeyAndShortLived) {
  auto issued = Touchpoint(Keyed() + "privacy customer-token user:u2 --ttl 10m --data " + Data() + " 2>/dev/null");
  ASSERT_EQ(issued.code, 0) << issued.out;
  const json t = json::parse(issued.out);
  auto key = privacy::LoadMasterKey(KeyFile());
  ASSERT_TRUE(key.ok());
  const auto tokens = privacy::CustomerTokens::FromMasterKey(*key);
  const auto check = tokens.Check(t["token"].get<std::string>(), t["expires_at"].get<std::int64_t>() - 1);
  ASSERT_TRUE(check.ok()) << privacy::CustomerTokenProblemName(check.problem);
  EXPECT_EQ(check.claims.customer.value(), t["customer_id"].get<std::int64_t>());
  EXPECT_EQ(check.claims.expires_at - check.claims.issued_at, 600'000);
  EXPECT_EQ(Touchpoint(Keyed() + "privacy customer-token user:u2 --ttl 25h --data " + Data() + " 2>/dev/null").code, 2);
  EXPECT_EQ(Touchpoint(Keyed() + "privacy customer-token user:nobody --data " + Data() + " 2>/dev/null").code, 4);
  EXPECT_EQ(Touchpoint("--master-key-file " + tmp_.File("none.key") + " privacy customer-token user:u2 --data " +
                       Data() + " 2>/dev/null")
                .code,
            1)
      << "no master key, no token";
}

}  // namespace
}  // namespace touchpoint
