// Encryption at rest end to end (issue 14 item 4; privacy/encrypted_store.h, wiring/encryption.h):
// after `touchpoint ingest` of the demo data no phone number, e-mail address or ID number of the
// input is found in any file of the data directory; the master key is created at the default
// path on a new directory and announced; a missing, wrong or world-readable key and a tampered
// ciphertext are clear errors.
#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "cli/cli_runner.h"
#include "pipeline/test_dir.h"
#include "testing/pg.h"

namespace touchpoint {
namespace {

namespace fs = std::filesystem;
using ::touchpoint::testing::Shell;
using ::touchpoint::testing::Touchpoint;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The personal values of `text`: mobile numbers (as written, and as their 11 digits), e-mail
// addresses (as written and lower-cased) and 18-character ID numbers.
std::set<std::string> PersonalValues(const std::string& text) {
  std::set<std::string> out;
  for (size_t i = 0; i < text.size(); ++i) {
    // Not inside a word (message ids are UUIDs: hex digits and dashes).
    if (!IsDigit(text[i]) || (i > 0 && (std::isalnum(static_cast<unsigned char>(text[i - 1])) || text[i - 1] == '+' ||
                                        text[i - 1] == '-'))) {
      continue;
    }
    // A run of digits with single ' ' or '-' between groups.
    size_t j = i;
    std::string digits;
    while (j < text.size()) {
      if (IsDigit(text[j])) {
        digits.push_back(text[j++]);
      } else if ((text[j] == ' ' || text[j] == '-') && j + 1 < text.size() && IsDigit(text[j + 1]) &&
                 digits.size() < 13) {
        ++j;
      } else {
        break;
      }
    }
    if (j < text.size() && (std::isalnum(static_cast<unsigned char>(text[j])) || text[j] == '-')) {
      if (!(digits.size() == 17 && (text[j] == 'X' || text[j] == 'x'))) {
        i = j;
        continue;
      }
    }
    std::string core = digits;
    if (core.size() == 13 && core.rfind("86", 0) == 0) core = core.substr(2);
    if (core.size() == 11 && core[0] == '1' && core[1] >= '3') {
      out.insert(core);
      out.insert(text.substr(i, j - i));
    }
    if (digits.size() == 17 && j < text.size() && (text[j] == 'X' || text[j] == 'x')) out.insert(digits + 'X');
    if (digits.size() == 18) out.insert(digits);
    i = j;
  }
  for (size_t at = text.find('@'); at != std::string::npos; at = text.find('@', at + 1)) {
    auto local = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("._%+-", c); };
    auto domain = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-'; };
    size_t b = at;
    while (b > 0 && local(text[b - 1])) --b;
    size_t e = at + 1;
    while (e < text.size() && domain(text[e])) ++e;
    while (e > at + 1 && text[e - 1] == '.') --e;
    if (b == at || text.find('.', at) >= e) continue;
    std::string email = text.substr(b, e - b);
    out.insert(email);
    for (char& c : email) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.insert(email);
  }
  return out;
}

// The values of `values` found in `bytes`.
std::vector<std::string> Found(const std::string& bytes, const std::set<std::string>& values) {
  std::vector<std::string> found;
  for (const std::string& v : values) {
    if (memmem(bytes.data(), bytes.size(), v.data(), v.size()) != nullptr) found.push_back(v);
  }
  return found;
}

class EncryptCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The default key path is under XDG_CONFIG_HOME: this test's own, never the real home.
    ::setenv("XDG_CONFIG_HOME", tmp_.File("config").c_str(), 1);
  }
  std::string Data() const { return tmp_.File("data"); }
  std::string KeyFile() const { return tmp_.File("config") + "/touchpoint/master.key"; }

  // Demo data plus lines with ID numbers, and a malformed line with personal data (a reject).
  std::string Input() {
    const std::string demo = tmp_.File("demo.ndjson");
    EXPECT_EQ(Touchpoint("demo generate --customers 150 --events 3000 --seed 11 -o " + demo + " 2>/dev/null").code, 0);
    std::ofstream out(demo, std::ios::app);
    out << R"({"type":"identify","userId":"id-holder-1","messageId":"idn-1","timestamp":"2024-03-01T00:00:00Z",)"
        << R"("traits":{"id_number":"11010519491231002X","phone":"13911112222"}})" << "\n";
    out << R"({"type":"track","event":"Message Received","userId":"id-holder-1","messageId":"idn-2",)"
        << R"("timestamp":"2024-03-01T00:01:00Z","properties":{"text":"我的身份证号是 110101199003074514，)"
        << R"(电话 13911112222，邮箱 holder.one@example.com","channel":"chat"}})" << "\n";
    out << R"({"type":"track" "userId": "reject-me", "phone":"13977776666", "email":"rejected.person@example.com",)"
        << R"( "id":"440304198511183612"})" << "\n";
    return demo;
  }

  ::touchpoint::testing::TempDir tmp_;
};

TEST_F(EncryptCliTest, NoPersonalValueOfTheInputIsInAnyFileOfTheDataDirectory) {
  const std::string input = Input();
  const std::set<std::string> values = PersonalValues(Slurp(input));
  ASSERT_GT(values.size(), 100u) << "the demo data must hold phone numbers and e-mail addresses";
  ASSERT_TRUE(values.contains("110101199003074514"));
  ASSERT_TRUE(values.contains("13977776666"));
  ASSERT_TRUE(values.contains("440304198511183612"));
  const std::string err = tmp_.File("ingest.err");
  auto ingested = Touchpoint("ingest --data " + Data() + " " + input + " 2>" + err);
  ASSERT_EQ(ingested.code, 3) << "one line is rejected (exit 3): " << ingested.out << Slurp(err);
  // The key was created at the default path, announced with where it is and that it must be
  // backed up, and is private.
  const std::string said = Slurp(err);
  EXPECT_NE(said.find("created the master key " + KeyFile()), std::string::npos) << said;
  EXPECT_NE(said.find("Back it up"), std::string::npos) << said;
  struct stat st {};
  ASSERT_EQ(::stat(KeyFile().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // The keyring sits beside the key, not in the data directory (SQLite; on PostgreSQL its default
  // is the same database, docs/security.md).
  bool keyring = false;
  for (const auto& e : fs::directory_iterator(fs::path(KeyFile()).parent_path())) {
    keyring |= e.path().filename().string().rfind("keyring-", 0) == 0;
  }
  EXPECT_EQ(keyring, !::touchpoint::testing::TestOnPostgres());
  ASSERT_TRUE(fs::exists(Data() + "/rejects.ndjson"));

  // Every file of the data directory, byte for byte (database, WAL, journals, rejects, logs).
  size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(Data())) {
    if (!e.is_regular_file()) continue;
    ++files;
    const std::vector<std::string> found = Found(Slurp(e.path().string()), values);
    EXPECT_TRUE(found.empty()) << e.path() << " holds " << found.size() << " personal values: " << ::testing::PrintToString(found);
  }
  EXPECT_GE(files, ::touchpoint::testing::TestOnPostgres() ? 1u : 2u);
  if (::touchpoint::testing::TestOnPostgres()) {
    // The data is in the database: its personal columns, as stored.
    const std::string url = ::touchpoint::testing::StoreUrlForDir(Data());
    auto stored = ::touchpoint::testing::QueryValueAt(
        url,
        "SELECT coalesce((SELECT string_agg(value, '|') FROM identifiers), '') || "
        "coalesce((SELECT string_agg(data, '|') FROM profiles), '') || "
        "coalesce((SELECT string_agg(text || masked_text, '|') FROM messages), '') || "
        "coalesce((SELECT string_agg(items, '|') FROM orders), '') || "
        "coalesce((SELECT string_agg(comment, '|') FROM surveys), '')");
    ASSERT_TRUE(stored.ok()) << stored.status().ToString();
    EXPECT_GT(stored->size(), 10'000u);
    EXPECT_NE(*::touchpoint::testing::QueryValueAt(url, "SELECT count(*) FROM keyring"), "0");
    const std::vector<std::string> found = Found(*stored, values);
    EXPECT_TRUE(found.empty()) << found.size() << " personal values in the database, e.g. " << found[0];
  }

  // Everything still reads in clear through the layer: lookups go through the blind index.
  auto shown = Touchpoint("customer show --data " + Data() + " --reveal phone --reason test phone:13911112222");
  ASSERT_EQ(shown.code, 0) << shown.out;
  EXPECT_NE(shown.out.find("13911112222"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("id-holder-1"), std::string::npos) << shown.out;
  EXPECT_EQ(Touchpoint("identity explain --data " + Data() + " user:id-holder-1 >/dev/null 2>&1").code, 0);
  auto events = Touchpoint("store events --data " + Data() + " 2>/dev/null");
  ASSERT_EQ(events.code, 0);
  EXPECT_NE(events.out.find("idn-2"), std::string::npos);
}

TEST_F(EncryptCliTest, TheSameSearchFindsTheValuesWhenEncryptionIsOff) {
  // The check of the test above can fail: with [privacy] encryption = false it finds them.
  fs::create_directories(Data());
  std::ofstream(Data() + "/touchpoint.toml") << "[privacy]\nencryption = false\n";
  const std::string input = Input();
  const std::set<std::string> values = PersonalValues(Slurp(input));
  ASSERT_EQ(Touchpoint("ingest --data " + Data() + " " + input + " >/dev/null 2>&1").code, 3);
  EXPECT_FALSE(fs::exists(KeyFile())) << "no key when encryption is off";
  if (::touchpoint::testing::TestOnPostgres()) GTEST_SKIP() << "the data is in the database";
  const std::vector<std::string> found = Found(Slurp(Data() + "/touchpoint.db"), values);
  EXPECT_GT(found.size(), 50u);
  // The rejects file holds masked records even so.
  const std::string rejects = Slurp(Data() + "/rejects.ndjson");
  EXPECT_EQ(rejects.find("13977776666"), std::string::npos) << rejects;
  EXPECT_EQ(rejects.find("rejected.person@example.com"), std::string::npos) << rejects;
  EXPECT_NE(rejects.find("139****6666"), std::string::npos) << rejects;
}

TEST_F(EncryptCliTest, AMissingWrongOrWorldReadableKeyIsAClearErrorNeverAFreshKey) {
  const std::string input = Input();
  ASSERT_EQ(Touchpoint("ingest --data " + Data() + " " + input + " >/dev/null 2>&1").code, 3);
  ASSERT_TRUE(fs::exists(KeyFile()));
  const std::string moved = tmp_.File("backup.key");
  fs::rename(KeyFile(), moved);

  auto show = Touchpoint("customer show --data " + Data() + " phone:13911112222 2>&1");
  EXPECT_EQ(show.code, 1) << show.out;
  EXPECT_NE(show.out.find("encrypted at rest"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find(KeyFile()), std::string::npos) << show.out;
  auto again = Touchpoint("ingest --data " + Data() + " " + input + " 2>&1");
  EXPECT_NE(again.code, 0);
  EXPECT_NE(again.out.find("does not exist"), std::string::npos) << again.out;
  EXPECT_FALSE(fs::exists(KeyFile())) << "never a silent fresh key for an encrypted directory";

  // Another key (a valid file, the wrong one).
  ASSERT_EQ(Touchpoint("keys init-master --key-file " + KeyFile() + " >/dev/null 2>&1").code, 0);
  auto wrong = Touchpoint("customer show --data " + Data() + " phone:13911112222 2>&1");
  EXPECT_EQ(wrong.code, 1) << wrong.out;
  EXPECT_NE(wrong.out.find("another master key"), std::string::npos) << wrong.out;

  // The right one, readable by others: refused, saying how to fix it.
  fs::remove(KeyFile());
  fs::copy_file(moved, KeyFile());
  ::chmod(KeyFile().c_str(), 0644);
  auto open = Touchpoint("customer show --data " + Data() + " phone:13911112222 2>&1");
  EXPECT_NE(open.code, 0);
  EXPECT_NE(open.out.find("chmod 600"), std::string::npos) << open.out;
  ::chmod(KeyFile().c_str(), 0600);
  EXPECT_EQ(Touchpoint("customer show --data " + Data() + " phone:13911112222 >/dev/null 2>&1").code, 0);
}

TEST_F(EncryptCliTest, ATamperedCiphertextIsAClearErrorNotACrashNorAClearValue) {
  if (::touchpoint::testing::TestOnPostgres()) GTEST_SKIP() << "edits the SQLite file";
  const std::string input = Input();
  ASSERT_EQ(Touchpoint("ingest --data " + Data() + " " + input + " >/dev/null 2>&1").code, 3);
  ASSERT_EQ(Touchpoint("customer show --data " + Data() + " user:id-holder-1 >/dev/null 2>&1").code, 0);
  // An insider flips one character of every stored profile's ciphertext.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open((Data() + "/touchpoint.db").c_str(), &raw), SQLITE_OK);
  const char* sql =
      "UPDATE profiles SET data = substr(data, 1, 40) || (CASE substr(data, 41, 1) WHEN 'A' THEN 'B' ELSE 'A' END) "
      "|| substr(data, 42)";
  ASSERT_EQ(sqlite3_exec(raw, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(raw);
  ASSERT_GT(sqlite3_changes(raw), 100);
  sqlite3_close(raw);
  auto shown = Touchpoint("customer show --data " + Data() + " --reveal phone --reason test user:id-holder-1 2>&1");
  EXPECT_GE(shown.code, 1) << "an error exit, not a signal: " << shown.out;
  EXPECT_NE(shown.out.find("failed to authenticate"), std::string::npos) << shown.out;
  EXPECT_EQ(shown.out.find("13911112222"), std::string::npos) << shown.out;
}

// The texts main gained after the first encryption work: ticket subjects and message texts,
// consent records (value, wording version, actor), users' TOTP secrets — none is in any file of
// the data directory (or, on PostgreSQL, its columns), and each still reads in clear.
TEST_F(EncryptCliTest, TicketTextsConsentsAndTotpSecretsAreNotStoredInClear) {
  const std::string input = Input();
  ASSERT_EQ(Touchpoint("ingest --data " + Data() + " " + input + " >/dev/null 2>&1").code, 3);
  const std::string subject = "Refund for order ZQX-SUBJECT-4711";
  const std::string reply = "We sent the refund ZQX-REPLY-0815 today";
  const std::string wording = "ZQX-WORDING-v42";
  auto created = Touchpoint("ticket create --data " + Data() + " --customer user:id-holder-1 --subject '" + subject +
                            "' --channel chat 2>&1");
  ASSERT_EQ(created.code, 0) << created.out;
  ASSERT_EQ(Touchpoint("ticket reply --data " + Data() + " TP-000001 --text '" + reply + "' 2>&1").code, 0);
  auto consent = Touchpoint("privacy consent set --data " + Data() + " user:id-holder-1 --marketing sms=in " +
                            "--wording-version " + wording + " 2>&1");
  ASSERT_EQ(consent.code, 0) << consent.out;
  const std::string pw = tmp_.File("pw");
  std::ofstream(pw) << "correct horse battery staple\n";
  ::chmod(pw.c_str(), 0600);
  ASSERT_EQ(Touchpoint("users create --email sue@example.com --role supervisor --password-file " + pw + " --data " +
                       Data() + " >/dev/null 2>&1")
                .code,
            0);
  auto totp = Touchpoint("users totp-enroll sue@example.com --data " + Data() + " 2>&1");
  ASSERT_EQ(totp.code, 0) << totp.out;
  const size_t at = totp.out.find("secret=");
  ASSERT_NE(at, std::string::npos) << totp.out;
  const std::string secret = totp.out.substr(at + 7, totp.out.find_first_of("&\n", at) - at - 7);
  ASSERT_GE(secret.size(), 16u) << totp.out;

  // (The wording version is not searched for: the consent's audit entry records it, and the
  // audit log is in clear by design; the consents table's own columns are checked below.)
  const std::set<std::string> values = {"ZQX-SUBJECT-4711", "ZQX-REPLY-0815", secret};
  for (const auto& e : fs::recursive_directory_iterator(Data())) {
    if (!e.is_regular_file()) continue;
    const std::vector<std::string> found = Found(Slurp(e.path().string()), values);
    EXPECT_TRUE(found.empty()) << e.path() << " holds " << ::testing::PrintToString(found);
  }
  if (!::touchpoint::testing::TestOnPostgres()) {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open_v2((Data() + "/touchpoint.db").c_str(), &raw, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(raw,
                                 "SELECT count(*), sum(value LIKE 'tpe1:%' AND wording_version LIKE 'tpe1:%' AND "
                                 "actor LIKE 'tpe1:%') FROM consents",
                                 -1, &st, nullptr),
              SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_GE(sqlite3_column_int(st, 0), 1);
    EXPECT_EQ(sqlite3_column_int(st, 1), sqlite3_column_int(st, 0)) << "every consent record sealed";
    sqlite3_finalize(st);
    sqlite3_close(raw);
  }
  if (::touchpoint::testing::TestOnPostgres()) {
    const std::string url = ::touchpoint::testing::StoreUrlForDir(Data());
    auto stored = ::touchpoint::testing::QueryValueAt(
        url,
        "SELECT coalesce((SELECT string_agg(subject, '|') FROM tickets), '') || "
        "coalesce((SELECT string_agg(text, '|') FROM ticket_messages), '') || "
        "coalesce((SELECT string_agg(value || actor, '|') FROM consents), '') || "
        "coalesce((SELECT string_agg(totp_secret, '|') FROM users), '')");
    ASSERT_TRUE(stored.ok()) << stored.status().ToString();
    EXPECT_GT(stored->size(), 100u);
    const std::vector<std::string> found = Found(*stored, values);
    EXPECT_TRUE(found.empty()) << ::testing::PrintToString(found);
  }

  // Through the layer they read in clear.
  auto shown = Touchpoint("ticket show --data " + Data() + " TP-000001 2>&1");
  ASSERT_EQ(shown.code, 0) << shown.out;
  EXPECT_NE(shown.out.find("ZQX-SUBJECT-4711"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("ZQX-REPLY-0815"), std::string::npos) << shown.out;
  auto consents = Touchpoint("privacy consent show --data " + Data() + " user:id-holder-1 2>&1");
  ASSERT_EQ(consents.code, 0) << consents.out;
  EXPECT_NE(consents.out.find(wording), std::string::npos) << consents.out;
  auto users = Touchpoint("users list --data " + Data() + " 2>&1");
  ASSERT_EQ(users.code, 0) << users.out;
  EXPECT_NE(users.out.find("\"totp_enrolled\": true"), std::string::npos) << users.out;
}

// Crypto-shredding (issue 14: "the same person cannot be read back from an old backup"): after
// `privacy erase`, a copy of the data directory taken before it, read with the installation's
// master key and keyring, no longer holds the person: their identifiers, profile and ticket
// texts were under their destroyed data key, and the event chunks holding their events were
// re-keyed by the erasure, the old chunk keys destroyed. What was destroyed reads as erased (a
// tombstone in the keyring), not as an error.
TEST_F(EncryptCliTest, AfterAnErasureAnOldBackupNoLongerOpensThePerson) {
  if (::touchpoint::testing::TestOnPostgres()) GTEST_SKIP() << "copies the SQLite data directory";
  const std::string input = Input();
  ASSERT_EQ(Touchpoint("ingest --data " + Data() + " " + input + " >/dev/null 2>&1").code, 3);
  ASSERT_EQ(Touchpoint("ticket create --data " + Data() + " --customer user:id-holder-1 --subject 'ZQX-OLD-SUBJECT' "
                       "--channel chat >/dev/null 2>&1")
                .code,
            0);
  const std::string backup = tmp_.File("backup");
  fs::copy(Data(), backup, fs::copy_options::recursive);
  auto before = Touchpoint("store events --data " + backup + " 2>&1");
  ASSERT_EQ(before.code, 0);
  ASSERT_NE(before.out.find("idn-2"), std::string::npos);
  ASSERT_EQ(Touchpoint("customer show --data " + backup + " user:id-holder-1 >/dev/null 2>&1").code, 0);

  auto erased = Touchpoint("privacy erase --data " + Data() + " user:id-holder-1 --reason test --out " +
                           tmp_.File("receipt.json") + " 2>&1");
  ASSERT_EQ(erased.code, 0) << erased.out;
  auto live = Touchpoint("store events --data " + Data() + " 2>&1");
  ASSERT_EQ(live.code, 0) << live.out;
  EXPECT_EQ(live.out.find("idn-2"), std::string::npos);
  EXPECT_NE(live.out.find("\n"), std::string::npos) << "everyone else's events are still there";

  // The old backup, with the same key and keyring.
  auto events = Touchpoint("store events --data " + backup + " 2>&1");
  EXPECT_EQ(events.code, 0) << events.out;
  EXPECT_EQ(events.out.find("idn-2"), std::string::npos) << "the person's events no longer open";
  auto shown = Touchpoint("customer show --data " + backup + " --reveal phone --reason test user:id-holder-1 2>&1");
  EXPECT_EQ(shown.code, 4) << "the person is unknown in the old copy: " << shown.out;
  EXPECT_EQ(shown.out.find("13911112222"), std::string::npos) << shown.out;
  auto ticket = Touchpoint("ticket show --data " + backup + " TP-000001 2>&1");
  EXPECT_EQ(ticket.code, 0) << "the ticket stays (statistics): " << ticket.out;
  EXPECT_EQ(ticket.out.find("ZQX-OLD-SUBJECT"), std::string::npos) << ticket.out;
  EXPECT_NE(ticket.out.find("[erased]"), std::string::npos) << ticket.out;
  // The raw bytes: the old copy still holds the ciphertexts, never the values.
  const std::vector<std::string> found = Found(Slurp(backup + "/touchpoint.db"), {"13911112222", "ZQX-OLD-SUBJECT"});
  EXPECT_TRUE(found.empty()) << ::testing::PrintToString(found);
}


// `keys encrypt` on a clear directory (one from before encryption at rest, or written with
// `[privacy] encryption = false`): afterwards the same raw-byte search finds nothing, lookups by
// phone still work, and the directory is refused as already encrypted.
class EncryptExistingCliTest : public EncryptCliTest {
 protected:
  // A clear directory `dir` with the demo input of `input` ingested.
  void IngestClear(const std::string& dir, const std::string& input) {
    fs::create_directories(dir);
    std::ofstream(dir + "/touchpoint.toml") << "[privacy]\nencryption = false\n";
    ASSERT_EQ(Touchpoint("ingest --data " + dir + " " + input + " >/dev/null 2>&1").code, 3);
  }
  // The personal values of `values` found in any file of `dir`, by file.
  std::vector<std::string> FoundIn(const std::string& dir, const std::set<std::string>& values) {
    std::vector<std::string> all;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
      if (!e.is_regular_file()) continue;
      for (const std::string& v : Found(Slurp(e.path().string()), values)) all.push_back(e.path().string() + ": " + v);
    }
    return all;
  }
  static std::string Encrypt(const std::string& dir, const std::string& flags = "") {
    return std::string(TP_CLI_BINARY) + " keys encrypt --data " + dir + " " + flags;
  }
};

TEST_F(EncryptExistingCliTest, AClearDirectoryIsEncryptedAndReadsAsBefore) {
  if (::touchpoint::testing::TestOnPostgres()) GTEST_SKIP() << "SQLite data directories only";
  const std::string input = Input();
  const std::set<std::string> values = PersonalValues(Slurp(input));
  IngestClear(Data(), input);
  ASSERT_GT(FoundIn(Data(), values).size(), 50u) << "the search finds the clear values before";
  ASSERT_FALSE(fs::exists(KeyFile())) << "no key when encryption is off";
  auto events_before = Touchpoint("store events --data " + Data() + " 2>/dev/null");
  ASSERT_EQ(events_before.code, 0);

  auto done = Shell(Encrypt(Data()) + " 2>" + tmp_.File("enc.err"));
  ASSERT_EQ(done.code, 0) << done.out << Slurp(tmp_.File("enc.err"));
  const auto report = nlohmann::json::parse(done.out);
  EXPECT_EQ(report["encrypted"], true);
  EXPECT_EQ(report["tables"]["events"], 3002) << done.out;
  EXPECT_TRUE(fs::exists(KeyFile())) << "the master key is created when there is none";
  EXPECT_NE(Slurp(tmp_.File("enc.err")).find("Back it up"), std::string::npos);
  EXPECT_FALSE(fs::exists(Data() + "/encrypting"));

  const std::vector<std::string> found = FoundIn(Data(), values);
  EXPECT_TRUE(found.empty()) << found.size() << " personal values left: " << ::testing::PrintToString(found);
  auto shown = Touchpoint("customer show --data " + Data() + " --reveal phone --reason test phone:13911112222");
  ASSERT_EQ(shown.code, 0) << shown.out;
  EXPECT_NE(shown.out.find("id-holder-1"), std::string::npos) << shown.out;
  auto events_after = Touchpoint("store events --data " + Data() + " 2>/dev/null");
  EXPECT_EQ(events_after.out, events_before.out) << "the event log reads exactly as before";
  auto status = Touchpoint("keys status --data " + Data() + " 2>&1");
  EXPECT_EQ(status.code, 0) << status.out;
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open_v2((Data() + "/touchpoint.db").c_str(), &raw, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw, "SELECT count(*) FROM audit_entries WHERE action = 'store.encrypt'", -1, &st,
                               nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), 1) << "the encryption is audited";
  sqlite3_finalize(st);
  sqlite3_close(raw);

  // It is an encrypted directory now: new data is sealed too, and a second run is refused.
  auto again = Shell(Encrypt(Data()) + " 2>&1");
  EXPECT_EQ(again.code, 1) << again.out;
  EXPECT_NE(again.out.find("already encrypted"), std::string::npos) << again.out;
}

TEST_F(EncryptExistingCliTest, KilledMidwayResumeEndsInTheSameState) {
  if (::touchpoint::testing::TestOnPostgres()) GTEST_SKIP() << "SQLite data directories only";
  const std::string input = Input();
  const std::set<std::string> values = PersonalValues(Slurp(input));
  const std::string other = tmp_.File("uninterrupted");
  IngestClear(Data(), input);
  IngestClear(other, input);
  ASSERT_EQ(Shell(Encrypt(other) + " >" + tmp_.File("other.json") + " 2>/dev/null").code, 0);
  bool killed_midway = false;
  for (int delay_ms = 100; delay_ms <= 3000 && !killed_midway; delay_ms += 150) {
    (void)Shell("sh -c '" + Encrypt(Data(), "--resume --batch 1") + " >/dev/null 2>&1 & p=$!; sleep " +
                std::to_string(delay_ms / 1000.0) + "; kill -9 $p 2>/dev/null; wait $p; true'");
    killed_midway = fs::exists(Data() + "/encrypting/touchpoint.db") && !FoundIn(Data(), values).empty();
  }
  ASSERT_TRUE(killed_midway) << "no kill landed in the middle of the copy";
  // The clear data is untouched and still reads; a plain run says to resume.
  EXPECT_EQ(Touchpoint("customer show --data " + Data() + " phone:13911112222 >/dev/null 2>&1").code, 0);
  auto plain = Shell(Encrypt(Data()) + " 2>&1");
  EXPECT_EQ(plain.code, 1) << plain.out;
  EXPECT_NE(plain.out.find("--resume"), std::string::npos) << plain.out;

  auto resumed = Shell(Encrypt(Data(), "--resume") + " 2>/dev/null");
  ASSERT_EQ(resumed.code, 0) << resumed.out;
  EXPECT_EQ(nlohmann::json::parse(resumed.out)["tables"],
            nlohmann::json::parse(Slurp(tmp_.File("other.json")))["tables"]);
  EXPECT_FALSE(fs::exists(Data() + "/encrypting"));
  const std::vector<std::string> found = FoundIn(Data(), values);
  EXPECT_TRUE(found.empty()) << ::testing::PrintToString(found);
  auto shown = Touchpoint("customer show --data " + Data() + " --reveal phone --reason test phone:13911112222");
  ASSERT_EQ(shown.code, 0) << shown.out;
  EXPECT_NE(shown.out.find("id-holder-1"), std::string::npos) << shown.out;
  EXPECT_EQ(Touchpoint("store events --data " + Data() + " 2>/dev/null").out,
            Touchpoint("store events --data " + other + " 2>/dev/null").out);
}

TEST_F(EncryptExistingCliTest, RefusesPostgresARunningWriterAndAnEncryptedDirectory) {
  if (::touchpoint::testing::TestOnPostgres()) GTEST_SKIP() << "SQLite data directories only";
  const std::string input = Input();
  auto pg = Shell(std::string(TP_CLI_BINARY) + " --store postgresql://localhost/none keys encrypt --data " + Data() +
                  " 2>&1");
  EXPECT_EQ(pg.code, 1) << pg.out;
  EXPECT_NE(pg.out.find("not supported yet"), std::string::npos) << pg.out;

  IngestClear(Data(), input);
  auto locked = Shell("sh -c 'flock -n " + Data() + "/LOCK sleep 3 & sleep 0.5; " + Encrypt(Data()) + " 2>&1; rc=$?; wait; exit $rc'");
  EXPECT_EQ(locked.code, 1) << locked.out;
  EXPECT_NE(locked.out.find("in use"), std::string::npos) << locked.out;
  EXPECT_FALSE(fs::exists(Data() + "/encrypting"));
  EXPECT_FALSE(fs::exists(KeyFile()));

  const std::string born = tmp_.File("born-encrypted");
  ASSERT_EQ(Touchpoint("ingest --data " + born + " " + input + " >/dev/null 2>&1").code, 3);
  auto encrypted = Shell(Encrypt(born) + " 2>&1");
  EXPECT_EQ(encrypted.code, 1) << encrypted.out;
  EXPECT_NE(encrypted.out.find("already encrypted"), std::string::npos) << encrypted.out;
}

// Consents and users' TOTP secrets are sealed by the copy; service desk data is refused (the
// copy does not carry it yet), leaving the directory clear and untouched.
TEST_F(EncryptExistingCliTest, SealsConsentsAndTotpSecretsAndRefusesDeskData) {
  if (::touchpoint::testing::TestOnPostgres()) GTEST_SKIP() << "SQLite data directories only";
  const std::string input = Input();
  IngestClear(Data(), input);
  auto consent = Touchpoint("privacy consent set --data " + Data() +
                            " user:id-holder-1 --marketing sms=in --wording-version ZQX-WORDING-v42 2>&1");
  ASSERT_EQ(consent.code, 0) << consent.out;
  const std::string pw = tmp_.File("pw");
  std::ofstream(pw) << "correct horse battery staple\n";
  ::chmod(pw.c_str(), 0600);
  ASSERT_EQ(Touchpoint("users create --email sue@example.com --role supervisor --password-file " + pw + " --data " +
                       Data() + " >/dev/null 2>&1")
                .code,
            0);
  auto totp = Touchpoint("users totp-enroll sue@example.com --data " + Data() + " 2>&1");
  ASSERT_EQ(totp.code, 0) << totp.out;
  const size_t at = totp.out.find("secret=");
  ASSERT_NE(at, std::string::npos) << totp.out;
  const std::string secret = totp.out.substr(at + 7, totp.out.find_first_of("&\n", at) - at - 7);
  ASSERT_GE(secret.size(), 16u) << totp.out;
  ASSERT_FALSE(FoundIn(Data(), {secret}).empty()) << "clear before";

  auto done = Shell(Encrypt(Data()) + " 2>&1");
  ASSERT_EQ(done.code, 0) << done.out;
  EXPECT_TRUE(FoundIn(Data(), {secret}).empty());
  auto consents = Touchpoint("privacy consent show --data " + Data() + " user:id-holder-1 2>&1");
  EXPECT_EQ(consents.code, 0) << consents.out;
  EXPECT_NE(consents.out.find("ZQX-WORDING-v42"), std::string::npos) << consents.out;

  const std::string desk = tmp_.File("desk");
  IngestClear(desk, input);
  ASSERT_EQ(Touchpoint("ticket create --data " + desk +
                       " --customer user:id-holder-1 --subject 'Refund ZQX-SUBJECT-4711' --channel chat 2>&1")
                .code,
            0);
  auto refused = Shell(Encrypt(desk) + " 2>&1");
  EXPECT_EQ(refused.code, 1) << refused.out;
  EXPECT_NE(refused.out.find("service desk tickets"), std::string::npos) << refused.out;
  EXPECT_FALSE(fs::exists(desk + "/encrypting"));
  EXPECT_FALSE(FoundIn(desk, {"ZQX-SUBJECT-4711"}).empty()) << "left as it was";
}

// The two other places a kill can land: after a complete copy (before the swap: made here with
// `store migrate` into DATA/encrypting, which encrypts a new target as keys encrypt does), and
// after the swap (only DATA/encrypting is left). --resume finishes both.
TEST_F(EncryptExistingCliTest, ResumeAfterACompleteCopyAndAfterTheSwap) {
  if (::touchpoint::testing::TestOnPostgres()) GTEST_SKIP() << "SQLite data directories only";
  const std::string input = Input();
  const std::set<std::string> values = PersonalValues(Slurp(input));
  IngestClear(Data(), input);
  const std::string db = Data() + "/touchpoint.db";
  ASSERT_EQ(Shell(std::string(TP_CLI_BINARY) + " store migrate --from sqlite://" + db + " --to sqlite://" + Data() +
                  "/encrypting/touchpoint.db >/dev/null 2>&1")
                .code,
            0);
  ASSERT_FALSE(FoundIn(Data(), values).empty()) << "the clear database is still there";
  auto resumed = Shell(Encrypt(Data(), "--resume") + " 2>&1");
  ASSERT_EQ(resumed.code, 0) << resumed.out;
  EXPECT_TRUE(FoundIn(Data(), values).empty());
  EXPECT_FALSE(fs::exists(Data() + "/encrypting"));

  fs::create_directories(Data() + "/encrypting");
  std::ofstream(Data() + "/encrypting/LOCK") << "";
  auto plain = Shell(Encrypt(Data()) + " 2>&1");
  EXPECT_EQ(plain.code, 0) << plain.out;
  EXPECT_NE(plain.out.find("removed the work directory"), std::string::npos) << plain.out;
  EXPECT_FALSE(fs::exists(Data() + "/encrypting"));
  auto shown = Touchpoint("customer show --data " + Data() + " --reveal phone --reason test phone:13911112222");
  ASSERT_EQ(shown.code, 0) << shown.out;
  EXPECT_NE(shown.out.find("id-holder-1"), std::string::npos) << shown.out;
}

}  // namespace
}  // namespace touchpoint
