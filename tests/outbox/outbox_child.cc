// A process with an outbox, for the kill -9 test (outbox_crash_test.cc):
//   tp_outbox_child STORE_URL RECEIVER_URL [ENQUEUE_N]
// enqueues ENQUEUE_N events in one transaction (prints "enqueued"), then dispatches to the
// receiver until nothing is left to deliver (prints "done", exits 0) — or until it is killed.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include <touchpoint/outbox/outbox.h>
#include <touchpoint/store/open.h>

using namespace touchpoint;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: tp_outbox_child STORE_URL RECEIVER_URL [ENQUEUE_N]\n");
    return 2;
  }
  auto store = store::Open(argv[1]);
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", store.status().ToString().c_str());
    return 1;
  }
  outbox::OutboxOptions o;
  outbox::WebhookEndpoint e;
  e.name = "sink";
  e.url = argv[2];
  e.secret = "whsec_crash_test_secret";
  e.concurrency = 4;
  o.webhooks.push_back(e);
  o.retry.initial_backoff = 50;
  o.retry.max_backoff = 200;
  o.poll_interval = 20;
  auto box = outbox::Outbox::Create(**store, o);
  if (!box.ok()) return 1;
  if (argc > 3) {
    const int n = std::atoi(argv[3]);
    auto txn = (*store)->Begin();
    if (!txn.ok()) return 1;
    for (int i = 0; i < n; ++i) {
      outbox::Event ev;
      ev.id = "evt_" + std::to_string(i);
      ev.type = "ticket.created";
      ev.data_json = "{\"n\":" + std::to_string(i) + "}";
      if (!(*box)->EnqueueEvent(**store, **txn, ev).ok()) return 1;
    }
    if (!(*txn)->Commit().ok()) return 1;
    std::printf("enqueued\n");
    std::fflush(stdout);
  }
  if (!(*box)->Start().ok()) return 1;
  while (true) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto stats = (*box)->Stats();
    if (!stats.ok()) continue;
    const auto& s = stats->by_state;
    if (s[static_cast<size_t>(store::DeliveryState::kPending)] + s[static_cast<size_t>(store::DeliveryState::kFailed)] +
            s[static_cast<size_t>(store::DeliveryState::kDelivering)] ==
        0) {
      break;
    }
  }
  (*box)->Stop();
  std::printf("done\n");
  return 0;
}
