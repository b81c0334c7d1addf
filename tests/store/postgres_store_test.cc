// What only the PostgreSQL backend has (the shared behaviour is in contract_test.cc): logins and
// their errors, schema versions, the writer lock, fencing, leases that a frozen holder loses, the
// change sequence, and text PostgreSQL would refuse. Each case runs on a fresh database of the
// throwaway server that ctest's `pg` fixture starts, and skips (saying why) without one.
#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <touchpoint/store/activity_repository.h>
#include <touchpoint/store/change_feed.h>
#include <touchpoint/store/cluster.h>
#include <touchpoint/store/erasure_repository.h>
#include <touchpoint/store/identity_repository.h>
#include <touchpoint/store/profile_repository.h>
#include <touchpoint/store/open.h>
#include <touchpoint/store/store.h>

#ifdef TP_WITH_POSTGRES
#include <touchpoint/store/postgres.h>
#endif

#include "testing/matchers.h"
#include "testing/pg.h"

namespace touchpoint::store {
namespace {

using ::touchpoint::testing::StatusIs;
using ::touchpoint::testing::WithDatabase;

EventRecord Event(int i) {
  EventRecord e;
  e.hash = {static_cast<std::uint64_t>(i) + 1, 99};
  e.message_id = "m-" + std::to_string(i);
  e.customer = CustomerId(1);
  e.timestamp = 1'700'000'000'000 + i;
  e.body = "{}";
  return e;
}

Status AppendOne(Store& s, int i) {
  TP_ASSIGN_OR_RETURN(auto txn, s.Begin());
  std::vector<EventRecord> e{Event(i)};
  TP_RETURN_IF_ERROR(s.Get<EventLog>().Append(*txn, e));
  return txn->Commit();
}

// Turns a database of the current schema into one of schema 6 (events one row each, as
// versions 1–6 stored them on PostgreSQL), with the event rows `insert_events` adds.
std::string BackToSchema6(const std::string& insert_events = "") {
  return "DROP TABLE IF EXISTS keyring; DROP TABLE IF EXISTS privacy_settings; "
         "DROP TABLE IF EXISTS tickets; DROP TABLE IF EXISTS ticket_messages; DROP TABLE IF EXISTS ticket_history; DROP TABLE IF EXISTS desk_cursors; DROP SEQUENCE IF EXISTS ticket_numbers; DROP TABLE IF EXISTS outbox; DROP TABLE IF EXISTS consents; DROP TABLE dp_releases; DROP TABLE dp_budgets; DROP TABLE event_chunks; CREATE TABLE events(seq bigint PRIMARY KEY, hash_hi bigint NOT NULL, "
         "hash_lo bigint NOT NULL, message_id text NOT NULL, customer_id bigint NOT NULL, ts bigint NOT NULL, "
         "kind smallint NOT NULL, name text NOT NULL, body text NOT NULL, epoch bigint NOT NULL DEFAULT 0); " +
         insert_events + "; UPDATE schema_version SET version = 6";
}

TEST(PostgresStoreTest, WrongPasswordAndMissingDatabaseAreClearErrorsThatNeverShowThePassword) {
  TP_PG_DATABASE_OR_SKIP(db);
  ASSERT_OK(db->Exec("DO $$ BEGIN CREATE ROLE tp_password_user LOGIN PASSWORD 'right-horse'; "
                     "EXCEPTION WHEN duplicate_object THEN NULL; END $$"));
  ASSERT_OK(db->Exec("GRANT ALL ON SCHEMA public TO tp_password_user"));
  const std::string host = WithDatabase(db->admin_url(), db->name());
  std::string as_user = host;
  as_user.replace(as_user.find("postgres@"), 9, "tp_password_user@");

  OpenOptions wrong;
  wrong.password = "wrong-battery";
  auto refused = Open(as_user, wrong);
  EXPECT_THAT(refused.status(), StatusIs(StatusCode::kUnavailable));
  EXPECT_NE(refused.status().message().find("password authentication failed"), std::string::npos)
      << refused.status().message();
  EXPECT_EQ(refused.status().message().find("wrong-battery"), std::string::npos);

  std::string in_url = as_user;
  in_url.replace(in_url.find("tp_password_user@"), 17, "tp_password_user:wrong-battery@");
  auto refused_url = Open(in_url);
  EXPECT_FALSE(refused_url.ok());
  EXPECT_EQ(refused_url.status().message().find("wrong-battery"), std::string::npos) << refused_url.status().message();

  OpenOptions right;
  right.password = "right-horse";
  auto opened = Open(as_user, right);
  EXPECT_OK(opened.status()) << "the password from [store] password_file works";

  auto missing = Open(WithDatabase(db->admin_url(), "tp_no_such_database"));
  EXPECT_THAT(missing.status(), StatusIs(StatusCode::kUnavailable));
  EXPECT_NE(missing.status().message().find("does not exist"), std::string::npos) << missing.status().message();
}

TEST(PostgresStoreTest, SchemaVersionsOlderAreMigratedNewerAreRefused) {
  TP_PG_DATABASE_OR_SKIP(db);
  { ASSERT_OK(Open(db->url()).status()); }
  EXPECT_EQ(*db->QueryValue("SELECT version FROM schema_version"), std::to_string(postgres::CurrentSchemaVersion()));

  // An installation of schema 3 (before jobs and segments, users and sessions, event chunks):
  // readers refuse, a writer migrates.
  ASSERT_OK(db->Exec(BackToSchema6() + "; DROP TABLE jobs; DROP TABLE segments; DROP TABLE users; DROP TABLE teams; "
                     "DROP TABLE team_supervisors; DROP TABLE sessions; UPDATE schema_version SET version = 3"));
  OpenOptions ro;
  ro.read_only = true;
  auto old_reader = Open(db->url(), ro);
  EXPECT_THAT(old_reader.status(), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_NE(old_reader.status().message().find("predates"), std::string::npos);
  auto writer = Open(db->url());
  ASSERT_OK(writer.status());
  EXPECT_EQ((*writer)->schema_version(), postgres::CurrentSchemaVersion());
  EXPECT_EQ(*db->QueryValue("SELECT count(*) FROM jobs"), "0");
  EXPECT_EQ(*db->QueryValue("SELECT count(*) FROM users"), "0");
  EXPECT_EQ(*db->QueryValue("SELECT count(*) FROM event_chunks"), "0");
  EXPECT_EQ(*db->QueryValue("SELECT count(*) FROM dp_releases"), "0");
  writer->reset();

  ASSERT_OK(db->Exec("UPDATE schema_version SET version = 99"));
  auto too_new = Open(db->url());
  EXPECT_THAT(too_new.status(), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_NE(too_new.status().message().find("newer than this binary"), std::string::npos);
  EXPECT_THAT(Open(db->url(), ro).status(), StatusIs(StatusCode::kFailedPrecondition));

  TP_PG_DATABASE_OR_SKIP(empty);
  auto no_schema = Open(empty->url(), ro);
  EXPECT_THAT(no_schema.status(), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_NE(no_schema.status().message().find("no Touchpoint schema"), std::string::npos);
}

TEST(PostgresStoreTest, Schema6EventRowsMoveIntoChunksWithTheirSeqEpochAndEveryField) {
  TP_PG_DATABASE_OR_SKIP(db);
  { ASSERT_OK(Open(db->url()).status()); }
  // 5,000 events of epoch 1 (more than one chunk holds), then 10 of epoch 2; one body with the
  // characters COPY text escapes.
  ASSERT_OK(db->Exec(BackToSchema6(
      "INSERT INTO events SELECT g, g, -g, 'm-' || g, g % 7, 1700000000000 + g, 1 + g % 4, "
      "CASE WHEN g % 3 = 0 THEN '' ELSE 'Order Completed' END, "
      "CASE WHEN g = 42 THEN E'{\"t\":\"tab\\there\\nnew \u00fc\"}' ELSE '{\"i\":' || g || '}' END, "
      "CASE WHEN g <= 5000 THEN 1 ELSE 2 END FROM generate_series(1, 5010) g")));
  std::string body42;
  {
    auto writer = Open(db->url());
    ASSERT_OK(writer.status());
    EXPECT_EQ((*writer)->schema_version(), postgres::CurrentSchemaVersion());
    EventLog& log = (*writer)->Get<EventLog>();
    EXPECT_EQ(*log.Count(), 5010);
    EXPECT_EQ(*log.LastSeq(), 5010);
    std::int64_t next = 1;
    bool same = true;
    ASSERT_OK(log.ScanFrom(1, [&](EventRecord&& e) {
      const std::int64_t g = next++;
      same = same && e.seq == g && e.hash == MessageHash{static_cast<std::uint64_t>(g), static_cast<std::uint64_t>(-g)} &&
             e.message_id == "m-" + std::to_string(g) && e.customer == CustomerId(g % 7) &&
             e.timestamp == 1'700'000'000'000 + g && e.kind == static_cast<EventKind>(1 + g % 4) &&
             e.name == (g % 3 == 0 ? "" : "Order Completed");
      if (g == 42) body42 = e.body;
      else same = same && e.body == "{\"i\":" + std::to_string(g) + "}";
      return true;
    }));
    EXPECT_TRUE(same) << "every field of every event is kept";
    EXPECT_EQ(next, 5011);
    int hashes = 0;
    ASSERT_OK(log.ScanHashes([&](const MessageHash&) { ++hashes; }));
    EXPECT_EQ(hashes, 5010);
    EXPECT_OK(AppendOne(**writer, 9000)) << "new events follow the migrated ones";
    EXPECT_EQ(*log.LastSeq(), 5011);
  }
  EXPECT_EQ(body42, "{\"t\":\"tab\there\nnew \xc3\xbc\"}");
  EXPECT_EQ(*db->QueryValue("SELECT to_regclass('events') IS NULL"), "t") << "the row table is dropped";
  // A chunk never spans two epochs: the per-event epoch survives as the chunk's.
  EXPECT_EQ(*db->QueryValue("SELECT string_agg(epoch || ':' || total, ',' ORDER BY epoch) FROM "
                            "(SELECT epoch, sum(n) AS total FROM event_chunks WHERE first_seq <= 5010 GROUP BY epoch) t"),
            "1:5000,2:10");
}

TEST(PostgresStoreTest, TwoUnfencedStoresCannotNumberEventsTwice) {
  TP_PG_DATABASE_OR_SKIP(db);
  // Neither holds the writer lock (tools, tests): both start numbering at 1. The second commit
  // must fail rather than store a chunk over the first one's seqs.
  auto a = Open(db->url());
  ASSERT_OK(a.status());
  auto b = Open(db->url());
  ASSERT_OK(b.status());
  {
    auto txn = (*a)->Begin();
    ASSERT_OK(txn.status());
    std::vector<EventRecord> three{Event(1), Event(2), Event(3)};
    ASSERT_OK((*a)->Get<EventLog>().Append(**txn, three));
    ASSERT_OK((*txn)->Commit());
  }
  Status second = AppendOne(**b, 4);
  EXPECT_FALSE(second.ok());
  EXPECT_EQ(*(*a)->Get<EventLog>().Count(), 3);
  // Nor can a chunk start inside another's range (seq 2 of the chunk 1–3).
  EXPECT_FALSE(db->Exec("INSERT INTO event_chunks SELECT 2, 1, codec, raw_size, min_ts, max_ts, epoch, hashes, data "
                        "FROM event_chunks WHERE first_seq = 1")
                   .ok());
}

TEST(PostgresStoreTest, OneWriterAtATimeAndTheSecondIsToldWhoHoldsTheLock) {
  TP_PG_DATABASE_OR_SKIP(db);
  OpenOptions w;
  w.purpose = "touchpoint serve";
  auto first = Open(db->url(), w);
  ASSERT_OK(first.status());
  w.purpose = "touchpoint ingest";
  auto second = Open(db->url(), w);
  EXPECT_THAT(second.status(), StatusIs(StatusCode::kUnavailable));
  EXPECT_NE(second.status().message().find("touchpoint serve"), std::string::npos) << second.status().message();
  OpenOptions ro;
  ro.read_only = true;
  EXPECT_OK(Open(db->url(), ro).status()) << "readers never need the writer lock";
  EXPECT_OK(AppendOne(**first, 1));
  first->reset();
  auto third = Open(db->url(), w);
  ASSERT_OK(third.status()) << "released when the first writer closes";
  EXPECT_OK(AppendOne(**third, 2));
  // Every commit records its writer's epoch: the second writer's is the later one.
  EXPECT_EQ(*db->QueryValue("SELECT count(DISTINCT epoch) FROM event_chunks"), "2");
}

TEST(PostgresStoreTest, AFencedWriterCommitsNothingOnceANewEpochBegan) {
  TP_PG_DATABASE_OR_SKIP(db);
  auto admin = Open(db->url());
  ASSERT_OK(admin.status());
  Cluster* cluster = (*admin)->cluster();
  ASSERT_NE(cluster, nullptr);
  auto lease = cluster->TryAcquire("node-a");
  ASSERT_OK(lease.status());
  ASSERT_NE(*lease, nullptr);
  const std::int64_t epoch = (*lease)->epoch();
  EXPECT_OK((*lease)->Check());
  auto none = cluster->TryAcquire("node-b");
  ASSERT_OK(none.status());
  EXPECT_EQ(*none, nullptr) << "the lock is held: no second writer";

  OpenOptions fenced;
  fenced.fence_epoch = epoch;
  auto writer = Open(db->url(), fenced);
  ASSERT_OK(writer.status());
  ASSERT_OK(AppendOne(**writer, 1));

  // A transaction is under way when the lease is lost (its holder gone) and node-b is elected.
  // The old writer's store, still open and unaware, must not commit anything any more.
  auto txn = (*writer)->Begin();
  ASSERT_OK(txn.status());
  std::vector<EventRecord> e{Event(2)};
  ASSERT_OK((*writer)->Get<EventLog>().Append(**txn, e));
  lease->reset();
  auto b = cluster->TryAcquire("node-b");
  ASSERT_OK(b.status());
  ASSERT_NE(*b, nullptr);
  EXPECT_EQ((*b)->epoch(), epoch + 1);
  Status commit = (*txn)->Commit();
  EXPECT_THAT(commit, StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_NE(commit.message().find("fenced"), std::string::npos) << commit.message();
  txn->reset();
  EXPECT_THAT((*writer)->Begin().status(), StatusIs(StatusCode::kFailedPrecondition)) << "and starts nothing new";
  EXPECT_EQ(*(*admin)->Get<EventLog>().Count(), 1) << "nothing of the fenced transaction is stored";
  EXPECT_EQ(*db->QueryValue("SELECT node_id FROM tp_elections WHERE epoch = " + std::to_string(epoch + 1)), "node-b");
}

#ifdef TP_WITH_POSTGRES
TEST(PostgresStoreTest, AFrozenLeaseHolderLosesTheLockAndFindsItselfFenced) {
  TP_PG_DATABASE_OR_SKIP(db);
  postgres::Options o;
  o.url = db->url();
  o.lease_timeout_ms = 300;
  auto store = postgres::Open(o);
  ASSERT_OK(store.status());
  Cluster* cluster = (*store)->cluster();
  auto lease = cluster->TryAcquire("frozen");
  ASSERT_OK(lease.status());
  ASSERT_NE(*lease, nullptr);
  // The holder does not call Check() for longer than the lease timeout (SIGSTOP, a long pause):
  // the server ends its session, and with it the lock.
  std::unique_ptr<WriterLease> next;
  for (int i = 0; i < 100 && next == nullptr; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto got = cluster->TryAcquire("successor");
    ASSERT_OK(got.status());
    next = std::move(*got);
  }
  ASSERT_NE(next, nullptr) << "a successor is elected once the frozen session is ended";
  EXPECT_EQ(next->epoch(), (*lease)->epoch() + 1);
  EXPECT_FALSE((*lease)->Check().ok()) << "on waking up, the old holder learns it lost the lease";
}
#endif

TEST(PostgresStoreTest, FollowersLearnOfCommitsThroughTheChangeSequence) {
  TP_PG_DATABASE_OR_SKIP(db);
  auto writer = Open(db->url());
  ASSERT_OK(writer.status());
  OpenOptions ro;
  ro.read_only = true;
  auto follower = Open(db->url(), ro);
  ASSERT_OK(follower.status());
  Cluster* cluster = (*follower)->cluster();
  ASSERT_NE(cluster, nullptr);
  auto idle = cluster->WaitForChange(0, std::chrono::milliseconds(50));
  ASSERT_OK(idle.status());
  EXPECT_EQ(idle->seq, 0) << "no commit yet: the wait times out";

  std::thread commit([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_OK(AppendOne(**writer, 1));
    EXPECT_OK(AppendOne(**writer, 2));
  });
  std::int64_t seen = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (seen < 2 && std::chrono::steady_clock::now() < deadline) {
    auto change = cluster->WaitForChange(seen, std::chrono::seconds(5));
    ASSERT_OK(change.status());
    seen = change->seq;
  }
  commit.join();
  EXPECT_EQ(seen, 2);
  auto committed = cluster->Committed();
  ASSERT_OK(committed.status());
  EXPECT_EQ(committed->seq, 2);
  EXPECT_GT(committed->committed_at, 0);
}

TEST(PostgresStoreTest, TextPostgresCannotHoldIsCleanedInsteadOfFailingTheCommit) {
  TP_PG_DATABASE_OR_SKIP(db);
  auto s = Open(db->url());
  ASSERT_OK(s.status());
  MessageRecord m;
  m.message_id = "odd";
  m.customer = CustomerId(1);
  static constexpr char kRaw[] = "nul\0byte and \xff bad \xe4\xbd\xa0\xe5\xa5\xbd tab\tnew\nline back\\slash";
  m.text = std::string(kRaw, sizeof kRaw - 1);
  {
    auto txn = (*s)->Begin();
    ASSERT_OK(txn.status());
    std::vector<MessageRecord> ms{m};
    ASSERT_OK((*s)->Get<ActivityRepository>().AddMessages(**txn, ms));
    ASSERT_OK((*txn)->Commit());
  }
  std::vector<MessageRecord> back;
  ASSERT_OK((*s)->Get<ActivityRepository>().ScanMessages([&](MessageRecord&& r) { back.push_back(std::move(r)); }));
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].text, "nulbyte and \xef\xbf\xbd bad \xe4\xbd\xa0\xe5\xa5\xbd tab\tnew\nline back\\slash");
}

TEST(PostgresStoreTest, TheChangeFeedGivesWhatChangedSinceAMarkOnce) {
  TP_PG_DATABASE_OR_SKIP(db);
  auto writer = Open(db->url());
  ASSERT_OK(writer.status());
  OpenOptions ro;
  ro.read_only = true;
  auto follower = Open(db->url(), ro);
  ASSERT_OK(follower.status());
  ChangeFeed* feed = (*follower)->change_feed();
  ASSERT_NE(feed, nullptr);
  auto write = [&](std::vector<CustomerRecord> customers, std::vector<ProfileRecord> profiles) {
    auto txn = (*writer)->Begin();
    ASSERT_OK(txn.status());
    ASSERT_OK((*writer)->Get<IdentityRepository>().PutCustomers(**txn, customers));
    ASSERT_OK((*writer)->Get<ProfileRepository>().Put(**txn, profiles));
    ASSERT_OK((*writer)->Get<ProfileRepository>().SetCheckpoint(**txn, 7));
    ASSERT_OK((*txn)->Commit());
  };
  write({{CustomerId(1), CustomerId(), 10}, {CustomerId(2), CustomerId(), 11}},
        {{CustomerId(1), "{\"a\":1}", 10}, {CustomerId(2), "{\"b\":2}", 11}});
  auto all = feed->ChangesSince(0);
  ASSERT_OK(all.status());
  EXPECT_EQ(all->customers.size(), 2u);
  EXPECT_EQ(all->profiles.size(), 2u);
  EXPECT_EQ(all->profile_checkpoint, 7);
  auto none = feed->ChangesSince(all->mark);
  ASSERT_OK(none.status());
  EXPECT_TRUE(none->customers.empty() && none->profiles.empty()) << "nothing changed since the mark";
  // Customer 2 merged into 1, its profile rewritten: exactly those rows come back.
  write({{CustomerId(2), CustomerId(1), 11}}, {{CustomerId(1), "{\"a\":3}", 12}});
  auto next = feed->ChangesSince(all->mark);
  ASSERT_OK(next.status());
  ASSERT_EQ(next->customers.size(), 1u);
  EXPECT_EQ(next->customers[0].merged_into, CustomerId(1));
  ASSERT_EQ(next->profiles.size(), 1u);
  EXPECT_EQ(next->profiles[0].data, "{\"a\":3}");
  EXPECT_GT(next->mark, all->mark);
}

// An erasure deletes the person's rows, so nothing but Changes::erased can tell a follower to
// forget them: the ids come once, after the erasure's commit, and the mark moves past them.
TEST(PostgresStoreTest, TheChangeFeedNamesErasedCustomersOnceAfterTheErasure) {
  TP_PG_DATABASE_OR_SKIP(db);
  auto writer = Open(db->url());
  ASSERT_OK(writer.status());
  OpenOptions ro;
  ro.read_only = true;
  auto follower = Open(db->url(), ro);
  ASSERT_OK(follower.status());
  ChangeFeed* feed = (*follower)->change_feed();
  ASSERT_NE(feed, nullptr);
  {
    auto txn = (*writer)->Begin();
    ASSERT_OK(txn.status());
    std::vector<CustomerRecord> customers{{CustomerId(1), CustomerId(), 10}, {CustomerId(2), CustomerId(), 11}};
    ASSERT_OK((*writer)->Get<IdentityRepository>().PutCustomers(**txn, customers));
    ASSERT_OK((*txn)->Commit());
  }
  auto before = feed->ChangesSince(0);
  ASSERT_OK(before.status());
  EXPECT_TRUE(before->erased.empty());
  {
    auto txn = (*writer)->Begin();
    ASSERT_OK(txn.status());
    const std::vector<CustomerId> person{CustomerId(1)};
    auto erased = (*writer)->Get<ErasureRepository>().Erase(**txn, person);
    ASSERT_OK(erased.status());
    EXPECT_EQ(erased->customers, 1);
    auto uncommitted = feed->ChangesSince(before->mark);
    ASSERT_OK(uncommitted.status());
    EXPECT_TRUE(uncommitted->erased.empty()) << "an erasure not yet committed is not in the feed";
    ASSERT_OK((*txn)->Commit());
  }
  auto after = feed->ChangesSince(before->mark);
  ASSERT_OK(after.status());
  EXPECT_EQ(after->erased, std::vector<CustomerId>{CustomerId(1)});
  EXPECT_TRUE(after->customers.empty()) << "customer 2 did not change";
  EXPECT_GT(after->mark, before->mark);
  auto again = feed->ChangesSince(after->mark);
  ASSERT_OK(again.status());
  EXPECT_TRUE(again->erased.empty()) << "an erasure comes once";
}

}  // namespace
}  // namespace touchpoint::store
