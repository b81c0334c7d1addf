// Desk events out (service/desk_events.h): the desk's changes become events enqueued in the
// outbox in the change's own transaction (a change that rolls back sends nothing and shows
// nothing on the feed), supervisor alerts name the team's supervisors, and the SLA timer's entry
// point (Emit) sends an event once per id.
#include <touchpoint/service/desk_events.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <touchpoint/outbox/outbox.h>
#include <touchpoint/store/escalation_repository.h>

#include "service/deskflow_fixture.h"

namespace touchpoint::service {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::touchpoint::testing::StatusIs;
using namespace test;  // NOLINT: the fixture's names

// A listener that refuses the next change once asked to (a store failing inside the change).
class Refuser final : public ChangeListener {
 public:
  Status BeforeCommit(store::Store&, store::Transaction&, std::span<const TicketChange>) override {
    return refuse ? Status::Unavailable("disk full") : Status::Ok();
  }
  bool refuse = false;
};

class DeskEventsTest : public DeskflowTest {
 protected:
  void SetUp() override {
    DeskEventsOptions options;
    options.clock = &clock_;
    events_ = std::make_shared<DeskEvents>(options);
    OpenDesk({events_, refuser_});
    outbox::OutboxOptions o;
    outbox::WebhookEndpoint crm{"crm", "http://127.0.0.1:9/crm", "whsec_desk_events_test", {"ticket.*"}, 1000, 1};
    outbox::WebhookEndpoint ops{"ops", "http://127.0.0.1:9/ops", "whsec_desk_events_test", {"supervisor.*", "sla.*"},
                                1000, 1};
    o.webhooks = {crm, ops};
    o.clock = &clock_;
    auto box = outbox::Outbox::Create(*side_, o);
    ASSERT_OK(box);
    outbox_ = std::move(*box);
    events_->SetOutbox(outbox_.get());
  }
  // "endpoint event" of every delivery, oldest first.
  std::vector<std::string> Deliveries() {
    auto list = outbox_->List(store::DeliveryQuery{});
    EXPECT_OK(list);
    std::vector<std::string> out;
    for (auto it = list->rbegin(); it != list->rend(); ++it) out.push_back(it->target + " " + it->event);
    return out;
  }
  std::vector<std::string> FeedKinds(std::int64_t after = 0) {
    std::vector<std::string> out;
    for (const FeedEntry& f : events_->Feed(after, 100)) out.push_back(f.kind);
    return out;
  }

  std::shared_ptr<DeskEvents> events_;
  std::shared_ptr<Refuser> refuser_ = std::make_shared<Refuser>();
  std::unique_ptr<outbox::Outbox> outbox_;
};

TEST_F(DeskEventsTest, TicketChangesGoToTheSubscribedWebhooksAndTheFeed) {
  const std::int64_t li = MakeUser("li@example.com", "agent");
  const std::int64_t n = Create(7, "chat", "refund", "我的手机号 13812345678").number;
  ASSERT_OK(desk_->Assign(n, li, kAdmin));
  ASSERT_OK(desk_->AddMessage(n, NewMessage{"internal: check the order", true, ""}, kAdmin));  // a note: no event
  ASSERT_OK(desk_->AddMessage(n, NewMessage{"refund sent", false, ""}, kAdmin));
  ASSERT_OK(desk_->SetStatus(n, TicketStatus::kSolved, kAdmin));
  EXPECT_THAT(FeedKinds(), ElementsAre("ticket.created", "ticket.assigned", "ticket.replied", "ticket.solved"));
  EXPECT_THAT(Deliveries(), ElementsAre("crm ticket.created", "crm ticket.assigned", "crm ticket.replied",
                                        "crm ticket.solved"));
  auto list = outbox_->List(store::DeliveryQuery{});
  ASSERT_OK(list);
  const store::Delivery& created = list->back();
  auto body = nlohmann::json::parse(created.payload);
  EXPECT_EQ(body["type"], "ticket.created");
  EXPECT_EQ(body["data"]["ticket"], FormatTicketNumber(n));
  EXPECT_EQ(body["data"]["channel"], "chat");
  EXPECT_EQ(created.payload.find("13812345678"), std::string::npos);  // no subject or message text leaves
  const FeedEntry first = events_->Feed(0, 1).at(0);
  EXPECT_EQ(created.idempotency_key, first.id + ".crm");  // the feed names the event the webhook carries
  auto assigned = nlohmann::json::parse(events_->Feed(1, 1).at(0).data_json);
  EXPECT_EQ(assigned["assignee"], std::to_string(li));
  EXPECT_EQ(assigned["assignee_before"], "");
  // The feed continues after a seq.
  EXPECT_THAT(FeedKinds(3), ElementsAre("ticket.solved"));
  EXPECT_EQ(events_->last_seq(), 4);
}

TEST_F(DeskEventsTest, AChangeThatRollsBackSendsNothingAndShowsNothing) {
  const std::int64_t n = Create(7, "chat", "refund").number;
  refuser_->refuse = true;
  EXPECT_THAT(desk_->AddMessage(n, NewMessage{"hello", false, ""}, kAdmin), StatusIs(StatusCode::kUnavailable));
  EXPECT_THAT(desk_->Create(NewTicket{CustomerId(8), 0, "x", "chat", {}, TicketType::kRequest, "", "", "", ""}, kAdmin),
              StatusIs(StatusCode::kUnavailable));
  refuser_->refuse = false;
  auto view = desk_->Get(n);
  ASSERT_OK(view);
  EXPECT_TRUE(view->messages.empty());
  EXPECT_EQ(view->ticket.status, "new");
  EXPECT_THAT(Deliveries(), ElementsAre("crm ticket.created"));
  EXPECT_THAT(FeedKinds(), ElementsAre("ticket.created"));
  // The next change shows only its own events (nothing left over from the refused ones).
  ASSERT_OK(desk_->AddMessage(n, NewMessage{"hello", false, ""}, kAdmin));
  EXPECT_THAT(FeedKinds(), ElementsAre("ticket.created", "ticket.replied"));
  EXPECT_THAT(Deliveries(), ElementsAre("crm ticket.created", "crm ticket.replied"));
}

TEST_F(DeskEventsTest, ASupervisorAlertNamesTheSupervisorsOfTheTicketsTeam) {
  auto team = side_->Get<store::TeamRepository>().Create("general", kT0);
  ASSERT_OK(team);
  auto other = side_->Get<store::TeamRepository>().Create("loans", kT0);
  ASSERT_OK(other);
  const std::int64_t wang = MakeUser("wang@example.com", "supervisor");
  const std::int64_t zhao = MakeUser("zhao@example.com", "supervisor");
  ASSERT_OK(side_->Get<store::TeamRepository>().AddSupervisor(team->id, wang));
  ASSERT_OK(side_->Get<store::TeamRepository>().AddSupervisor(other->id, zhao));
  // With an SMTP relay the supervisors also get an e-mail.
  outbox::OutboxOptions with_mail = outbox_->options();
  with_mail.smtp.host = "127.0.0.1";
  with_mail.smtp.port = 2525;
  with_mail.smtp.tls = "none";
  with_mail.smtp.from = "desk@example.com";
  auto mail_box = outbox::Outbox::Create(*side_, with_mail);
  ASSERT_OK(mail_box);
  events_->SetOutbox(mail_box->get());
  Feed feed;
  feed.Message(7, kT0, "chat", "terrible service", "complaint");  // message m1
  std::vector<store::EscalationRecord> firings = {
      store::EscalationRecord{kT0, CustomerId(7), "c", "m1", "vip_negative", "supervisor_alert", ""}};
  desk_->OnEscalations(firings);
  feed.Commit(*desk_);
  EXPECT_THAT(FeedKinds(), ElementsAre("ticket.created", "supervisor.alert"));
  auto alert = nlohmann::json::parse(events_->Feed(1, 1).at(0).data_json);
  EXPECT_EQ(alert["rule"], "vip_negative");
  EXPECT_EQ(alert["supervisors"], "wang@example.com");
  EXPECT_EQ(alert["supervisor_ids"], std::to_string(wang));
  EXPECT_EQ(alert["priority"], "high");
  EXPECT_THAT(Deliveries(),
              ElementsAre("crm ticket.created", "ops supervisor.alert", "wang@example.com email"));
  auto list = outbox_->List(store::DeliveryQuery{});
  ASSERT_OK(list);
  EXPECT_THAT(list->front().payload, HasSubstr("Supervisor alert: TP-000001"));
  events_->SetOutbox(outbox_.get());
}

TEST_F(DeskEventsTest, EmitSendsAnSlaEventOncePerIdAndRefusesABadKind) {
  DeskEvent breach{"sla.breached", 12, {{"span", "first_response"}, {"due_at", "2026-11-02T10:00:00Z"}},
                   "sla.breached:TP-000012:first_response", 0};
  ASSERT_OK(events_->Emit(breach));
  ASSERT_OK(events_->Emit(breach));  // the timer firing again after a restart: one delivery
  EXPECT_THAT(Deliveries(), ElementsAre("ops sla.breached"));
  auto list = outbox_->List(store::DeliveryQuery{});
  ASSERT_OK(list);
  EXPECT_EQ(list->front().idempotency_key, "sla.breached:TP-000012:first_response.ops");
  auto body = nlohmann::json::parse(list->front().payload);
  EXPECT_EQ(body["data"]["ticket"], "TP-000012");
  EXPECT_EQ(body["data"]["span"], "first_response");
  ASSERT_OK(events_->Emit(DeskEvent{"complaint.task_overdue", 12, {{"task", "follow_up"}}, "", 0}));
  EXPECT_THAT(Deliveries(), ElementsAre("ops sla.breached"));  // no endpoint subscribes to it
  EXPECT_THAT(FeedKinds(), ElementsAre("sla.breached", "sla.breached", "complaint.task_overdue"));
  EXPECT_THAT(events_->Emit(DeskEvent{"SLA Breach", 1, {}, "", 0}), StatusIs(StatusCode::kInvalidArgument));
}

TEST(DeskEventsFeedTest, TheRingKeepsTheNewestAndSaysWhenEntriesWereDropped) {
  DeskEventsOptions options;
  options.feed_capacity = 3;
  DeskEvents events(options);
  for (int i = 0; i < 5; ++i) ASSERT_OK(events.Emit(DeskEvent{"ticket.created", i + 1, {}, "", 1}));
  bool gap = false;
  auto all = events.Feed(0, 10, &gap);
  EXPECT_TRUE(gap);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].seq, 3);
  EXPECT_EQ(all[2].ticket, 5);
  auto tail = events.Feed(3, 10, &gap);
  EXPECT_FALSE(gap);
  ASSERT_EQ(tail.size(), 2u);
  EXPECT_EQ(events.Feed(2, 1, &gap).at(0).seq, 3);
}

}  // namespace
}  // namespace touchpoint::service
