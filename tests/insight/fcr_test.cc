#include <touchpoint/insight/fcr.h>

#include <vector>

#include <gtest/gtest.h>

namespace touchpoint::insight {
namespace {

constexpr Millis kDay = 24 * 3'600'000;

TicketFacts Ticket(std::int64_t number, std::int64_t customer, const char* intent, Millis created, Millis solved,
                   int replies, std::vector<Millis> reopened = {}) {
  TicketFacts t;
  t.number = number;
  t.customer = CustomerId{customer};
  t.intent = intent;
  t.created_at = created;
  t.first_solved_at = solved;
  t.agent_replies_before_solved = replies;
  t.reopened_at = std::move(reopened);
  return t;
}

TEST(FcrTest, EachClauseOfTheRule) {
  const std::vector<TicketFacts> tickets = {
      Ticket(1, 10, "refund", 0, 1 * kDay, 1),                      // resolved at first contact
      Ticket(2, 11, "refund", 0, 1 * kDay, 2),                      // two agent replies
      Ticket(3, 12, "refund", 0, 1 * kDay, 1, {5 * kDay}),          // reopened within 7 days
      Ticket(4, 13, "refund", 0, 1 * kDay, 1, {9 * kDay}),          // reopened after the window: still FCR
      Ticket(5, 14, "delivery", 0, 1 * kDay, 1),                    // the same customer came back …
      Ticket(6, 14, "delivery", 3 * kDay, 4 * kDay, 1),             // … about the same intent
      Ticket(7, 15, "delivery", 0, 1 * kDay, 1),                    // came back about something else
      Ticket(8, 15, "invoice", 2 * kDay, 3 * kDay, 1),
      Ticket(9, 16, "refund", 0, 0, 0),                             // never solved: not judged
      Ticket(10, 17, "refund", 0, 25 * kDay, 1),                    // window still open on day 30
  };
  const auto r = FirstContactResolution(tickets, 30 * kDay);
  EXPECT_EQ(r.judged, 8);   // 1–8
  EXPECT_EQ(r.pending, 1);  // 10
  EXPECT_EQ(r.failed_numbers, (std::vector<std::int64_t>{2, 3, 5}));
  EXPECT_EQ(r.resolved, 5);  // 1, 4, 6, 7, 8
  EXPECT_DOUBLE_EQ(*r.rate, 5.0 / 8);
  ASSERT_TRUE(r.ci);
  EXPECT_LT(r.ci->low, 0.625);
  EXPECT_GT(r.ci->high, 0.625);
}

TEST(FcrTest, TheWindowIsConfigurableAndInclusive) {
  const std::vector<TicketFacts> tickets = {Ticket(1, 10, "refund", 0, 1 * kDay, 1, {3 * kDay})};
  EXPECT_EQ(FirstContactResolution(tickets, 30 * kDay, 2 * kDay).resolved, 0);  // reopened at solved + 2 days
  EXPECT_EQ(FirstContactResolution(tickets, 30 * kDay, 2 * kDay - 1).resolved, 1);
  const auto none = FirstContactResolution({}, 30 * kDay);
  EXPECT_EQ(none.judged, 0);
  EXPECT_FALSE(none.rate);  // no NaN for an empty period
}

}  // namespace
}  // namespace touchpoint::insight
