// The service desk over a memory store with a fake clock: the life cycle of a ticket and its
// history, scoping of agents and supervisors, concurrent claims, merges, the feed (inbound
// customer messages opening, joining and reopening tickets) and its cursor (catch-up from the
// event log, nothing handled twice), and the step report.
#include <touchpoint/service/desk.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <touchpoint/store/event_log.h>
#include <touchpoint/store/memory.h>
#include <touchpoint/store/team_repository.h>
#include <touchpoint/store/user_repository.h>

#include "service/deskflow_fixture.h"
#include "testing/matchers.h"

namespace touchpoint::service {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::touchpoint::testing::StatusIs;

constexpr Millis kT0 = 1'760'000'000'000;
constexpr Millis kHour = 3'600'000;

class FakeClock final : public Clock {
 public:
  Millis Now() const override { return now.load(); }
  std::atomic<Millis> now{kT0};
};

const Actor kAdmin{Actor::Kind::kAdmin, 0, "admin@example.com"};

class DeskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int counter = 0;
    name_ = "desk-test-" + std::to_string(counter++);
    desk_ = std::make_unique<Desk>(store::memory::OpenShared(name_), clock_);
    admin_store_ = store::memory::OpenShared(name_);
  }

  std::int64_t MakeUser(const std::string& email, const std::string& role, std::int64_t team = 0) {
    return test::MakeUser(*admin_store_, email, role, team);
  }
  std::int64_t MakeTeam(const std::string& name) {
    auto t = admin_store_->Get<store::TeamRepository>().Create(name, kT0);
    EXPECT_OK(t);
    return t.ok() ? t->id : 0;
  }
  store::TicketRecord Open(std::int64_t customer = 7, const std::string& queue = "") {
    NewTicket t;
    t.customer = CustomerId(customer);
    t.subject = "refund for order 42";
    t.channel = "chat";
    t.queue = queue;
    auto created = desk_->Create(t, kAdmin);
    EXPECT_OK(created);
    return created.ok() ? *created : store::TicketRecord{};
  }
  std::vector<std::string> Fields(std::int64_t number) {
    std::vector<std::string> out;
    auto rows = desk_->History(number);
    EXPECT_OK(rows);
    for (const auto& r : *rows) out.push_back(r.field + ":" + r.before + ">" + r.after);
    return out;
  }

  FakeClock clock_;
  std::string name_;
  std::unique_ptr<store::Store> admin_store_;
  std::unique_ptr<Desk> desk_;
};

TEST_F(DeskTest, CreateNumbersTicketsAndRecordsEveryInitialValue) {
  store::TicketRecord a = Open();
  store::TicketRecord b = Open(8);
  EXPECT_EQ(FormatTicketNumber(a.number), "TP-000001");
  EXPECT_EQ(b.number, a.number + 1);
  EXPECT_EQ(a.status, "new");
  EXPECT_EQ(a.priority, "medium");
  EXPECT_EQ(a.queue, "general");
  EXPECT_THAT(Fields(a.number), ElementsAre("created:>chat", "status:>new", "priority:>medium", "queue:>general"));
  auto rows = desk_->History(a.number);
  ASSERT_OK(rows);
  EXPECT_EQ((*rows)[0].actor, "admin@example.com");
  EXPECT_EQ((*rows)[0].actor_kind, "admin");
}

TEST_F(DeskTest, CreateRefusesBadInputNamingTheField) {
  NewTicket t;
  t.customer = CustomerId(7);
  t.channel = "chat";
  EXPECT_THAT(desk_->Create(t, kAdmin).status().message(), HasSubstr("subject"));
  t.subject = "x";
  t.channel = "fax";
  EXPECT_THAT(desk_->Create(t, kAdmin).status().message(), HasSubstr("channel"));
}

TEST_F(DeskTest, LifeCycleWithReplyPendingSolveReopenAndClose) {
  store::TicketRecord t = Open();
  clock_.now = kT0 + kHour;
  auto replied = desk_->AddMessage(t.number, NewMessage{"we are on it", false, ""}, kAdmin);
  ASSERT_OK(replied);
  EXPECT_EQ(replied->status, "open");  // a reply opens a new ticket
  ASSERT_OK(desk_->SetStatus(t.number, TicketStatus::kPendingCustomer, kAdmin));
  auto bad = desk_->SetStatus(t.number, TicketStatus::kSolved, kAdmin);
  EXPECT_THAT(bad, StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(bad.status().message(), HasSubstr("allowed: open"));
  ASSERT_OK(desk_->SetStatus(t.number, TicketStatus::kOpen, kAdmin));
  ASSERT_OK(desk_->SetStatus(t.number, TicketStatus::kSolved, kAdmin));
  auto reopened = desk_->SetStatus(t.number, TicketStatus::kOpen, kAdmin);
  ASSERT_OK(reopened);
  EXPECT_EQ(reopened->reopen_count, 1);
  ASSERT_OK(desk_->SetStatus(t.number, TicketStatus::kSolved, kAdmin));
  auto closed = desk_->SetStatus(t.number, TicketStatus::kClosed, kAdmin);
  ASSERT_OK(closed);
  EXPECT_THAT(desk_->AddMessage(t.number, NewMessage{"late", false, ""}, kAdmin),
              StatusIs(StatusCode::kFailedPrecondition));
  auto view = desk_->Get(t.number);
  ASSERT_OK(view);
  ASSERT_EQ(view->messages.size(), 1u);
  EXPECT_EQ(view->messages[0].author, "agent");
  EXPECT_EQ(view->messages[0].text, "we are on it");
  const auto fields = Fields(t.number);
  EXPECT_THAT(std::vector<std::string>(fields.begin() + 4, fields.end()),
              ElementsAre("message:>reply", "status:new>open", "status:open>pending_customer",
                          "status:pending_customer>open", "status:open>solved", "reopened:0>1",
                          "status:solved>open", "status:open>solved", "status:solved>closed"));
  EXPECT_THAT(desk_->Get(999), StatusIs(StatusCode::kNotFound));
}

TEST_F(DeskTest, AgentsChangeOnlyTheirTicketsOrTheirQueueAndSupervisorsTheirTeams) {
  const std::int64_t refunds = MakeTeam("refunds");
  const std::int64_t loans = MakeTeam("loans");
  const std::int64_t li = MakeUser("li@example.com", "agent", refunds);
  const std::int64_t wang = MakeUser("wang@example.com", "agent", loans);
  const std::int64_t boss = MakeUser("boss@example.com", "supervisor");
  ASSERT_OK(admin_store_->Get<store::TeamRepository>().AddSupervisor(refunds, boss));
  const Actor li_actor{Actor::Kind::kAgent, li, "li@example.com"};
  const Actor wang_actor{Actor::Kind::kAgent, wang, "wang@example.com"};
  const Actor boss_actor{Actor::Kind::kSupervisor, boss, "boss@example.com"};
  store::TicketRecord t = Open(7, "refunds");
  EXPECT_THAT(desk_->AddMessage(t.number, NewMessage{"hi", false, ""}, wang_actor),
              StatusIs(StatusCode::kPermissionDenied));
  EXPECT_OK(desk_->AddMessage(t.number, NewMessage{"hi", false, ""}, li_actor));
  EXPECT_THAT(desk_->Assign(t.number, wang, li_actor), StatusIs(StatusCode::kPermissionDenied));  // not themselves
  ASSERT_OK(desk_->Assign(t.number, li, li_actor));
  // Li's now; Wang cannot take it over (a claim of a taken ticket: 409) nor reply.
  EXPECT_THAT(desk_->Assign(t.number, wang, wang_actor), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(desk_->AddMessage(t.number, NewMessage{"mine", false, ""}, wang_actor),
              StatusIs(StatusCode::kPermissionDenied));
  EXPECT_THAT(desk_->Assign(t.number, 0, wang_actor), StatusIs(StatusCode::kFailedPrecondition));
  // The refunds supervisor may reassign; an agent key without a user may not change anything.
  EXPECT_OK(desk_->Assign(t.number, wang, boss_actor));
  EXPECT_THAT(desk_->SetStatus(t.number, TicketStatus::kPendingCustomer, Actor{Actor::Kind::kAgent, 0, "key:abc"}),
              StatusIs(StatusCode::kPermissionDenied));
  store::TicketRecord other = Open(8, "loans");
  EXPECT_THAT(desk_->SetStatus(other.number, TicketStatus::kOpen, boss_actor), StatusIs(StatusCode::kPermissionDenied));
  EXPECT_THAT(desk_->Assign(t.number, 12345, kAdmin), StatusIs(StatusCode::kNotFound));
}

TEST_F(DeskTest, TwoAgentsClaimingTheSameTicketAtOnceExactlyOneWins) {
  const std::int64_t team = MakeTeam("general");
  std::vector<Actor> agents;
  for (int i = 0; i < 8; ++i) {
    const std::string email = "agent" + std::to_string(i) + "@example.com";
    agents.push_back(Actor{Actor::Kind::kAgent, MakeUser(email, "agent", team), email});
  }
  for (int round = 0; round < 20; ++round) {
    store::TicketRecord t = Open(100 + round);
    std::atomic<int> won{0}, conflict{0}, other{0};
    std::vector<std::thread> threads;
    for (const Actor& a : agents) {
      threads.emplace_back([&, a] {
        auto r = desk_->Assign(t.number, a.user_id, a);
        if (r.ok()) {
          ++won;
        } else if (r.status().code() == StatusCode::kFailedPrecondition) {
          ++conflict;
        } else {
          ++other;
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(won.load(), 1);
    EXPECT_EQ(conflict.load(), static_cast<int>(agents.size()) - 1);
    EXPECT_EQ(other.load(), 0);
    auto rows = desk_->History(t.number);
    ASSERT_OK(rows);
    int assignments = 0;
    for (const auto& r : *rows) assignments += r.field == "assignee";
    EXPECT_EQ(assignments, 1);
  }
}

TEST_F(DeskTest, MergeMovesTheThreadAndClosesTheSource) {
  store::TicketRecord a = Open(7);
  store::TicketRecord b = Open(7);
  store::TicketRecord c = Open(8);
  ASSERT_OK(desk_->AddMessage(b.number, NewMessage{"from b", false, ""}, kAdmin));
  EXPECT_THAT(desk_->Merge(a.number, c.number, kAdmin), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(desk_->Merge(a.number, a.number, kAdmin), StatusIs(StatusCode::kInvalidArgument));
  auto merged = desk_->Merge(b.number, a.number, kAdmin);
  ASSERT_OK(merged);
  auto src = desk_->Get(b.number);
  ASSERT_OK(src);
  EXPECT_EQ(src->ticket.status, "closed");
  EXPECT_EQ(src->ticket.merged_into, a.number);
  EXPECT_TRUE(src->messages.empty());
  auto dst = desk_->Get(a.number);
  ASSERT_OK(dst);
  ASSERT_EQ(dst->messages.size(), 1u);
  EXPECT_EQ(dst->messages[0].text, "from b");
  EXPECT_THAT(Fields(a.number).back(), HasSubstr("merge:>from TP-00000"));
  EXPECT_THAT(desk_->Merge(b.number, a.number, kAdmin), StatusIs(StatusCode::kFailedPrecondition));
}

// Committed events as the hook delivers them.
class Feed {
 public:
  void Message(std::int64_t customer, Millis at, const std::string& channel, const std::string& text,
               const std::string& author = "customer", const std::string& direction = "in") {
    store::MessageRecord m;
    m.message_id = "m" + std::to_string(seq_ + 1);
    m.customer = CustomerId(customer);
    m.timestamp = at;
    m.channel = channel;
    m.author = author;
    m.direction = direction;
    m.text = text;
    m.masked_text = text;
    m.sentiment_label = "negative";
    m.sentiment_score = -0.7;
    m.intent = "refund";
    messages_.push_back(std::make_unique<store::MessageRecord>(std::move(m)));
    pipeline::CommittedEvent e;
    e.seq = ++seq_;
    e.customer = CustomerId(customer);
    e.original = e.customer;
    e.timestamp = at;
    e.message = messages_.back().get();
    pending_.push_back(e);
  }
  void Track(std::int64_t customer) {
    pipeline::CommittedEvent e;
    e.seq = ++seq_;
    e.customer = CustomerId(customer);
    pending_.push_back(e);
  }
  void Commit(Desk& desk) {
    desk.OnCommitted(pending_);
    pending_.clear();
  }
  std::int64_t seq() const { return seq_; }

 private:
  std::int64_t seq_ = 0;
  std::vector<std::unique_ptr<store::MessageRecord>> messages_;
  std::vector<pipeline::CommittedEvent> pending_;
};

TEST_F(DeskTest, InboundMessagesOpenJoinAndReopenTicketsAcrossChannels) {
  ASSERT_OK(desk_->CatchUp({}));  // empty log: the cursor starts at 0
  Feed feed;
  feed.Message(7, kT0, "chat", "我要退款");
  feed.Message(7, kT0 + 1000, "email", "any news?");  // same batch, other channel: joins
  feed.Message(8, kT0 + 2000, "phone", "hello");
  feed.Message(7, kT0 + 3000, "chat", "agent text", "agent", "out");  // not a customer's: ignored
  feed.Track(9);
  feed.Commit(*desk_);
  EXPECT_EQ(desk_->cursor(), feed.seq());
  auto tickets = desk_->List({});
  ASSERT_OK(tickets);
  ASSERT_EQ(tickets->size(), 2u);
  const store::TicketRecord seven = (*tickets)[1];
  EXPECT_EQ(seven.customer, CustomerId(7));
  EXPECT_EQ(seven.channel, "chat");
  EXPECT_EQ(seven.priority, "high");  // very negative
  EXPECT_EQ(seven.skill, "refund");
  auto view = desk_->Get(seven.number);
  ASSERT_OK(view);
  ASSERT_EQ(view->messages.size(), 2u);
  EXPECT_EQ(view->messages[1].channel, "email");
  EXPECT_EQ(view->messages[0].intent, "refund");
  // Solved, then the customer writes again within 72 hours: reopened, counted.
  clock_.now = kT0 + kHour;
  ASSERT_OK(desk_->SetStatus(seven.number, TicketStatus::kOpen, kAdmin));
  ASSERT_OK(desk_->SetStatus(seven.number, TicketStatus::kSolved, kAdmin));
  feed.Message(7, kT0 + 71 * kHour, "social", "still broken");
  feed.Commit(*desk_);
  auto again = desk_->Get(seven.number);
  ASSERT_OK(again);
  EXPECT_EQ(again->ticket.status, "open");
  EXPECT_EQ(again->ticket.reopen_count, 1);
  auto rows = desk_->History(seven.number);
  ASSERT_OK(rows);
  bool by_rule = false;
  for (const auto& r : *rows) by_rule = by_rule || (r.field == "reopened" && r.actor == "continuity");
  EXPECT_TRUE(by_rule);
  // Solved again; a message after the window opens a new ticket instead.
  ASSERT_OK(desk_->SetStatus(seven.number, TicketStatus::kSolved, kAdmin));
  feed.Message(7, kT0 + 71 * kHour + 73 * kHour, "chat", "new problem");
  feed.Commit(*desk_);
  tickets = desk_->List({});
  ASSERT_OK(tickets);
  ASSERT_EQ(tickets->size(), 3u);
  EXPECT_EQ((*tickets)[0].customer, CustomerId(7));
  EXPECT_EQ((*tickets)[0].status, "new");
  auto old = desk_->Get(seven.number);
  ASSERT_OK(old);
  EXPECT_EQ(old->ticket.status, "solved");
  // Pending on the customer: their reply opens it.
  ASSERT_OK(desk_->SetStatus((*tickets)[0].number, TicketStatus::kOpen, kAdmin));
  ASSERT_OK(desk_->SetStatus((*tickets)[0].number, TicketStatus::kPendingCustomer, kAdmin));
  feed.Message(7, kT0 + 200 * kHour, "chat", "here is the photo");
  feed.Commit(*desk_);
  auto replied = desk_->Get((*tickets)[0].number);
  ASSERT_OK(replied);
  EXPECT_EQ(replied->ticket.status, "open");
}

TEST_F(DeskTest, EscalationFiringsOfABatchActOnTheTicketsOfTheirMessages) {
  ASSERT_OK(desk_->CatchUp({}));
  Feed feed;
  feed.Message(7, kT0, "chat", "refund now");  // message id m1
  store::EscalationRecord handoff{kT0, CustomerId(7), "c", "m1", "refund_handoff", "handoff", "refund"};
  store::EscalationRecord risk{kT0, CustomerId(7), "c", "m1", "repeated_negative", "high_risk", "3 negative"};
  store::EscalationRecord elsewhere{kT0, CustomerId(9), "c", "not-in-batch", "x", "supervisor_alert", ""};
  std::vector<store::EscalationRecord> firings = {handoff, risk, elsewhere};
  desk_->OnEscalations(firings);
  feed.Commit(*desk_);
  auto tickets = desk_->List({});
  ASSERT_OK(tickets);
  ASSERT_EQ(tickets->size(), 1u);
  EXPECT_EQ((*tickets)[0].priority, "high");
  auto rows = desk_->History((*tickets)[0].number);
  ASSERT_OK(rows);
  std::vector<std::string> by_rules;
  for (const auto& r : *rows) {
    if (r.actor_kind == "system" && r.actor != "inbound") by_rules.push_back(r.actor + " " + r.field + ">" + r.after);
  }
  EXPECT_THAT(by_rules, ElementsAre("refund_handoff escalation>handoff", "repeated_negative escalation>high_risk"));
  // The firing of a message that was not in the batch is dropped, not applied later.
  feed.Message(9, kT0 + 1, "chat", "hello");
  feed.Commit(*desk_);
  tickets = desk_->List({});
  ASSERT_OK(tickets);
  EXPECT_EQ((*tickets)[0].priority, "high");  // very negative by the feed's analysis, not the firing
  auto nine = desk_->History((*tickets)[0].number);
  ASSERT_OK(nine);
  for (const auto& r : *nine) EXPECT_NE(r.field, "escalation");
}

TEST_F(DeskTest, ContinuityIsConfigurablePerChannel) {
  DeskOptions options;
  options.continuity_hours_by_channel["email"] = 1;
  desk_ = std::make_unique<Desk>(store::memory::OpenShared(name_), clock_, options);
  ASSERT_OK(desk_->CatchUp({}));
  Feed feed;
  feed.Message(7, kT0, "email", "first");
  feed.Commit(*desk_);
  auto t = desk_->List({});
  ASSERT_OK(t);
  ASSERT_OK(desk_->SetStatus((*t)[0].number, TicketStatus::kOpen, kAdmin));
  ASSERT_OK(desk_->SetStatus((*t)[0].number, TicketStatus::kSolved, kAdmin));
  feed.Message(7, kT0 + 2 * kHour, "email", "second");  // past the e-mail window of 1 hour
  feed.Commit(*desk_);
  auto all = desk_->List({});
  ASSERT_OK(all);
  EXPECT_EQ(all->size(), 2u);
}

// A Message Received event as the event log stores it.
store::EventRecord LoggedMessage(std::int64_t customer, int i, Millis at) {
  store::EventRecord e;
  e.message_id = "logged-" + std::to_string(i);
  e.hash = {static_cast<std::uint64_t>(i) + 1, 77};
  e.customer = CustomerId(customer);
  e.timestamp = at;
  e.kind = store::EventKind::kTrack;
  e.name = "Message Received";
  e.body = R"({"type":"track","userId":"u)" + std::to_string(customer) + R"(","event":"Message Received",)" +
           R"("messageId":")" + e.message_id + R"(","properties":{"text":"message )" + std::to_string(i) +
           R"(","channel":"chat"}})";
  return e;
}

TEST_F(DeskTest, CatchUpReadsWhatTheHookMissedFromTheLogAndNeverHandlesAnEventTwice) {
  auto log_store = store::memory::OpenShared(name_);
  auto append = [&](std::vector<store::EventRecord> events) {
    auto txn = log_store->Begin();
    ASSERT_OK(txn);
    ASSERT_OK(log_store->Get<store::EventLog>().Append(**txn, events));
    ASSERT_OK((*txn)->Commit());
  };
  DeskOptions backfill;
  backfill.backfill = true;
  // Committed while no desk listened (a crash between commit and hook).
  append({LoggedMessage(7, 1, kT0), LoggedMessage(8, 2, kT0 + 1), LoggedMessage(7, 3, kT0 + 2)});
  desk_ = std::make_unique<Desk>(store::memory::OpenShared(name_), clock_, backfill);
  ASSERT_OK(desk_->CatchUp({}));
  EXPECT_EQ(desk_->cursor(), 3);
  auto tickets = desk_->List({});
  ASSERT_OK(tickets);
  ASSERT_EQ(tickets->size(), 2u);
  auto seven = desk_->Get((*tickets)[1].number);
  ASSERT_OK(seven);
  EXPECT_EQ(seven->messages.size(), 2u);
  // A restart: a new desk over the same store catches up from the stored cursor — nothing new.
  desk_ = std::make_unique<Desk>(store::memory::OpenShared(name_), clock_, backfill);
  ASSERT_OK(desk_->CatchUp({}));
  tickets = desk_->List({});
  ASSERT_OK(tickets);
  EXPECT_EQ(tickets->size(), 2u);
  seven = desk_->Get(seven->ticket.number);
  ASSERT_OK(seven);
  EXPECT_EQ(seven->messages.size(), 2u);
  // The hook skips seq 4 (lost) and delivers 5: the desk reads 4 from the log first.
  append({LoggedMessage(9, 4, kT0 + 3), LoggedMessage(7, 5, kT0 + 4)});
  store::MessageRecord m5;
  m5.message_id = "logged-5";
  m5.author = "customer";
  m5.direction = "in";
  m5.channel = "chat";
  m5.text = "message 5";
  pipeline::CommittedEvent e5;
  e5.seq = 5;
  e5.customer = CustomerId(7);
  e5.timestamp = kT0 + 4;
  e5.message = &m5;
  desk_->OnCommitted(std::span(&e5, 1));
  desk_->OnCommitted(std::span(&e5, 1));  // delivered twice: handled once
  EXPECT_EQ(desk_->cursor(), 5);
  tickets = desk_->List({});
  ASSERT_OK(tickets);
  EXPECT_EQ(tickets->size(), 3u);
  seven = desk_->Get(seven->ticket.number);
  ASSERT_OK(seven);
  EXPECT_EQ(seven->messages.size(), 3u);
  EXPECT_EQ(*admin_store_->Get<store::TicketRepository>().Cursor("desk"), std::optional<std::int64_t>(5));
}

TEST_F(DeskTest, ANewDeskOverAnInstallationWithHistoryStartsAtTheEndOfTheLog) {
  auto log_store = store::memory::OpenShared(name_);
  {
    auto txn = log_store->Begin();
    ASSERT_OK(txn);
    std::vector<store::EventRecord> old = {LoggedMessage(7, 1, kT0)};
    ASSERT_OK(log_store->Get<store::EventLog>().Append(**txn, old));
    ASSERT_OK((*txn)->Commit());
  }
  ASSERT_OK(desk_->CatchUp({}));
  EXPECT_EQ(desk_->cursor(), 1);
  auto tickets = desk_->List({});
  ASSERT_OK(tickets);
  EXPECT_TRUE(tickets->empty());
}

TEST_F(DeskTest, StepsReportTimeInEachStatusQueueAndAssigneeSlowestFirst) {
  const std::int64_t li = MakeUser("li@example.com", "agent");
  // Two tickets: 1 h new, then open 2 h (ticket 1) / 4 h (ticket 2), then pending_third_party
  // 10 h (ticket 1) / 20 h (ticket 2), then solved.
  for (int i = 0; i < 2; ++i) {
    clock_.now = kT0;
    store::TicketRecord t = Open(7 + i);
    ASSERT_OK(desk_->Assign(t.number, li, kAdmin));
    clock_.now = kT0 + kHour;
    ASSERT_OK(desk_->SetStatus(t.number, TicketStatus::kOpen, kAdmin));
    clock_.now = kT0 + kHour + (i + 1) * 2 * kHour;
    ASSERT_OK(desk_->SetStatus(t.number, TicketStatus::kPendingThirdParty, kAdmin));
    clock_.now += (i + 1) * 10 * kHour;
    ASSERT_OK(desk_->SetStatus(t.number, TicketStatus::kOpen, kAdmin));
    ASSERT_OK(desk_->SetStatus(t.number, TicketStatus::kSolved, kAdmin));
  }
  clock_.now = kT0 + 1000 * kHour;  // solved time does not count
  WallClockMeter meter;
  auto r = desk_->Steps({}, meter);
  ASSERT_OK(r);
  EXPECT_EQ(r->tickets, 2);
  EXPECT_DOUBLE_EQ(r->handling_seconds, (2 * 1 + 2 + 4 + 10 + 20) * 3600.0);
  ASSERT_GE(r->steps.size(), 5u);
  EXPECT_EQ(r->steps[0].kind, "status");
  EXPECT_EQ(r->steps[0].name, "pending_third_party");
  EXPECT_EQ(r->steps[0].count, 2);
  EXPECT_DOUBLE_EQ(r->steps[0].median_seconds, 10 * 3600.0);
  EXPECT_DOUBLE_EQ(r->steps[0].p90_seconds, 20 * 3600.0);
  EXPECT_NEAR(r->steps[0].share, 30.0 / 38.0, 1e-9);
  EXPECT_EQ(r->steps[1].name, "open");
  EXPECT_EQ(r->steps[2].name, "new");
  EXPECT_EQ(r->steps[3].kind, "queue");
  EXPECT_EQ(r->steps[4].kind, "assignee");
  EXPECT_EQ(r->steps[4].name, "li@example.com");
  EXPECT_NEAR(r->steps[4].share, 1.0, 1e-9);  // assigned from the start
  // Filters: only e-mail tickets — none.
  StepQuery email;
  email.channel = "email";
  auto none = desk_->Steps(email, meter);
  ASSERT_OK(none);
  EXPECT_EQ(none->tickets, 0);
  EXPECT_TRUE(none->steps.empty());
}

}  // namespace
}  // namespace touchpoint::service
