#include <sqlite3.h>

#include <filesystem>

#include <gtest/gtest.h>
#include <touchpoint/store/identity_repository.h>
#include <touchpoint/store/profile_repository.h>
#include <touchpoint/store/sqlite.h>

#include "pipeline/test_dir.h"
#include "testing/matchers.h"
#include "testing/message_ids.h"

namespace touchpoint::store::sqlite {
namespace {

EventRecord Event(int i) {
  EventRecord e;
  e.hash = {static_cast<std::uint64_t>(i) + 1, static_cast<std::uint64_t>(i) * 31 + 7};
  e.message_id = "msg-" + std::to_string(i);
  e.customer = CustomerId(1 + i % 100);
  e.timestamp = 1'700'000'000'000 + i;
  e.kind = EventKind::kTrack;
  e.name = "Product Viewed";
  e.body = R"({"type":"track","event":"Product Viewed","messageId":"msg-)" + std::to_string(i) + R"("})";
  return e;
}

std::unique_ptr<Store> OpenAt(const std::string& path) {
  Options o;
  o.path = path;
  auto s = Open(o);
  EXPECT_OK(s);
  return s.ok() ? std::move(*s) : nullptr;
}

// Appends `events` in one transaction (with the backend's ahead-of-time encoding when given).
Status Append(Store& s, std::vector<EventRecord>& events, const PreparedEvents* prepared = nullptr) {
  TP_ASSIGN_OR_RETURN(auto txn, s.Begin());
  TP_RETURN_IF_ERROR(s.Get<EventLog>().Append(*txn, events, prepared));
  return txn->Commit();
}

std::vector<EventRecord> All(Store& s, std::int64_t from = 0) {
  std::vector<EventRecord> out;
  EXPECT_OK(s.Get<EventLog>().ScanFrom(from, [&](EventRecord&& e) {
    out.push_back(std::move(e));
    return true;
  }));
  return out;
}

// The event log's order, numbering and checkpoints, identifier upserts and the rest are in the
// contract suite (contract_test.cc), run on every backend. Here: what only SQLite has.

TEST(SqliteStoreTest, MessageIdCountsReadTheWholeLog) {
  ::touchpoint::testing::TempDir tmp;
  auto s = OpenAt(tmp.File("t.db"));
  std::vector<EventRecord> events;
  for (int i = 0; i < 12'001; ++i) events.push_back(Event(i));
  ASSERT_OK(Append(*s, events));
  auto counts = ::touchpoint::testing::MessageIdCounts(*s);
  ASSERT_OK(counts);
  EXPECT_EQ(counts->size(), 12'001u);
  EXPECT_EQ(::touchpoint::testing::CountOf(*counts, "msg-12000"), 1);
  EXPECT_EQ(::touchpoint::testing::CountOf(*counts, "msg-none"), 0);
}

void Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
}

TEST(SqliteStoreTest, VersionOneEventRowsMigrateIntoChunks) {
  ::touchpoint::testing::TempDir tmp;
  const std::string db = tmp.File("v1.db");
  {
    // The parts of the version-1 layout the migration reads.
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
    Exec(raw, "CREATE TABLE schema_version(version INTEGER NOT NULL); INSERT INTO schema_version VALUES(1);"
              "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
              "CREATE TABLE events(seq INTEGER PRIMARY KEY, hash_hi INTEGER NOT NULL, hash_lo INTEGER NOT NULL,"
              " message_id TEXT NOT NULL, customer_id INTEGER NOT NULL, ts INTEGER NOT NULL, kind INTEGER NOT NULL,"
              " name TEXT NOT NULL, body TEXT NOT NULL);"
              "INSERT INTO events VALUES(1, -5, 9, 'a', 11, 1000, 1, '', '{\"a\":1}');"
              "INSERT INTO events VALUES(2, 6, -10, 'b', 12, 2000, 2, 'Order Completed', '{\"b\":2}');"
              "INSERT INTO events VALUES(3, 7, 11, 'c', 11, 3000, 3, 'Home', '{\"c\":3}');"
              // Version-1 identifiers, unique on (kind, value); version 3 finds them by hash.
              "CREATE TABLE identifiers(id INTEGER PRIMARY KEY, kind TEXT NOT NULL, value TEXT NOT NULL,"
              " customer_id INTEGER NOT NULL, blocked INTEGER NOT NULL DEFAULT 0, joins INTEGER NOT NULL DEFAULT 0,"
              " first_seen INTEGER NOT NULL, first_message_id TEXT NOT NULL, UNIQUE(kind, value));"
              "CREATE INDEX identifiers_customer ON identifiers(customer_id);"
              "INSERT INTO identifiers VALUES(1, 'phone', '+8613812345678', 11, 0, 0, 1000, 'a');"
              "INSERT INTO identifiers VALUES(2, 'device', 'kiosk-1', 12, 1, 4, 2000, 'b');");
    sqlite3_close(raw);
  }
  auto s = OpenAt(db);
  EXPECT_EQ(s->schema_version(), CurrentSchemaVersion());
  auto all = All(*s);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].hash, (MessageHash{static_cast<std::uint64_t>(-5), 9}));
  EXPECT_EQ(all[1].name, "Order Completed");
  EXPECT_EQ(all[1].customer, CustomerId(12));
  EXPECT_EQ(all[2].body, "{\"c\":3}");
  EXPECT_EQ(all[2].timestamp, 3000);
  EXPECT_EQ(*s->Get<ProfileRepository>().Checkpoint(), 3) << "version-1 profiles reflected every event";
  std::vector<EventRecord> more{Event(99)};
  ASSERT_OK(Append(*s, more));
  EXPECT_EQ(more[0].seq, 4);

  auto& identity = s->Get<IdentityRepository>();
  auto phone = identity.FindIdentifier("phone", "+8613812345678");
  ASSERT_OK(phone.status());
  ASSERT_TRUE(phone->has_value());
  EXPECT_EQ((*phone)->customer, CustomerId(11));
  auto kiosk = identity.FindIdentifier("device", "kiosk-1");
  ASSERT_OK(kiosk.status());
  ASSERT_TRUE(kiosk->has_value());
  EXPECT_TRUE((*kiosk)->blocked);
  EXPECT_EQ((*kiosk)->joins, 4);
  auto other_kind = identity.FindIdentifier("email", "+8613812345678");
  ASSERT_OK(other_kind.status());
  EXPECT_FALSE(other_kind->has_value()) << "the key covers the kind, not only the value";
}

TEST(SqliteStoreTest, PreparedBatchesStoreTheSameEventsAndAStaleOneIsReEncoded) {
  ::touchpoint::testing::TempDir tmp;
  auto s = OpenAt(tmp.File("t.db"));
  ASSERT_NE(s->maintenance(), nullptr);
  std::vector<EventRecord> a;  // 9,000 events: three chunks encoded ahead of the transaction
  for (int i = 0; i < 9'000; ++i) a.push_back(Event(i));
  auto prepared = s->maintenance()->PrepareEvents(a);
  ASSERT_NE(prepared, nullptr);
  ASSERT_OK(Append(*s, a, prepared.get()));
  std::vector<EventRecord> b;  // events added after preparing: the prepared chunks no longer match
  for (int i = 9'000; i < 9'010; ++i) b.push_back(Event(i));
  auto stale = s->maintenance()->PrepareEvents(b);
  b.push_back(Event(9'010));
  ASSERT_OK(Append(*s, b, stale.get()));
  auto all = All(*s);
  ASSERT_EQ(all.size(), 9'011u);
  for (int i : {0, 4'095, 4'096, 8'999, 9'000, 9'010}) {
    const EventRecord want = Event(i);
    EXPECT_EQ(all[static_cast<size_t>(i)].message_id, want.message_id);
    EXPECT_EQ(all[static_cast<size_t>(i)].body, want.body);
    EXPECT_EQ(all[static_cast<size_t>(i)].hash, want.hash);
    EXPECT_EQ(all[static_cast<size_t>(i)].customer, want.customer);
    EXPECT_EQ(all[static_cast<size_t>(i)].seq, i + 1);
  }
}

TEST(SqliteStoreTest, ReadOnlyOpenOfAnOlderSchemaSaysHowToUpgrade) {
  ::touchpoint::testing::TempDir tmp;
  const std::string db = tmp.File("t.db");
  OpenAt(db).reset();
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
    Exec(raw, "UPDATE schema_version SET version = version - 1");
    sqlite3_close(raw);
  }
  Options o;
  o.path = db;
  o.read_only = true;
  auto s = Open(o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.status().message().find("touchpoint serve"), std::string::npos) << s.status().message();
}


TEST(SqliteStoreTest, FoldLogPutsCommittedDataIntoTheMainFile) {
  ::touchpoint::testing::TempDir tmp;
  const std::string db = tmp.File("t.db");
  auto s = OpenAt(db);
  std::vector<EventRecord> b;
  for (int i = 0; i < 100; ++i) b.push_back(Event(i));
  ASSERT_OK(Append(*s, b));
  s->maintenance()->FoldLog();
  // A copy of the main file alone (no -wal beside it) must hold the events.
  const std::string copy = tmp.File("copy.db");
  std::filesystem::copy_file(db, copy);
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open_v2(copy.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw, "SELECT sum(n) FROM event_chunks", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int64(st, 0), 100);
  sqlite3_finalize(st);
  sqlite3_close(raw);
}

}  // namespace
}  // namespace touchpoint::store::sqlite
