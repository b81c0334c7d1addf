// The write path's bulk append, per backend: one transaction of N events (the engine's commit
// batch), as EventLog::Append writes it — compressed chunks on both (store/chunk/event_chunk.h;
// PostgreSQL's sent by binary COPY), encoded inside Append here (the engine encodes ahead). The
// PostgreSQL cases need TP_BENCH_PG_URL (a database the benchmark may fill; bench/store/
// pg_vs_sqlite.sh starts a durable throwaway server and sets it) and are skipped otherwise.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <touchpoint/store/event_log.h>
#include <touchpoint/store/open.h>

namespace touchpoint::store {
namespace {

std::vector<EventRecord> Events(int n, int offset) {
  std::vector<EventRecord> out(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    EventRecord& e = out[static_cast<size_t>(i)];
    const int k = offset + i;
    e.hash = {static_cast<std::uint64_t>(k) * 2654435761u + 1, static_cast<std::uint64_t>(k)};
    e.message_id = "bench-" + std::to_string(k);
    e.customer = CustomerId(1 + k % 20000);
    e.timestamp = 1'700'000'000'000 + k;
    e.kind = EventKind::kTrack;
    e.name = "Product Viewed";
    // A body of the demo's typical size (~330 bytes of normalised JSON).
    e.body = R"({"type":"track","event":"Product Viewed","userId":"u-)" + std::to_string(k % 20000) +
             R"(","messageId":"bench-)" + std::to_string(k) +
             R"(","properties":{"product_id":"P-1042","category":"electronics","price":129.5,"currency":"CNY"},)"
             R"("context":{"channel":"app","device":{"id":"d-)" + std::to_string(k % 30000) +
             R"("}},"timestamp":"2026-11-01T08:00:00.000Z"})";
  }
  return out;
}

void Append(benchmark::State& state, const std::string& url) {
  OpenOptions o;
  o.synchronous = "full";
  auto opened = Open(url, o);
  if (!opened.ok()) {
    state.SkipWithError(opened.status().message().c_str());
    return;
  }
  Store& s = **opened;
  const int n = static_cast<int>(state.range(0));
  int offset = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<EventRecord> batch = Events(n, offset);
    offset += n;
    state.ResumeTiming();
    auto txn = s.Begin();
    if (!txn.ok() || !s.Get<EventLog>().Append(**txn, batch).ok() || !(*txn)->Commit().ok()) {
      state.SkipWithError("append failed");
      return;
    }
  }
  state.SetItemsProcessed(state.iterations() * n);
}

void BM_AppendSqlite(benchmark::State& state) {
  const std::string dir = "/tmp/tp_store_bench_sqlite";
  std::filesystem::remove_all(dir);
  Append(state, UrlForDataDir(dir));
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_AppendSqlite)->Arg(50'000)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_AppendPostgres(benchmark::State& state) {
  const char* url = std::getenv("TP_BENCH_PG_URL");
  if (url == nullptr || *url == '\0') {
    state.SkipWithError("set TP_BENCH_PG_URL (bench/store/pg_vs_sqlite.sh does)");
    return;
  }
  Append(state, url);
}
BENCHMARK(BM_AppendPostgres)->Arg(50'000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace touchpoint::store
