// insight/job_runner.h — runs analytics jobs in the background, one at a time on a worker
// thread, with their records kept in a store::JobRepository (so a job's record survives a
// restart), and runs a configured list of jobs at a time of day (JobSchedule).
//
// The HTTP layer maps Start's statuses: OK → 202 {"id":…}, kNotFound → 404 (unknown job),
// kInvalidArgument → 400, kAlreadyExists → 409 (the same job is queued or running),
// kUnavailable → 503; Find → GET /v1/jobs/{id} with JobRecordJson.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/insight/jobs.h>
#include <touchpoint/store/job_repository.h>

namespace touchpoint::insight {

// ---- schedule ----

struct ScheduledJob {
  std::string name;
  std::string params_json = "{}";
};

struct JobScheduleOptions {
  std::vector<ScheduledJob> jobs;  // run in this order; empty = nothing scheduled
  int minute_of_day = 2 * 60;      // local time; 02:00
  // The local time zone: nullopt = the machine's (daylight saving included); a value = a fixed
  // offset from UTC in minutes (tests, or a server that should not follow the machine's zone).
  std::optional<int> utc_offset_minutes;
};

// rfm, ltv, kmeans, churn with default parameters: the jobs that tag the profiles.
std::vector<ScheduledJob> DefaultScheduledJobs();

// "02:00" → 120. kInvalidArgument for anything but HH:MM in 00:00..23:59.
Result<int> ParseTimeOfDay(std::string_view text);

// When the scheduled jobs are due: once a day at the configured local time. Not thread-safe
// (the JobRunner calls it under its lock). A clock that jumps over several days yields one run.
class JobSchedule {
 public:
  // The first run is the first configured time of day strictly after `now`.
  JobSchedule(JobScheduleOptions options, Millis now);

  // The jobs to start when `now` has reached the next run (then the next run moves to the first
  // time of day after `now`); otherwise none.
  std::vector<ScheduledJob> Tick(Millis now);
  Millis next_run() const { return next_run_; }
  const JobScheduleOptions& options() const { return options_; }

 private:
  Millis NextAfter(Millis now) const;

  JobScheduleOptions options_;
  Millis next_run_ = 0;
};

// ---- runner ----

// Runs one job to completion and returns its result JSON (RunJob bound to a source and sink).
using JobFunction =
    std::function<Result<std::string>(std::string_view name, std::string_view params_json, const JobContext& context)>;
// Checks a job's name and parameters before it is queued (default: ValidateJob).
using JobValidator = std::function<Status(std::string_view name, std::string_view params_json)>;

// RunJob over `source` and `sink`, which must outlive the returned function's uses.
JobFunction BindJobs(ActivitySource& source, TagSink& sink);

struct JobRunnerOptions {
  std::optional<JobScheduleOptions> schedule;  // nullopt = no scheduled jobs
  // How often the timer thread calls Tick(clock.Now()); 0 = no timer thread (tests call Tick).
  Millis tick_interval = 30 * kMillisPerSecond;
  JobValidator validate;      // empty = ValidateJob
  std::string source;         // JobContext::source of the jobs (names the data in errors)
};

// Thread-safe: Start, Find, Recent, Tick and Stop may be called from any thread.
class JobRunner {
 public:
  // Marks the repository's unfinished records failed ("interrupted by a restart"), checks the
  // schedule's jobs (kInvalidArgument "schedule: …") and starts the worker (and timer) thread.
  // `repository` and `clock` must outlive the runner; `run` is called on the worker thread.
  static Result<std::unique_ptr<JobRunner>> Create(store::JobRepository& repository, const Clock& clock,
                                                   JobFunction run, JobRunnerOptions options = {});
  ~JobRunner();  // calls Stop()
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  // Queues job `name` and returns its id. kNotFound for an unknown name, kInvalidArgument for
  // bad parameters (nothing recorded), kAlreadyExists when a job of that name is queued or
  // running, kUnavailable after Stop() or when the repository fails.
  Result<std::int64_t> Start(std::string_view name, std::string params_json, std::string trigger);

  // The record of job `id` (nullopt when there is none), from the repository.
  Result<std::optional<store::JobRecord>> Find(std::int64_t id);
  // The newest `limit` records, newest first.
  Result<std::vector<store::JobRecord>> Recent(int limit);
  // The stage the running job `id` last reported ("loading", "computing", …); "" otherwise.
  std::string Stage(std::int64_t id) const;

  // Starts the scheduled jobs that are due at `now` (a job already queued or running is skipped)
  // and returns their ids. The timer thread calls this; tests drive it with a fake time.
  std::vector<std::int64_t> Tick(Millis now);
  // When the schedule next runs (nullopt without a schedule).
  std::optional<Millis> next_scheduled_run() const;

  // Blocks until no job is queued or running (or Stop() ran).
  void WaitIdle();

  // Cancels the running job (it fails with "job cancelled" at its next check), marks queued
  // jobs failed ("cancelled: the job runner stopped") and joins the threads. Idempotent.
  void Stop();

 private:
  struct Queued {
    std::int64_t id = 0;
    std::string name;
    std::string params_json;
  };

  JobRunner(store::JobRepository& repository, const Clock& clock, JobFunction run, JobRunnerOptions options);
  Result<std::int64_t> StartLocked(std::string_view name, std::string params_json, std::string trigger);
  void WorkerLoop();
  void TimerLoop();
  void Finish(const Queued& job, const Result<std::string>& result);

  store::JobRepository& repository_;
  const Clock& clock_;
  JobFunction run_;
  JobRunnerOptions options_;
  std::optional<JobSchedule> schedule_;  // guarded by mu_

  mutable std::mutex mu_;
  std::condition_variable work_cv_;   // the worker waits for a job or stop
  std::condition_variable idle_cv_;   // WaitIdle
  std::condition_variable timer_cv_;  // the timer waits for its interval or stop
  std::deque<Queued> queue_;                       // guarded by mu_
  std::map<std::string, std::int64_t> active_;     // name → id, queued or running; guarded by mu_
  std::int64_t running_id_ = 0;                    // guarded by mu_
  std::string running_stage_;                      // guarded by mu_
  bool stopping_ = false;                          // guarded by mu_
  std::atomic<bool> cancel_{false};                // read by the running job
  std::mutex join_mu_;  // Stop() joins once, whichever thread calls it
  std::thread worker_;
  std::thread timer_;
};

// {"id":7,"name":"rfm","state":"done","trigger":"api","created_at":"…","started_at":"…",
//  "finished_at":"…","result":{…}} — "result" (the job's JSON) when done, "error" when failed;
// times absent while 0.
std::string JobRecordJson(const store::JobRecord& record);

}  // namespace touchpoint::insight
