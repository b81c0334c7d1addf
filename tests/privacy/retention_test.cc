#include <touchpoint/privacy/retention.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <touchpoint/store/activity_repository.h>
#include <touchpoint/store/event_log.h>
#include <touchpoint/store/memory.h>

#include "testing/matchers.h"

namespace touchpoint::privacy {
namespace {

constexpr Millis kDay = 86'400'000;
constexpr Millis kNow = 1'700'000'000'000;

class FakeClock final : public Clock {
 public:
  Millis Now() const override { return now; }
  Millis now = kNow;
};

TEST(RetentionPeriodTest, ParsesDaysHoursMinutesAndOff) {
  struct Case {
    const char* text;
    Millis want;  // -1: refused
  } cases[] = {{"off", 0},     {"0", 0},          {"365d", 365 * kDay}, {"12h", 12 * 3'600'000},
               {"30m", 1'800'000}, {"", -1},      {"d", -1},           {"-3d", -1},
               {"3w", -1},     {"1.5d", -1},      {"365", -1},         {"99999999d", -1}};
  for (const Case& c : cases) {
    auto got = ParseRetentionPeriod(c.text);
    if (c.want < 0) {
      EXPECT_FALSE(got.ok()) << c.text;
    } else {
      ASSERT_OK(got.status()) << c.text;
      EXPECT_EQ(*got, c.want) << c.text;
    }
  }
}

class RetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = store::memory::Open();
    // Messages and surveys 1..10 days old; events 1..10 days old in two appends.
    std::vector<store::MessageRecord> messages;
    std::vector<store::SurveyRecord> surveys;
    std::vector<store::EventRecord> old_events, new_events;
    for (int d = 10; d >= 1; --d) {
      const Millis at = kNow - d * kDay;
      messages.push_back({"m" + std::to_string(d), CustomerId(1), at, "c", "chat", "customer", "in", "text", "en",
                          "neutral", 0, "", ""});
      surveys.push_back({"s" + std::to_string(d), CustomerId(1), at, 9, -1, "", "web"});
      store::EventRecord e;
      e.hash = {static_cast<std::uint64_t>(d), 1};
      e.message_id = "e" + std::to_string(d);
      e.customer = CustomerId(1);
      e.timestamp = at;
      (d > 5 ? old_events : new_events).push_back(e);
    }
    auto txn = store_->Begin();
    ASSERT_OK(txn.status());
    ASSERT_OK(store_->Get<store::ActivityRepository>().AddMessages(**txn, messages));
    ASSERT_OK(store_->Get<store::ActivityRepository>().AddSurveys(**txn, surveys));
    ASSERT_OK(store_->Get<store::EventLog>().Append(**txn, old_events));
    ASSERT_OK(store_->Get<store::EventLog>().Append(**txn, new_events));
    ASSERT_OK((*txn)->Commit());
  }
  std::vector<std::string> MessageIds() {
    std::vector<std::string> ids;
    EXPECT_OK(store_->Get<store::ActivityRepository>().ScanMessages(
        [&](store::MessageRecord&& m) { ids.push_back(m.message_id); }));
    return ids;
  }
  std::unique_ptr<store::Store> store_;
  FakeClock clock_;
};

TEST_F(RetentionTest, NothingIsDeletedByDefault) {
  auto counts = RunRetention(*store_, RetentionPolicy{}, clock_.Now());
  ASSERT_OK(counts.status());
  EXPECT_EQ(*counts, RetentionCounts{});
  EXPECT_EQ(MessageIds().size(), 10u);
}

TEST_F(RetentionTest, DeletesWhatIsOlderThanEachKindsPeriodInSmallTransactions) {
  RetentionPolicy p;
  p.messages = 7 * kDay;   // m10, m9, m8 go (older than 7 days)
  p.events = 3 * kDay + 1;  // e10 … e4 are older
  p.batch = 2;
  RetentionJob job(std::move(store_), p, clock_, {});
  auto counts = job.RunOnce();
  ASSERT_OK(counts.status());
  EXPECT_EQ(counts->messages, 3);
  EXPECT_EQ(counts->surveys, 0) << "no period: kept";
  EXPECT_EQ(counts->events, 7);
  EXPECT_EQ(counts->transactions, 2 + 4) << "batches of 2: messages 2+1, events 2+2+2+1";
  // A day later (the fake clock moves), one more message is old enough; a second pass at the same
  // time deletes nothing.
  auto again = job.RunOnce();
  ASSERT_OK(again.status());
  EXPECT_EQ(again->messages, 0);
  clock_.now += kDay;
  auto later = job.RunOnce();
  ASSERT_OK(later.status());
  EXPECT_EQ(later->messages, 1);
  EXPECT_EQ(RetentionSummary(*later).find("m7"), std::string::npos) << "counts only";
}

}  // namespace
}  // namespace touchpoint::privacy
