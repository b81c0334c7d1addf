// Engine::Erase: the single writer forgets a person in memory and in the store together, puts
// their identifiers on the suppression list, and drops (and counts) their later events — also
// after a restart. Runs on SQLite and, as postgres/…, on PostgreSQL.
#include <touchpoint/pipeline/engine.h>

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <touchpoint/ingest/parser.h>
#include <touchpoint/store/activity_repository.h>
#include <touchpoint/store/identity_repository.h>
#include <touchpoint/store/suppression_repository.h>

#include "pipeline/test_dir.h"
#include "testing/data_dir.h"
#include "testing/matchers.h"

namespace touchpoint::pipeline {
namespace {

using ::touchpoint::testing::OpenForWriting;
using ::touchpoint::testing::OpenReadOnly;
using ::touchpoint::testing::StatusIs;
using ::touchpoint::testing::WritableDataDir;

std::vector<ingest::Event> Parse(const std::vector<std::string>& lines) {
  ingest::Parser p;
  std::vector<ingest::Event> out;
  for (const auto& l : lines) {
    auto e = p.ParseMessage(l);
    EXPECT_OK(e) << l;
    if (e.ok()) out.push_back(std::move(*e));
  }
  return out;
}

// A deterministic stand-in for the blind index (privacy::BlindIndexer is keyed by the master key;
// the engine only needs some key per identifier).
store::SuppressionRecord FakeKey(std::string_view kind, std::string_view value) {
  return store::SuppressionRecord{static_cast<std::int64_t>(std::hash<std::string>{}(std::string(kind) + '\0' +
                                                                                     std::string(value))),
                                  1, 0};
}

// u1 (with a phone) and an anonymous visitor, first seen apart, then joined by one identify;
// u2 is someone else.
const std::vector<std::string> kPeople = {
    R"({"type":"page","anonymousId":"anon-1","messageId":"a1","timestamp":"2024-03-01T10:00:00Z","name":"Home"})",
    R"({"type":"identify","userId":"u1","messageId":"a2","timestamp":"2024-03-01T10:01:00Z","traits":{"phone":"138 1234 5678"}})",
    R"({"type":"track","event":"Order Completed","userId":"u1","messageId":"a3","timestamp":"2024-03-01T10:05:00Z","properties":{"order_id":"o1","total":300}})",
    R"({"type":"track","event":"Message Received","userId":"u1","messageId":"a4","timestamp":"2024-03-02T09:00:00Z","properties":{"text":"where is my parcel"}})",
    R"({"type":"identify","userId":"u1","anonymousId":"anon-1","messageId":"a5","timestamp":"2024-03-02T10:00:00Z"})",
    R"({"type":"identify","userId":"u2","messageId":"b1","timestamp":"2024-03-01T11:00:00Z","traits":{"phone":"139 0000 0002"}})",
    R"({"type":"track","event":"Order Completed","userId":"u2","messageId":"b2","timestamp":"2024-03-01T11:05:00Z","properties":{"order_id":"o2","total":50}})",
};

class ErasureTest : public ::testing::Test {
 protected:
  void Open(bool with_key = true) {
    dir_.reset();
    EngineOptions o;
    if (with_key) o.suppression_key = FakeKey;
    auto d = OpenForWriting(tmp_.path(), std::move(o), "test");
    ASSERT_OK(d);
    dir_ = std::move(*d);
  }
  Engine& engine() { return *dir_->engine; }

  ::touchpoint::testing::TempDir tmp_;
  std::unique_ptr<WritableDataDir> dir_;
};

TEST_F(ErasureTest, ForgetsTheWholePersonInMemoryAndTheStoreAndKeepsOthers) {
  Open();
  ASSERT_OK(engine().Submit(Parse(kPeople)));
  const EngineStats before = engine().Stats();
  auto erased = engine().Erase(ErasureRequest{"phone:13812345678", {}});
  ASSERT_OK(erased);
  EXPECT_EQ(erased->members.size(), 2u) << "the anonymous visitor merged into u1";
  EXPECT_EQ(erased->counts.events, 5);
  EXPECT_EQ(erased->counts.orders, 1);
  EXPECT_EQ(erased->counts.messages, 1);
  EXPECT_EQ(erased->counts.identifiers, 3);
  EXPECT_EQ(erased->counts.customers, 2);
  EXPECT_EQ(erased->counts.merges, 1);
  EXPECT_EQ(erased->suppressed.size(), 3u);
  std::vector<std::string> kinds = erased->identifier_kinds;
  std::sort(kinds.begin(), kinds.end());
  EXPECT_EQ(kinds, (std::vector<std::string>{"anon", "phone", "user"}));
  // Memory.
  EXPECT_THAT(engine().Find("phone:13812345678").status(), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(engine().Find("user:u1").status(), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(engine().Find("anon:anon-1").status(), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(engine().Find(std::to_string(erased->customer.value())).status(), StatusIs(StatusCode::kNotFound));
  EXPECT_OK(engine().Find("user:u2"));
  const EngineStats after = engine().Stats();
  EXPECT_EQ(after.events, before.events - 5);
  EXPECT_EQ(after.customers, before.customers - 1);
  EXPECT_EQ(after.identifiers, before.identifiers - 3);
  EXPECT_EQ(after.orders, before.orders - 1);
  EXPECT_EQ(after.merges, before.merges - 1);
  EXPECT_EQ(after.suppression_entries, 3);
  int profiles = 0;
  engine().ForEach([&](CustomerId, const profile::Profile&) { ++profiles; });
  EXPECT_EQ(profiles, 1);
  // Unknown (and the same person again): kNotFound, nothing changes.
  EXPECT_THAT(engine().Erase(ErasureRequest{"phone:13812345678", {}}).status(), StatusIs(StatusCode::kNotFound));
  // The store, read by another connection.
  auto reader = OpenReadOnly(tmp_.path());
  ASSERT_OK(reader);
  EXPECT_FALSE((*reader)->Get<store::IdentityRepository>().FindIdentifier("user", "u1")->has_value());
  EXPECT_EQ(*(*reader)->Get<store::EventLog>().Count(), 2);
  EXPECT_EQ(*(*reader)->Get<store::SuppressionRepository>().Count(), 3);
}

TEST_F(ErasureTest, LaterEventsOfThePersonAreDroppedAndCountedAlsoAfterARestart) {
  Open();
  ASSERT_OK(engine().Submit(Parse(kPeople)));
  ASSERT_OK(engine().Erase(ErasureRequest{"user:u1", {}}));
  const std::vector<std::string> later = {
      // their user id with a new message id; their phone alone; their anonymous id with a new
      // device: each would re-create them
      R"({"type":"track","event":"Product Viewed","userId":"u1","messageId":"c1","timestamp":"2024-04-01T00:00:00Z"})",
      R"({"type":"identify","userId":"new-person","messageId":"c2","timestamp":"2024-04-01T00:00:00Z","traits":{"phone":"+86 138 1234 5678"}})",
      R"({"type":"page","anonymousId":"anon-1","messageId":"c3","timestamp":"2024-04-01T00:00:00Z","name":"Home","context":{"device":{"id":"dev-9"}}})",
      // someone else: accepted
      R"({"type":"track","event":"Product Viewed","userId":"u3","messageId":"c4","timestamp":"2024-04-01T00:00:00Z"})",
  };
  auto r = engine().Submit(Parse(later));
  ASSERT_OK(r);
  EXPECT_EQ(r->suppressed, 3);
  EXPECT_EQ(r->accepted, 1);
  EXPECT_THAT(engine().Find("user:u1").status(), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(engine().Find("user:new-person").status(), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(engine().Find("device:dev-9").status(), StatusIs(StatusCode::kNotFound));
  EXPECT_EQ(engine().Stats().suppressed_events, 3);
  // After a restart: the suppression list and the erasure hold; ids are not reused.
  Open();
  EXPECT_THAT(engine().Find("user:u1").status(), StatusIs(StatusCode::kNotFound));
  const EngineStats restarted = engine().Stats();
  EXPECT_EQ(restarted.customers, 2) << "u2 and u3; erased ids are gaps, not live customers";
  EXPECT_EQ(restarted.events, 3);
  auto again = engine().Submit(Parse({later[0]}));
  ASSERT_OK(again);
  EXPECT_EQ(again->suppressed, 1);
  ASSERT_OK(engine().Submit(Parse({R"({"type":"identify","userId":"u4","messageId":"c5","timestamp":"2024-04-02T00:00:00Z"})"})));
  auto u4 = engine().Find("user:u4");
  ASSERT_OK(u4);
  EXPECT_GT(u4->id.value(), 3) << "a new customer never takes an erased id";
}

TEST_F(ErasureTest, WithoutASuppressionKeyErasureIsRefusedAndNothingChanges) {
  Open(/*with_key=*/false);
  ASSERT_OK(engine().Submit(Parse(kPeople)));
  EXPECT_THAT(engine().Erase(ErasureRequest{"user:u1", {}}).status(), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_OK(engine().Find("user:u1"));
}

TEST_F(ErasureTest, AFailingShredRollsTheErasureBack) {
  Open();
  ASSERT_OK(engine().Submit(Parse(kPeople)));
  std::vector<CustomerId> shredded;
  auto ok = engine().Erase(ErasureRequest{"user:u2", [&](std::span<const CustomerId> ids) {
                                            shredded.assign(ids.begin(), ids.end());
                                            return Status::Ok();
                                          }});
  ASSERT_OK(ok);
  EXPECT_EQ(shredded, ok->members) << "the keys of exactly the erased customers";
  auto failed = engine().Erase(ErasureRequest{"user:u1", [](std::span<const CustomerId>) {
                                                return Status::Unavailable("keyring away");
                                              }});
  EXPECT_FALSE(failed.ok());
  // The engine stops writing (memory ran ahead of the store); after a restart u1 is whole.
  Open();
  EXPECT_OK(engine().Find("user:u1"));
  EXPECT_OK(engine().Find("phone:13812345678"));
  EXPECT_THAT(engine().Find("user:u2").status(), StatusIs(StatusCode::kNotFound));
}

}  // namespace
}  // namespace touchpoint::pipeline
