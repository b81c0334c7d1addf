// `touchpoint privacy export | erase | verify-receipt` as a user runs them: an export holds
// everything ingest wrote about the person; an erasure removes it (a raw-byte search of the data
// directory finds none of their identifiers or texts afterwards), answers with a signed receipt
// that verify-receipt checks (0 valid, 1 tampered, 2 malformed), and events arriving later for
// them are dropped and counted. HOME points at a temporary directory: no real key is touched.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"
#include "pipeline/test_dir.h"
#include "testing/pg.h"

namespace touchpoint {
namespace {

using ::touchpoint::testing::Slurp;
using ::touchpoint::testing::Touchpoint;

// Runs `cmd` through the shell; its stdout.
std::string Shell(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

void Write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// Wanda: a user id, phone, e-mail and name, an order, a message, a survey, and an anonymous
// visit merged into her later. Bob: someone else.
const char* kEvents =
    R"({"type":"track","event":"Product Viewed","anonymousId":"anon-wanda","messageId":"w0","timestamp":"2024-03-01T09:00:00Z","properties":{"product_id":"p1"}}
{"type":"identify","userId":"wanda-1","messageId":"w1","timestamp":"2024-03-01T10:00:00Z","traits":{"phone":"13912345678","email":"wanda.erase@example.com","name":"Wanda Zyxwerase"}}
{"type":"track","event":"Order Completed","userId":"wanda-1","messageId":"w2","timestamp":"2024-03-02T10:00:00Z","properties":{"order_id":"wo-1","total":99}}
{"type":"track","event":"Message Received","userId":"wanda-1","messageId":"w3","timestamp":"2024-03-03T10:00:00Z","properties":{"text":"please call me back QUOKKA-SECRET-77","conversation_id":"wconv"}}
{"type":"track","event":"Survey Answered","userId":"wanda-1","messageId":"w4","timestamp":"2024-03-04T10:00:00Z","properties":{"nps":9,"comment":"lovely OKAPI-COMMENT"}}
{"type":"identify","userId":"wanda-1","anonymousId":"anon-wanda","messageId":"w5","timestamp":"2024-03-05T10:00:00Z"}
{"type":"identify","userId":"bob-2","messageId":"b1","timestamp":"2024-03-01T11:00:00Z","traits":{"phone":"13700000001"}}
{"type":"track","event":"Message Received","userId":"bob-2","messageId":"b2","timestamp":"2024-03-02T11:00:00Z","properties":{"text":"hello from BOBTEXT-PLAIN"}}
)";

// Values that must vanish with Wanda (as the files hold them: normalised phone, lower-case e-mail).
const std::vector<std::string> kWandasValues = {"13912345678", "wanda.erase@example.com", "Zyxwerase",
                                                "QUOKKA-SECRET-77", "OKAPI-COMMENT", "wanda-1", "anon-wanda"};

class RightsCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("HOME", tmp_.File("home").c_str(), 1);
    ::unsetenv("XDG_CONFIG_HOME");
    ASSERT_EQ(Touchpoint("keys init-master --key-file " + KeyFile() + " >/dev/null 2>&1").code, 0);
    // A plain-text install: the raw-byte searches below are SQLite's own guarantee (encrypted
    // installs: tests/cli/encrypt_cli_test.cc).
    std::filesystem::create_directories(Data());
    Write(Data() + "/touchpoint.toml", "[privacy]\nencryption = false\n");
    Write(tmp_.File("events.ndjson"), kEvents);
    auto ingested = Touchpoint(Global() + "ingest " + tmp_.File("events.ndjson") + " --data " + Data() + " 2>/dev/null");
    ASSERT_EQ(ingested.code, 0) << ingested.out;
  }
  std::string Data() const { return tmp_.File("data"); }
  std::string KeyFile() const { return tmp_.File("secrets/master.key"); }
  std::string Global() const {
    return "--master-key-file " + KeyFile() + " --audit-checkpoints " + tmp_.File("other-disk/checkpoints") + " ";
  }
  // Which of `values` occur in the bytes of any file of the data directory.
  std::vector<std::string> FoundInDataDir(const std::vector<std::string>& values) const {
    std::vector<std::string> found;
    std::string all;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(Data())) {
      if (entry.is_regular_file()) all += Slurp(entry.path().string());
    }
    for (const auto& v : values) {
      if (all.find(v) != std::string::npos) found.push_back(v);
    }
    return found;
  }

  ::touchpoint::testing::TempDir tmp_;
};

TEST_F(RightsCliTest, ExportHoldsEverythingIngestWroteAboutThePerson) {
  const std::string out = tmp_.File("wanda-export.json");
  auto exported = Touchpoint(Global() + "privacy export phone:139-1234-5678 --out " + out + " --data " + Data() +
                             " 2>/dev/null");
  ASSERT_EQ(exported.code, 0) << exported.out;
  auto doc = nlohmann::json::parse(Slurp(out), nullptr, false);
  ASSERT_TRUE(doc.is_object()) << Slurp(out);
  EXPECT_EQ(doc["export"]["customer_ids"].size(), 2u) << "the anonymous visit merged into her";
  std::vector<std::string> message_ids;
  for (const auto& e : doc["events"]) message_ids.push_back(e["message_id"]);
  std::sort(message_ids.begin(), message_ids.end());
  EXPECT_EQ(message_ids, (std::vector<std::string>{"w0", "w1", "w2", "w3", "w4", "w5"}));
  ASSERT_EQ(doc["messages"].size(), 1u);
  EXPECT_EQ(doc["messages"][0]["text"], "please call me back QUOKKA-SECRET-77");
  ASSERT_EQ(doc["orders"].size(), 1u);
  EXPECT_EQ(doc["orders"][0]["order_id"], "wo-1");
  ASSERT_EQ(doc["surveys"].size(), 1u);
  EXPECT_EQ(doc["surveys"][0]["comment"], "lovely OKAPI-COMMENT");
  std::vector<std::string> identifiers;
  for (const auto& i : doc["identifiers"]) identifiers.push_back(i["kind"].get<std::string>() + ":" + i["value"].get<std::string>());
  std::sort(identifiers.begin(), identifiers.end());
  EXPECT_EQ(identifiers, (std::vector<std::string>{"anon:anon-wanda", "email:wanda.erase@example.com",
                                                   "phone:+8613912345678", "user:wanda-1"}));
  EXPECT_NE(doc["profile"].dump().find("Zyxwerase"), std::string::npos) << "traits, unmasked: her own data";
  EXPECT_EQ(doc["stored_profiles"].size(), 2u);
  EXPECT_TRUE(doc["consents"].is_array());
  EXPECT_EQ(doc.dump().find("BOBTEXT"), std::string::npos) << "nothing of anyone else";
  // The export itself is audited, and the next export shows that entry.
  auto again = Touchpoint(Global() + "privacy export user:wanda-1 --data " + Data() + " 2>/dev/null");
  ASSERT_EQ(again.code, 0);
  auto doc2 = nlohmann::json::parse(again.out, nullptr, false);
  ASSERT_TRUE(doc2.is_object());
  ASSERT_GE(doc2["audit"].size(), 1u);
  EXPECT_EQ(doc2["audit"][0]["action"], "subject.export");
  EXPECT_EQ(Touchpoint(Global() + "privacy export phone:13000000000 --data " + Data() + " 2>/dev/null").code, 4);
}

// The same export as a zip of CSV files (--out *.zip, or --format zip), checked with unzip.
TEST_F(RightsCliTest, ExportAsAZipOfCsvFilesWithAReadme) {
  if (std::system("command -v unzip >/dev/null 2>&1") != 0) GTEST_SKIP() << "unzip is not installed (scripts/setup.sh)";
  const std::string zip = tmp_.File("wanda-export.zip");
  auto exported = Touchpoint(Global() + "privacy export user:wanda-1 --out " + zip + " --data " + Data() + " 2>/dev/null");
  ASSERT_EQ(exported.code, 0) << exported.out;
  EXPECT_EQ(std::filesystem::status(zip).permissions() & std::filesystem::perms::others_read,
            std::filesystem::perms::none);
  const auto unzip = [&](const std::string& args) { return Shell("unzip " + args + " 2>&1"); };
  const std::string listing = unzip("-Z1 " + zip);
  for (const char* name : {"profile.csv", "identifiers.csv", "events.csv", "orders.csv", "messages.csv",
                           "surveys.csv", "consents.csv", "audit.csv", "README.txt"}) {
    EXPECT_NE(listing.find(std::string(name) + "\n"), std::string::npos) << name << " in\n" << listing;
  }
  EXPECT_EQ(unzip("-tq " + zip).find("No errors detected"), 0u) << unzip("-tq " + zip);
  const std::string events = unzip("-p " + zip + " events.csv");
  EXPECT_EQ(events.rfind("seq,message_id,timestamp,type,name,customer,body\r\n", 0), 0u) << events;
  for (const char* id : {",w0,", ",w1,", ",w2,", ",w3,", ",w4,", ",w5,"}) EXPECT_NE(events.find(id), std::string::npos) << id;
  EXPECT_EQ(events.find("BOBTEXT"), std::string::npos) << "nothing of anyone else";
  const std::string messages = unzip("-p " + zip + " messages.csv");
  EXPECT_NE(messages.find(",please call me back QUOKKA-SECRET-77,"), std::string::npos) << messages;
  const std::string identifiers = unzip("-p " + zip + " identifiers.csv");
  EXPECT_NE(identifiers.find("\r\nphone,+8613912345678,"), std::string::npos) << identifiers;
  const std::string readme = unzip("-p " + zip + " README.txt");
  EXPECT_NE(readme.find("events.csv"), std::string::npos);
  EXPECT_NE(readme.find("  body: "), std::string::npos) << readme;
  // --format zip to stdout: the same files.
  auto piped = Touchpoint(Global() + "privacy export user:wanda-1 --format zip --data " + Data() + " 2>/dev/null");
  ASSERT_EQ(piped.code, 0);
  EXPECT_EQ(piped.out.substr(0, 4), std::string("PK\x03\x04", 4));
}

TEST_F(RightsCliTest, EraseRemovesThePersonSignsAReceiptAndSuppressesLaterEvents) {
  // The raw-byte search is SQLite's guarantee (a plain-text install); on PostgreSQL the data is
  // in the server's files and crypto-shredding is the guarantee (docs/security.md).
  const bool bytes = !testing::TestOnPostgres();
  if (bytes) {
    ASSERT_EQ(FoundInDataDir({"13912345678", "QUOKKA-SECRET-77", "BOBTEXT-PLAIN"}).size(), 3u)
        << "the search must see clear-text values before the erasure (a plain-text install)";
  }
  EXPECT_EQ(Touchpoint(Global() + "privacy erase phone:13000000000 --data " + Data() + " 2>/dev/null").code, 4);
  const std::string receipt = tmp_.File("receipt.json");
  auto erased = Touchpoint(Global() + "privacy erase email:Wanda.Erase@example.com --reason 'asked by phone' --out " +
                           receipt + " --data " + Data() + " 2>/dev/null");
  ASSERT_EQ(erased.code, 0) << erased.out;
  auto file = nlohmann::json::parse(Slurp(receipt), nullptr, false);
  ASSERT_TRUE(file.is_object()) << Slurp(receipt);
  const auto& r = file["receipt"];
  EXPECT_EQ(r["counts"]["events"], 6);
  EXPECT_EQ(r["counts"]["messages"], 1);
  EXPECT_EQ(r["counts"]["orders"], 1);
  EXPECT_EQ(r["counts"]["surveys"], 1);
  EXPECT_EQ(r["counts"]["identifiers"], 4);
  EXPECT_EQ(r["counts"]["customers"], 2);
  EXPECT_EQ(r["suppression"].size(), 4u);
  EXPECT_EQ(r["reason"], "asked by phone");
  EXPECT_EQ(Slurp(receipt).find("13912345678"), std::string::npos) << "the receipt names no identifier";

  // Nothing of her in any file of the data directory; Bob is still there.
  if (bytes) {
    EXPECT_EQ(FoundInDataDir(kWandasValues), std::vector<std::string>{});
    EXPECT_EQ(FoundInDataDir({"BOBTEXT-PLAIN", "13700000001"}).size(), 2u);
  }
  EXPECT_EQ(Touchpoint("customer show phone:13912345678 --data " + Data() + " 2>/dev/null").code, 4);
  EXPECT_EQ(Touchpoint("customer show phone:13700000001 --data " + Data() + " 2>/dev/null").code, 0);

  // Receipts: valid with the store's keys and with the public key file; tampered → 1; malformed → 2.
  const std::string verify = Global() + "privacy verify-receipt ";
  EXPECT_EQ(Touchpoint(verify + receipt + " --data " + Data() + " 2>/dev/null").code, 0);
  ASSERT_EQ(Touchpoint("keys public-key --key-file " + KeyFile() + " > " + tmp_.File("signing.pub")).code, 0);
  EXPECT_EQ(Touchpoint(verify + receipt + " --public-key " + tmp_.File("signing.pub") + " 2>/dev/null").code, 0);
  nlohmann::json tampered = file;
  tampered["receipt"]["counts"]["events"] = 5;
  Write(tmp_.File("tampered.json"), tampered.dump(2));
  EXPECT_EQ(Touchpoint(verify + tmp_.File("tampered.json") + " --data " + Data() + " 2>/dev/null").code, 1);
  nlohmann::json reformatted = file;  // pretty-printed, same content: still valid
  Write(tmp_.File("reformatted.json"), reformatted.dump(4));
  EXPECT_EQ(Touchpoint(verify + tmp_.File("reformatted.json") + " --data " + Data() + " 2>/dev/null").code, 0);
  Write(tmp_.File("garbage.json"), "not a receipt {");
  EXPECT_EQ(Touchpoint(verify + tmp_.File("garbage.json") + " --data " + Data() + " 2>/dev/null").code, 2);
  nlohmann::json unsigned_receipt = file;
  unsigned_receipt.erase("signature");
  Write(tmp_.File("unsigned.json"), unsigned_receipt.dump());
  EXPECT_EQ(Touchpoint(verify + tmp_.File("unsigned.json") + " --data " + Data() + " 2>/dev/null").code, 2);
  EXPECT_EQ(Touchpoint(verify + tmp_.File("missing.json") + " --data " + Data() + " 2>/dev/null").code, 2);

  // Her events sent again are dropped and counted, and do not bring her back.
  auto again = Touchpoint(Global() + "ingest " + tmp_.File("events.ndjson") + " --data " + Data() + " 2>/dev/null");
  ASSERT_EQ(again.code, 0) << again.out;
  auto summary = nlohmann::json::parse(again.out, nullptr, false);
  ASSERT_TRUE(summary.is_object()) << again.out;
  EXPECT_EQ(summary["suppressed"], 6);
  Write(tmp_.File("later.ndjson"),
        R"({"type":"track","event":"Product Viewed","userId":"wanda-1","messageId":"later-1","timestamp":"2024-04-01T00:00:00Z"})"
        "\n");
  auto later = Touchpoint(Global() + "ingest " + tmp_.File("later.ndjson") + " --data " + Data() + " 2>/dev/null");
  EXPECT_NE(later.out.find("\"suppressed\":1"), std::string::npos) << later.out;
  EXPECT_EQ(Touchpoint("customer show user:wanda-1 --data " + Data() + " 2>/dev/null").code, 4);
  if (bytes) {
    EXPECT_EQ(FoundInDataDir({"13912345678", "wanda-1"}), std::vector<std::string>{});
  }
}

}  // namespace
}  // namespace touchpoint

namespace touchpoint {
namespace {

// Erasure is atomic across kill -9: killed inside its transaction, the person is entirely there
// (and a second erasure finishes the job); killed right after its commit, entirely gone. Then
// kills at arbitrary moments of a run: every time, one or the other.
class RightsCrashTest : public RightsCliTest {
 protected:
  // `privacy erase` of her, run with the environment `env`: by `touchpoint` without one, else by
  // the test-only binary with the fault injection (TOUCHPOINT_TEST_KILL_IN_ERASURE), unless
  // `binary` names one.
  std::string Erase(const std::string& env, std::string binary = "") const {
    if (binary.empty()) binary = env.empty() ? TP_CLI_BINARY : TP_CLI_FAULT_BINARY;
    return env + " " + binary + " " + testing::StoreOptionFor("--data " + Data()) + Global() +
           "privacy erase phone:13912345678 --data " + Data() + " >/dev/null 2>&1";
  }
  // 0: whole (shown, and her values in the files); 1: gone (neither); -1: half. The next writer
  // to open the directory first (an erasure of nobody: exit 4) finishes a scrub a kill cut off.
  int State() {
    EXPECT_EQ(Touchpoint(Global() + "privacy erase phone:13000000000 --data " + Data() + " >/dev/null 2>&1").code, 4);
    const bool shown = Touchpoint("customer show phone:13912345678 --data " + Data() + " 2>/dev/null").code == 0;
    if (testing::TestOnPostgres()) return shown ? 0 : 1;  // bytes: crypto-shredding's (docs/security.md)
    const auto found = FoundInDataDir({"13912345678", "QUOKKA-SECRET-77", "wanda.erase@example.com"});
    if (shown && found.size() == 3) return 0;
    if (!shown && found.empty()) return 1;
    return -1;
  }
};

TEST_F(RightsCrashTest, KilledInsideTheTransactionLeavesThePersonWholeAndAReRunErases) {
  EXPECT_EQ(Shell(Erase("TOUCHPOINT_TEST_KILL_IN_ERASURE=before-commit") + "; echo $?"), "137\n") << "SIGKILL";
  EXPECT_EQ(State(), 0);
  ASSERT_EQ(Shell(Erase("") + "; echo $?"), "0\n");
  EXPECT_EQ(State(), 1);
}

// The fault injection is not in the product: `touchpoint` itself ignores the variable and erases.
TEST_F(RightsCrashTest, TheProductionBinaryHasNoFaultInjection) {
  EXPECT_EQ(Shell(Erase("TOUCHPOINT_TEST_KILL_IN_ERASURE=before-commit", TP_CLI_BINARY) + "; echo $?"), "0\n");
  EXPECT_EQ(State(), 1);
}

TEST_F(RightsCrashTest, KilledRightAfterTheCommitLeavesThePersonGone) {
  EXPECT_EQ(Shell(Erase("TOUCHPOINT_TEST_KILL_IN_ERASURE=after-commit") + "; echo $?"), "137\n");
  EXPECT_EQ(State(), 1);
}

TEST_F(RightsCrashTest, KilledAtArbitraryMomentsItIsAlwaysAllOrNothing) {
  if (testing::TestOnPostgres()) GTEST_SKIP() << "SQLite's files: the deterministic cases above cover PostgreSQL";
  // kill -9 after 0, 5, 10, … ms of a run (a run takes tens of milliseconds).
  for (int delay_ms = 0; delay_ms <= 80; delay_ms += 5) {
    (void)Shell("sh -c '" + Erase("") + " & p=$!; sleep " + std::to_string(delay_ms / 1000.0) +
                "; kill -9 $p 2>/dev/null; wait $p; true'");
    const int state = State();
    ASSERT_NE(state, -1) << "half-erased after a kill at " << delay_ms << " ms";
    if (state == 1) return;  // erased before or despite the kill: all of it
  }
  ASSERT_EQ(Shell(Erase("") + "; echo $?"), "0\n");
  EXPECT_EQ(State(), 1);
}

}  // namespace
}  // namespace touchpoint
