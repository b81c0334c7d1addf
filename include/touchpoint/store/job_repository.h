// store/job_repository.h — records of analytics jobs (insight): what ran, with which parameters,
// its state and its result or error, so that a job's record survives a restart.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>

namespace touchpoint::store {

struct JobRecord {
  std::int64_t id = 0;       // assigned by Create
  std::string name;          // rfm, ltv, kmeans, churn, rules, forecast, staffing
  std::string state;         // queued | running | done | failed
  std::string params_json;   // the parameters as given
  std::string result_json;   // when done
  std::string error;         // when failed
  std::string trigger;       // api | schedule | cli | demo
  Millis created_at = 0;
  Millis started_at = 0;
  Millis finished_at = 0;
  friend bool operator==(const JobRecord&, const JobRecord&) = default;
};

// Each method is its own small transaction: jobs run beside the write path, not inside it.
class JobRepository {
 public:
  virtual ~JobRepository() = default;
  // Stores `job` (its id ignored) and returns it with its id.
  virtual Result<JobRecord> Create(const JobRecord& job) = 0;
  // Replaces the record with job.id; kNotFound when there is none.
  virtual Status Update(const JobRecord& job) = 0;
  virtual Result<std::optional<JobRecord>> Find(std::int64_t id) = 0;
  // The newest `limit` jobs, newest first.
  virtual Result<std::vector<JobRecord>> Recent(int limit) = 0;
  // Jobs in state queued or running (after a restart: the ones that were cut off).
  virtual Result<std::vector<JobRecord>> Unfinished() = 0;
};

}  // namespace touchpoint::store
