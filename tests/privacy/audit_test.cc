#include <touchpoint/privacy/audit.h>

#include <sqlite3.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <touchpoint/store/memory.h>
#include <touchpoint/store/open.h>

#include "pipeline/test_dir.h"
#include "testing/matchers.h"
#include "testing/pg.h"

namespace touchpoint::privacy {
namespace {

using ::touchpoint::testing::StatusIs;

class FakeClock final : public Clock {
 public:
  Millis Now() const override { return now_.load(); }
  void Advance(Millis ms) { now_ += ms; }

 private:
  std::atomic<Millis> now_{1'700'000'000'000};
};

Signer TestSigner(unsigned char fill = 42) {
  std::array<unsigned char, kMasterKeyBytes> bytes{};
  bytes.fill(fill);
  return Signer::FromMasterKey(MasterKey::FromBytes(bytes));
}

std::vector<store::AuditEntryRecord> All(store::Store& s) {
  std::vector<store::AuditEntryRecord> out;
  EXPECT_OK(s.Get<store::AuditRepository>().Scan(0, [&](store::AuditEntryRecord&& e) {
    out.push_back(std::move(e));
    return true;
  }));
  return out;
}

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(AuditFormatTest, CanonicalBytesAndHashAreTheDocumentedOnes) {
  store::AuditEntryRecord e;
  e.seq = 1;
  e.time = 1'700'000'000'000;
  e.actor = "cli:uid:1000";
  e.action = "api_key.create";
  e.target = "api_key:1";
  e.details_json = R"({"role":"admin"})";
  const std::string canonical = CanonicalEntryBytes(e);
  EXPECT_EQ(canonical.substr(0, 4), "TPA1");
  EXPECT_EQ(canonical.substr(4, 8), std::string("\0\0\0\0\0\0\0\1", 8)) << "seq, 8 bytes big-endian";
  EXPECT_EQ(canonical.substr(20, 4), std::string("\0\0\0\x0c", 4)) << "actor's length, 4 bytes big-endian";
  EXPECT_EQ(canonical.size(), 4u + 8 + 8 + 4 * 4 + 12 + 14 + 9 + 16);
  // Computed independently: python3 hashlib.sha256(bytes(32) + canonical).hexdigest()
  EXPECT_EQ(ChainHash(std::string(64, '0'), e), "bd2397f5a2e8892157a0b0722bfa09b12947b378d95cacdb81ff064d6c677c5d");
  e.details_json = R"({"role":"ingest"})";
  EXPECT_NE(ChainHash(std::string(64, '0'), e), "bd2397f5a2e8892157a0b0722bfa09b12947b378d95cacdb81ff064d6c677c5d");
}

TEST(AuditFormatTest, CheckpointLinesRoundTrip) {
  store::AuditCheckpointRecord c{0, 250, std::string(64, 'a'), 1'700'000'000'123, "0123456789abcdef", "c2ln"};
  auto back = ParseCheckpointLine(CheckpointLine(c));
  ASSERT_OK(back.status());
  EXPECT_EQ(*back, c);
  EXPECT_THAT(ParseCheckpointLine("tp-audit-checkpoint v1 12 abc 5 k s").status(),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseCheckpointLine("hello").status(), StatusIs(StatusCode::kInvalidArgument));
}

class AuditLogTest : public ::testing::Test {
 protected:
  std::unique_ptr<AuditLog> OpenLog(std::optional<Signer> signer = TestSigner()) {
    AuditLogOptions o;
    o.checkpoints_path = tmp_.File("audit/checkpoints");
    auto log = AuditLog::Open(*store_, clock_, std::move(signer), o);
    EXPECT_OK(log.status());
    return log.ok() ? std::move(*log) : nullptr;
  }
  AuditVerdict Verify() {
    AuditVerifyOptions o;
    o.trusted_keys = {TestSigner().public_key()};
    o.checkpoints_path = tmp_.File("audit/checkpoints");
    auto v = VerifyAuditLog(store_->Get<store::AuditRepository>(), store_->Get<store::SigningKeyRepository>(), o);
    EXPECT_OK(v.status());
    return v.ok() ? *v : AuditVerdict{};
  }

  ::touchpoint::testing::TempDir tmp_;
  FakeClock clock_;
  std::unique_ptr<store::Store> store_ = store::memory::Open();
};

TEST_F(AuditLogTest, RecordsFormOneChainAndDetailsAreStoredCompact) {
  auto log = OpenLog();
  ASSERT_OK(log->Record("cli:uid:1000", "api_key.create", "api_key:1", R"({ "role" : "admin" })"));
  clock_.Advance(10);
  ASSERT_OK(log->Record("key:tp_3f9c12", "segment.define", "segment:vip"));
  EXPECT_THAT(log->Record("a", "b", "c", "[1,2]"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(log->Record("a", "b", "c", "{not json"), StatusIs(StatusCode::kInvalidArgument));
  ASSERT_OK(log->Record("bad\xff utf8", "x", std::string("nul\0here", 8)));
  auto all = All(*store_);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].details_json, R"({"role":"admin"})");
  EXPECT_EQ(all[1].details_json, "{}");
  EXPECT_EQ(all[1].time, all[0].time + 10);
  EXPECT_EQ(all[2].actor, "bad\xef\xbf\xbd utf8");
  EXPECT_EQ(all[2].target, "nulhere");
  ChainVerifier chain;
  for (const auto& e : all) EXPECT_TRUE(chain.Add(e)) << chain.reason();
  EXPECT_EQ(log->appended(), 3);
}

TEST_F(AuditLogTest, WritesASignedCheckpointEveryHundredEntriesAndAtClose) {
  auto log = OpenLog();
  for (int i = 0; i < 250; ++i) ASSERT_OK(log->Record("user:1", "login", "user:1"));
  auto checkpoints = store_->Get<store::AuditRepository>().Checkpoints();
  ASSERT_OK(checkpoints.status());
  ASSERT_EQ(checkpoints->size(), 2u);
  EXPECT_EQ((*checkpoints)[0].count, 100);
  EXPECT_EQ((*checkpoints)[1].count, 200);
  EXPECT_EQ((*checkpoints)[1].head_hash, All(*store_)[199].hash);
  ASSERT_OK(log->Close());
  ASSERT_OK(log->Close()) << "idempotent";
  const auto lines = Lines(tmp_.File("audit/checkpoints"));
  ASSERT_EQ(lines.size(), 3u) << "the clean exit covers the tail";
  auto last = ParseCheckpointLine(lines[2]);
  ASSERT_OK(last.status());
  EXPECT_EQ(last->count, 250);
  EXPECT_EQ(last->key_id, TestSigner().key_id());
  AuditVerdict v = Verify();
  EXPECT_TRUE(v.intact()) << v.reason << v.bad_checkpoint;
  EXPECT_EQ(v.entries, 250);
  EXPECT_EQ(v.covered, 250);
  EXPECT_EQ(v.file_checkpoints, 3);
  EXPECT_EQ(v.store_checkpoints, 3);
  // The public key is recorded for verifiers without the key file.
  auto keys = store_->Get<store::SigningKeyRepository>().List();
  ASSERT_OK(keys.status());
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].public_key, TestSigner().public_key().Base64());
}

TEST_F(AuditLogTest, TheTimerChecksPointsOnlyAfterTheIntervalAndWhenTheHeadMoved) {
  auto log = OpenLog();
  ASSERT_OK(log->Record("user:1", "login", "user:1"));
  ASSERT_OK(log->Tick());
  EXPECT_EQ(store_->Get<store::AuditRepository>().Checkpoints()->size(), 0u) << "not yet 5 minutes";
  clock_.Advance(5 * 60 * 1000);
  ASSERT_OK(log->Tick());
  EXPECT_EQ(store_->Get<store::AuditRepository>().Checkpoints()->size(), 1u);
  clock_.Advance(5 * 60 * 1000);
  ASSERT_OK(log->Tick());
  EXPECT_EQ(store_->Get<store::AuditRepository>().Checkpoints()->size(), 1u) << "nothing new to vouch for";
  ASSERT_OK(log->Close());
  EXPECT_EQ(store_->Get<store::AuditRepository>().Checkpoints()->size(), 1u) << "the tail is covered already";
}

TEST_F(AuditLogTest, ConcurrentRecordsAreAllCommittedInOneChain) {
  auto log = OpenLog();
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        if (!log->Record("user:" + std::to_string(t), "login", "user:" + std::to_string(t)).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(log->appended(), 400);
  ASSERT_OK(log->Close());
  AuditVerdict v = Verify();
  EXPECT_TRUE(v.intact()) << v.reason;
  EXPECT_EQ(v.entries, 400);
  EXPECT_EQ(v.covered, 400);
}

TEST_F(AuditLogTest, WithoutAMasterKeyEntriesAreChainedButNothingIsSigned) {
  auto log = OpenLog(std::nullopt);
  EXPECT_FALSE(log->signing());
  EXPECT_NE(log->warning().find("init-master"), std::string::npos);
  for (int i = 0; i < 120; ++i) ASSERT_OK(log->Record("user:1", "login", "user:1"));
  ASSERT_OK(log->Close());
  EXPECT_EQ(store_->Get<store::AuditRepository>().Checkpoints()->size(), 0u);
  AuditVerifyOptions o;
  auto v = VerifyAuditLog(store_->Get<store::AuditRepository>(), store_->Get<store::SigningKeyRepository>(), o);
  ASSERT_OK(v.status());
  EXPECT_TRUE(v->intact());
  EXPECT_EQ(v->covered, 0);
  EXPECT_FALSE(v->warnings.empty());
}

TEST_F(AuditLogTest, AForgedCheckpointLineIsReported) {
  auto log = OpenLog();
  for (int i = 0; i < 5; ++i) ASSERT_OK(log->Record("user:1", "login", "user:1"));
  ASSERT_OK(log->Close());
  auto line = ParseCheckpointLine(Lines(tmp_.File("audit/checkpoints"))[0]);
  ASSERT_OK(line.status());
  line->count = 3;  // claims fewer entries, keeps the signature
  std::ofstream(tmp_.File("audit/checkpoints"), std::ios::app) << CheckpointLine(*line) << "\n";
  AuditVerdict v = Verify();
  EXPECT_FALSE(v.intact());
  EXPECT_NE(v.bad_checkpoint.find("checkpoints:2"), std::string::npos) << v.bad_checkpoint;
}

// ---- tampering with the primary log (SQLite file, PostgreSQL table), verify with the file ----

class AuditTamperTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgres") {
      auto db = ::touchpoint::testing::PgDatabase::Create();
      if (!db.ok()) GTEST_SKIP() << db.status().message();
      pg_ = std::move(*db);
      url_ = pg_->url();
    } else {
      db_path_ = tmp_.File("touchpoint.db");
      url_ = "sqlite://" + db_path_;
    }
    auto s = store::Open(url_);
    ASSERT_OK(s.status());
    AuditLogOptions o;
    o.checkpoints_path = checkpoints();
    auto log = AuditLog::Open(**s, clock_, TestSigner(), o);
    ASSERT_OK(log.status());
    for (int i = 1; i <= 250; ++i) {
      clock_.Advance(1000);
      ASSERT_OK((*log)->Record("user:" + std::to_string(i % 7), i % 2 ? "api_key.create" : "segment.define",
                               "target:" + std::to_string(i), R"({"n":)" + std::to_string(i) + "}"));
    }
    ASSERT_OK((*log)->Close());
    log->reset();
    s->reset();
    ASSERT_EQ(Lines(checkpoints()).size(), 3u);
  }

  std::string checkpoints() const { return tmp_.File("other-disk/checkpoints"); }

  // Runs SQL on the primary log, as an insider with database access would.
  void Sql(const std::string& sql) {
    if (pg_) {
      ASSERT_OK(pg_->Exec(sql));
      return;
    }
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db_path_.c_str(), &raw), SQLITE_OK);
    char* err = nullptr;
    const int rc = sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, &err);
    const std::string message = err ? err : "";
    sqlite3_free(err);
    sqlite3_close(raw);
    ASSERT_EQ(rc, SQLITE_OK) << message;
  }

  std::string Value(const std::string& sql) {
    if (pg_) return *pg_->QueryValue(sql);
    sqlite3* raw = nullptr;
    EXPECT_EQ(sqlite3_open(db_path_.c_str(), &raw), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(raw, sql.c_str(), -1, &st, nullptr);
    std::string out;
    if (sqlite3_step(st) == SQLITE_ROW) out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(raw);
    return out;
  }

  // Recomputes the hashes of entries from..to so the chain is consistent again (SHA-256 is not
  // a secret: an insider can do this; only a signed checkpoint catches it).
  void RewriteChainFrom(int from, int to) {
    auto s = store::Open(url_);
    ASSERT_OK(s.status());
    std::vector<store::AuditEntryRecord> all = All(**s);
    s->reset();
    std::string prev = all[static_cast<size_t>(from - 2)].hash;
    std::string sql;
    for (int seq = from; seq <= to; ++seq) {
      store::AuditEntryRecord e = all[static_cast<size_t>(seq - 1)];
      e.prev_hash = prev;
      e.hash = ChainHash(prev, e);
      prev = e.hash;
      sql += "UPDATE audit_entries SET prev_hash = '" + e.prev_hash + "', hash = '" + e.hash +
             "' WHERE seq = " + std::to_string(seq) + ";";
    }
    Sql(sql);
  }

  AuditVerdict Verify() {
    auto s = store::Open(url_);
    EXPECT_OK(s.status());
    if (!s.ok()) return {};
    AuditVerifyOptions o;
    o.trusted_keys = {TestSigner().public_key()};
    o.checkpoints_path = checkpoints();
    auto v = VerifyAuditLog((*s)->Get<store::AuditRepository>(), (*s)->Get<store::SigningKeyRepository>(), o);
    EXPECT_OK(v.status());
    return v.ok() ? *v : AuditVerdict{};
  }

  ::touchpoint::testing::TempDir tmp_;
  std::unique_ptr<::touchpoint::testing::PgDatabase> pg_;
  std::string db_path_;
  std::string url_;
  FakeClock clock_;
};

TEST_P(AuditTamperTest, AnUntouchedLogIsIntact) {
  AuditVerdict v = Verify();
  EXPECT_TRUE(v.intact()) << v.first_bad_seq << " " << v.reason << v.bad_checkpoint;
  EXPECT_EQ(v.entries, 250);
  EXPECT_EQ(v.covered, 250);
  EXPECT_EQ(v.file_checkpoints, 3);
}

TEST_P(AuditTamperTest, AnEditedEntryIsFound) {
  Sql(R"(UPDATE audit_entries SET details = '{"n":9999}' WHERE seq = 42)");
  AuditVerdict v = Verify();
  EXPECT_EQ(v.first_bad_seq, 42);
  EXPECT_NE(v.reason.find("hash does not match"), std::string::npos) << v.reason;
}

TEST_P(AuditTamperTest, AnEditedEntryWithTheChainRecomputedIsFoundByTheCheckpointFile) {
  Sql(R"(UPDATE audit_entries SET actor = 'user:innocent' WHERE seq = 142)");
  RewriteChainFrom(142, 250);
  Sql("DELETE FROM audit_checkpoints");  // covering tracks in the database; the file is elsewhere
  AuditVerdict v = Verify();
  EXPECT_EQ(v.first_bad_seq, 101) << "after the last checkpoint the chain still matches (100)";
  EXPECT_NE(v.reason.find("rewritten"), std::string::npos) << v.reason;
}

TEST_P(AuditTamperTest, ADeletedEntryIsFound) {
  Sql("DELETE FROM audit_entries WHERE seq = 42");
  AuditVerdict v = Verify();
  EXPECT_EQ(v.first_bad_seq, 42);
  EXPECT_NE(v.reason.find("missing"), std::string::npos) << v.reason;
}

TEST_P(AuditTamperTest, ADeletedEntryWithLaterOnesRenumberedIsFound) {
  Sql("DELETE FROM audit_entries WHERE seq = 42; UPDATE audit_entries SET seq = -(seq - 1) WHERE seq > 42; "
      "UPDATE audit_entries SET seq = -seq WHERE seq < 0");
  AuditVerdict v = Verify();
  EXPECT_EQ(v.first_bad_seq, 42);
}

TEST_P(AuditTamperTest, ReorderedEntriesAreFound) {
  Sql("UPDATE audit_entries SET seq = -1 WHERE seq = 42; UPDATE audit_entries SET seq = 42 WHERE seq = 43; "
      "UPDATE audit_entries SET seq = 43 WHERE seq = -1");
  AuditVerdict v = Verify();
  EXPECT_EQ(v.first_bad_seq, 42);
  EXPECT_NE(v.reason.find("previous hash"), std::string::npos) << v.reason;
}

TEST_P(AuditTamperTest, AnInsertedEntryIsFound) {
  // Make room after entry 42 and insert a well-formed entry chained to it.
  Sql("UPDATE audit_entries SET seq = -(seq + 1) WHERE seq > 42; UPDATE audit_entries SET seq = -seq WHERE seq < 0");
  store::AuditEntryRecord forged;
  forged.seq = 43;
  forged.time = 1'700'000'043'500;
  forged.actor = "user:3";
  forged.action = "api_key.revoke";
  forged.target = "api_key:9";
  forged.details_json = "{}";
  forged.prev_hash = Value("SELECT hash FROM audit_entries WHERE seq = 42");
  forged.hash = ChainHash(forged.prev_hash, forged);
  Sql("INSERT INTO audit_entries(seq, time, actor, action, target, details, prev_hash, hash) VALUES(43, " +
      std::to_string(forged.time) + ", 'user:3', 'api_key.revoke', 'api_key:9', '{}', '" + forged.prev_hash +
      "', '" + forged.hash + "')");
  AuditVerdict v = Verify();
  EXPECT_EQ(v.first_bad_seq, 44) << "the inserted entry chains to 42; the one after it no longer fits";
  EXPECT_FALSE(v.intact());
}

TEST_P(AuditTamperTest, ATruncatedTailIsFoundByTheCheckpointFile) {
  Sql("DELETE FROM audit_entries WHERE seq > 230; DELETE FROM audit_checkpoints");
  AuditVerdict v = Verify();
  EXPECT_EQ(v.first_bad_seq, 231);
  EXPECT_NE(v.reason.find("cut off"), std::string::npos) << v.reason;
}

TEST_P(AuditTamperTest, ACheckpointIsNotSignedOverATamperedChain) {
  Sql(R"(UPDATE audit_entries SET details = '{"n":0}' WHERE seq = 250)");
  auto s = store::Open(url_);
  ASSERT_OK(s.status());
  AuditLogOptions o;
  o.checkpoints_path = checkpoints();
  auto log = AuditLog::Open(**s, clock_, TestSigner(), o);
  ASSERT_OK(log.status());
  ASSERT_OK((*log)->Record("user:1", "login", "user:1")) << "the entry itself is committed";
  Status cp = (*log)->Checkpoint();
  EXPECT_THAT(cp, StatusIs(StatusCode::kInternal));
  EXPECT_NE(cp.message().find("entry 250"), std::string::npos) << cp.message();
  EXPECT_EQ(Lines(checkpoints()).size(), 3u);
}

INSTANTIATE_TEST_SUITE_P(Backends, AuditTamperTest, ::testing::Values("sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
}  // namespace touchpoint::privacy
