// The complaint loop (service/complaints.h) through the SLA service over a memory store with a
// fake clock: a complaint gets its follow-up (24 h) and feedback (close of the 3rd working day on
// cn) tasks once; solving it with an open task is refused unless a supervisor overrides (in the
// history); an overdue task fires one event; completing a task closes it.
#include <touchpoint/service/complaints.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include <touchpoint/calendar/calendar_file.h>
#include <touchpoint/service/sla.h>
#include <touchpoint/store/memory.h>

#include "testing/matchers.h"

namespace touchpoint::service {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::touchpoint::testing::StatusIs;

// 2026-09-24 (Thursday) 15:00 Asia/Shanghai = 07:00Z. 09-25…09-27 are holidays (Mid-Autumn),
// 09-28 Monday works: the 3rd working day after the 24th is Wednesday 09-30, closing 18:00 +08.
constexpr Millis kThu1500 = 1'790'233'200'000;
constexpr Millis kHour = 3'600'000;

class FakeClock final : public Clock {
 public:
  Millis Now() const override { return now.load(); }
  std::atomic<Millis> now{kThu1500};
};

const Actor kAdmin{Actor::Kind::kAdmin, 0, "admin@example.com"};
const Actor kAgent{Actor::Kind::kAgent, 5, "li@example.com"};

class ComplaintTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto spec = calendar::FindBuiltinCalendar("cn");
    ASSERT_TRUE(spec);
    auto cal = calendar::Calendar::Build(*spec);
    ASSERT_OK(cal);
    cn_ = std::make_unique<calendar::Calendar>(std::move(*cal));
    static int counter = 0;
    desk_ = std::make_unique<Desk>(store::memory::OpenShared("complaint-test-" + std::to_string(counter++)), clock_);
    SlaOptions o;
    o.calendars["cn"] = cn_.get();
    o.default_calendar = "cn";
    o.sink = [this](const SlaEvent& e) { sunk_.push_back(e.target + " " + e.kind); };
    auto s = SlaService::Open(*desk_, clock_, std::move(o));
    ASSERT_OK(s);
    sla_ = std::move(*s);
  }
  std::int64_t CreateComplaint() {
    NewTicket t;
    t.customer = CustomerId(9);
    t.subject = "charged twice";
    t.channel = "email";
    t.type = TicketType::kComplaint;
    auto created = desk_->Create(t, kAdmin);
    EXPECT_OK(created);
    EXPECT_OK(sla_->RunDue());
    return created.ok() ? created->number : 0;
  }

  FakeClock clock_;
  std::unique_ptr<calendar::Calendar> cn_;
  std::unique_ptr<Desk> desk_;
  std::unique_ptr<SlaService> sla_;
  std::vector<std::string> sunk_;
};

TEST(ComplaintTasksTest, FollowupIn24HoursFeedbackAtCloseOfThirdWorkingDay) {
  auto spec = calendar::FindBuiltinCalendar("cn");
  auto cal = calendar::Calendar::Build(*spec);
  ASSERT_OK(cal);
  auto tasks = ComplaintTasks(1, kThu1500, &*cal);
  ASSERT_OK(tasks);
  ASSERT_EQ(tasks->size(), 2u);
  EXPECT_EQ((*tasks)[0].kind, "followup");
  EXPECT_EQ(FormatTimestamp((*tasks)[0].due_at), "2026-09-25T07:00:00.000Z");
  EXPECT_EQ((*tasks)[1].kind, "feedback");
  EXPECT_EQ(FormatTimestamp((*tasks)[1].due_at), "2026-09-30T10:00:00.000Z");
}

TEST_F(ComplaintTest, AComplaintSpawnsBothTasksOnce) {
  const std::int64_t n = CreateComplaint();
  ASSERT_OK(sla_->RunDue());
  auto tasks = sla_->TicketTasks(n);
  ASSERT_OK(tasks);
  ASSERT_EQ(tasks->size(), 2u);
  EXPECT_EQ((*tasks)[0].task.kind, "followup");
  EXPECT_EQ((*tasks)[0].state, "due");
  EXPECT_EQ((*tasks)[1].task.kind, "feedback");
  EXPECT_EQ(sla_->Tasks("due").size(), 2u);
  auto rows = desk_->History(n);
  ASSERT_OK(rows);
  int task_rows = 0;
  for (const auto& r : *rows) task_rows += r.field == "task" ? 1 : 0;
  EXPECT_EQ(task_rows, 2);
}

TEST_F(ComplaintTest, SolvingWithAnOpenTaskNeedsASupervisorsOverride) {
  const std::int64_t n = CreateComplaint();
  ASSERT_OK(desk_->SetStatus(n, TicketStatus::kOpen, kAdmin));
  auto refused = desk_->SetStatus(n, TicketStatus::kSolved, kAdmin);
  EXPECT_THAT(refused.status(), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("open tasks (followup, feedback)"));
  ASSERT_OK(desk_->Assign(n, 0, kAdmin));
  auto solved = desk_->ChangeStatus(n, TicketStatus::kSolved, kAdmin, "", /*override_tasks=*/true);
  ASSERT_OK(solved);
  EXPECT_EQ(solved->status, "solved");
  auto rows = desk_->History(n);
  ASSERT_OK(rows);
  EXPECT_EQ(rows->back().field, "override");
  EXPECT_EQ(rows->back().before, "open tasks: followup, feedback");
  EXPECT_EQ(rows->back().actor, "admin@example.com");
}

TEST_F(ComplaintTest, AnAgentCannotOverride) {
  const std::int64_t n = CreateComplaint();
  ASSERT_OK(desk_->SetStatus(n, TicketStatus::kOpen, kAdmin));
  // The guard runs after the scope check: an agent who may not change the ticket is refused
  // by that first; give the agent the ticket through a system actor.
  const Actor system{Actor::Kind::kSystem, 0, "test"};
  ASSERT_OK(desk_->ApplyChange(n, [](store::Store&, store::Transaction&, store::TicketRecord& t,
                                      std::vector<store::TicketHistoryRecord>&) {
    t.assignee = 5;
    return Status::Ok();
  }));
  (void)system;
  EXPECT_THAT(desk_->ChangeStatus(n, TicketStatus::kSolved, kAgent, "", true).status(),
              StatusIs(StatusCode::kPermissionDenied));
}

TEST_F(ComplaintTest, OverdueTaskFiresOnceAndCompletedTasksStopCounting) {
  const std::int64_t n = CreateComplaint();
  auto tasks = sla_->TicketTasks(n);
  ASSERT_OK(tasks);
  const std::int64_t feedback = (*tasks)[1].task.id;
  ASSERT_OK(sla_->CompleteTask(n, feedback, kAdmin));
  EXPECT_THAT(sla_->CompleteTask(n, feedback, kAdmin).status(), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(sla_->CompleteTask(n, 999, kAdmin).status(), StatusIs(StatusCode::kNotFound));
  clock_.now = kThu1500 + 24 * kHour;
  auto fired = sla_->RunDue();
  ASSERT_OK(fired);
  EXPECT_THAT(sunk_, ::testing::Contains("task:followup overdue"));
  EXPECT_EQ(sla_->overdue_fired(), 1);
  auto overdue = sla_->Tasks("overdue");
  ASSERT_EQ(overdue.size(), 1u);
  EXPECT_EQ(overdue[0].task.kind, "followup");
  clock_.now = kThu1500 + 30 * 24 * kHour;
  ASSERT_OK(sla_->RunDue());
  EXPECT_EQ(sla_->overdue_fired(), 1);  // once; the completed feedback task never
}

}  // namespace
}  // namespace touchpoint::service
