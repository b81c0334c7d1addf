#include "http/worker_pool_internal.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>

namespace touchpoint::http::internal {
namespace {

using namespace std::chrono_literals;

TEST(WorkerPoolTest, RunsEveryTaskAndJoins) {
  std::atomic<int> done{0};
  {
    WorkerPool pool(3, nullptr);
    for (int i = 0; i < 1000; ++i) pool.Post([&] { ++done; });
    pool.Join();
    EXPECT_EQ(done.load(), 1000);
  }
}

TEST(WorkerPoolTest, CallsThreadStartHookOnEveryThread) {
  std::atomic<int> started{0};
  WorkerPool pool(4, [&] { ++started; });
  pool.Join();
  EXPECT_EQ(started.load(), 4);
}

// Two tasks posted back to back to sleeping workers: the first blocks until the second has run.
// If the worker that takes the blocking task did not pass the wake-up on, the second task would
// wait behind it (and this test would time out on the future).
TEST(WorkerPoolTest, BlockingTaskDoesNotStrandTheNextOne) {
  WorkerPool pool(2, nullptr);
  for (int round = 0; round < 50; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    std::this_thread::sleep_for(2ms);  // let both workers go to sleep
    std::promise<void> fast_ran;
    std::shared_future<void> fast_future = fast_ran.get_future().share();
    std::promise<void> blocked_done;
    pool.Post([fast_future, &blocked_done] {
      fast_future.wait_for(5s);
      blocked_done.set_value();
    });
    pool.Post([&fast_ran] { fast_ran.set_value(); });
    const bool fast_in_time = fast_future.wait_for(2s) == std::future_status::ready;
    blocked_done.get_future().wait();  // the tasks reference this frame: let them finish first
    fast_future.wait();
    ASSERT_TRUE(fast_in_time) << "the second task waited behind the blocked one";
  }
}

TEST(WorkerPoolTest, ManyBlockedTasksUseAllThreads) {
  constexpr int kThreads = 8;
  WorkerPool pool(kThreads, nullptr);
  std::atomic<int> running{0};
  std::promise<void> all_running;
  std::promise<void> go;
  std::shared_future<void> go_future = go.get_future().share();
  for (int i = 0; i < kThreads; ++i) {
    pool.Post([&, go_future] {
      if (++running == kThreads) all_running.set_value();
      go_future.wait();
    });
  }
  // All kThreads tasks must be running at once, none queued behind a blocked one.
  EXPECT_EQ(all_running.get_future().wait_for(2s), std::future_status::ready);
  go.set_value();
  pool.Join();
}

}  // namespace
}  // namespace touchpoint::http::internal
