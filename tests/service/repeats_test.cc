// Repeat inquiries (service/repeats.h): the 2nd and later contact of a customer about the same
// intent within the window is a repeat with a summary naming the earlier tickets; rates per
// intent and per channel.
#include <touchpoint/service/repeats.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "service/deskflow_fixture.h"

namespace touchpoint::service {
namespace {

using ::testing::ElementsAre;
using namespace test;  // NOLINT: the fixture's names

class RepeatsTest : public DeskflowTest {
 protected:
  void SetUp() override { OpenDesk({detector_}); }
  std::optional<RepeatInfo> Info(std::int64_t number) {
    auto info = desk_->WithStore([&](store::Store& s) {
      return FindRepeat(s, number, 30, [&](std::int64_t id) { return id == li_ ? std::string("li@example.com") : ""; });
    });
    EXPECT_OK(info);
    return info.ok() ? *info : std::nullopt;
  }
  std::shared_ptr<RepeatDetector> detector_ = std::make_shared<RepeatDetector>();
  std::int64_t li_ = 0;
};

TEST_F(RepeatsTest, TheThirdContactAboutAnIntentCarriesTheSummaryOfTheEarlierOnes) {
  li_ = MakeUser("li@example.com", "agent");
  Feed feed;
  // 11-02 chat, answered by Li and solved.
  feed.Message(7, kT0 + 9 * kHour, "chat", "我要退款");
  feed.Commit(*desk_);
  const std::int64_t first = Newest();
  clock_.now = kT0 + 10 * kHour;
  ASSERT_OK(desk_->Assign(first, li_, kAdmin));
  ASSERT_OK(desk_->AddMessage(first, NewMessage{"done", false, ""}, kAdmin));
  ASSERT_OK(desk_->SetStatus(first, TicketStatus::kSolved, kAdmin));
  // 11-09 phone, created by an agent with the skill refund, solved.
  clock_.now = kT0 + 7 * kDay + 9 * kHour;
  const std::int64_t second = Create(7, "phone", "refund").number;
  ASSERT_OK(desk_->AddMessage(second, NewMessage{"ok", false, ""}, kAdmin));
  ASSERT_OK(desk_->SetStatus(second, TicketStatus::kSolved, kAdmin));
  ASSERT_OK(desk_->SetStatus(first, TicketStatus::kClosed, kAdmin));
  // Another customer and another intent do not count.
  feed.Message(8, kT0 + 8 * kDay, "chat", "退款", "refund");
  const std::int64_t card = Create(7, "chat", "credit_card").number;
  for (TicketStatus s : {TicketStatus::kOpen, TicketStatus::kSolved, TicketStatus::kClosed}) {
    ASSERT_OK(desk_->SetStatus(card, s, kAdmin));
  }
  // 11-13 e-mail about refund again, past the continuity window: a new ticket.
  feed.Message(7, kT0 + 11 * kDay, "email", "still no refund");
  feed.Commit(*desk_);
  const std::int64_t third = Newest();
  auto info = Info(third);
  ASSERT_TRUE(info.has_value());
  EXPECT_TRUE(info->repeat());
  EXPECT_EQ(info->ordinal, 3);
  ASSERT_EQ(info->previous.size(), 2u);
  EXPECT_EQ(info->previous[0].number, first);
  EXPECT_EQ(info->previous[1].number, second);
  EXPECT_EQ(RepeatSummary(*info),
            "3rd contact in 30 days about refund: 11-02 chat (closed, agent li), 11-09 phone (solved), now e-mail");
  // The first contact is not a repeat; the second is the 2nd.
  auto one = Info(first);
  ASSERT_TRUE(one.has_value());
  EXPECT_FALSE(one->repeat());
  EXPECT_EQ(RepeatSummary(*one), "");
  auto two = Info(second);
  ASSERT_TRUE(two.has_value());
  EXPECT_EQ(two->ordinal, 2);
}

TEST_F(RepeatsTest, ContactsOutsideTheWindowOrWithoutAnIntentDoNotCount) {
  const std::int64_t old = Create(7, "chat", "refund").number;
  ASSERT_OK(desk_->AddMessage(old, NewMessage{"ok", false, ""}, kAdmin));
  ASSERT_OK(desk_->SetStatus(old, TicketStatus::kSolved, kAdmin));
  clock_.now = kT0 + 31 * kDay;
  const std::int64_t later = Create(7, "chat", "refund").number;
  auto info = Info(later);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->ordinal, 1);
  const std::int64_t none = Create(7, "chat", "").number;
  EXPECT_FALSE(Info(none).has_value());
  const std::int64_t other = Create(7, "chat", "other").number;
  EXPECT_FALSE(Info(other).has_value());
}

TEST_F(RepeatsTest, RatesPerIntentAndPerChannel) {
  Create(7, "chat", "refund");
  Create(7, "phone", "refund");
  Create(8, "chat", "refund");
  Create(8, "chat", "loan");
  auto report = desk_->WithStore(
      [&](store::Store& s) { return RepeatRates(s.Get<store::DeskflowRepository>(), 0, 0); });
  ASSERT_OK(report);
  EXPECT_EQ(report->contacts, 4);
  EXPECT_EQ(report->repeats, 1);
  ASSERT_EQ(report->by_intent.size(), 2u);
  EXPECT_EQ(report->by_intent[0].key, "refund");
  EXPECT_EQ(report->by_intent[0].contacts, 3);
  EXPECT_EQ(report->by_intent[0].repeats, 1);
  EXPECT_DOUBLE_EQ(report->by_intent[0].rate, 1.0 / 3);
  ASSERT_EQ(report->by_channel.size(), 2u);
  EXPECT_EQ(report->by_channel[0].key, "chat");
  EXPECT_EQ(report->by_channel[0].repeats, 0);
  EXPECT_EQ(report->by_channel[1].key, "phone");
  EXPECT_EQ(report->by_channel[1].repeats, 1);
  // A window: only contacts opened in it.
  auto none = desk_->WithStore(
      [&](store::Store& s) { return RepeatRates(s.Get<store::DeskflowRepository>(), kT0 + kDay, 0); });
  ASSERT_OK(none);
  EXPECT_EQ(none->contacts, 0);
}

TEST(RepeatSummaryTest, OrdinalsAndChannelWords) {
  EXPECT_EQ(Ordinal(1), "1st");
  EXPECT_EQ(Ordinal(2), "2nd");
  EXPECT_EQ(Ordinal(3), "3rd");
  EXPECT_EQ(Ordinal(4), "4th");
  EXPECT_EQ(Ordinal(11), "11th");
  EXPECT_EQ(Ordinal(12), "12th");
  EXPECT_EQ(Ordinal(13), "13th");
  EXPECT_EQ(Ordinal(21), "21st");
  EXPECT_EQ(Ordinal(112), "112th");
  RepeatInfo info;
  info.intent = "loan";
  info.ordinal = 2;
  info.window_days = 14;
  info.channel = "chat";
  info.previous = {EarlierContact{1, kT0, "email", "open", ""}};
  EXPECT_EQ(RepeatSummary(info), "2nd contact in 14 days about loan: 11-02 e-mail (open), now chat");
}

}  // namespace
}  // namespace touchpoint::service
