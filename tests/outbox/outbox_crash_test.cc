// kill -9 of a process with pending deliveries: after a restart every delivery arrives, each with
// its one delivery id; a delivery recorded as delivered before the kill never arrives again, and
// only those in flight at the kill (claimed, outcome not recorded) may arrive twice — with the
// same id and the same body, so the receiver's de-duplication makes it exactly once.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <touchpoint/store/open.h>
#include <touchpoint/store/outbox_repository.h>

#include "outbox/receivers.h"
#include "pipeline/test_dir.h"
#include "testing/matchers.h"

extern char** environ;

namespace touchpoint::outbox {
namespace {

pid_t Spawn(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return -1;
  return pid;
}

// Waits up to `limit` for `pid` to exit; its exit code, or -1 (killed after the limit).
int WaitExit(pid_t pid, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -1;
}

TEST(OutboxCrashTest, PendingDeliveriesSurviveKill9AndArriveWithTheirIdsAtLeastOnce) {
  ::touchpoint::testing::TempDir dir;
  const std::string url = "sqlite://" + dir.File("outbox.db");
  ::touchpoint::testing::WebhookReceiver receiver;
  ASSERT_TRUE(receiver.ok());
  constexpr int kDeliveries = 300;

  const pid_t first = Spawn({TP_OUTBOX_CHILD, url, receiver.Url("/sink"), std::to_string(kDeliveries)});
  ASSERT_GT(first, 0);
  ASSERT_TRUE(receiver.WaitFor([&] { return receiver.Count("/sink") >= kDeliveries / 3; }))
      << "the child delivered " << receiver.Count("/sink");
  kill(first, SIGKILL);
  int status = 0;
  waitpid(first, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));

  // What the store says at the kill.
  std::set<std::string> delivered_before, in_flight;
  {
    store::OpenOptions ro;
    ro.read_only = true;
    auto s = store::Open(url, ro);
    ASSERT_OK(s);
    store::DeliveryQuery q;
    q.limit = kDeliveries * 2;
    auto all = (*s)->Get<store::OutboxRepository>().List(q);
    ASSERT_OK(all);
    ASSERT_EQ(all->size(), static_cast<size_t>(kDeliveries)) << "every enqueued delivery is in the store";
    for (const store::Delivery& d : *all) {
      if (d.state == store::DeliveryState::kDelivered) delivered_before.insert(d.idempotency_key);
      if (d.state == store::DeliveryState::kDelivering) in_flight.insert(d.idempotency_key);
    }
  }
  ASSERT_LT(delivered_before.size(), static_cast<size_t>(kDeliveries)) << "the kill came too late to test anything";

  const pid_t second = Spawn({TP_OUTBOX_CHILD, url, receiver.Url("/sink")});
  ASSERT_GT(second, 0);
  ASSERT_EQ(WaitExit(second, std::chrono::seconds(60)), 0) << "the restarted child delivers the rest and exits";

  std::map<std::string, std::vector<std::string>> bodies;  // delivery id → bodies received
  for (const auto& r : receiver.Received("/sink")) bodies[r.delivery].push_back(r.body);
  EXPECT_EQ(bodies.size(), static_cast<size_t>(kDeliveries)) << "every delivery arrived";
  size_t duplicates = 0;
  for (const auto& [id, received] : bodies) {
    if (received.size() == 1) continue;
    duplicates += received.size() - 1;
    EXPECT_EQ(received.size(), 2u) << id;
    EXPECT_TRUE(in_flight.count(id)) << id << " arrived twice but was not in flight at the kill";
    EXPECT_FALSE(delivered_before.count(id)) << id << " was recorded delivered, and sent again";
    for (const std::string& b : received) EXPECT_EQ(b, received[0]) << "a resend carries the same body";
  }
  EXPECT_LE(duplicates, in_flight.size());
  std::printf("outbox crash test: %zu delivered before the kill, %zu in flight, %zu arrived twice\n",
              delivered_before.size(), in_flight.size(), duplicates);

  auto s = store::Open(url);
  ASSERT_OK(s);
  auto counts = (*s)->Get<store::OutboxRepository>().CountByState();
  ASSERT_OK(counts);
  EXPECT_EQ((*counts)[static_cast<size_t>(store::DeliveryState::kDelivered)], kDeliveries);
}

}  // namespace
}  // namespace touchpoint::outbox
