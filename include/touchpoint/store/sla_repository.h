// store/sla_repository.h — the SLA clocks' stored state (service/sla.h, service/complaints.h):
// SLA policies as data (the body is the policy's JSON document, which the service parses), the
// fired SLA events (warnings, breaches, escalation steps, overdue complaint tasks) — unique per
// (ticket, target, kind, cycle), so a timer catching up after a restart never fires one twice —
// and the complaint loop's tasks.
//
// Writes take the transaction they belong to (the desk's: an SLA event is written with its
// history row and the priority it raised). Safe for one thread at a time (as its store).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/store/transaction.h>

namespace touchpoint::store {

struct SlaPolicyRecord {
  std::string name;
  std::int64_t position = 0;  // policies are tried in ascending position (then name)
  std::string body;           // the policy as JSON (service::PolicyToJson)
  Millis updated_at = 0;
  friend bool operator==(const SlaPolicyRecord&, const SlaPolicyRecord&) = default;
};

struct SlaEventRecord {
  std::int64_t id = 0;  // assigned by AddEvent
  std::int64_t ticket = 0;
  std::string target;  // first_response | next_response | resolution | task:followup | task:feedback
  std::string kind;    // warning | breach | escalation+<minutes> | overdue
  std::int64_t cycle = 0;  // which occurrence of the target (next response turn, reopen, task id)
  Millis due_at = 0;       // when it was due (recomputed from the history: the same after a crash)
  Millis fired_at = 0;
  std::string policy;
  std::string actions;  // comma-separated: notify_assignee, notify_supervisor, raise_priority, …
  friend bool operator==(const SlaEventRecord&, const SlaEventRecord&) = default;
};

struct ComplaintTaskRecord {
  std::int64_t id = 0;  // assigned by AddTask
  std::int64_t ticket = 0;
  std::string kind;  // followup | feedback
  Millis created_at = 0;
  Millis due_at = 0;
  Millis completed_at = 0;   // 0: open
  std::string completed_by;  // the actor's name
  friend bool operator==(const ComplaintTaskRecord&, const ComplaintTaskRecord&) = default;
};

class SlaRepository {
 public:
  virtual ~SlaRepository() = default;

  // ---- policies ----
  // Every policy, by position then name.
  virtual Result<std::vector<SlaPolicyRecord>> Policies() = 0;
  // Inserts or replaces the policy of that name.
  virtual Status PutPolicy(Transaction& txn, const SlaPolicyRecord& policy) = 0;
  // false when there was none of that name.
  virtual Result<bool> DeletePolicy(Transaction& txn, const std::string& name) = 0;

  // ---- events ----
  // Appends `event` (id assigned) unless one with its (ticket, target, kind, cycle) exists:
  // returns false then and writes nothing.
  virtual Result<bool> AddEvent(Transaction& txn, const SlaEventRecord& event) = 0;
  // The events of `ticket`, in id order.
  virtual Result<std::vector<SlaEventRecord>> Events(std::int64_t ticket) = 0;
  // Every event with ticket >= from_ticket, by ticket then id (the timer's start).
  virtual Status ScanEvents(std::int64_t from_ticket, const std::function<void(SlaEventRecord&&)>& fn) = 0;

  // ---- complaint tasks ----
  // Inserts `task` (id assigned, returned).
  virtual Result<std::int64_t> AddTask(Transaction& txn, const ComplaintTaskRecord& task) = 0;
  // Marks task `id` done. kNotFound for an unknown task; kFailedPrecondition when already done.
  virtual Status CompleteTask(Transaction& txn, std::int64_t id, Millis at, const std::string& by) = 0;
  // The tasks of `ticket`, in id order.
  virtual Result<std::vector<ComplaintTaskRecord>> Tasks(std::int64_t ticket) = 0;
  // Every task not completed, in id order.
  virtual Result<std::vector<ComplaintTaskRecord>> OpenTasks() = 0;
};

}  // namespace touchpoint::store
