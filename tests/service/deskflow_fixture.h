// A desk over a shared memory store with a fake clock and its deskflow listeners, and committed
// events as the hook delivers them: the fixture of the repeats, desk_events and canned tests.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <touchpoint/pipeline/engine.h>
#include <touchpoint/service/desk.h>
#include <touchpoint/store/memory.h>
#include <touchpoint/store/team_repository.h>
#include <touchpoint/store/user_repository.h>

#include "testing/matchers.h"

namespace touchpoint::service::test {

inline constexpr Millis kT0 = 1'793'577'600'000;  // 2026-11-02T00:00:00Z
inline constexpr Millis kHour = 3'600'000;
inline constexpr Millis kDay = 24 * kHour;

class FakeClock final : public Clock {
 public:
  Millis Now() const override { return now.load(); }
  std::atomic<Millis> now{kT0};
};

inline const Actor kAdmin{Actor::Kind::kAdmin, 0, "admin@example.com"};

// A user of `role` (in `team`, 0: none) created through `store`; its id (0 after a failure).
inline std::int64_t MakeUser(store::Store& store, const std::string& email, const std::string& role,
                             std::int64_t team = 0) {
  store::UserRecord u;
  u.email = email;
  u.role = role;
  u.team_id = team;
  u.password_hash = "x";
  auto created = store.Get<store::UserRepository>().Create(u);
  EXPECT_OK(created);
  return created.ok() ? created->id : 0;
}

// Inbound customer messages as committed events.
class Feed {
 public:
  void Message(std::int64_t customer, Millis at, const std::string& channel, const std::string& text,
               const std::string& intent = "refund") {
    store::MessageRecord m;
    m.message_id = "m" + std::to_string(seq_ + 1);
    m.customer = CustomerId(customer);
    m.timestamp = at;
    m.channel = channel;
    m.author = "customer";
    m.direction = "in";
    m.text = text;
    m.masked_text = text;
    m.sentiment_label = "neutral";
    m.intent = intent;
    messages_.push_back(std::make_unique<store::MessageRecord>(std::move(m)));
    pipeline::CommittedEvent e;
    e.seq = ++seq_;
    e.customer = CustomerId(customer);
    e.original = e.customer;
    e.timestamp = at;
    e.message = messages_.back().get();
    pending_.push_back(e);
  }
  void Commit(Desk& desk) {
    desk.OnCommitted(pending_);
    pending_.clear();
  }

 private:
  std::int64_t seq_ = 0;
  std::vector<std::unique_ptr<store::MessageRecord>> messages_;
  std::vector<pipeline::CommittedEvent> pending_;
};

class DeskflowTest : public ::testing::Test {
 protected:
  // Opens the desk with `listeners`.
  void OpenDesk(std::vector<std::shared_ptr<ChangeListener>> listeners) {
    static int counter = 0;
    name_ = "deskflow-test-" + std::to_string(counter++);
    DeskOptions options;
    options.listeners = std::move(listeners);
    desk_ = std::make_unique<Desk>(store::memory::OpenShared(name_), clock_, options);
    side_ = store::memory::OpenShared(name_);
    ASSERT_OK(desk_->CatchUp({}));
  }
  std::int64_t MakeUser(const std::string& email, const std::string& role, std::int64_t team = 0) {
    return test::MakeUser(*side_, email, role, team);
  }
  store::TicketRecord Create(std::int64_t customer, const std::string& channel, const std::string& skill,
                             const std::string& subject = "a question") {
    NewTicket t;
    t.customer = CustomerId(customer);
    t.subject = subject;
    t.channel = channel;
    t.skill = skill;
    auto created = desk_->Create(t, kAdmin);
    EXPECT_OK(created);
    return created.ok() ? *created : store::TicketRecord{};
  }
  std::int64_t Newest() {
    auto list = desk_->List({});
    EXPECT_OK(list);
    return list.ok() && !list->empty() ? list->front().number : 0;
  }

  FakeClock clock_;
  std::string name_;
  std::unique_ptr<Desk> desk_;
  std::unique_ptr<store::Store> side_;  // another connection: users, teams, the outbox
};

}  // namespace touchpoint::service::test
