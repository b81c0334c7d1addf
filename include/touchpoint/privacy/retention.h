// privacy/retention.h — how long records are kept ([retention] in the config; docs/security.md,
// "Retention"). A pass deletes what is older than each kind's period in small transactions
// (`batch` records each) beside the write path, so ingest is never held up for long; it logs
// counts only, never the records.
//
// Defaults: every period is 0 = keep forever. Deleting data is not reversible, and how long a
// company must or may keep contact histories depends on its own obligations: an operator
// chooses the periods (docs/operations.md shows an example).
//
// Audit entries are not deleted by retention: the audit log is a hash chain whose checkpoints
// vouch for every entry (privacy/audit.h); cutting its head off would read as tampering.
//
// Thread safety: RunRetention uses `store` from the calling thread only; RetentionJob runs it on
// a thread of its own (Start/Stop from one thread).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/store/store.h>

namespace touchpoint::privacy {

struct RetentionPolicy {
  // Keep records of each kind this long (milliseconds); 0 = forever.
  Millis events = 0;
  Millis messages = 0;
  Millis surveys = 0;
  Millis orders = 0;
  Millis escalations = 0;
  // The ingest rejects file (DATA/rejects.ndjson by default) is removed once it has not changed
  // for this long (its lines carry no time of their own).
  Millis rejects = 0;
  std::string rejects_path;
  int batch = 1000;  // records per transaction
  bool any() const { return events || messages || surveys || orders || escalations || rejects; }
};

// "off" (0), or a whole number of days, hours or minutes: "365d", "12h", "30m".
// kInvalidArgument otherwise.
Result<Millis> ParseRetentionPeriod(std::string_view text);

struct RetentionCounts {
  std::int64_t events = 0;
  std::int64_t messages = 0;
  std::int64_t surveys = 0;
  std::int64_t orders = 0;
  std::int64_t escalations = 0;
  std::int64_t transactions = 0;
  bool rejects_removed = false;
  friend bool operator==(const RetentionCounts&, const RetentionCounts&) = default;
};

// One pass at time `now`: for each kind with a period, deletes records older than now − period,
// `batch` at a time, each batch its own transaction, until none is left. Fails as the store does
// (what was deleted before stays deleted).
Result<RetentionCounts> RunRetention(store::Store& store, const RetentionPolicy& policy, Millis now);

// A line for the log: counts only.
std::string RetentionSummary(const RetentionCounts& counts);

// Runs RunRetention every `period` on its own thread over a store it owns (a connection beside
// the writer's). `report` gets each pass's result (for the log).
class RetentionJob {
 public:
  RetentionJob(std::unique_ptr<store::Store> store, RetentionPolicy policy, const Clock& clock,
               std::function<void(const Result<RetentionCounts>&)> report);
  ~RetentionJob();  // Stop()s
  RetentionJob(const RetentionJob&) = delete;
  RetentionJob& operator=(const RetentionJob&) = delete;

  // One pass now, on the calling thread (tests, and the first pass).
  Result<RetentionCounts> RunOnce();
  void Start(std::chrono::milliseconds period);
  // Waits for a pass in flight to end. Idempotent.
  void Stop();

 private:
  std::unique_ptr<store::Store> store_;
  RetentionPolicy policy_;
  const Clock& clock_;
  std::function<void(const Result<RetentionCounts>&)> report_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace touchpoint::privacy
