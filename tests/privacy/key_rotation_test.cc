// Master key rotation (privacy/key_rotation.h) over real stores: SQLite files, and PostgreSQL
// when a test server is configured. What was written under version 1 reads at every point of the
// rotation to version 2, a kill -9 in the middle of it leaves everything readable and a second
// run finishes it, and afterwards nothing uses version 1 (it can be retired).
#include <touchpoint/privacy/key_rotation.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <future>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <touchpoint/store/channel_repository.h>
#include <touchpoint/store/event_log.h>
#include <touchpoint/store/identity_repository.h>
#include <touchpoint/store/keyring_repository.h>
#include <touchpoint/store/open.h>
#include <touchpoint/store/outbox_repository.h>
#include <touchpoint/store/profile_repository.h>
#include <touchpoint/store/rekey_repository.h>
#include <touchpoint/store/user_repository.h>

#include "pipeline/test_dir.h"
#include "testing/matchers.h"
#include "testing/pg.h"

namespace touchpoint::privacy {
namespace {

using ::touchpoint::testing::StatusIs;

MasterKey KeyOf(unsigned char fill, int version) {
  std::array<unsigned char, kMasterKeyBytes> bytes{};
  bytes.fill(fill);
  return MasterKey::FromBytes(bytes, version);
}

MasterKeySet Versions(std::vector<int> versions) {
  std::vector<MasterKey> keys;
  for (int v : versions) keys.push_back(KeyOf(static_cast<unsigned char>(40 + v), v));
  return MasterKeySet(std::move(keys));
}

constexpr int kPeople = 12;

std::string Phone(int i) { return "+86139000000" + std::to_string(10 + i); }

class KeyRotationTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgres") {
      auto db = testing::PgDatabase::Create();
      if (!db.ok()) GTEST_SKIP() << db.status().message();
      pg_ = std::move(*db);
      data_url_ = pg_->url();
      keyring_url_ = pg_->url();  // the default on PostgreSQL: the keyring in the same database
    } else {
      data_url_ = "sqlite://" + tmp_.File("touchpoint.db");
      keyring_url_ = "sqlite://" + tmp_.File("keyring.db");
    }
  }

  // The data store under `keys` (every version; seals under the newest).
  std::unique_ptr<EncryptedStore> Open(const MasterKeySet& keys) {
    store::OpenOptions o;
    o.without_layer = true;
    auto data = store::Open(data_url_, o);
    EXPECT_OK(data.status());
    if (!data.ok()) return nullptr;
    auto keyring_store = store::Open(keyring_url_, o);
    EXPECT_OK(keyring_store.status());
    if (!keyring_store.ok()) return nullptr;
    auto ctx = std::make_shared<EncryptionContext>(keys, std::make_unique<Keyring>(std::move(*keyring_store), keys));
    auto& marks = (*data)->Get<store::KeyringRepository>();
    if (!marks.Setting(kKeyCheckSetting)->has_value()) {
      EXPECT_OK(marks.PutSetting(kKeyCheckSetting, ctx->MakeKeyCheck()));
    }
    EXPECT_OK(ctx->VerifyKeyCheck(**marks.Setting(kKeyCheckSetting)));
    return std::make_unique<EncryptedStore>(std::move(*data), std::move(ctx));
  }

  // Identifiers, profiles, events (sealed chunks), an outbox payload, a TOTP secret and an
  // attachment, for people [from, to).
  void Write(EncryptedStore& s, int from, int to) {
    auto txn = s.Begin();
    ASSERT_OK(txn.status());
    std::vector<store::IdentifierRecord> ids;
    std::vector<store::ProfileRecord> profiles;
    std::vector<store::EventRecord> events;
    for (int i = from; i < to; ++i) {
      store::IdentifierRecord r;
      r.id = IdentifierId(i);
      r.kind = "phone";
      r.value = Phone(i);
      r.customer = CustomerId(i);
      r.first_seen = 1000;
      r.first_message_id = "m-" + std::to_string(i);
      ids.push_back(r);
      profiles.push_back({CustomerId(i), R"({"traits":{"name":"person )" + std::to_string(i) + R"("}})", 1});
      store::EventRecord e;
      e.hash = store::MessageHash{static_cast<std::uint64_t>(i), static_cast<std::uint64_t>(i) * 7};
      e.message_id = "msg-" + std::to_string(i);
      e.customer = CustomerId(i);
      e.timestamp = 1000 + i;
      e.name = "Order Completed";
      e.body = R"({"phone":")" + Phone(i) + R"("})";
      events.push_back(e);
    }
    ASSERT_OK(s.Get<store::IdentityRepository>().PutIdentifiers(**txn, ids));
    ASSERT_OK(s.Get<store::ProfileRepository>().Put(**txn, profiles));
    ASSERT_OK(s.Get<store::EventLog>().Append(**txn, events));
    store::Delivery d;
    d.kind = store::DeliveryKind::kWebhook;
    d.target = "crm";
    d.event = "ticket.created";
    d.payload = "payload of " + std::to_string(from);
    d.idempotency_key = "k-" + std::to_string(from);
    d.next_attempt_at = 1;
    d.created_at = 1;
    ASSERT_OK(s.Get<store::OutboxRepository>().Enqueue(**txn, d).status());
    store::AttachmentRecord a{"ab" + std::to_string(from), "text/plain", 5, "bytes" + std::to_string(from), 1};
    ASSERT_OK(s.Get<store::ChannelRepository>().PutAttachment(**txn, a));
    ASSERT_OK((*txn)->Commit());
    store::UserRecord u;
    u.email = "agent" + std::to_string(from) + "@example.com";
    u.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA";
    u.role = "agent";
    u.totp_secret = "JBSWY3DPEHPK3PXP" + std::to_string(from);
    u.created_at = 1;
    u.password_changed_at = 1;
    ASSERT_OK(s.Get<store::UserRepository>().Create(u).status());
    written_.push_back(from);
  }

  // Everything written reads back through `s`, and lookups by value find every identifier.
  void ExpectReadable(EncryptedStore& s, int people) {
    auto& identity = s.Get<store::IdentityRepository>();
    for (int i = 1; i < people; ++i) {
      auto found = identity.FindIdentifier("phone", Phone(i));
      ASSERT_OK(found.status());
      ASSERT_TRUE(found->has_value()) << "identifier " << i;
      EXPECT_EQ((*found)->id, IdentifierId(i));
      auto profile = s.Get<store::ProfileRepository>().Find(CustomerId(i));
      ASSERT_OK(profile.status());
      ASSERT_TRUE(profile->has_value());
      EXPECT_NE((*profile)->data.find("person " + std::to_string(i)), std::string::npos);
    }
    int events = 0;
    ASSERT_OK(s.Get<store::EventLog>().ScanFrom(1, [&](store::EventRecord&& e) {
      EXPECT_NE(e.body.find(Phone(static_cast<int>(e.customer.value()))), std::string::npos);
      ++events;
      return true;
    }));
    EXPECT_EQ(events, people - 1);
    for (int from : written_) {
      auto delivered = s.Get<store::OutboxRepository>().List(store::DeliveryQuery{});
      ASSERT_OK(delivered.status());
      bool seen = false;
      for (const auto& d : *delivered) seen = seen || d.payload == "payload of " + std::to_string(from);
      EXPECT_TRUE(seen) << "outbox payload " << from;
      auto user = s.Get<store::UserRepository>().FindByEmail("agent" + std::to_string(from) + "@example.com");
      ASSERT_OK(user.status());
      ASSERT_TRUE(user->has_value());
      EXPECT_EQ((*user)->totp_secret, "JBSWY3DPEHPK3PXP" + std::to_string(from));
      auto file = s.Get<store::ChannelRepository>().FindAttachment("ab" + std::to_string(from));
      ASSERT_OK(file.status());
      ASSERT_TRUE(file->has_value());
      EXPECT_EQ((*file)->data, "bytes" + std::to_string(from));
    }
  }

  ::touchpoint::testing::TempDir tmp_;
  std::unique_ptr<testing::PgDatabase> pg_;
  std::string data_url_;
  std::string keyring_url_;
  std::vector<int> written_;
};

TEST_P(KeyRotationTest, BothVersionsReadDuringTheRotationAndTheOldOneIsUnusedAfterIt) {
  {
    auto v1 = Open(Versions({1}));
    ASSERT_NE(v1, nullptr);
    Write(*v1, 1, 7);
  }
  auto both = Open(Versions({1, 2}));
  ASSERT_NE(both, nullptr);
  ExpectReadable(*both, 7);  // before the rotation: everything is under version 1
  Write(*both, 7, kPeople);   // new data goes under version 2 at once
  ExpectReadable(*both, kPeople);
  auto before = MeasureKeyUsage(*both);
  ASSERT_OK(before.status());
  EXPECT_GT(before->keyring[1], 0);
  EXPECT_GT(before->sealed_values[1], 0);
  EXPECT_GT(before->sealed_values[2], 0);
  EXPECT_EQ(before->identifiers_not_current, 6) << "the six identifiers written under version 1";
  EXPECT_THAT(RetireCheck(*before, 1, 2), StatusIs(StatusCode::kFailedPrecondition));

  RotationOptions o;
  o.batch = 4;
  int batches = 0;
  o.on_batch = [&](const RotationState& s) {
    ++batches;
    EXPECT_FALSE(s.finished());
  };
  auto done = RunRotation(*both, o);
  ASSERT_OK(done.status());
  EXPECT_TRUE(done->finished());
  EXPECT_GT(done->started_at, 0);
  EXPECT_GE(done->finished_at, done->started_at);
  EXPECT_EQ(done->to, 2);
  EXPECT_EQ(done->identifiers_reindexed, 6);
  EXPECT_GT(done->keys_rewrapped, 0);
  EXPECT_EQ(done->values_resealed, 3) << "one outbox payload, one attachment, one TOTP secret of version 1";
  EXPECT_GT(batches, 3) << "small transactions";
  ExpectReadable(*both, kPeople);
  auto after = MeasureKeyUsage(*both);
  ASSERT_OK(after.status());
  EXPECT_EQ(after->keyring.count(1), 0u);
  EXPECT_EQ(after->sealed_values.count(1), 0u);
  EXPECT_EQ(after->identifiers_not_current, 0);
  EXPECT_EQ(after->key_check_version, 2);
  EXPECT_OK(RetireCheck(*after, 1, 2));
  EXPECT_THAT(RetireCheck(*after, 2, 2), StatusIs(StatusCode::kFailedPrecondition)) << "never the current one";
  auto again = RunRotation(*both, o);  // finished: nothing to do
  ASSERT_OK(again.status());
  EXPECT_EQ(again->identifiers_reindexed, 6);
  both.reset();

  // Version 1 retired: everything still reads with version 2 alone.
  auto v2 = Open(Versions({2}));
  ASSERT_NE(v2, nullptr);
  ExpectReadable(*v2, kPeople);
  v2.reset();
  // …and version 1 alone no longer opens the store.
  store::OpenOptions ro;
  ro.without_layer = true;
  auto data = store::Open(data_url_, ro);
  ASSERT_OK(data.status());
  EncryptionContext only_v1(Versions({1}), nullptr);
  EXPECT_THAT(only_v1.VerifyKeyCheck(**(*data)->Get<store::KeyringRepository>().Setting(kKeyCheckSetting)),
              StatusIs(StatusCode::kFailedPrecondition));
}

// kill -9 of the process running the rotation, after its keyring step and in the middle of its
// identifier and value batches: every row under one version or the other, all readable, and a
// second run finishes.
TEST_P(KeyRotationTest, KilledInTheMiddleEverythingReadsAndASecondRunFinishes) {
  // 1: after the keyring; 3, 5: among the identifiers; 8, 9: among the field-key values.
  for (int kill_after : {1, 3, 5, 8, 9}) {
    SCOPED_TRACE("killed after batch " + std::to_string(kill_after));
    if (GetParam() == "postgres") {
      pg_.reset();
      auto db = testing::PgDatabase::Create();
      ASSERT_OK(db.status());
      pg_ = std::move(*db);
      data_url_ = keyring_url_ = pg_->url();
    } else {
      const std::string dir = tmp_.File("run" + std::to_string(kill_after));
      std::filesystem::create_directories(dir);
      data_url_ = "sqlite://" + dir + "/touchpoint.db";
      keyring_url_ = "sqlite://" + dir + "/keyring.db";
    }
    written_.clear();
    {
      auto v1 = Open(Versions({1}));
      ASSERT_NE(v1, nullptr);
      Write(*v1, 1, kPeople);
    }
    std::fflush(nullptr);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      auto s = Open(Versions({1, 2}));
      if (s == nullptr) _exit(3);
      RotationOptions o;
      o.batch = 2;
      int n = 0;
      o.on_batch = [&](const RotationState&) {
        if (++n == kill_after) ::raise(SIGKILL);
      };
      (void)RunRotation(*s, o);
      _exit(4);  // not killed: the test fails below
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "exit status " << status;

    auto both = Open(Versions({1, 2}));
    ASSERT_NE(both, nullptr);
    auto recorded = ReadRotation(*both);
    ASSERT_OK(recorded.status());
    ASSERT_TRUE(recorded->has_value());
    EXPECT_FALSE((*recorded)->finished());
    EXPECT_EQ((*recorded)->to, 2);
    ExpectReadable(*both, kPeople);
    auto mid = MeasureKeyUsage(*both);
    ASSERT_OK(mid.status());
    EXPECT_EQ(mid->keyring.count(1), 0u) << "the keyring is re-wrapped at once, first";
    EXPECT_THAT(RetireCheck(*mid, 1, 2), StatusIs(StatusCode::kFailedPrecondition));

    if (kill_after == 3) {
      // The server's way: a background job on a connection of its own finishes it.
      both.reset();
      auto job_store = Open(Versions({1, 2}));
      ASSERT_NE(job_store, nullptr);
      std::promise<Result<RotationState>> finished;
      RotationJob job(std::move(job_store), SystemClock::Instance(),
                      [&](const Result<RotationState>& r) { finished.set_value(r); });
      auto started = job.StartIfUnfinished(3);
      ASSERT_OK(started.status());
      ASSERT_TRUE(*started);
      auto outcome = finished.get_future().get();
      ASSERT_OK(outcome.status());
      EXPECT_TRUE(outcome->finished());
      job.Stop();
      both = Open(Versions({1, 2}));
      ASSERT_NE(both, nullptr);
      RotationJob idle(Open(Versions({1, 2})), SystemClock::Instance(), {});
      EXPECT_FALSE(*idle.StartIfUnfinished()) << "nothing left to finish";
    } else {
      auto done = RunRotation(*both, RotationOptions{});
      ASSERT_OK(done.status());
      EXPECT_TRUE(done->finished());
    }
    ExpectReadable(*both, kPeople);
    auto after = MeasureKeyUsage(*both);
    ASSERT_OK(after.status());
    EXPECT_OK(RetireCheck(*after, 1, 2));
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, KeyRotationTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace touchpoint::privacy
