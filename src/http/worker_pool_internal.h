// http/worker_pool_internal.h — the thread pool that runs (possibly blocking) handlers.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace touchpoint::http::internal {

// A fixed pool of threads running tasks in FIFO order. Thread-safe.
//
// Wake-ups are rationed: Post() wakes a sleeping worker only when no worker is free (awake and
// outside a task), and a worker that takes a task while more are queued wakes the next one
// before it runs the task. So a task that blocks never leaves queued tasks behind it, and the
// poster (the I/O thread, the serial bottleneck) makes far fewer futex calls during bursts.
class WorkerPool {
 public:
  // Starts `threads` threads; each calls `on_thread_start` (may be empty) first.
  WorkerPool(int threads, std::function<void()> on_thread_start);
  ~WorkerPool();  // Join()
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Post(std::function<void()> task);

  // Runs the tasks already queued, then joins the threads. Idempotent.
  // REQUIRES: not called from a pool thread.
  void Join();

 private:
  bool GrantWakeLocked();  // REQUIRES: mu_ held; true when the caller must notify one sleeper
  void Loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;  // guarded by mu_
  int free_ = 0;          // workers awake and not running a task; guarded by mu_
  int sleeping_ = 0;      // workers waiting without a wake token; guarded by mu_
  int wake_tokens_ = 0;   // wake-ups granted, not yet consumed; guarded by mu_
  bool closing_ = false;  // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace touchpoint::http::internal
