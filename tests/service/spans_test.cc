// The spans of a ticket (service/spans.h) from hand-made histories and threads: first response
// with and without a bot answering first, next responses, pauses (with reasons) excluded,
// resolution and resolution since the last reopen, business seconds on the cn calendar, and the
// due time of a target while paused.
#include <touchpoint/service/spans.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <touchpoint/calendar/calendar_file.h>

#include "testing/matchers.h"

namespace touchpoint::service {
namespace {

// 2026-03-02 (Monday) 09:00 Asia/Shanghai = 01:00Z.
constexpr Millis kMon0900 = 1'772'413'200'000;
constexpr Millis kMin = 60'000;
constexpr Millis kHour = 60 * kMin;

class SpansTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ticket_.number = 1;
    ticket_.created_at = kMon0900;
    ticket_.status = "new";
    History("status", "new");
  }
  void History(std::string field, std::string after, Millis at = 0, std::string actor_kind = "agent") {
    history_.push_back(store::TicketHistoryRecord{static_cast<std::int64_t>(history_.size()) + 1, 1,
                                                  at == 0 ? kMon0900 : at, std::move(actor_kind), "x",
                                                  std::move(field), "", std::move(after)});
  }
  void Status(const std::string& to, Millis at) { History("status", to, at); }
  void Message(const std::string& author, Millis at, bool internal = false) {
    messages_.push_back(store::TicketMessageRecord{static_cast<std::int64_t>(messages_.size()) + 1, 1, at, author, 0,
                                                   "chat", internal, "text", "", "", 0, ""});
  }
  TicketSpans Compute(Millis now, const calendar::Calendar* cal = nullptr) {
    auto r = ComputeSpans(ticket_, history_, messages_, SpanOptions{cal, now});
    EXPECT_OK(r);
    return r.ok() ? *r : TicketSpans{};
  }
  store::TicketRecord ticket_;
  std::vector<store::TicketHistoryRecord> history_;
  std::vector<store::TicketMessageRecord> messages_;
};

TEST_F(SpansTest, FirstResponseRunsFromFirstCustomerMessageToFirstAgentReply) {
  Message("customer", kMon0900 + 5 * kMin);
  Message("customer", kMon0900 + 6 * kMin);
  Message("agent", kMon0900 + 20 * kMin, /*internal=*/true);  // a note does not answer
  Message("agent", kMon0900 + 35 * kMin);
  TicketSpans s = Compute(kMon0900 + kHour);
  ASSERT_TRUE(s.first_response);
  EXPECT_EQ(s.first_response->start, kMon0900 + 5 * kMin);
  EXPECT_EQ(s.first_response->stop, kMon0900 + 35 * kMin);
  EXPECT_EQ(s.first_response->ended_by, "reply");
  EXPECT_EQ(s.first_response->wall_seconds, 30 * 60);
  EXPECT_TRUE(s.next_responses.empty());
}

TEST_F(SpansTest, RunningFirstResponseCountsToNow) {
  Message("customer", kMon0900);
  TicketSpans s = Compute(kMon0900 + 10 * kMin);
  ASSERT_TRUE(s.first_response);
  EXPECT_TRUE(s.first_response->running());
  EXPECT_EQ(s.first_response->wall_seconds, 600);
}

TEST_F(SpansTest, BotRepliesDoNotStopFirstResponseWhichStartsAtHandoff) {
  Message("customer", kMon0900);
  Message("bot", kMon0900 + 1 * kMin);
  Message("bot", kMon0900 + 3 * kMin);
  History("handoff", "agent", kMon0900 + 10 * kMin, "bot");
  Message("agent", kMon0900 + 25 * kMin);
  TicketSpans s = Compute(kMon0900 + kHour);
  ASSERT_TRUE(s.first_response);
  EXPECT_EQ(s.first_response->start, kMon0900 + 10 * kMin);  // the hand-off, not the first message
  EXPECT_EQ(s.first_response->stop, kMon0900 + 25 * kMin);
  EXPECT_EQ(s.first_response->wall_seconds, 15 * 60);
}

TEST_F(SpansTest, BotAnsweredAndNoHandoffYetHasNoFirstResponse) {
  Message("customer", kMon0900);
  Message("bot", kMon0900 + kMin);
  EXPECT_FALSE(Compute(kMon0900 + kHour).first_response);
  // The customer writes again after the bot: that is when an agent is needed.
  Message("customer", kMon0900 + 7 * kMin);
  TicketSpans s = Compute(kMon0900 + kHour);
  ASSERT_TRUE(s.first_response);
  EXPECT_EQ(s.first_response->start, kMon0900 + 7 * kMin);
}

TEST_F(SpansTest, NextResponseRunsFromOldestUnansweredMessage) {
  Message("customer", kMon0900);
  Message("agent", kMon0900 + 10 * kMin);
  Message("customer", kMon0900 + 20 * kMin);  // oldest unanswered
  Message("customer", kMon0900 + 30 * kMin);
  Message("agent", kMon0900 + 50 * kMin);
  Message("customer", kMon0900 + 55 * kMin);  // still waiting
  TicketSpans s = Compute(kMon0900 + 65 * kMin);
  ASSERT_EQ(s.next_responses.size(), 2u);
  EXPECT_EQ(s.next_responses[0].start, kMon0900 + 20 * kMin);
  EXPECT_EQ(s.next_responses[0].wall_seconds, 30 * 60);
  EXPECT_TRUE(s.next_responses[1].running());
  EXPECT_EQ(s.next_responses[1].wall_seconds, 10 * 60);
}

TEST_F(SpansTest, PausesAreExcludedAndKeepTheirReasons) {
  Message("customer", kMon0900);
  Status("open", kMon0900 + 5 * kMin);
  Status("pending_third_party", kMon0900 + 10 * kMin);
  History("pause_reason", "waiting for the bank", kMon0900 + 10 * kMin);
  Status("open", kMon0900 + 40 * kMin);
  Status("pending_customer", kMon0900 + 50 * kMin);
  Status("open", kMon0900 + 55 * kMin);
  Status("solved", kMon0900 + 70 * kMin);
  TicketSpans s = Compute(kMon0900 + 2 * kHour);
  ASSERT_EQ(s.pauses.size(), 2u);
  EXPECT_EQ(s.pauses[0].status, "pending_third_party");
  EXPECT_EQ(s.pauses[0].reason, "waiting for the bank");
  EXPECT_EQ(s.pauses[1].to, kMon0900 + 55 * kMin);
  ASSERT_TRUE(s.resolution);
  EXPECT_EQ(s.resolution->stop, kMon0900 + 70 * kMin);
  EXPECT_EQ(s.resolution->wall_seconds, (70 - 30 - 5) * 60);
  // No agent replied before solving: the first response stopped at solved.
  ASSERT_TRUE(s.first_response);
  EXPECT_EQ(s.first_response->ended_by, "solved");
  EXPECT_EQ(s.first_response->wall_seconds, (70 - 35) * 60);
}

TEST_F(SpansTest, ResolutionSinceReopenIsSeparateAndSolvedTimeDoesNotCount) {
  Status("open", kMon0900 + 10 * kMin);
  Status("solved", kMon0900 + 60 * kMin);
  Status("open", kMon0900 + 3 * kHour);  // reopened
  TicketSpans s = Compute(kMon0900 + 4 * kHour);
  ASSERT_TRUE(s.resolution);
  EXPECT_TRUE(s.resolution->running());
  EXPECT_EQ(s.resolution->wall_seconds, (60 + 60) * 60);  // 1 h before, 1 h since the reopen
  ASSERT_TRUE(s.resolution_since_reopen);
  EXPECT_EQ(s.resolution_since_reopen->start, kMon0900 + 3 * kHour);
  EXPECT_EQ(s.resolution_since_reopen->wall_seconds, 3600);
}

TEST_F(SpansTest, BusinessSecondsOnTheCalendarSkipNightsAndWeekends) {
  auto spec = calendar::FindBuiltinCalendar("cn");
  ASSERT_TRUE(spec);
  auto cal = calendar::Calendar::Build(*spec);
  ASSERT_OK(cal);
  // Friday 2026-03-06 17:30 (+08) → Monday 09:30: 30 + 30 business minutes.
  const Millis fri1730 = kMon0900 + 4 * 24 * kHour + 8 * kHour + 30 * kMin;
  ticket_.created_at = fri1730;
  messages_.clear();
  Message("customer", fri1730);
  Message("agent", kMon0900 + 7 * 24 * kHour + 30 * kMin);
  TicketSpans s = Compute(kMon0900 + 8 * 24 * kHour, &*cal);
  ASSERT_TRUE(s.first_response);
  EXPECT_EQ(s.first_response->business_seconds, 60 * 60);
  EXPECT_EQ(s.first_response->wall_seconds, (64 * 60) * 60);
}

TEST(DueAfterTest, WallClockSkipsClosedPausesAndIsUnknownWhilePaused) {
  std::vector<PauseSpan> pauses{{kMon0900 + 10 * kMin, kMon0900 + 40 * kMin, "pending_customer", ""}};
  auto due = DueAfter(kMon0900, 3600, pauses, nullptr);
  ASSERT_OK(due);
  ASSERT_TRUE(*due);
  EXPECT_EQ(**due, kMon0900 + 90 * kMin);
  pauses.push_back({kMon0900 + 50 * kMin, 0, "pending_third_party", ""});  // still lasting
  due = DueAfter(kMon0900, 3600, pauses, nullptr);
  ASSERT_OK(due);
  EXPECT_FALSE(*due);
  // A lasting pause that begins after the answer does not matter.
  due = DueAfter(kMon0900, 600, pauses, nullptr);
  ASSERT_OK(due);
  ASSERT_TRUE(*due);
  EXPECT_EQ(**due, kMon0900 + 10 * kMin);
}

TEST(CalendarMeterTest, StepsInBusinessSeconds) {
  auto spec = calendar::FindBuiltinCalendar("cn");
  ASSERT_TRUE(spec);
  auto cal = calendar::Calendar::Build(*spec);
  ASSERT_OK(cal);
  CalendarMeter meter(*cal);
  EXPECT_EQ(meter.unit(), "business seconds");
  // Monday 17:00 → Tuesday 10:00: one hour before close, one after opening.
  EXPECT_EQ(meter.Seconds(kMon0900 + 8 * kHour, kMon0900 + 25 * kHour), 7200);
}

}  // namespace
}  // namespace touchpoint::service
