#include <touchpoint/insight/job_runner.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "testing/matchers.h"

namespace touchpoint::insight {
namespace {

using nlohmann::json;
using ::touchpoint::testing::StatusIs;

Millis At(int y, unsigned m, unsigned d, int hour, int minute = 0) {
  return DaysFromCivil(y, m, d) * kMillisPerDay + (hour * 60 + minute) * 60'000;
}

// Logic-only stand-in for the lead's SQLite and memory repositories.
class FakeJobRepository : public store::JobRepository {
 public:
  Result<store::JobRecord> Create(const store::JobRecord& job) override {
    std::scoped_lock lock(mu_);
    store::JobRecord r = job;
    r.id = ++last_id_;
    records_[r.id] = r;
    return r;
  }
  Status Update(const store::JobRecord& job) override {
    std::scoped_lock lock(mu_);
    if (!records_.count(job.id)) return Status::NotFound("job " + std::to_string(job.id));
    records_[job.id] = job;
    return Status::Ok();
  }
  Result<std::optional<store::JobRecord>> Find(std::int64_t id) override {
    std::scoped_lock lock(mu_);
    auto it = records_.find(id);
    if (it == records_.end()) return std::optional<store::JobRecord>();
    return std::optional<store::JobRecord>(it->second);
  }
  Result<std::vector<store::JobRecord>> Recent(int limit) override {
    std::scoped_lock lock(mu_);
    std::vector<store::JobRecord> out;
    for (auto it = records_.rbegin(); it != records_.rend() && static_cast<int>(out.size()) < limit; ++it) {
      out.push_back(it->second);
    }
    return out;
  }
  Result<std::vector<store::JobRecord>> Unfinished() override {
    std::scoped_lock lock(mu_);
    std::vector<store::JobRecord> out;
    for (const auto& [id, r] : records_) {
      if (r.state == "queued" || r.state == "running") out.push_back(r);
    }
    return out;
  }
  size_t size() {
    std::scoped_lock lock(mu_);
    return records_.size();
  }

 private:
  std::mutex mu_;
  std::int64_t last_id_ = 0;
  std::map<std::int64_t, store::JobRecord> records_;
};

class FakeClock : public Clock {
 public:
  explicit FakeClock(Millis now) : now_(now) {}
  Millis Now() const override { return now_.load(); }
  void Set(Millis t) { now_.store(t); }

 private:
  std::atomic<Millis> now_;
};

// Jobs for the runner: "ok" answers {"ok":true,"params":…}; "fail" fails; "block" reports the
// stage "computing" and waits until Release(), then fails if it was cancelled meanwhile.
class FakeJobs {
 public:
  JobFunction Function() {
    return [this](std::string_view name, std::string_view params, const JobContext& context) -> Result<std::string> {
      {
        std::scoped_lock lock(mu_);
        ran_.emplace_back(name);
      }
      if (name == "fail") return Status::InvalidArgument("no orders ingested yet");
      if (name == "block") {
        context.Report("computing");
        std::unique_lock lock(mu_);
        started_ = true;
        cv_.notify_all();
        cv_.wait(lock, [this] { return released_; });
        released_ = false;
        started_ = false;
        TP_RETURN_IF_ERROR(context.CheckCancelled());
      }
      return "{\"ok\":true,\"params\":" + std::string(params.empty() ? "{}" : params) + "}";
    };
  }
  static Status Validate(std::string_view name, std::string_view params) {
    if (name != "ok" && name != "fail" && name != "block") return Status::NotFound("unknown job");
    if (params == "bad") return Status::InvalidArgument("k: bad");
    return Status::Ok();
  }
  void WaitStarted() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return started_; });
  }
  void Release() {
    std::scoped_lock lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  std::vector<std::string> ran() {
    std::scoped_lock lock(mu_);
    return ran_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool started_ = false;
  bool released_ = false;
  std::vector<std::string> ran_;
};

class JobRunnerTest : public ::testing::Test {
 protected:
  std::unique_ptr<JobRunner> Make(JobRunnerOptions options = {}) {
    options.tick_interval = 0;  // the tests call Tick
    if (!options.validate) options.validate = FakeJobs::Validate;
    auto runner = JobRunner::Create(repo_, clock_, jobs_.Function(), std::move(options));
    EXPECT_THAT(runner, ::touchpoint::testing::IsOk());
    return runner.ok() ? std::move(*runner) : nullptr;
  }
  store::JobRecord Record(std::int64_t id) {
    auto r = repo_.Find(id);
    EXPECT_TRUE(r.ok() && r->has_value()) << id;
    return r.ok() && r->has_value() ? **r : store::JobRecord{};
  }

  FakeJobRepository repo_;
  FakeClock clock_{At(2026, 3, 1, 10)};
  FakeJobs jobs_;
};

TEST_F(JobRunnerTest, RunsAJobInTheBackgroundAndKeepsItsRecord) {
  auto runner = Make();
  auto id = runner->Start("ok", R"({"k":3})", "api");
  ASSERT_OK(id);
  runner->WaitIdle();
  const store::JobRecord r = Record(*id);
  EXPECT_EQ(r.name, "ok");
  EXPECT_EQ(r.state, "done");
  EXPECT_EQ(r.trigger, "api");
  EXPECT_EQ(r.params_json, R"({"k":3})");
  EXPECT_EQ(json::parse(r.result_json)["params"]["k"], 3);
  EXPECT_TRUE(r.error.empty());
  EXPECT_EQ(r.created_at, clock_.Now());
  EXPECT_EQ(r.started_at, clock_.Now());
  EXPECT_EQ(r.finished_at, clock_.Now());
  auto found = runner->Find(*id);
  ASSERT_OK(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ(**found, r);
  auto missing = runner->Find(*id + 100);
  ASSERT_OK(missing);
  EXPECT_FALSE(missing->has_value());
}

TEST_F(JobRunnerTest, AFailedJobKeepsItsError) {
  auto runner = Make();
  auto id = runner->Start("fail", "{}", "api");
  ASSERT_OK(id);
  runner->WaitIdle();
  const store::JobRecord r = Record(*id);
  EXPECT_EQ(r.state, "failed");
  EXPECT_EQ(r.error, "no orders ingested yet");
  EXPECT_TRUE(r.result_json.empty());
  const json j = json::parse(JobRecordJson(r));
  EXPECT_EQ(j["state"], "failed");
  EXPECT_EQ(j["error"], "no orders ingested yet");
  EXPECT_FALSE(j.contains("result"));
}

TEST_F(JobRunnerTest, TheSameJobCannotStartWhileQueuedOrRunning) {
  auto runner = Make();
  auto first = runner->Start("block", "{}", "api");
  ASSERT_OK(first);
  jobs_.WaitStarted();
  EXPECT_EQ(Record(*first).state, "running");
  EXPECT_EQ(runner->Stage(*first), "computing");
  auto again = runner->Start("block", "{}", "api");
  EXPECT_THAT(again, StatusIs(StatusCode::kAlreadyExists));
  EXPECT_EQ(again.status().message(), "job 'block' is already running (id " + std::to_string(*first) + ")");
  auto other = runner->Start("ok", "{}", "api");  // another job queues behind it
  ASSERT_OK(other);
  EXPECT_EQ(Record(*other).state, "queued");
  EXPECT_THAT(runner->Start("ok", "{}", "api"), StatusIs(StatusCode::kAlreadyExists));
  EXPECT_EQ(repo_.size(), 2u) << "a refused start leaves no record";
  jobs_.Release();
  runner->WaitIdle();
  EXPECT_EQ(Record(*first).state, "done");
  EXPECT_EQ(Record(*other).state, "done");
  EXPECT_EQ(runner->Stage(*first), "");
  EXPECT_EQ(jobs_.ran(), (std::vector<std::string>{"block", "ok"})) << "one at a time, in order";
  auto later = runner->Start("block", "{}", "api");  // done: it may run again
  ASSERT_OK(later);
  jobs_.WaitStarted();
  jobs_.Release();
  runner->WaitIdle();
  EXPECT_EQ(Record(*later).state, "done");
}

TEST_F(JobRunnerTest, UnknownJobsAndBadParametersAreRefusedWithoutARecord) {
  auto runner = Make();
  EXPECT_THAT(runner->Start("nope", "{}", "api"), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(runner->Start("ok", "bad", "api"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(repo_.size(), 0u);
  // With the default validator the real jobs' names and parameters are checked.
  runner.reset();
  JobRunnerOptions real;
  real.tick_interval = 0;
  auto checked = JobRunner::Create(repo_, clock_, jobs_.Function(), real);
  ASSERT_OK(checked);
  EXPECT_THAT((*checked)->Start("block", "{}", "api"), StatusIs(StatusCode::kNotFound));
  auto bad = (*checked)->Start("kmeans", R"({"k":0})", "api");
  EXPECT_THAT(bad, StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(bad.status().message().rfind("k: ", 0), 0u) << bad.status().message();
  EXPECT_EQ(repo_.size(), 0u);
}

TEST_F(JobRunnerTest, JobsCutOffByARestartAreMarkedFailed) {
  store::JobRecord queued{.id = 0, .name = "rfm", .state = "queued", .params_json = "{}", .result_json = "",
                          .error = "", .trigger = "api", .created_at = At(2026, 2, 1, 9), .started_at = 0,
                          .finished_at = 0};
  store::JobRecord running = queued;
  running.name = "kmeans";
  running.state = "running";
  running.started_at = At(2026, 2, 1, 9, 1);
  store::JobRecord done = queued;
  done.name = "churn";
  done.state = "done";
  done.result_json = "{}";
  const std::int64_t q = repo_.Create(queued)->id, r = repo_.Create(running)->id, d = repo_.Create(done)->id;
  auto runner = Make();
  for (std::int64_t id : {q, r}) {
    const store::JobRecord rec = Record(id);
    EXPECT_EQ(rec.state, "failed") << id;
    EXPECT_EQ(rec.error, "interrupted by a restart");
    EXPECT_EQ(rec.finished_at, clock_.Now());
  }
  EXPECT_EQ(Record(r).started_at, running.started_at);
  EXPECT_EQ(Record(d).state, "done") << "finished jobs are left alone";
  EXPECT_EQ(Record(d).error, "");
  // The names are free again.
  EXPECT_OK(runner->Start("ok", "{}", "api"));
  runner->WaitIdle();
}

TEST_F(JobRunnerTest, StopCancelsTheRunningJobAndFailsTheQueuedOnes) {
  auto runner = Make();
  auto running = runner->Start("block", "{}", "api");
  ASSERT_OK(running);
  jobs_.WaitStarted();
  auto queued = runner->Start("ok", "{}", "api");
  ASSERT_OK(queued);
  std::thread stopper([&] { runner->Stop(); });
  runner->WaitIdle();  // returns once Stop() has begun (the cancel flag is set)
  jobs_.Release();
  stopper.join();
  EXPECT_EQ(Record(*running).state, "failed");
  EXPECT_EQ(Record(*running).error, "job cancelled");
  EXPECT_EQ(Record(*queued).state, "failed");
  EXPECT_EQ(Record(*queued).error, "cancelled: the job runner stopped");
  EXPECT_EQ(jobs_.ran(), std::vector<std::string>{"block"}) << "the queued job never ran";
  EXPECT_THAT(runner->Start("ok", "{}", "api"), StatusIs(StatusCode::kUnavailable));
  runner->Stop();  // idempotent
}

TEST_F(JobRunnerTest, TheScheduleRunsItsJobsOnceADayAtTheTimeOfDay) {
  JobRunnerOptions options;
  options.schedule = JobScheduleOptions{.jobs = {{"ok", R"({"n":1})"}, {"fail", "{}"}},
                                        .minute_of_day = 2 * 60,
                                        .utc_offset_minutes = 0};
  auto runner = Make(options);
  ASSERT_EQ(runner->next_scheduled_run(), At(2026, 3, 2, 2)) << "the next 02:00 after 10:00";
  EXPECT_TRUE(runner->Tick(At(2026, 3, 2, 1, 59)).empty());
  const auto ids = runner->Tick(At(2026, 3, 2, 2));
  ASSERT_EQ(ids.size(), 2u);
  runner->WaitIdle();
  EXPECT_EQ(Record(ids[0]).name, "ok");
  EXPECT_EQ(Record(ids[0]).params_json, R"({"n":1})");
  EXPECT_EQ(Record(ids[0]).trigger, "schedule");
  EXPECT_EQ(Record(ids[0]).state, "done");
  EXPECT_EQ(Record(ids[1]).state, "failed");
  EXPECT_EQ(runner->next_scheduled_run(), At(2026, 3, 3, 2));
  EXPECT_TRUE(runner->Tick(At(2026, 3, 2, 2, 30)).empty()) << "once a day";
  // A clock that jumps over several days runs the jobs once, then waits for the next 02:00.
  EXPECT_EQ(runner->Tick(At(2026, 3, 9, 14)).size(), 2u);
  EXPECT_EQ(runner->next_scheduled_run(), At(2026, 3, 10, 2));
  runner->WaitIdle();
}

TEST_F(JobRunnerTest, TheScheduleSkipsAJobThatIsStillRunning) {
  JobRunnerOptions options;
  options.schedule = JobScheduleOptions{.jobs = {{"block", "{}"}, {"ok", "{}"}}, .minute_of_day = 0, .utc_offset_minutes = 0};
  auto runner = Make(options);
  auto manual = runner->Start("block", "{}", "api");
  ASSERT_OK(manual);
  jobs_.WaitStarted();
  const auto ids = runner->Tick(At(2026, 3, 2, 0));
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(Record(ids[0]).name, "ok");
  jobs_.Release();
  runner->WaitIdle();
}

TEST_F(JobRunnerTest, AScheduleWithAnUnknownJobIsRefused) {
  JobRunnerOptions options;
  options.schedule = JobScheduleOptions{.jobs = {{"ok", "{}"}, {"nope", "{}"}}, .minute_of_day = 0, .utc_offset_minutes = 0};
  options.tick_interval = 0;
  options.validate = FakeJobs::Validate;
  auto runner = JobRunner::Create(repo_, clock_, jobs_.Function(), options);
  EXPECT_THAT(runner, StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(runner.status().message(), "schedule: nope: unknown job");
}

TEST(JobScheduleTest, LocalTimeOfDayFollowsTheOffset) {
  // 02:00 at UTC+8 is 18:00 UTC the day before.
  JobSchedule beijing({.jobs = DefaultScheduledJobs(), .minute_of_day = 120, .utc_offset_minutes = 8 * 60},
                      At(2026, 3, 1, 17));
  EXPECT_EQ(beijing.next_run(), At(2026, 3, 1, 18));
  EXPECT_TRUE(beijing.Tick(At(2026, 3, 1, 17, 59)).empty());
  EXPECT_EQ(beijing.Tick(At(2026, 3, 1, 18)).size(), 4u);
  EXPECT_EQ(beijing.next_run(), At(2026, 3, 2, 18));
  // 02:00 at UTC−5 is 07:00 UTC; exactly at the time is not "after" it.
  JobSchedule new_york({.jobs = {}, .minute_of_day = 120, .utc_offset_minutes = -5 * 60}, At(2026, 3, 1, 7));
  EXPECT_EQ(new_york.next_run(), At(2026, 3, 2, 7));
  // The machine's zone: whatever it is, the next run is within a day and a bit (DST).
  JobSchedule local({.jobs = {}, .minute_of_day = 120, .utc_offset_minutes = std::nullopt}, At(2026, 3, 1, 7));
  EXPECT_GT(local.next_run(), At(2026, 3, 1, 7));
  EXPECT_LE(local.next_run(), At(2026, 3, 1, 7) + kMillisPerDay + 3'600'000);
  EXPECT_EQ(DefaultScheduledJobs().size(), 4u);
  EXPECT_EQ(DefaultScheduledJobs()[0].name, "rfm");
}

TEST(JobScheduleTest, ParsesTimesOfDay) {
  const struct {
    const char* text;
    int minutes;  // -1 = invalid
  } cases[] = {{"02:00", 120}, {"2:30", 150}, {"00:00", 0},  {"23:59", 1439}, {"24:00", -1}, {"12:60", -1},
               {"1200", -1},   {"", -1},      {"ab:cd", -1}, {"1:2", -1},     {"123:00", -1}, {":30", -1}};
  for (const auto& c : cases) {
    auto r = ParseTimeOfDay(c.text);
    if (c.minutes < 0) {
      EXPECT_THAT(r, StatusIs(StatusCode::kInvalidArgument)) << c.text;
    } else {
      ASSERT_OK(r) << c.text;
      EXPECT_EQ(*r, c.minutes) << c.text;
    }
  }
}

TEST(JobRecordJsonTest, ShowsTheResultOfADoneJob) {
  store::JobRecord r{.id = 7, .name = "rfm", .state = "done", .params_json = "{}", .result_json = R"({"customers":3})",
                     .error = "", .trigger = "api", .created_at = At(2026, 3, 1, 10), .started_at = At(2026, 3, 1, 10),
                     .finished_at = At(2026, 3, 1, 10, 1)};
  const json j = json::parse(JobRecordJson(r));
  EXPECT_EQ(j["id"], 7);
  EXPECT_EQ(j["name"], "rfm");
  EXPECT_EQ(j["state"], "done");
  EXPECT_EQ(j["result"]["customers"], 3);
  EXPECT_EQ(j["finished_at"], "2026-03-01T10:01:00.000Z");
  EXPECT_FALSE(j.contains("error"));
  r.state = "queued";
  r.started_at = r.finished_at = 0;
  const json q = json::parse(JobRecordJson(r));
  EXPECT_FALSE(q.contains("result"));
  EXPECT_FALSE(q.contains("started_at"));
}

// The runner over the real jobs: a job started by name writes its tags through the sink.
class OneCustomerSource : public ActivitySource {
 public:
  Result<Activity> Load(const ActivityRequest&) override {
    Activity a;
    a.orders.push_back({.customer = 5, .at = At(2026, 1, 5, 12), .total = 80, .categories = {}, .products = {}});
    a.order_ids.push_back("o1");
    a.newest_event = At(2026, 1, 5, 12);
    return a;
  }
};

class RecordingSink : public TagSink {
 public:
  Status Write(const CustomerTags& tags) override {
    std::scoped_lock lock(mu);
    written.insert(written.end(), tags.begin(), tags.end());
    return Status::Ok();
  }
  std::mutex mu;
  CustomerTags written;
};

TEST(JobRunnerWithJobsTest, RunsARealJobByName) {
  FakeJobRepository repo;
  FakeClock clock(At(2026, 3, 1, 10));
  OneCustomerSource source;
  RecordingSink sink;
  JobRunnerOptions options;
  options.tick_interval = 0;
  auto runner = JobRunner::Create(repo, clock, BindJobs(source, sink), options);
  ASSERT_OK(runner);
  auto id = (*runner)->Start("ltv", "{}", "api");
  ASSERT_OK(id);
  (*runner)->WaitIdle();
  auto record = (*runner)->Find(*id);
  ASSERT_OK(record);
  ASSERT_TRUE(record->has_value());
  EXPECT_EQ((*record)->state, "done") << (*record)->error;
  EXPECT_EQ(json::parse((*record)->result_json)["tagged"], 1);
  std::scoped_lock lock(sink.mu);
  ASSERT_EQ(sink.written.size(), 1u);
  EXPECT_EQ(sink.written[0].first, CustomerId(5));
  EXPECT_EQ(sink.written[0].second[0].first, "ltv");
}

}  // namespace
}  // namespace touchpoint::insight
