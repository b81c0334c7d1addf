// End-to-end tests of the command line: exit codes, the summary line, read-only commands next to
// a writer, and a kill -9 in the middle of a file ingest.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include "testing/data_dir.h"

#include "cli/cli_runner.h"
#include "pipeline/test_dir.h"
#include "testing/matchers.h"
#include "testing/message_ids.h"

namespace touchpoint {
namespace {

using nlohmann::json;

using Run = ::touchpoint::testing::CmdRun;
using ::touchpoint::testing::Touchpoint;

std::string LastLine(const std::string& s) {
  std::string t = s;
  while (!t.empty() && t.back() == '\n') t.pop_back();
  const size_t nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

std::string Line(int i) {
  return R"({"type":"track","event":"Order Completed","userId":"u)" + std::to_string(i % 50) + R"(","messageId":"k)" +
         std::to_string(i) + R"(","timestamp":"2024-03-01T00:00:00Z","properties":{"order_id":")" + std::to_string(i) +
         R"(","total":10},"context":{"traits":{"phone":"1380000)" + std::to_string(1000 + i % 50) + R"("}}})";
}

class CliTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& content) {
    std::ofstream(tmp_.File(name), std::ios::binary) << content;
    return tmp_.File(name);
  }
  std::string Data() const { return tmp_.File("data"); }
  ::touchpoint::testing::TempDir tmp_;
};

TEST_F(CliTest, VersionAndHelp) {
  EXPECT_EQ(Touchpoint("--version").code, 0);
  EXPECT_NE(Touchpoint("--version").out.find("touchpoint "), std::string::npos);
  auto help = Touchpoint("--help");
  EXPECT_EQ(help.code, 0);
  for (const char* cmd : {"ingest", "customer", "identity", "keys", "serve", "demo", "stats"}) {
    EXPECT_NE(help.out.find(cmd), std::string::npos) << cmd;
  }
  EXPECT_EQ(Touchpoint("ingest --help").code, 0);
  EXPECT_EQ(Touchpoint("no-such-command 2>/dev/null").code, 2);
}

TEST_F(CliTest, IngestPrintsTheSummaryLastAndExitsByOutcome) {
  std::string good;
  for (int i = 0; i < 100; ++i) good += Line(i) + "\n";
  auto ok = Touchpoint("ingest --data " + Data() + " " + Write("good.ndjson", good) + " 2>/dev/null");
  EXPECT_EQ(ok.code, 0);
  json summary = json::parse(LastLine(ok.out));
  EXPECT_EQ(summary["accepted"], 100);
  EXPECT_EQ(summary["rejected"], 0);
  EXPECT_EQ(summary["customers"], 50);
  EXPECT_TRUE(summary.contains("seconds"));
  EXPECT_EQ(LastLine(ok.out).rfind("{\"accepted\":", 0), 0u) << "keys in the documented order";

  auto again = Touchpoint("ingest --data " + Data() + " " + tmp_.File("good.ndjson") + " 2>/dev/null");
  EXPECT_EQ(json::parse(LastLine(again.out))["duplicates"], 100);

  auto partial = Touchpoint("ingest --data " + Data() + " " + Write("bad.ndjson", Line(500) + "\n{oops\n") + " 2>/dev/null");
  EXPECT_EQ(partial.code, 3);
  EXPECT_EQ(json::parse(LastLine(partial.out))["rejected"], 1);

  auto missing = Touchpoint("ingest --data " + Data() + " " + tmp_.File("nope.ndjson") + " 2>/dev/null");
  EXPECT_EQ(missing.code, 1);

  auto from_stdin = Touchpoint("ingest --data " + Data() + " - < " + Write("s.ndjson", Line(900) + "\n") + " 2>/dev/null");
  EXPECT_EQ(from_stdin.code, 0);
  EXPECT_EQ(json::parse(LastLine(from_stdin.out))["accepted"], 1);
}

TEST_F(CliTest, CustomerShowFindsNormalisedIdentifiersAndExits4WhenUnknown) {
  Touchpoint("ingest --data " + Data() + " " + Write("a.ndjson", Line(7) + "\n") + " 2>/dev/null");
  auto shown = Touchpoint("customer show --data " + Data() + " 'phone:138 0000 1007'");
  ASSERT_EQ(shown.code, 0) << shown.out;
  json c = json::parse(shown.out);
  EXPECT_EQ(c["features"]["orders_total"], 1);
  auto unknown = Touchpoint("customer show --data " + Data() + " email:ghost@example.com 2>&1");
  EXPECT_EQ(unknown.code, 4);
  EXPECT_NE(unknown.out.find("no customer has email:ghost@example.com"), std::string::npos) << unknown.out;
  EXPECT_EQ(Touchpoint("customer show --data " + Data() + " fax:1 2>/dev/null").code, 2);
}

TEST_F(CliTest, CustomerShowMasksPersonalDataUnlessFieldsAreRevealedWithAReason) {
  Touchpoint("ingest --data " + Data() + " " + Write("a.ndjson", Line(7) + "\n") + " 2>/dev/null");
  auto masked = Touchpoint("customer show --data " + Data() + " 'phone:138 0000 1007'");
  ASSERT_EQ(masked.code, 0) << masked.out;
  EXPECT_EQ(masked.out.find("+8613800001007"), std::string::npos) << masked.out;
  EXPECT_NE(masked.out.find("+86138****1007"), std::string::npos) << masked.out;
  auto revealed = Touchpoint("customer show --data " + Data() +
                             " 'phone:138 0000 1007' --reveal phone --reason 'customer asked for a callback'");
  ASSERT_EQ(revealed.code, 0) << revealed.out;
  EXPECT_NE(revealed.out.find("+8613800001007"), std::string::npos) << revealed.out;
  auto no_reason = Touchpoint("customer show --data " + Data() + " 'phone:138 0000 1007' --reveal phone 2>&1");
  EXPECT_EQ(no_reason.code, 2);
  EXPECT_NE(no_reason.out.find("reason"), std::string::npos) << no_reason.out;
  EXPECT_EQ(no_reason.out.find("+8613800001007"), std::string::npos) << no_reason.out;
  auto explained = Touchpoint("identity explain --data " + Data() + " 'phone:138 0000 1007'");
  ASSERT_EQ(explained.code, 0) << explained.out;
  EXPECT_EQ(explained.out.find("+8613800001007"), std::string::npos) << explained.out;
}

TEST_F(CliTest, SecondWriterFailsAtOnceWhileReadersWork) {
  Touchpoint("ingest --data " + Data() + " " + Write("a.ndjson", Line(1) + "\n") + " 2>/dev/null");
  auto holder = testing::OpenForWriting(Data(), pipeline::EngineOptions{}, "touchpoint serve");
  ASSERT_OK(holder);
  auto second = Touchpoint("ingest --data " + Data() + " " + tmp_.File("a.ndjson") + " 2>&1");
  EXPECT_EQ(second.code, 1);
  EXPECT_NE(second.out.find("in use by pid"), std::string::npos) << second.out;
  EXPECT_NE(second.out.find("touchpoint serve"), std::string::npos) << second.out;
  EXPECT_EQ(Touchpoint("customer show --data " + Data() + " user:u1").code, 0) << "read-only commands keep working";
  EXPECT_EQ(Touchpoint("stats --data " + Data()).code, 0);
}

TEST_F(CliTest, KeysAreShownOnceAndStoredHashed) {
  auto created = Touchpoint("keys create --role analyst --data " + Data() + " 2>/dev/null");
  ASSERT_EQ(created.code, 0);
  const std::string key = LastLine(created.out);
  EXPECT_EQ(key.rfind("tp_", 0), 0u);
  auto listed = Touchpoint("keys list --data " + Data());
  EXPECT_EQ(listed.out.find(key), std::string::npos) << "the key itself is never stored or shown again";
  json keys = json::parse(listed.out);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0]["role"], "analyst");
  EXPECT_EQ(Touchpoint("keys revoke --data " + Data() + " " + keys[0]["prefix"].get<std::string>()).code, 0);
  EXPECT_FALSE(json::parse(Touchpoint("keys list --data " + Data()).out)[0]["revoked_at"].is_null());
  EXPECT_EQ(Touchpoint("keys create --role root --data " + Data() + " 2>/dev/null").code, 2);
}

TEST_F(CliTest, KillNineDuringFileIngestLosesNothingAndDuplicatesNothing) {
  constexpr int kEvents = 120000;
  {
    std::ofstream out(tmp_.File("big.ndjson"));
    for (int i = 0; i < kEvents; ++i) out << Line(i) << '\n';
  }
  const std::string url = testing::StoreUrlForDir(Data());  // SQLite, or PostgreSQL (testing/pg.h)
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl(TP_CLI_BINARY, TP_CLI_BINARY, "--store", url.c_str(), "ingest", "--data", Data().c_str(),
          tmp_.File("big.ndjson").c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Let it commit some chunks, then kill it without warning.
  std::int64_t committed = 0;
  for (int i = 0; i < 400 && committed == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    auto store = testing::OpenReadOnly(Data());
    if (store.ok()) {
      auto s = (*store)->Get<store::EventLog>().Count();
      if (s.ok()) committed = *s;
    }
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "ingest finished before it could be killed; make the file bigger";
  ASSERT_GT(committed, 0);
  ASSERT_LT(committed, kEvents);
  // Restart: the lock of the killed process is taken over and the same file completes.
  auto rerun = Touchpoint("ingest --data " + Data() + " " + tmp_.File("big.ndjson") + " 2>/dev/null");
  ASSERT_EQ(rerun.code, 0) << rerun.out;
  json summary = json::parse(LastLine(rerun.out));
  EXPECT_EQ(summary["accepted"].get<std::int64_t>() + summary["duplicates"].get<std::int64_t>(), kEvents);
  EXPECT_GE(summary["duplicates"].get<std::int64_t>(), committed);
  auto store = testing::OpenReadOnly(Data());
  ASSERT_OK(store);
  EXPECT_EQ(*(*store)->Get<store::EventLog>().Count(), kEvents);
  auto counts = ::touchpoint::testing::MessageIdCounts(**store);
  ASSERT_OK(counts);
  for (int i : {0, 1, kEvents / 2, kEvents - 1}) {
    EXPECT_EQ(::touchpoint::testing::CountOf(*counts, "k" + std::to_string(i)), 1) << i;
  }
}

}  // namespace
}  // namespace touchpoint

namespace touchpoint {
namespace {

TEST_F(CliTest, RfmOverTheStoreWritesLayersOntoProfiles) {
  std::string lines;
  for (int i = 0; i < 200; ++i) lines += Line(i) + "\n";  // 50 customers, 4 orders each
  ASSERT_EQ(Touchpoint("ingest --data " + Data() + " " + Write("o.ndjson", lines) + " >/dev/null 2>&1").code, 0);
  auto rfm = Touchpoint("segment rfm --data " + Data() + " 2>/dev/null");
  ASSERT_EQ(rfm.code, 0) << rfm.out;
  EXPECT_EQ(rfm.out.rfind("customer,recency_days,frequency,monetary,r,f,m,layer", 0), 0u) << rfm.out;
  size_t rows = 0;
  for (char c : rfm.out) rows += c == '\n';
  EXPECT_EQ(rows, 51u) << "a header and one row per customer";
  json c = json::parse(Touchpoint("customer show --data " + Data() + " user:u3").out);
  EXPECT_TRUE(c["tags"].contains("rfm_layer")) << c.dump();
  EXPECT_EQ(c["tags"]["tier"], "normal");
  EXPECT_EQ(c["tags"]["rfm_score"].get<std::string>().size(), 3u);
  EXPECT_GT(c["tags"]["ltv"].get<double>(), 0);
  EXPECT_EQ(Touchpoint("segment rfm --data " + tmp_.File("empty") + " 2>/dev/null").code, 2);
}

}  // namespace
}  // namespace touchpoint
