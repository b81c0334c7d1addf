// `touchpoint store migrate` as a user runs it: a data directory copied into another store (SQLite,
// and PostgreSQL when the test server runs), run again, refused targets, a source in use, and no
// password in any message. Every command names its store with --store, so these cases mean the
// same whichever backend the rest of the CLI suite runs on.
#include <fstream>
#include <iterator>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <touchpoint/store/open.h>

#include "cli/cli_runner.h"
#include "pipeline/test_dir.h"
#include "testing/matchers.h"
#include "testing/pg.h"

namespace touchpoint {
namespace {

using ::touchpoint::testing::Touchpoint;

std::string Event(int i, const std::string& prefix) {
  return R"({"type":"track","event":"Order Completed","userId":")" + prefix + std::to_string(i % 9) +
         R"(","messageId":")" + prefix + std::to_string(i) +
         R"(","timestamp":"2024-03-01T00:00:00Z","properties":{"order_id":")" + std::to_string(i) +
         R"(","total":10},"context":{"traits":{"email":")" + prefix + std::to_string(i % 12) + R"(@example.com"}}})";
}

class StoreMigrateCliTest : public ::testing::Test {
 protected:
  // Ingests `n` events named after `prefix` into the store at `url`.
  void IngestInto(const std::string& url, const std::string& prefix, int n) {
    const std::string file = tmp_.File(prefix + ".ndjson");
    {
      std::ofstream out(file);
      for (int i = 0; i < n; ++i) out << Event(i, prefix) << "\n";
    }
    EXPECT_EQ(Touchpoint("--store '" + url + "' ingest --no-text --rejects " + tmp_.File("rejects") + " " + file +
                         " 2>/dev/null")
                  .code,
              0);
  }
  // Ingests into the SQLite file of directory DIR/`name`; returns the directory.
  std::string Ingest(const std::string& name, const std::string& prefix, int n) {
    const std::string dir = tmp_.File(name);
    IngestInto(Url(dir), prefix, n);
    return dir;
  }
  static std::string Url(const std::string& dir) { return store::UrlForDataDir(dir); }
  // `touchpoint --store URL ARGS`.
  static ::touchpoint::testing::CmdRun On(const std::string& url, const std::string& args) {
    return Touchpoint("--store '" + url + "' " + args);
  }

  ::touchpoint::testing::TempDir tmp_;
};

TEST_F(StoreMigrateCliTest, CopiesADataDirectoryAndCanRunAgain) {
  const std::string a = Ingest("a", "x", 300);
  ASSERT_EQ(On(Url(a), "keys create --role ingest 2>/dev/null").code, 0);
  ASSERT_EQ(On(Url(a), "keys create --role admin 2>/dev/null").code, 0);
  ASSERT_EQ(On(Url(a), "keys revoke 1").code, 0);
  const std::string b = tmp_.File("b");
  const std::string log = tmp_.File("migrate.log");

  auto run = Touchpoint("store migrate --from " + Url(a) + " --to " + Url(b) + " --batch 50 2>" + log);
  ASSERT_EQ(run.code, 0) << run.out;
  EXPECT_NE(run.out.find("table"), std::string::npos) << run.out;
  EXPECT_THAT(run.out, ::testing::ContainsRegex("\nevents +300 +300\n")) << run.out;
  EXPECT_EQ(run.out.find("differs"), std::string::npos) << run.out;
  std::ifstream in(log);
  const std::string err((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Not a terminal: plain progress lines, a tenth at a time, and the summary.
  EXPECT_NE(err.find("  events: 0 / 300 (0%)"), std::string::npos) << err;
  EXPECT_NE(err.find("  events: 150 / 300 (50%)"), std::string::npos) << err;
  EXPECT_NE(err.find("  events: 300 / 300 (100%)"), std::string::npos) << err;
  EXPECT_EQ(err.find('\r'), std::string::npos);
  EXPECT_NE(err.find("is a complete copy"), std::string::npos) << err;

  // What a user sees of both is the same.
  EXPECT_EQ(On(Url(b), "stats").out, On(Url(a), "stats").out);
  EXPECT_EQ(On(Url(b), "keys list").out, On(Url(a), "keys list").out);
  EXPECT_EQ(On(Url(b), "customer show user:x4").out, On(Url(a), "customer show user:x4").out);
  EXPECT_NE(On(Url(b), "customer show user:x4").out.find("orders_total"), std::string::npos);

  // Again: nothing to add, still exact.
  auto again = Touchpoint("store migrate --from " + Url(a) + " --to " + Url(b) + " 2>/dev/null");
  EXPECT_EQ(again.code, 0);
  EXPECT_EQ(again.out, run.out);
}

TEST_F(StoreMigrateCliTest, RefusesATargetThatIsNotACopy) {
  const std::string a = Ingest("a", "x", 20);
  const std::string c = Ingest("c", "y", 20);
  const std::string before = On(Url(c), "stats").out;
  auto run = Touchpoint("store migrate --from " + Url(a) + " --to " + Url(c) + " 2>&1");
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.out.find("event 1 differs"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("not a copy of this source"), std::string::npos) << run.out;
  EXPECT_EQ(On(Url(c), "stats").out, before);
}

TEST_F(StoreMigrateCliTest, ClearErrorsBeforeCopying) {
  const std::string a = Ingest("a", "x", 5);
  // No source: nothing is created.
  auto missing = Touchpoint("store migrate --from " + Url(tmp_.File("nothing")) + " --to " + Url(tmp_.File("t")) + " 2>&1");
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.out.find("no Touchpoint database"), std::string::npos) << missing.out;
  EXPECT_FALSE(std::ifstream(tmp_.File("nothing/touchpoint.db")).good());
  // Both in one directory: one writer lock for both.
  auto same_dir = Touchpoint("store migrate --from " + Url(a) + " --to sqlite://" + a + "/other.db 2>&1");
  EXPECT_EQ(same_dir.code, 2);
  EXPECT_NE(same_dir.out.find("same directory"), std::string::npos) << same_dir.out;
  // Missing --to is a usage error.
  EXPECT_EQ(Touchpoint("store migrate --from " + Url(a) + " 2>/dev/null").code, 2);
}

TEST_F(StoreMigrateCliTest, ASourceInUseIsRefused) {
  const std::string a = Ingest("a", "x", 5);
  store::OpenOptions o;
  o.purpose = "touchpoint serve";
  auto holder = store::Open(Url(a), o);  // what a running server holds
  ASSERT_OK(holder);
  auto run = Touchpoint("store migrate --from " + Url(a) + " --to " + Url(tmp_.File("b")) + " 2>&1");
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.out.find("in use by pid"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("(touchpoint serve)"), std::string::npos) << run.out;
}

TEST_F(StoreMigrateCliTest, MovesADataDirectoryToPostgreSQL) {
  TP_PG_DATABASE_OR_SKIP(db);
  const std::string a = Ingest("a", "x", 250);
  ASSERT_EQ(On(Url(a), "keys create --role ingest 2>/dev/null").code, 0);
  auto run = Touchpoint("store migrate --from " + Url(a) + " --to '" + db->url() + "' --batch 100 2>/dev/null");
  ASSERT_EQ(run.code, 0) << run.out;
  EXPECT_THAT(run.out, ::testing::ContainsRegex("\nevents +250 +250\n")) << run.out;
  EXPECT_EQ(On(db->url(), "stats").out, On(Url(a), "stats").out);
  EXPECT_EQ(On(db->url(), "keys list").out, On(Url(a), "keys list").out);
  EXPECT_EQ(On(db->url(), "customer show user:x4").out, On(Url(a), "customer show user:x4").out);
  // A source that grew since is brought up to date by the same command.
  IngestInto(Url(a), "z", 30);
  auto again = Touchpoint("store migrate --from " + Url(a) + " --to '" + db->url() + "' 2>/dev/null");
  ASSERT_EQ(again.code, 0) << again.out;
  EXPECT_THAT(again.out, ::testing::ContainsRegex("\nevents +280 +280\n")) << again.out;
  EXPECT_EQ(On(db->url(), "stats").out, On(Url(a), "stats").out);
}

TEST_F(StoreMigrateCliTest, NeverPrintsAPassword) {
  const std::string a = Ingest("a", "x", 5);
  auto run = Touchpoint("store migrate --from " + Url(a) + " --to postgresql://tp:s3cr3t@127.0.0.1:1/touchpoint 2>&1");
  EXPECT_NE(run.code, 0);
  EXPECT_EQ(run.out.find("s3cr3t"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("postgresql://tp:***@127.0.0.1:1/touchpoint"), std::string::npos) << run.out;
}

}  // namespace
}  // namespace touchpoint
