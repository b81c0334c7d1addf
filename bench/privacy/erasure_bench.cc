// Erasure of one person (pipeline::Engine::Erase: the writer forgets them, their chunks are
// rewritten, their rows deleted, the suppression list written, one SQLite transaction with
// secure_delete, then the WAL truncated). Target: ≤ 1 s for a person with 10,000 events in a
// store of 1 M events and 20,000 other customers (docs/performance.md, "Session 8 — erasure").
// Run from the release preset:
//   ./build/release/bench/privacy/tp_privacy_bench --benchmark_filter=Erase
// Arg 0: the person's 10,000 events interleaved with everyone's (1 in 100: in every chunk — the
// worst case for the chunk rewrite); arg 2: on the same data, an ordinary customer (50 events
// spread over the whole log, in ~1 chunk of 5); arg 1: a person's 10,000 events in one stretch
// (an imported history).
#include <benchmark/benchmark.h>

#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include <touchpoint/ingest/parser.h>
#include <touchpoint/pipeline/engine.h>
#include <touchpoint/privacy/master_key.h>
#include <touchpoint/store/open.h>
#include <touchpoint/wiring/subject_rights.h>
#include <touchpoint/wiring/wiring.h>

namespace touchpoint {
namespace {

constexpr int kEvents = 1'000'000;
constexpr int kPersonEvents = 10'000;
constexpr int kHeavy = 3;  // one per repetition
constexpr int kOthers = 20'000;  // the other customers

// A phone of `user` at event i: never shared between people (a shared one would merge them,
// and the person erased would be many): heavy-k has one of its own, c-k five (i % 100,000 is
// c-(i % 20,000)'s alone).
std::string PhoneOf(int i, const std::string& user) {
  if (user.rfind("heavy-", 0) == 0) return "1390000000" + user.substr(6);
  return "138" + std::to_string(10000000 + i % 100000);
}

std::string Line(int i, const std::string& user) {
  const std::string ts = "2024-0" + std::to_string(1 + i % 9) + "-1" + std::to_string(i % 10) + "T1" +
                         std::to_string(i % 10) + ":00:00Z";
  if (i % 10 == 0) {
    return R"({"type":"track","event":"Message Received","userId":")" + user + R"(","messageId":"m)" +
           std::to_string(i) + R"(","timestamp":")" + ts +
           R"(","properties":{"text":"my parcel )" + std::to_string(i) +
           R"( has not arrived yet, please call me back","conversation_id":"conv-)" + std::to_string(i / 7) +
           R"("},"context":{"channel":"chat"}})";
  }
  return R"({"type":"track","event":"Product Viewed","userId":")" + user + R"(","messageId":"m)" +
         std::to_string(i) + R"(","timestamp":")" + ts + R"(","properties":{"product_id":"p)" +
         std::to_string(i % 5000) + R"(","category":"phones","dwell_seconds":)" + std::to_string(i % 300) +
         R"(},"context":{"channel":"web","traits":{"phone":")" + PhoneOf(i, user) + R"("}}})";
}

struct Dataset {
  int layout = -1;
  std::filesystem::path dir;
  std::unique_ptr<wiring::OpenedEngine> opened;
  int next[3] = {0, 0, 0};  // per benchmark arg: the next person to erase
  ~Dataset() {
    opened.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

// The user of event i: heavy-k for the person's events, else one of kOthers others.
std::string UserOf(int i, int layout) {
  if (layout == 0) {
    if (i % 100 < kHeavy) return "heavy-" + std::to_string(i % 100);
  } else {
    const int block = kEvents / kHeavy;
    if (i % block < kPersonEvents) return "heavy-" + std::to_string(i / block);
  }
  return "c" + std::to_string(i % kOthers);
}

std::unique_ptr<Dataset> Build(int layout) {
  auto d = std::make_unique<Dataset>();
  d->layout = layout;
  d->dir = std::filesystem::temp_directory_path() / ("tp_erasure_bench_" + std::to_string(layout));
  std::filesystem::remove_all(d->dir);
  std::filesystem::create_directories(d->dir);
  pipeline::EngineOptions o;
  o.suppression_key = wiring::SuppressionKeyFrom(privacy::MasterKey::Generate());
  o.min_batch_events = 10'000;
  store::OpenOptions so;
  so.purpose = "erasure bench";
  so.synchronous = "normal";
  auto opened = wiring::OpenEngine("sqlite://" + (d->dir / "touchpoint.db").string(), std::move(o), so, false);
  if (!opened.ok()) return nullptr;
  d->opened = std::move(*opened);
  ingest::Parser parser;
  std::vector<std::future<Result<pipeline::SubmitResult>>> pending;
  std::vector<ingest::Event> batch;
  for (int i = 0; i < kEvents; ++i) {
    auto e = parser.ParseMessage(Line(i, UserOf(i, layout)));
    if (!e.ok()) return nullptr;
    batch.push_back(std::move(*e));
    if (batch.size() == 10'000) {
      pending.push_back(d->opened->engine->SubmitAsync(std::move(batch)));
      batch.clear();
    }
  }
  if (!batch.empty()) pending.push_back(d->opened->engine->SubmitAsync(std::move(batch)));
  for (auto& p : pending) {
    if (!p.get().ok()) return nullptr;
  }
  return d;
}

void BM_ErasePerson(benchmark::State& state) {
  static std::unique_ptr<Dataset> data;
  const int arg = static_cast<int>(state.range(0));
  const int layout = arg == 2 ? 0 : arg;
  if (data == nullptr || data->layout != layout) {
    data.reset();
    data = Build(layout);
  }
  if (data == nullptr) {
    state.SkipWithError("building the data set failed");
    return;
  }
  std::int64_t erased = 0;
  for (auto _ : state) {
    if (data->next[arg] >= kHeavy) {
      state.SkipWithError("no person left to erase: at most 3 repetitions");
      return;
    }
    const int k = data->next[arg]++;
    const std::string who = arg == 2 ? "user:c" + std::to_string(k * 7 + 10) : "user:heavy-" + std::to_string(k);
    auto r = data->opened->engine->Erase(pipeline::ErasureRequest{who, {}});
    if (!r.ok()) {
      state.SkipWithError(r.status().message().c_str());
      return;
    }
    erased = r->counts.events;
  }
  state.counters["events_erased"] = static_cast<double>(erased);
}
BENCHMARK(BM_ErasePerson)->Arg(0)->Arg(2)->Arg(1)->Iterations(1)->Repetitions(kHeavy)->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace touchpoint
