#include <touchpoint/pipeline/engine.h>

#include <gtest/gtest.h>

#include <mutex>
#include <span>
#include <nlohmann/json.hpp>
#include <touchpoint/ingest/parser.h>
#include <touchpoint/store/consent_repository.h>
#include <touchpoint/store/escalation_repository.h>
#include <touchpoint/store/profile_repository.h>
#include <touchpoint/wiring/render.h>

#include "pipeline/test_dir.h"
#include "testing/data_dir.h"
#include "testing/matchers.h"

namespace touchpoint::pipeline {
namespace {

using nlohmann::json;
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

class EngineTest : public ::testing::Test {
 protected:
  void Open() {
    dir_.reset();
    auto d = OpenForWriting(tmp_.path(), EngineOptions{}, "test");
    ASSERT_OK(d);
    dir_ = std::move(*d);
  }
  Engine& engine() { return *dir_->engine; }
  json Customer(const std::string& ref) {
    auto j = wiring::CustomerJson(engine(), ref, 0, privacy::MaskPolicy::Clear());
    EXPECT_OK(j) << ref;
    return j.ok() ? json::parse(*j) : json();
  }

  ::touchpoint::testing::TempDir tmp_;
  std::unique_ptr<WritableDataDir> dir_;
};

const std::vector<std::string> kJourney = {
    R"({"type":"page","anonymousId":"anon-1","messageId":"e1","timestamp":"2024-03-01T10:00:00Z","name":"Home","context":{"device":{"id":"dev-1"},"channel":"web"}})",
    R"({"type":"identify","userId":"u1","anonymousId":"anon-1","messageId":"e2","timestamp":"2024-03-01T10:01:00Z","traits":{"phone":"138 1234 5678","name":"李雷","city":"Shanghai"}})",
    R"({"type":"track","event":"Product Viewed","userId":"u1","messageId":"e3","timestamp":"2024-03-01T10:02:00Z","properties":{"product_id":"p1","category":"phones","dwell_seconds":200},"context":{"channel":"web"}})",
    R"({"type":"track","event":"Order Completed","userId":"u1","messageId":"e4","timestamp":"2024-03-01T10:05:00Z","properties":{"order_id":"o1","total":300},"context":{"channel":"app"}})",
    R"({"type":"track","event":"Order Completed","userId":"u1","messageId":"e5","timestamp":"2024-01-01T10:05:00Z","properties":{"order_id":"o0","total":100},"context":{"channel":"app"}})",
    R"({"type":"track","event":"Message Received","anonymousId":"anon-9","messageId":"e6","timestamp":"2024-03-02T09:00:00Z","properties":{"conversation_id":"c1","text":"where is my parcel"},"context":{"traits":{"phone":"+86 138-1234-5678"}}})",
    R"({"type":"identify","userId":"u1","messageId":"e7","timestamp":"2024-02-01T00:00:00Z","traits":{"city":"Beijing"}})",
};

TEST_F(EngineTest, BuildsOneProfilePerPersonWithFeatures) {
  Open();
  auto r = engine().Submit(Parse(kJourney));
  ASSERT_OK(r);
  EXPECT_EQ(r->accepted, 7);
  json c = Customer("phone:138 1234 5678");
  EXPECT_EQ(c["id"], Customer("anon:anon-9")["id"]) << "the message from another session joined by phone";
  EXPECT_EQ(c["id"], Customer("device:dev-1")["id"]);
  const json& f = c["features"];
  EXPECT_EQ(f["orders_30d"], 1);
  EXPECT_EQ(f["orders_90d"], 2);
  EXPECT_DOUBLE_EQ(f["revenue_365d"].get<double>(), 400.0);
  EXPECT_DOUBLE_EQ(f["avg_order_value"].get<double>(), 200.0);
  EXPECT_EQ(f["recency_days"], 0);
  EXPECT_EQ(f["views"], 1);
  EXPECT_DOUBLE_EQ(f["avg_dwell_seconds"].get<double>(), 200.0);
  EXPECT_EQ(f["messages"], 1);
  EXPECT_EQ(f["preferred_channel"], "app");
  EXPECT_EQ(f["last_contact_at"], "2024-03-02T09:00:00.000Z");
  EXPECT_EQ(c["traits"]["city"], "Shanghai") << "the latest value by event time wins, not arrival order";
  EXPECT_EQ(c["traits"]["name"], "李雷");
}

TEST_F(EngineTest, AsOfMovesTheWindows) {
  Open();
  ASSERT_OK(engine().Submit(Parse(kJourney)));
  auto j = wiring::CustomerJson(engine(), "user:u1", *ParseTimestamp("2024-06-01T00:00:00Z"), privacy::MaskPolicy::Clear());
  ASSERT_OK(j);
  json f = json::parse(*j)["features"];
  EXPECT_EQ(f["orders_30d"], 0);
  EXPECT_EQ(f["orders_365d"], 2);
  EXPECT_EQ(f["recency_days"], 91);
}

TEST_F(EngineTest, DuplicatesChangeNothingAndSurviveRestart) {
  Open();
  ASSERT_OK(engine().Submit(Parse(kJourney)));
  auto again = engine().Submit(Parse(kJourney));
  ASSERT_OK(again);
  EXPECT_EQ(again->accepted, 0);
  EXPECT_EQ(again->duplicates, 7);
  const json before = Customer("user:u1");
  Open();  // restart: state reloads from SQLite
  auto third = engine().Submit(Parse(kJourney));
  ASSERT_OK(third);
  EXPECT_EQ(third->duplicates, 7);
  EXPECT_EQ(Customer("user:u1"), before);
  EXPECT_EQ(engine().Stats().events, 7);
}

TEST_F(EngineTest, MaskingHidesPersonalData) {
  Open();
  ASSERT_OK(engine().Submit(Parse(kJourney)));
  auto j = wiring::CustomerJson(engine(), "user:u1", 0, privacy::MaskPolicy::Masked());
  ASSERT_OK(j);
  EXPECT_EQ(j->find("13812345678"), std::string::npos) << *j;
  EXPECT_NE(j->find("+86138****5678"), std::string::npos) << *j;
  EXPECT_EQ(j->find("李雷"), std::string::npos) << *j;
}

TEST_F(EngineTest, UnknownCustomerIsNotFound) {
  Open();
  EXPECT_THAT(wiring::CustomerJson(engine(), "email:nobody@example.com", 0, privacy::MaskPolicy::Clear()), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(wiring::CustomerJson(engine(), "fax:1", 0, privacy::MaskPolicy::Clear()), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(wiring::CustomerJson(engine(), "999", 0, privacy::MaskPolicy::Clear()), StatusIs(StatusCode::kNotFound));
}

TEST_F(EngineTest, SplitRebuildsBothProfilesFromTheirEvents) {
  Open();
  ASSERT_OK(engine().Submit(Parse({
      R"({"type":"track","event":"Order Completed","userId":"u1","messageId":"a1","timestamp":"2024-03-01T00:00:00Z","properties":{"order_id":"1","total":10}})",
      R"({"type":"track","event":"Order Completed","anonymousId":"x","messageId":"a2","timestamp":"2024-03-02T00:00:00Z","properties":{"order_id":"2","total":20},"context":{"traits":{"email":"b@example.com"}}})",
      R"({"type":"identify","userId":"u1","messageId":"a3","timestamp":"2024-03-03T00:00:00Z","traits":{"email":"b@example.com"}})",
  })));
  json merged = Customer("user:u1");
  EXPECT_EQ(merged["features"]["orders_total"], 2);
  json explain = json::parse(*wiring::ExplainJson(engine(), "user:u1", privacy::MaskPolicy::Clear()));
  ASSERT_EQ(explain["merges"].size(), 1u);
  const auto merge_id = explain["merges"][0]["merge_id"].get<std::int64_t>();
  ASSERT_OK(engine().Split(MergeId(merge_id)));
  EXPECT_NE(Customer("user:u1")["id"], Customer("anon:x")["id"]);
  EXPECT_EQ(Customer("anon:x")["features"]["orders_total"], 1);
  EXPECT_DOUBLE_EQ(Customer("anon:x")["features"]["revenue_total"].get<double>(), 20.0);
  // The split survives a restart (profiles were rewritten, the merge is marked undone).
  Open();
  EXPECT_EQ(Customer("user:u1")["features"]["orders_total"], 1);
  auto explained = json::parse(*wiring::ExplainJson(engine(), "user:u1", privacy::MaskPolicy::Clear()));
  EXPECT_EQ(explained["merges"][0]["undone"], true);
}

TEST_F(EngineTest, ReadOnlyPathSeesWhatTheEngineCommitted) {
  Open();
  ASSERT_OK(engine().Submit(Parse(kJourney)));
  const json live = Customer("user:u1");
  auto store = OpenReadOnly(tmp_.path());
  ASSERT_OK(store);
  auto j = wiring::CustomerJson(*StoreCustomerView(**store), "phone:+8613812345678", 0, privacy::MaskPolicy::Clear());
  ASSERT_OK(j);
  EXPECT_EQ(json::parse(*j), live);
  EXPECT_THAT(wiring::CustomerJson(*StoreCustomerView(**store), "user:ghost", 0, privacy::MaskPolicy::Clear()), StatusIs(StatusCode::kNotFound));
}

// Identify traits with the documented names become consent records that commit with the event
// (pipeline/consent_traits.h): the decision is on disk once the identify is acknowledged; a
// duplicate adds nothing; values that are no decision are ignored; the hook sees them.
TEST_F(EngineTest, IdentifyConsentTraitsCommitWithTheEventAndReachTheHook) {
  Open();
  struct Seen final : CommitObserver {
    void OnCommitted(std::span<const CommittedEvent> events) override {
      std::scoped_lock lock(mu);
      for (const auto& e : events) {
        for (const auto& r : e.consents) channels.push_back(r.channel.empty() ? r.value : r.channel);
      }
    }
    std::mutex mu;
    std::vector<std::string> channels;
  };
  auto seen = std::make_shared<Seen>();
  engine().Subscribe(seen);
  const std::vector<std::string> lines = {
      R"({"type":"identify","userId":"u1","messageId":"c1","timestamp":"2024-03-01T10:00:00Z","traits":{"consent_marketing_email":true,"consent_marketing_sms":false,"personalisation_intensity":"high","consent_version":"2024-02","city":"Shanghai"}})",
      // Not decisions: a number, an unknown channel, an unknown level; a track's context traits.
      R"({"type":"identify","userId":"u1","messageId":"c2","timestamp":"2024-03-01T11:00:00Z","traits":{"consent_marketing_push":1,"consent_marketing_fax":true,"personalisation_intensity":"max"}})",
      R"({"type":"track","event":"Viewed","userId":"u1","messageId":"c3","timestamp":"2024-03-01T12:00:00Z","context":{"traits":{"consent_marketing_wechat":true}}})",
      R"({"type":"identify","userId":"u1","messageId":"c4","timestamp":"2024-03-02T10:00:00Z","traits":{"consent_marketing_wechat":"opt_in"}})",
  };
  ASSERT_OK(engine().Submit(Parse(lines)));
  ASSERT_OK(engine().Submit(Parse({lines[0]})));  // a duplicate: no second decision
  auto store = OpenReadOnly(tmp_.path());
  ASSERT_OK(store);
  const auto id = Customer("user:u1")["id"].get<std::int64_t>();
  const std::vector<CustomerId> person = {CustomerId(id)};
  auto records = (*store)->Get<store::ConsentRepository>().ForCustomers(person);
  ASSERT_OK(records);
  ASSERT_EQ(records->size(), 4u);
  EXPECT_EQ((*records)[0].purpose, "marketing");
  EXPECT_EQ((*records)[0].source, "identify");
  EXPECT_EQ((*records)[0].actor, "message:c1");
  EXPECT_EQ((*records)[0].wording_version, "2024-02");
  EXPECT_EQ((*records)[0].at, 1709287200000);  // the event's time
  std::vector<std::string> decisions;
  for (const auto& r : *records) decisions.push_back(r.purpose + "/" + r.channel + "=" + r.value);
  EXPECT_EQ(decisions, (std::vector<std::string>{"marketing/email=opt_in", "marketing/sms=opt_out",
                                                 "personalisation/=high", "marketing/wechat=opt_in"}));
  EXPECT_EQ((*records)[3].wording_version, "") << "no consent_version trait in that call";
  // The consent traits stay ordinary profile traits as well.
  EXPECT_EQ(Customer("user:u1")["traits"]["city"], "Shanghai");
  engine().Stop();
  std::scoped_lock lock(seen->mu);
  EXPECT_EQ(seen->channels, (std::vector<std::string>{"email", "sms", "high", "wechat"}));
}

TEST_F(EngineTest, SecondWriterIsRefusedWithTheOtherProcessNamed) {
  Open();
  auto second = OpenForWriting(tmp_.path(), EngineOptions{}, "touchpoint ingest");
  ASSERT_THAT(second, StatusIs(StatusCode::kUnavailable));
  EXPECT_NE(second.status().message().find("pid "), std::string::npos) << second.status().message();
  EXPECT_NE(second.status().message().find("(test)"), std::string::npos) << second.status().message();
}

}  // namespace
}  // namespace touchpoint::pipeline

namespace touchpoint::pipeline {
namespace {

TEST(EngineTextTest, MessagesAreAnalysedAndEscalationsStored) {
  ::touchpoint::testing::TempDir tmp;
  auto options = DefaultEngineOptions(5, true);
  ASSERT_OK(options);
  // The escalation rules are a consumer of the engine's post-commit hook (service module).
  auto dir = ::touchpoint::testing::OpenForWriting(tmp.path(), std::move(*options), "test", /*escalation=*/true);
  ASSERT_OK(dir);
  Engine& engine = *(*dir)->engine;
  ASSERT_OK(engine.Submit(Parse({
      R"({"type":"track","event":"Message Received","userId":"u1","messageId":"t1","timestamp":"2024-03-01T10:00:00Z","properties":{"conversation_id":"c1","text":"快递太慢了，三天还没到，太差了"}})",
      R"({"type":"track","event":"Message Received","userId":"u1","messageId":"t2","timestamp":"2024-03-01T10:05:00Z","properties":{"conversation_id":"c1","text":"我要退款！客服太敷衍了"}})",
      R"({"type":"track","event":"Message Sent","userId":"u1","messageId":"t3","timestamp":"2024-03-01T10:06:00Z","properties":{"conversation_id":"c1","author":"agent","text":"这个不归我管"}})",
  })));
  auto c = nlohmann::json::parse(*wiring::CustomerJson(engine, "user:u1", 0, privacy::MaskPolicy::Clear()));
  EXPECT_EQ(c["features"]["negative_messages"], 2);
  EXPECT_LT(c["features"]["avg_sentiment"].get<double>(), 0);
  EXPECT_EQ(c["features"]["last_intent"], "refund");
  // Refund keyword → hand-off, two negatives → high risk, agent's banned phrase → flagged.
  engine.Stop();  // drains the hook
  ASSERT_NE((*dir)->escalation, nullptr) << "the escalation rules were not subscribed";
  EXPECT_GE((*dir)->escalation->fired(), 3);
  auto store = ::touchpoint::testing::OpenReadOnly(tmp.path());
  ASSERT_OK(store);
  EXPECT_GE(*(*store)->Get<store::EscalationRepository>().Count(), 3);
}

}  // namespace
}  // namespace touchpoint::pipeline

namespace touchpoint::pipeline {
namespace {

TEST_F(EngineTest, TagsWrittenByAnalyticsAreDurableAndShown) {
  Open();
  ASSERT_OK(engine().Submit(Parse(kJourney)));
  auto orders = engine().Orders();
  ASSERT_OK(orders);
  ASSERT_EQ(orders->size(), 2u);
  const CustomerId id((*orders)[0].customer);
  EXPECT_EQ(Customer("user:u1")["id"], id.value()) << "orders map to the live customer";
  ASSERT_OK(engine().SetTags({{id, {{"rfm_layer", "\"important_value\""}, {"ltv", "1234.5"}}}}));
  Open();
  json c = Customer("user:u1");
  EXPECT_EQ(c["tags"]["rfm_layer"], "important_value");
  EXPECT_DOUBLE_EQ(c["tags"]["ltv"].get<double>(), 1234.5);
}

}  // namespace
}  // namespace touchpoint::pipeline

#include <sys/wait.h>
#include <unistd.h>

namespace touchpoint::pipeline {
namespace {

// Runs `body` in a child process, which must end itself with _exit (no destructors, no Stop, no
// checkpoint): what a kill -9 leaves behind once the submitted events were acknowledged.
int RunAndDie(const std::function<void()>& body) {
  const pid_t pid = fork();
  if (pid == 0) {
    body();
    _exit(2);  // body returned: it failed before dying
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(EngineTest, ProfilesAfterTheLastCheckpointAreReplayedAfterACrash) {
  // Reference: everything ingested and stopped cleanly.
  ::touchpoint::testing::TempDir ref_dir;
  json reference;
  {
    auto d = OpenForWriting(ref_dir.path(), EngineOptions{}, "test");
    ASSERT_OK(d);
    ASSERT_OK((*d)->engine->Submit(Parse(kJourney)));
    reference = json::parse(*wiring::CustomerJson(*(*d)->engine, "user:u1", 0, privacy::MaskPolicy::Clear()));
  }
  // The first four events are checkpointed (clean stop); the rest, including the message that
  // merges anon-9 into u1 by phone, are acknowledged by a process that then dies before any
  // checkpoint (an hour away).
  {
    auto d = OpenForWriting(tmp_.path(), EngineOptions{}, "test");
    ASSERT_OK(d);
    ASSERT_OK((*d)->engine->Submit(Parse({kJourney.begin(), kJourney.begin() + 4})));
  }
  ASSERT_EQ(RunAndDie([&] {
              EngineOptions o;
              o.profile_checkpoint_ms = 3'600'000;
              auto d = OpenForWriting(tmp_.path(), std::move(o), "test");
              if (!d.ok()) return;
              // The merged-away customer's message first, so it has a profile of its own.
              auto late = Parse({kJourney[5]});
              auto rest = Parse({kJourney[4], kJourney[6]});
              if ((*d)->engine->Submit(std::move(late)).ok() && (*d)->engine->Submit(std::move(rest)).ok()) _exit(0);
            }),
            0);
  // Read-only (no engine) already sees the acknowledged events.
  {
    auto store = OpenReadOnly(tmp_.path());
    ASSERT_OK(store);
    EXPECT_EQ(*(*store)->Get<store::ProfileRepository>().Checkpoint(), 4) << "the dying process wrote no checkpoint";
    auto j = wiring::CustomerJson(*StoreCustomerView(**store), "user:u1", 0, privacy::MaskPolicy::Clear());
    ASSERT_OK(j);
    EXPECT_EQ(json::parse(*j)["features"], reference["features"]);
  }
  Open();
  json c = Customer("user:u1");
  EXPECT_EQ(c["features"], reference["features"]);
  EXPECT_EQ(c["traits"], reference["traits"]);
  EXPECT_EQ(Customer("anon:anon-9")["id"], c["id"]);
  EXPECT_EQ(engine().Stats().events, 7);
  // Replayed once only: a second restart (after a clean stop wrote a checkpoint) agrees.
  Open();
  EXPECT_EQ(Customer("user:u1")["features"], reference["features"]);
}

}  // namespace
}  // namespace touchpoint::pipeline
