// The escalation consumer of the post-commit hook: what it stores, and what happens when its
// store refuses writes.
#include <touchpoint/service/escalation.h>

#include <gtest/gtest.h>
#include <touchpoint/store/escalation_repository.h>
#include <touchpoint/store/memory.h>

#include "testing/matchers.h"

namespace touchpoint::service {
namespace {

// One committed customer message per call, each in its own conversation, each asking for a
// refund (the shipped rules hand those off: one firing each).
class Commits {
 public:
  void Send(EscalationConsumer& consumer, int n) {
    std::vector<store::MessageRecord> messages;
    messages.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i, ++next_) {
      store::MessageRecord m;
      m.message_id = "m" + std::to_string(next_);
      m.customer = CustomerId(next_ + 1);
      m.conversation_id = "c" + std::to_string(next_);
      m.author = "customer";
      m.direction = "in";
      m.text = "我要退款";
      messages.push_back(std::move(m));
    }
    std::vector<pipeline::CommittedEvent> events;
    for (const auto& m : messages) {
      pipeline::CommittedEvent e;
      e.customer = m.customer;
      e.original = m.customer;
      e.message_id = m.message_id;
      e.message = &m;
      events.push_back(e);
    }
    consumer.OnCommitted(events);
  }

 private:
  int next_ = 0;
};

std::unique_ptr<EscalationConsumer> Consumer(std::unique_ptr<store::Store> store, EscalationOptions options) {
  auto rules = text::EscalationEngine::Default();
  EXPECT_OK(rules.status());
  return std::make_unique<EscalationConsumer>(std::move(store), std::move(*rules), options);
}

TEST(EscalationConsumerTest, StoresTheFiringsOfCommittedMessagesByTheEnd) {
  const std::string name = "escalation-ok";
  EscalationOptions options;
  options.flush_records = 4;
  auto consumer = Consumer(store::memory::OpenShared(name), options);
  Commits commits;
  commits.Send(*consumer, 5);  // one flush of 5 firings
  commits.Send(*consumer, 2);  // waits for the stop
  consumer->OnStop();
  EXPECT_EQ(consumer->fired(), 7);
  EXPECT_EQ(consumer->lost(), 0);
  auto reader = store::memory::OpenShared(name);
  EXPECT_EQ(*reader->Get<store::EscalationRepository>().Count(), 7);
}

TEST(EscalationConsumerTest, KeepsFiringsWhileTheStoreFailsAndCountsWhatItHadToDrop) {
  EscalationOptions options;
  options.flush_records = 2;
  options.max_pending = 5;
  // A read-only store refuses every transaction: each flush fails.
  auto consumer = Consumer(store::memory::OpenShared("escalation-down", /*read_only=*/true), options);
  Commits commits;
  commits.Send(*consumer, 3);
  EXPECT_EQ(consumer->lost(), 0) << "a failed flush keeps its firings for the next one";
  commits.Send(*consumer, 4);  // 7 waiting: the 2 oldest go
  EXPECT_EQ(consumer->lost(), 2);
  consumer->OnStop();  // the last flush fails too: the 5 left are lost
  EXPECT_EQ(consumer->lost(), 7);
  EXPECT_EQ(consumer->fired(), 0);
}

}  // namespace
}  // namespace touchpoint::service
