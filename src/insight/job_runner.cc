#include <touchpoint/insight/job_runner.h>

#include <chrono>
#include <ctime>
#include <exception>
#include <utility>

#include <nlohmann/json.hpp>

namespace touchpoint::insight {
namespace {

constexpr Millis kMillisPerMinute = 60'000;

Millis FloorDiv(Millis a, Millis b) { return (a >= 0 ? a / b : (a - b + 1) / b); }

}  // namespace

// ---- schedule ----

std::vector<ScheduledJob> DefaultScheduledJobs() {
  return {{"rfm", "{}"}, {"ltv", "{}"}, {"kmeans", "{}"}, {"churn", "{}"}};
}

Result<int> ParseTimeOfDay(std::string_view text) {
  const auto bad = [&] {
    return Status::InvalidArgument("time of day: expected HH:MM (00:00 to 23:59), got '" + std::string(text) + "'");
  };
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 2 || text.size() != colon + 3) return bad();
  int hour = 0, minute = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (i == colon) continue;
    if (text[i] < '0' || text[i] > '9') return bad();
    int& part = i < colon ? hour : minute;
    part = part * 10 + (text[i] - '0');
  }
  if (hour > 23 || minute > 59) return bad();
  return hour * 60 + minute;
}

JobSchedule::JobSchedule(JobScheduleOptions options, Millis now) : options_(std::move(options)) {
  next_run_ = NextAfter(now);
}

Millis JobSchedule::NextAfter(Millis now) const {
  const Millis at = static_cast<Millis>(options_.minute_of_day) * kMillisPerMinute;
  if (options_.utc_offset_minutes) {
    const Millis offset = static_cast<Millis>(*options_.utc_offset_minutes) * kMillisPerMinute;
    Millis run = FloorDiv(now + offset, kMillisPerDay) * kMillisPerDay + at - offset;
    while (run <= now) run += kMillisPerDay;
    return run;
  }
  // The machine's zone: let mktime place the wall-clock time, daylight saving included.
  const std::time_t t = static_cast<std::time_t>(FloorDiv(now, kMillisPerSecond));
  std::tm today{};
  localtime_r(&t, &today);
  for (int days = 0; days < 3; ++days) {
    std::tm candidate = today;
    candidate.tm_mday += days;
    candidate.tm_hour = options_.minute_of_day / 60;
    candidate.tm_min = options_.minute_of_day % 60;
    candidate.tm_sec = 0;
    candidate.tm_isdst = -1;
    const Millis run = static_cast<Millis>(std::mktime(&candidate)) * kMillisPerSecond;
    if (run > now) return run;
  }
  return now + kMillisPerDay;  // unreachable unless mktime fails
}

std::vector<ScheduledJob> JobSchedule::Tick(Millis now) {
  if (now < next_run_) return {};
  next_run_ = NextAfter(now);
  return options_.jobs;
}

// ---- runner ----

JobFunction BindJobs(ActivitySource& source, TagSink& sink) {
  return [&source, &sink](std::string_view name, std::string_view params_json, const JobContext& context) {
    return RunJob(name, params_json, source, sink, context);
  };
}

JobRunner::JobRunner(store::JobRepository& repository, const Clock& clock, JobFunction run, JobRunnerOptions options)
    : repository_(repository), clock_(clock), run_(std::move(run)), options_(std::move(options)) {
  if (!options_.validate) options_.validate = ValidateJob;
}

Result<std::unique_ptr<JobRunner>> JobRunner::Create(store::JobRepository& repository, const Clock& clock,
                                                     JobFunction run, JobRunnerOptions options) {
  std::unique_ptr<JobRunner> runner(new JobRunner(repository, clock, std::move(run), std::move(options)));
  TP_ASSIGN_OR_RETURN(std::vector<store::JobRecord> unfinished, repository.Unfinished());
  for (auto& record : unfinished) {
    record.state = "failed";
    record.error = "interrupted by a restart";
    record.finished_at = clock.Now();
    TP_RETURN_IF_ERROR(repository.Update(record));
  }
  if (runner->options_.schedule) {
    for (const auto& job : runner->options_.schedule->jobs) {
      Status s = runner->options_.validate(job.name, job.params_json);
      if (!s.ok()) return Status::InvalidArgument("schedule: " + job.name + ": " + s.message());
    }
    runner->schedule_.emplace(*runner->options_.schedule, clock.Now());
  }
  runner->worker_ = std::thread([r = runner.get()] { r->WorkerLoop(); });
  if (runner->schedule_ && runner->options_.tick_interval > 0) {
    runner->timer_ = std::thread([r = runner.get()] { r->TimerLoop(); });
  }
  return runner;
}

JobRunner::~JobRunner() { Stop(); }

Result<std::int64_t> JobRunner::Start(std::string_view name, std::string params_json, std::string trigger) {
  TP_RETURN_IF_ERROR(options_.validate(name, params_json));
  std::scoped_lock lock(mu_);
  return StartLocked(name, std::move(params_json), std::move(trigger));
}

Result<std::int64_t> JobRunner::StartLocked(std::string_view name, std::string params_json, std::string trigger) {
  if (stopping_) return Status::Unavailable("the job runner is stopping");
  if (auto it = active_.find(std::string(name)); it != active_.end()) {
    const bool running = it->second == running_id_;
    return Status::AlreadyExists("job '" + std::string(name) + "' is already " + (running ? "running" : "queued") +
                                 " (id " + std::to_string(it->second) + ")");
  }
  store::JobRecord record;
  record.name = std::string(name);
  record.state = "queued";
  record.params_json = std::move(params_json);
  record.trigger = std::move(trigger);
  record.created_at = clock_.Now();
  auto created = repository_.Create(record);
  if (!created.ok()) return Status::Unavailable("job records: " + created.status().message());
  queue_.push_back({created->id, created->name, created->params_json});
  active_.emplace(created->name, created->id);
  work_cv_.notify_one();
  return created->id;
}

Result<std::optional<store::JobRecord>> JobRunner::Find(std::int64_t id) { return repository_.Find(id); }

Result<std::vector<store::JobRecord>> JobRunner::Recent(int limit) { return repository_.Recent(limit); }

std::string JobRunner::Stage(std::int64_t id) const {
  std::scoped_lock lock(mu_);
  return id != 0 && id == running_id_ ? running_stage_ : std::string();
}

std::vector<std::int64_t> JobRunner::Tick(Millis now) {
  std::scoped_lock lock(mu_);
  std::vector<std::int64_t> ids;
  if (!schedule_) return ids;
  for (auto& job : schedule_->Tick(now)) {
    auto id = StartLocked(job.name, std::move(job.params_json), "schedule");
    if (id.ok()) ids.push_back(*id);  // a job still running from before is left to finish
  }
  return ids;
}

std::optional<Millis> JobRunner::next_scheduled_run() const {
  std::scoped_lock lock(mu_);
  if (!schedule_) return std::nullopt;
  return schedule_->next_run();
}

void JobRunner::WaitIdle() {
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [this] { return stopping_ || (queue_.empty() && running_id_ == 0); });
}

void JobRunner::WorkerLoop() {
  for (;;) {
    Queued job;
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;  // Stop() fails what is still queued
      job = std::move(queue_.front());
      queue_.pop_front();
      running_id_ = job.id;
      running_stage_.clear();
    }
    auto found = repository_.Find(job.id);
    if (found.ok() && found->has_value()) {
      store::JobRecord record = **found;
      record.state = "running";
      record.started_at = clock_.Now();
      (void)repository_.Update(record);  // a record that cannot be written still runs; Finish retries
    }
    JobContext context;
    context.source = options_.source;
    context.cancel = &cancel_;
    context.progress = [this](std::string_view stage) {
      std::scoped_lock lock(mu_);
      running_stage_ = std::string(stage);
    };
    Result<std::string> result = Status::Internal("job did not run");
    try {
      result = run_(job.name, job.params_json, context);
    } catch (const std::exception& e) {
      result = Status::Internal(std::string("job threw: ") + e.what());
    }
    Finish(job, result);
  }
}

void JobRunner::Finish(const Queued& job, const Result<std::string>& result) {
  store::JobRecord record;
  auto found = repository_.Find(job.id);
  if (found.ok() && found->has_value()) record = **found;
  record.id = job.id;
  record.name = job.name;
  record.params_json = job.params_json;
  record.finished_at = clock_.Now();
  if (result.ok()) {
    record.state = "done";
    record.result_json = *result;
  } else {
    record.state = "failed";
    record.error = result.status().message();
  }
  (void)repository_.Update(record);
  std::scoped_lock lock(mu_);
  active_.erase(job.name);
  running_id_ = 0;
  running_stage_.clear();
  idle_cv_.notify_all();
}

void JobRunner::TimerLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    timer_cv_.wait_for(lock, std::chrono::milliseconds(options_.tick_interval), [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    Tick(clock_.Now());
    lock.lock();
  }
}

void JobRunner::Stop() {
  std::deque<Queued> dropped;
  {
    std::scoped_lock lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      cancel_.store(true);
      dropped.swap(queue_);
      for (const auto& job : dropped) active_.erase(job.name);
    }
  }
  work_cv_.notify_all();
  timer_cv_.notify_all();
  idle_cv_.notify_all();
  for (const auto& job : dropped) {
    auto found = repository_.Find(job.id);
    if (!found.ok() || !found->has_value()) continue;
    store::JobRecord record = **found;
    record.state = "failed";
    record.error = "cancelled: the job runner stopped";
    record.finished_at = clock_.Now();
    (void)repository_.Update(record);
  }
  std::scoped_lock join(join_mu_);
  if (worker_.joinable()) worker_.join();
  if (timer_.joinable()) timer_.join();
}

std::string JobRecordJson(const store::JobRecord& record) {
  nlohmann::ordered_json j;
  j["id"] = record.id;
  j["name"] = record.name;
  j["state"] = record.state;
  j["trigger"] = record.trigger;
  if (record.created_at != 0) j["created_at"] = FormatTimestamp(record.created_at);
  if (record.started_at != 0) j["started_at"] = FormatTimestamp(record.started_at);
  if (record.finished_at != 0) j["finished_at"] = FormatTimestamp(record.finished_at);
  if (record.state == "failed") j["error"] = record.error;
  std::string text = j.dump();
  if (record.state == "done") {
    text.pop_back();  // '}'
    text += ",\"result\":" + (record.result_json.empty() ? std::string("null") : record.result_json) + "}";
  }
  return text;
}

}  // namespace touchpoint::insight
