// The ticket vocabulary: the status machine (every allowed and refused transition), the default
// priority rule, and ticket numbers.
#include <touchpoint/service/ticket.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace touchpoint::service {
namespace {

using ::testing::HasSubstr;
using ::touchpoint::testing::StatusIs;
using enum TicketStatus;

TEST(TicketStatusTest, TheMachineAllowsExactlyTheDocumentedTransitions) {
  struct Case {
    TicketStatus from;
    TicketStatus to;
    bool allowed;
  };
  const Case cases[] = {
      {kNew, kOpen, true},
      {kNew, kSolved, false},
      {kNew, kPendingCustomer, false},
      {kOpen, kPendingCustomer, true},
      {kOpen, kPendingThirdParty, true},
      {kOpen, kSolved, true},
      {kOpen, kClosed, false},
      {kOpen, kNew, false},
      {kPendingCustomer, kOpen, true},
      {kPendingCustomer, kSolved, false},
      {kPendingThirdParty, kOpen, true},
      {kPendingThirdParty, kPendingCustomer, false},
      {kSolved, kOpen, true},
      {kSolved, kClosed, true},
      {kSolved, kPendingCustomer, false},
      {kClosed, kOpen, false},
      {kClosed, kSolved, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(StatusName(c.from)) + " -> " + std::string(StatusName(c.to)));
    if (c.allowed) {
      EXPECT_OK(CheckTransition(c.from, c.to));
    } else {
      EXPECT_THAT(CheckTransition(c.from, c.to), StatusIs(StatusCode::kFailedPrecondition));
    }
  }
}

TEST(TicketStatusTest, AnIllegalTransitionNamesTheAllowedOnes) {
  Status s = CheckTransition(kSolved, kPendingCustomer);
  EXPECT_THAT(s.message(), HasSubstr("from solved to pending_customer"));
  EXPECT_THAT(s.message(), HasSubstr("allowed: open, closed"));
  EXPECT_THAT(CheckTransition(kClosed, kOpen).message(), HasSubstr("allowed: none"));
}

TEST(TicketStatusTest, NamesRoundTripAndUnknownValuesNameTheField) {
  for (TicketStatus s : {kNew, kOpen, kPendingCustomer, kPendingThirdParty, kSolved, kClosed}) {
    auto parsed = ParseStatus(StatusName(s));
    ASSERT_OK(parsed);
    EXPECT_EQ(*parsed, s);
  }
  EXPECT_THAT(ParseStatus("pending").status().message(), HasSubstr("status: unknown status 'pending'"));
  EXPECT_THAT(ParsePriority("urgent").status().message(), HasSubstr("priority:"));
  EXPECT_THAT(ParseType("question").status().message(), HasSubstr("type:"));
  EXPECT_THAT(CheckChannel("fax"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_OK(CheckChannel("ivr"));
}

TEST(TicketNumberTest, FormatsWithSixDigitsAndParsesEveryAcceptedSpelling) {
  EXPECT_EQ(FormatTicketNumber(123), "TP-000123");
  EXPECT_EQ(FormatTicketNumber(1234567), "TP-1234567");
  for (const char* text : {"TP-000123", "tp-123", "123"}) {
    auto n = ParseTicketNumber(text);
    ASSERT_OK(n);
    EXPECT_EQ(*n, 123) << text;
  }
  for (const char* text : {"", "TP-", "TP-12x", "-5", "0", "XX-1"}) {
    EXPECT_THAT(ParseTicketNumber(text), StatusIs(StatusCode::kInvalidArgument)) << text;
  }
}

TEST(DefaultPriorityTest, FollowsTheDocumentedRuleInOrder) {
  struct Case {
    const char* why;
    PrioritySignals signals;
    Priority want;
  };
  const Case cases[] = {
      {"complaint, negative", {TicketType::kComplaint, "refund", "negative", -0.3, 0}, Priority::kHigh},
      {"incident, negative", {TicketType::kIncident, "", "negative", -0.2, 0}, Priority::kHigh},
      {"very negative request", {TicketType::kRequest, "delivery_status", "negative", -0.7, 0}, Priority::kHigh},
      {"negative, high value", {TicketType::kRequest, "invoice", "negative", -0.2, 50'000}, Priority::kHigh},
      {"complaint intent, negative", {TicketType::kRequest, "complaint", "negative", -0.2, 0}, Priority::kHigh},
      {"mildly negative request", {TicketType::kRequest, "invoice", "negative", -0.2, 100}, Priority::kMedium},
      {"praise", {TicketType::kRequest, "praise", "positive", 0.8, 50'000}, Priority::kLow},
      {"positive request", {TicketType::kRequest, "product_question", "positive", 0.4, 100}, Priority::kLow},
      {"positive, high value", {TicketType::kRequest, "product_question", "positive", 0.4, 50'000},
       Priority::kMedium},
      {"nothing known", {}, Priority::kMedium},
  };
  for (const Case& c : cases) EXPECT_EQ(DefaultPriority(c.signals), c.want) << c.why;
}

}  // namespace
}  // namespace touchpoint::service
