#include <touchpoint/service/autoclose.h>

#include <chrono>

namespace touchpoint::service {

AutoCloseJob::~AutoCloseJob() { Stop(); }

void AutoCloseJob::Start() {
  std::scoped_lock lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] {
    std::unique_lock held(mu_);
    while (!stop_) {
      held.unlock();
      Result<int> r = RunOnce();
      if (report_) report_(r);
      held.lock();
      cv_.wait_for(held, std::chrono::milliseconds(interval_), [this] { return stop_; });
    }
  });
}

void AutoCloseJob::Stop() {
  {
    std::scoped_lock lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace touchpoint::service
