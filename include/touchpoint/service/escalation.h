// service/escalation.h — the service desk's first consumer of committed events: the escalation
// rules (text/escalation.h) run on every committed message, and their firings are stored for the
// desk (store/escalation_repository.h). It used to run inside the write path; it now subscribes
// to the engine's post-commit hook, so the write path knows nothing of service rules.
//
// The service module will own tickets, SLA clocks and routing (a later issue); this is where
// they attach to committed events.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>
#include <memory>
#include <span>

#include <touchpoint/core/result.h>
#include <touchpoint/pipeline/engine.h>
#include <touchpoint/store/escalation_repository.h>
#include <touchpoint/store/store.h>
#include <touchpoint/text/escalation.h>

namespace touchpoint::service {

struct EscalationOptions {
  double high_value_revenue = 20'000;  // lifetime revenue from which a customer is high-value
  // Firings are written in batches, not one transaction per commit: a second writer briefly
  // holds the database's write lock, and the committer waits for it. Flushed at this many, at
  // this age of the oldest unwritten one (checked when events arrive), and when the engine stops.
  size_t flush_records = 20000;
  Millis flush_ms = 5000;
  // A failed write keeps the firings for the next flush; beyond this many waiting, the oldest
  // are dropped and counted in lost() (the store stays down: memory must not grow without end).
  size_t max_pending = 200000;
};

// Thread safety: OnCommitted is called by the engine's hook thread only; fired() from any thread.
class EscalationConsumer final : public pipeline::CommitObserver {
 public:
  // `store` is this consumer's own connection (a SQLite connection is used by one thread; the
  // engine's is its committer's).
  EscalationConsumer(std::unique_ptr<store::Store> store, std::unique_ptr<text::EscalationEngine> rules,
                     EscalationOptions options = {});

  void OnCommitted(std::span<const pipeline::CommittedEvent> events) override;
  // A last flush; what still cannot be written is counted in lost().
  void OnStop() override;

  // Called on the hook thread with the firings of each committed batch as they are found (before
  // they are stored), e.g. by the service desk, subscribed after this consumer, to act on the
  // tickets of the same batch. Set before events flow.
  void SetListener(std::function<void(std::span<const store::EscalationRecord>)> listener) {
    listener_ = std::move(listener);
  }

  // Closes the consumer's store. REQUIRES: the engine's hook has stopped (Engine::Stop ran).
  void Close() { store_.reset(); }

  // Firings stored since start (buffered ones are not counted until written).
  std::int64_t fired() const { return fired_.load(std::memory_order_relaxed); }
  // Firings dropped because the store failed for longer than max_pending allows. The composition
  // roots report it when they stop (a count only: firings carry personal data).
  std::int64_t lost() const { return lost_.load(std::memory_order_relaxed); }

 private:
  void Flush();

  std::unique_ptr<store::Store> store_;
  std::vector<store::EscalationRecord> pending_;  // hook thread only
  std::chrono::steady_clock::time_point oldest_pending_;
  std::unique_ptr<text::EscalationEngine> rules_;
  EscalationOptions options_;
  std::function<void(std::span<const store::EscalationRecord>)> listener_;
  std::atomic<std::int64_t> fired_{0};
  std::atomic<std::int64_t> lost_{0};
};

// Creates a consumer with the shipped rules and subscribes it to `engine`. kFailedPrecondition
// when the rule data is missing.
Result<std::shared_ptr<EscalationConsumer>> AttachEscalation(pipeline::Engine& engine,
                                                             std::unique_ptr<store::Store> store,
                                                             EscalationOptions options = {});

}  // namespace touchpoint::service
