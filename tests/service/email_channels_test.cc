// The desk's channels at the desk (service/channels.h) on the memory store: a reply and its
// outbox delivery are one transaction (a refused attachment leaves neither), the delivery's key
// is the message's, a solve queues its survey, and the survey token answers once.
#include <atomic>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <touchpoint/outbox/outbox.h>
#include <touchpoint/service/channels.h>
#include <touchpoint/service/desk.h>
#include <touchpoint/store/channel_repository.h>
#include <touchpoint/store/memory.h>
#include <touchpoint/store/outbox_repository.h>

#include "testing/matchers.h"

namespace touchpoint::service {
namespace {

using ::touchpoint::testing::StatusIs;

class FixedClock final : public Clock {
 public:
  Millis Now() const override { return now.load(); }
  std::atomic<Millis> now{1'760'000'000'000};
};

const Actor kAdmin{Actor::Kind::kAdmin, 0, "admin@example.com"};

class DeskChannelsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int counter = 0;
    const std::string name = "desk-channels-" + std::to_string(counter++);
    store_ = store::memory::OpenShared(name);
    outbox::OutboxOptions o;
    o.webhooks.push_back(outbox::WebhookEndpoint{"chat-gw", "http://127.0.0.1:9/never", "secret-0123456789abcdef", {"x.*"}, 1000, 1});
    o.clock = &clock_;
    auto ob = outbox::Outbox::Create(*store_, o);  // never started: rows only
    ASSERT_OK(ob);
    outbox_ = std::move(*ob);
    ChannelOptions c;
    c.connectors["chat"] = ChannelConnector{"webhook", "chat-gw", true, "Score {ticket} 1-5 {link}"};
    c.csat_secret = "csat-secret-0123456789";
    auto ch = Channels::Create(outbox_.get(), clock_, c);
    ASSERT_OK(ch);
    channels_ = *ch;
    DeskOptions d;
    d.channels = channels_;
    desk_ = std::make_unique<Desk>(store::memory::OpenShared(name), clock_, d);
  }
  std::vector<store::Delivery> Deliveries() {
    auto all = store_->Get<store::OutboxRepository>().List(store::DeliveryQuery{});
    EXPECT_OK(all);
    return all.ok() ? *all : std::vector<store::Delivery>{};
  }

  FixedClock clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<outbox::Outbox> outbox_;
  std::shared_ptr<Channels> channels_;
  std::unique_ptr<Desk> desk_;
};

TEST_F(DeskChannelsTest, AReplyAndItsDeliveryCommitTogether) {
  auto t = desk_->Create(NewTicket{CustomerId(7), 0, "where is my parcel", "chat", {}, TicketType::kRequest, "", "", "", ""},
                         kAdmin);
  ASSERT_OK(t);
  ASSERT_OK(desk_->AddMessage(t->number, NewMessage{"it left the warehouse", false, ""}, kAdmin));
  auto view = desk_->Get(t->number);
  ASSERT_OK(view);
  ASSERT_EQ(view->messages.size(), 1u);
  const std::string key = view->messages[0].message_id;
  EXPECT_EQ(key.rfind("out_", 0), 0u) << "the message carries its delivery's key";
  auto out = Deliveries();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].idempotency_key, key + ".chat-gw") << "sent to the channel's gateway only";
  EXPECT_EQ(out[0].event, "reply.chat");
  auto state = channels_->Delivery(*store_, key);
  ASSERT_OK(state);
  ASSERT_TRUE(state->has_value());
  EXPECT_EQ((*state)->state, "queued");

  // A refused attachment fails the reply: neither the message nor a delivery is written.
  NewMessage bad{"see attached", false, ""};
  bad.attachments.push_back(MessageAttachment{"x.exe", std::string("MZ\x90\x00", 4)});
  EXPECT_THAT(desk_->AddMessage(t->number, bad, kAdmin), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(desk_->Get(t->number)->messages.size(), 1u);
  EXPECT_EQ(Deliveries().size(), 1u);

  // An internal note is never delivered.
  ASSERT_OK(desk_->AddMessage(t->number, NewMessage{"customer sounds upset", true, ""}, kAdmin));
  EXPECT_EQ(Deliveries().size(), 1u);
}

TEST_F(DeskChannelsTest, ASolveQueuesItsSurveyAndTheTokenAnswersOnce) {
  auto t = desk_->Create(NewTicket{CustomerId(8), 0, "refund", "chat", {}, TicketType::kRequest, "", "", "", ""}, kAdmin);
  ASSERT_OK(t);
  ASSERT_OK(desk_->AddMessage(t->number, NewMessage{"done", false, ""}, kAdmin));
  ASSERT_OK(desk_->SetStatus(t->number, TicketStatus::kSolved, kAdmin));
  auto surveys = store_->Get<store::ChannelRepository>().Surveys(t->number);
  ASSERT_OK(surveys);
  ASSERT_EQ(surveys->size(), 1u);
  const store::CsatSurveyRecord s = (*surveys)[0];
  EXPECT_EQ(s.sent_at, clock_.now.load());
  EXPECT_NE(s.outbox_id, 0);
  auto out = Deliveries();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].event, "csat.survey.chat") << "newest first";
  EXPECT_NE(out[0].payload.find("Score " + FormatTicketNumber(t->number)), std::string::npos) << "the template";

  const std::string token = channels_->SurveyToken(t->number, s.id);
  EXPECT_THAT(channels_->Answer(*store_, t->number + 1, token, 5, ""), StatusIs(StatusCode::kPermissionDenied));
  EXPECT_THAT(channels_->Answer(*store_, t->number, token, 0, ""), StatusIs(StatusCode::kInvalidArgument));
  clock_.now += 60'000;
  auto answered = channels_->Answer(*store_, t->number, token, 5, "fast");
  ASSERT_OK(answered);
  EXPECT_EQ(answered->answered_at - answered->sent_at, 60'000) << "sent and answer times both kept";
  EXPECT_THAT(channels_->Answer(*store_, t->number, token, 1, ""), StatusIs(StatusCode::kFailedPrecondition));
}

}  // namespace
}  // namespace touchpoint::service
