// `touchpoint keys init-master | public-key` and `touchpoint audit verify` as a user runs them:
// the key file's permissions, key changes recorded, and a tampered database found through the
// checkpoint file. Every path is passed (and HOME points at a temporary directory): the tests
// never touch the real home.
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "cli/cli_runner.h"
#include "pipeline/test_dir.h"
#include "testing/pg.h"

namespace touchpoint {
namespace {

using ::touchpoint::testing::Slurp;
using ::touchpoint::testing::Touchpoint;

class AuditCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("HOME", tmp_.File("home").c_str(), 1);
    ::unsetenv("XDG_CONFIG_HOME");
  }
  std::string Data() const { return tmp_.File("data"); }
  std::string KeyFile() const { return tmp_.File("secrets/master.key"); }
  std::string Checkpoints() const { return tmp_.File("other-disk/checkpoints"); }
  // The global options that point the audit at this test's files.
  std::string Audit() const { return "--master-key-file " + KeyFile() + " --audit-checkpoints " + Checkpoints() + " "; }

  ::touchpoint::testing::TempDir tmp_;
};

TEST_F(AuditCliTest, InitMasterCreatesAPrivateKeyOnceAndPrintsThePublicKey) {
  auto created = Touchpoint("keys init-master --key-file " + KeyFile() + " 2>/dev/null");
  ASSERT_EQ(created.code, 0);
  EXPECT_NE(created.out.find("signing_key_id"), std::string::npos) << created.out;
  struct stat st {};
  ASSERT_EQ(::stat(KeyFile().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string before = Slurp(KeyFile());
  EXPECT_EQ(Touchpoint("keys init-master --key-file " + KeyFile() + " 2>/dev/null").code, 1);
  EXPECT_EQ(Slurp(KeyFile()), before) << "an existing key is never replaced";
  auto pub = Touchpoint("keys public-key --key-file " + KeyFile());
  ASSERT_EQ(pub.code, 0);
  EXPECT_EQ(pub.out.rfind("touchpoint-signing-key v1 ", 0), 0u) << pub.out;
  EXPECT_EQ(pub.out.find(before.substr(25, 20)), std::string::npos) << "never the master key";
  EXPECT_EQ(Touchpoint("keys public-key --key-file " + tmp_.File("none.key") + " 2>/dev/null").code, 1);
}

TEST_F(AuditCliTest, AKeyReadableByOthersRefusesTheChange) {
  ASSERT_EQ(Touchpoint("keys init-master --key-file " + KeyFile() + " >/dev/null 2>&1").code, 0);
  ::chmod(KeyFile().c_str(), 0644);
  auto refused = Touchpoint(Audit() + "keys create --role admin --data " + Data() + " 2>&1");
  EXPECT_NE(refused.code, 0);
  EXPECT_NE(refused.out.find("chmod 600"), std::string::npos) << refused.out;
  EXPECT_EQ(Touchpoint("keys list --data " + Data() + " 2>/dev/null").out.find("admin"), std::string::npos)
      << "no key was created";
}

TEST_F(AuditCliTest, RevealsOnTheCommandLineAreRecordedBeforeAnythingIsShown) {
  ASSERT_EQ(Touchpoint("keys init-master --key-file " + KeyFile() + " >/dev/null 2>&1").code, 0);
  ASSERT_EQ(Touchpoint("keys public-key --key-file " + KeyFile() + " > " + tmp_.File("signing.pub")).code, 0);
  {
    std::ofstream f(tmp_.File("one.ndjson"));
    f << R"({"type":"identify","userId":"u-1","messageId":"m-1","timestamp":"2024-03-01T10:00:00Z","traits":{"phone":"13800001007"}})"
      << "\n";
  }
  ASSERT_EQ(Touchpoint(Audit() + "ingest --data " + Data() + " " + tmp_.File("one.ndjson") + " >/dev/null 2>&1").code, 0);
  const std::string verify = "--master-key-file " + KeyFile() + " audit verify --data " + Data() +
                             " --checkpoints " + Checkpoints() +
                             " --public-key " + tmp_.File("signing.pub") + " 2>/dev/null";
  auto entries = [&] {
    const auto v = Touchpoint(verify);
    const size_t at = v.out.find("intact: ");
    return at == std::string::npos ? -1 : std::stoi(v.out.substr(at + 8));
  };
  // Nothing is recorded yet (no entry, so no checkpoint file: verify has nothing to check).
  EXPECT_EQ(entries(), -1);
  auto masked = Touchpoint(Audit() + "customer show --data " + Data() + " phone:13800001007 2>/dev/null");
  ASSERT_EQ(masked.code, 0) << masked.out;
  EXPECT_EQ(entries(), -1) << "a masked view is not a reveal";
  auto shown = Touchpoint(Audit() + "customer show --data " + Data() +
                          " phone:13800001007 --reveal phone --reason 'call back 13800001007' 2>/dev/null");
  ASSERT_EQ(shown.code, 0) << shown.out;
  EXPECT_NE(shown.out.find("+8613800001007"), std::string::npos);
  EXPECT_EQ(entries(), 1) << "the reveal is the only entry";
  auto explained = Touchpoint(Audit() + "identity explain --data " + Data() +
                              " user:u-1 --reveal phone --reason 'checking a merge' 2>/dev/null");
  ASSERT_EQ(explained.code, 0) << explained.out;
  EXPECT_EQ(entries(), 2);
  if (::touchpoint::testing::TestOnPostgres()) return;
  // What was recorded: who, on which customer, the fields and the reason — masked.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open((Data() + "/touchpoint.db").c_str(), &raw), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw, "SELECT actor, target, details FROM audit_entries WHERE action = 'pii.reveal' ORDER BY seq",
                               -1, &st, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  const std::string actor = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  const std::string target = reinterpret_cast<const char*>(sqlite3_column_text(st, 1));
  const std::string details = reinterpret_cast<const char*>(sqlite3_column_text(st, 2));
  sqlite3_finalize(st);
  sqlite3_close(raw);
  EXPECT_EQ(actor.rfind("cli:uid:", 0), 0u) << actor;
  EXPECT_EQ(target.rfind("customer:", 0), 0u) << target;
  EXPECT_NE(details.find("phone"), std::string::npos) << details;
  EXPECT_EQ(details.find("13800001007"), std::string::npos) << "the reason is masked too: " << details;
}

TEST_F(AuditCliTest, KeyChangesAreRecordedAndVerifyFindsTampering) {
  ASSERT_EQ(Touchpoint("keys init-master --key-file " + KeyFile() + " >/dev/null 2>&1").code, 0);
  ASSERT_EQ(Touchpoint("keys public-key --key-file " + KeyFile() + " > " + tmp_.File("signing.pub")).code, 0);
  for (const char* role : {"admin", "ingest", "analyst"}) {
    ASSERT_EQ(Touchpoint(Audit() + "keys create --role " + role + " --data " + Data() + " >/dev/null 2>&1").code, 0);
  }
  ASSERT_EQ(Touchpoint(Audit() + "keys revoke 2 --data " + Data() + " >/dev/null 2>&1").code, 0);
  const std::string verify = "--master-key-file " + KeyFile() + " audit verify --data " + Data() +
                             " --checkpoints " + Checkpoints() +
                             " --public-key " + tmp_.File("signing.pub") + " 2>/dev/null";
  auto intact = Touchpoint(verify);
  EXPECT_EQ(intact.code, 0) << intact.out;
  EXPECT_NE(intact.out.find("intact: 4 entries"), std::string::npos) << intact.out;
  EXPECT_EQ(Touchpoint("audit verify --data " + Data() + " --checkpoints " + tmp_.File("nope") + " 2>/dev/null").code,
            2);
  EXPECT_EQ(Touchpoint("audit verify --data " + Data() + " --public-key " + KeyFile() + " 2>/dev/null").code, 2)
      << "a master key is not a public key file";
  EXPECT_EQ(Touchpoint("audit verify --no-such-flag 2>/dev/null").code, 2);

  if (::touchpoint::testing::TestOnPostgres()) GTEST_SKIP() << "the edits below are on the SQLite file";
  // An insider removes the revocation and the store's checkpoints; the file on the other disk
  // still covers all four entries.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open((Data() + "/touchpoint.db").c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "DELETE FROM audit_entries WHERE seq = 4; DELETE FROM audit_checkpoints", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  auto tampered = Touchpoint(verify);
  EXPECT_EQ(tampered.code, 1);
  EXPECT_EQ(tampered.out.rfind("first bad entry: 4 (missing", 0), 0u) << tampered.out;
}

}  // namespace
}  // namespace touchpoint
