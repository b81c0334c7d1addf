#include "http/worker_pool_internal.h"

#include <utility>

namespace touchpoint::http::internal {

WorkerPool::WorkerPool(int threads, std::function<void()> on_thread_start) {
  threads_.reserve(static_cast<size_t>(threads));
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this, on_thread_start] {
      if (on_thread_start) on_thread_start();
      Loop();
    });
  }
}

WorkerPool::~WorkerPool() { Join(); }

void WorkerPool::Post(std::function<void()> task) {
  bool wake = false;
  {
    std::scoped_lock lock(mu_);
    tasks_.push_back(std::move(task));
    wake = GrantWakeLocked();
  }
  if (wake) cv_.notify_one();
}

void WorkerPool::Join() {
  {
    std::scoped_lock lock(mu_);
    closing_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

bool WorkerPool::GrantWakeLocked() {
  if (free_ > 0 || sleeping_ == 0) return false;
  --sleeping_;
  ++free_;
  ++wake_tokens_;
  return true;
}

void WorkerPool::Loop() {
  std::unique_lock lock(mu_);
  ++free_;
  for (;;) {
    if (tasks_.empty()) {
      if (closing_) {
        --free_;
        return;
      }
      --free_;
      ++sleeping_;
      cv_.wait(lock, [this] { return wake_tokens_ > 0 || closing_; });
      if (wake_tokens_ > 0) {
        --wake_tokens_;  // the waker moved us from sleeping_ to free_
      } else {
        --sleeping_;
        ++free_;
      }
      continue;
    }
    std::function<void()> task = std::move(tasks_.front());
    tasks_.pop_front();
    --free_;
    const bool wake = !tasks_.empty() && GrantWakeLocked();
    lock.unlock();
    if (wake) cv_.notify_one();
    task();
    task = nullptr;  // destroy the captures outside the lock
    lock.lock();
    ++free_;
  }
}

}  // namespace touchpoint::http::internal
