#include <touchpoint/privacy/retention.h>

#include <charconv>
#include <filesystem>

#include <touchpoint/store/erasure_repository.h>

namespace touchpoint::privacy {

Result<Millis> ParseRetentionPeriod(std::string_view text) {
  if (text == "off" || text == "0") return Millis{0};
  const auto bad = [&] {
    return Status::InvalidArgument("retention period '" + std::string(text) +
                                   "': expected \"off\" or a whole number of days, hours or minutes (\"365d\", "
                                   "\"12h\", \"30m\")");
  };
  if (text.size() < 2) return bad();
  const char unit = text.back();
  std::int64_t n = 0;
  const std::string_view digits = text.substr(0, text.size() - 1);
  auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (err != std::errc() || end != digits.data() + digits.size() || n <= 0 || n > 100 * 366) return bad();
  switch (unit) {
    case 'd': return n * 86'400'000;
    case 'h': return n * 3'600'000;
    case 'm': return n * 60'000;
    default: return bad();
  }
}

Result<RetentionCounts> RunRetention(store::Store& store, const RetentionPolicy& policy, Millis now) {
  RetentionCounts counts;
  store::ErasureRepository& repo = store.Get<store::ErasureRepository>();
  const auto run = [&](store::RetentionKind kind, Millis period, std::int64_t* total) -> Status {
    if (period <= 0) return Status::Ok();
    const Millis before = now - period;
    for (;;) {
      TP_ASSIGN_OR_RETURN(std::unique_ptr<store::Transaction> txn, store.Begin());
      TP_ASSIGN_OR_RETURN(std::int64_t n, repo.DeleteOlderThan(*txn, kind, before, policy.batch));
      if (n == 0) return Status::Ok();  // nothing written: the transaction just rolls back
      TP_RETURN_IF_ERROR(txn->Commit());
      *total += n;
      ++counts.transactions;
    }
  };
  TP_RETURN_IF_ERROR(run(store::RetentionKind::kEvents, policy.events, &counts.events));
  TP_RETURN_IF_ERROR(run(store::RetentionKind::kMessages, policy.messages, &counts.messages));
  TP_RETURN_IF_ERROR(run(store::RetentionKind::kSurveys, policy.surveys, &counts.surveys));
  TP_RETURN_IF_ERROR(run(store::RetentionKind::kOrders, policy.orders, &counts.orders));
  TP_RETURN_IF_ERROR(run(store::RetentionKind::kEscalations, policy.escalations, &counts.escalations));
  if (policy.rejects > 0 && !policy.rejects_path.empty()) {
    std::error_code ec;
    const auto written = std::filesystem::last_write_time(policy.rejects_path, ec);
    if (!ec) {
      const auto age = std::filesystem::file_time_type::clock::now() - written;
      // The file's own clock, not `now`: its time is the file system's.
      if (std::chrono::duration_cast<std::chrono::milliseconds>(age).count() >= policy.rejects) {
        counts.rejects_removed = std::filesystem::remove(policy.rejects_path, ec) && !ec;
      }
    }
  }
  if (counts.events + counts.messages + counts.surveys > 0) {
    // Deleted rows leave their bytes in free pages and the log until reused: scrub like an erasure.
    (void)repo.Scrub();
  }
  return counts;
}

std::string RetentionSummary(const RetentionCounts& c) {
  return "events=" + std::to_string(c.events) + " messages=" + std::to_string(c.messages) +
         " surveys=" + std::to_string(c.surveys) + " orders=" + std::to_string(c.orders) +
         " escalations=" + std::to_string(c.escalations) + " transactions=" + std::to_string(c.transactions) +
         " rejects_removed=" + (c.rejects_removed ? "true" : "false");
}

RetentionJob::RetentionJob(std::unique_ptr<store::Store> store, RetentionPolicy policy, const Clock& clock,
                           std::function<void(const Result<RetentionCounts>&)> report)
    : store_(std::move(store)), policy_(std::move(policy)), clock_(clock), report_(std::move(report)) {}

RetentionJob::~RetentionJob() { Stop(); }

Result<RetentionCounts> RetentionJob::RunOnce() { return RunRetention(*store_, policy_, clock_.Now()); }

void RetentionJob::Start(std::chrono::milliseconds period) {
  thread_ = std::thread([this, period] {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      lock.unlock();
      auto result = RunOnce();
      if (report_) report_(result);
      lock.lock();
      cv_.wait_for(lock, period, [&] { return stopping_; });
    }
  });
}

void RetentionJob::Stop() {
  {
    std::scoped_lock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace touchpoint::privacy
