// The outbox: how fast callers enqueue (inside their transaction, on SQLite with fsync per commit
// and in memory), and how many deliveries a second the dispatcher gets to a loopback receiver
// (claim, signed POST, outcome recorded), by endpoint concurrency.
//   cmake --preset release && cmake --build --preset release --target tp_outbox_bench
//   ./build/release/bench/outbox/tp_outbox_bench
#include <benchmark/benchmark.h>

#include <filesystem>
#include <memory>
#include <string>
#include <unistd.h>

#include <touchpoint/outbox/outbox.h>
#include <touchpoint/store/memory.h>
#include <touchpoint/store/open.h>

#include "outbox/receivers.h"

namespace touchpoint::outbox {
namespace {

// The value of `r`; aborts on an error (a benchmark has no use for a half-set-up run).
template <class T>
T Take(Result<T> r) {
  TP_CHECK(r.ok(), "benchmark setup failed");
  return std::move(*r);
}

std::string FreshSqliteUrl() {
  static int counter = 0;
  const std::string dir = (std::filesystem::temp_directory_path() /
                           ("tp_outbox_bench_" + std::to_string(getpid()) + "_" + std::to_string(counter++)))
                              .string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return "sqlite://" + dir + "/outbox.db";
}

OutboxOptions Options(const std::string& url, int concurrency) {
  OutboxOptions o;
  WebhookEndpoint e;
  e.name = "bench";
  e.url = url;
  e.secret = "whsec_bench_secret_0123";
  e.concurrency = concurrency;
  o.webhooks.push_back(e);
  o.claim_batch = 64;
  return o;
}

Event MakeEvent(std::int64_t i) {
  Event e;
  e.id = "evt_" + std::to_string(i);
  e.type = "ticket.created";
  e.data_json = R"({"number":"TP-)" + std::to_string(100000 + i) +
                R"(","channel":"chat","priority":"high","queue":"refunds","subject_hash":"9f2c1e"})";
  return e;
}

// Enqueue of one event to one endpoint, `range(0)` events per caller transaction.
void Enqueue(benchmark::State& state, bool sqlite) {
  std::unique_ptr<store::Store> store = sqlite ? Take(store::Open(FreshSqliteUrl())) : store::memory::Open();
  auto outbox = Take(Outbox::Create(*store, Options("http://127.0.0.1:9/unused", 1)));
  const int per_txn = static_cast<int>(state.range(0));
  std::int64_t n = 0;
  for (auto _ : state) {
    auto txn = Take(store->Begin());
    for (int i = 0; i < per_txn; ++i) {
      auto ids = outbox->EnqueueEvent(*store, *txn, MakeEvent(n++));
      benchmark::DoNotOptimize(ids);
    }
    if (!txn->Commit().ok()) state.SkipWithError("commit failed");
  }
  state.SetItemsProcessed(n);
}
void BM_Enqueue_Sqlite(benchmark::State& state) { Enqueue(state, true); }
void BM_Enqueue_Memory(benchmark::State& state) { Enqueue(state, false); }
BENCHMARK(BM_Enqueue_Sqlite)->Arg(1)->Arg(100)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Enqueue_Memory)->Arg(1)->Arg(100)->Unit(benchmark::kMicrosecond);

// 2,000 pending deliveries on SQLite (synchronous=FULL) → all recorded delivered at a loopback
// receiver; `range(0)` = the endpoint's concurrency.
void BM_DeliverToLoopback(benchmark::State& state) {
  constexpr int kDeliveries = 2000;
  ::touchpoint::testing::WebhookReceiver receiver;
  if (!receiver.ok()) {
    state.SkipWithError("receiver did not start");
    return;
  }
  std::int64_t next = 0;
  size_t expected = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto store = Take(store::Open(FreshSqliteUrl()));
    auto outbox = Take(Outbox::Create(*store, Options(receiver.Url("/bench"), static_cast<int>(state.range(0)))));
    {
      auto txn = Take(store->Begin());
      for (int i = 0; i < kDeliveries; ++i) (void)outbox->EnqueueEvent(*store, *txn, MakeEvent(next++));
      (void)txn->Commit();
    }
    expected += kDeliveries;
    state.ResumeTiming();
    (void)outbox->Start();
    receiver.WaitFor([&] { return receiver.Count("/bench") >= expected; }, std::chrono::seconds(120));
    outbox->Stop();  // the last outcomes are on disk
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(expected));
}
BENCHMARK(BM_DeliverToLoopback)->Arg(1)->Arg(4)->Arg(16)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

}  // namespace
}  // namespace touchpoint::outbox
