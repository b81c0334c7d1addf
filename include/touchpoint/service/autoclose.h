// service/autoclose.h — the periodic job that closes solved tickets after N days
// (docs/service-desk.md, "Canned replies, tags, search, auto-close"): every `interval` it calls
// Desk::AutoClose, which closes each solved ticket whose solved_at is `after` old with a history
// row by the system rule "auto_close" (and a ticket reopened meanwhile stays open).
//
// Thread safety: Start/Stop/RunOnce from any thread; Stop() must run before destruction.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/service/desk.h>

namespace touchpoint::service {

class AutoCloseJob {
 public:
  // `desk` must outlive the job. `report` (may be empty) gets each pass's outcome (a count).
  AutoCloseJob(Desk& desk, Millis after, Millis interval, std::function<void(const Result<int>&)> report = {})
      : desk_(desk), after_(after), interval_(interval), report_(std::move(report)) {}
  ~AutoCloseJob();
  AutoCloseJob(const AutoCloseJob&) = delete;
  AutoCloseJob& operator=(const AutoCloseJob&) = delete;

  // One pass now, on the calling thread.
  Result<int> RunOnce() { return desk_.AutoClose(after_); }
  // A pass at once, then every interval, on a thread of its own.
  void Start();
  void Stop();

 private:
  Desk& desk_;
  Millis after_;
  Millis interval_;
  std::function<void(const Result<int>&)> report_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace touchpoint::service
