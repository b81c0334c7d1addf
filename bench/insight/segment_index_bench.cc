// Saved segments over the real engine: the full count SegmentIndex makes at start-up, at every
// define and when an as-of rule's day changes (Engine::ForEach + Segment::Matches), over N live
// customers held by a pipeline::Engine on a memory store; ForEach alone (what the engine's read
// view costs beyond the rule: compare BM_SegmentMatches in bench/profile/segment_bench.cc); and
// the hook's share, re-evaluating one committed batch's customers in three segments.
//
//   cmake --preset release && cmake --build --preset release --target tp_insight_bench
//   build/release/bench/insight/tp_insight_bench
//
// Profiles as in segment_bench: a few orders over two years on a home channel, four traits, and
// the analytics tags on 80 %. Building the engine (once per size) takes a while at 1 M.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <touchpoint/ingest/event.h>
#include <touchpoint/insight/segment_index.h>
#include <touchpoint/pipeline/engine.h>
#include <touchpoint/store/open.h>
#include <touchpoint/store/segment_repository.h>

namespace touchpoint::insight {
namespace {

constexpr Millis kAsOf = 1'720'000'000'000;  // 2024-07-03
constexpr Millis kDay = kMillisPerDay;

struct Rng {
  std::uint64_t s;
  std::uint64_t Next() {  // SplitMix64
    std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  int Below(int n) { return static_cast<int>(Next() % static_cast<std::uint64_t>(n)); }
  double Unit() { return static_cast<double>(Next() >> 11) / 9007199254740992.0; }
};

ingest::Event MakeEvent(std::int64_t customer, std::int64_t n, Millis at) {
  ingest::Event e;
  e.message_id = "m" + std::to_string(n);
  e.hash = ingest::HashMessageId(e.message_id);
  e.timestamp = at;
  e.identifiers.push_back(
      identity::Identifier{identity::IdentifierKind::kUser, "u" + std::to_string(customer)});
  return e;
}

struct Fixture {
  std::unique_ptr<pipeline::Engine> engine;
  std::unique_ptr<store::Store> side;
};

// An engine with `n` customers (built once per size).
Fixture& EngineWith(size_t n) {
  static std::map<size_t, std::unique_ptr<Fixture>> cache;
  auto& slot = cache[n];
  if (slot) return *slot;
  slot = std::make_unique<Fixture>();
  const std::string url = "memory:segment-bench-" + std::to_string(n);
  pipeline::EngineOptions options;
  options.profile_checkpoint_ms = 3'600'000;  // one checkpoint, with the tags
  auto writer = store::Open(url, {});
  auto engine = pipeline::Engine::Open(std::move(*writer), std::move(options));
  slot->engine = std::move(*engine);
  auto side = store::Open(url, {});
  slot->side = std::move(*side);

  static const char* const kChannels[] = {"app", "app", "web", "mini-program", "store"};
  static const char* const kCities[] = {"\"上海\"", "\"北京\"", "\"深圳\"", "\"Hangzhou\""};
  static const char* const kLayers[] = {"\"important_value\"", "\"important_retain\"", "\"potential\"",
                                        "\"general_value\"", "\"churn_warning\""};
  static const char* const kTiers[] = {"\"gold\"", "\"silver\"", "\"bronze\""};
  Rng rng{42};
  std::int64_t message = 0;
  std::vector<std::future<Result<pipeline::SubmitResult>>> pending;
  std::vector<ingest::Event> events;
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<std::int64_t>(i);
    const Millis first = kAsOf - (30 + rng.Below(700)) * kDay;
    ingest::Event id = MakeEvent(c, ++message, first);
    id.kind = store::EventKind::kIdentify;
    id.traits = {{"name", "\"李雷\""},
                 {"city", kCities[rng.Below(4)]},
                 {"email", "\"user" + std::to_string(rng.Below(1'000'000)) + "@example.cn\""},
                 {"vip", rng.Below(5) == 0 ? "true" : "false"}};
    events.push_back(std::move(id));
    const char* home = kChannels[rng.Below(5)];
    const int orders = rng.Below(6);
    for (int k = 0; k < orders; ++k) {
      const Millis at = first + static_cast<Millis>(rng.Unit() * static_cast<double>(kAsOf - first));
      ingest::Event o = MakeEvent(c, ++message, at);
      o.name = "Order Completed";
      o.channel = rng.Below(4) ? home : kChannels[rng.Below(5)];
      o.order =
          ingest::OrderPayload{"o" + std::to_string(message), 50 + rng.Unit() * rng.Unit() * 8000, "CNY", {}};
      events.push_back(std::move(o));
    }
    if (events.size() >= 20'000) {
      pending.push_back(slot->engine->SubmitAsync(std::move(events)));
      events.clear();
    }
  }
  if (!events.empty()) pending.push_back(slot->engine->SubmitAsync(std::move(events)));
  for (auto& f : pending) (void)f.get();
  // Customer ids follow first sight: 1..n. Tags on 80 %, in one write.
  Rng tag_rng{7};
  std::vector<std::pair<CustomerId, std::vector<std::pair<std::string, std::string>>>> tagged;
  for (size_t i = 1; i <= n; ++i) {
    if (tag_rng.Below(10) >= 8) continue;
    tagged.push_back({CustomerId(static_cast<std::int64_t>(i)),
                      {{"rfm_layer", kLayers[tag_rng.Below(5)]},
                       {"tier", kTiers[tag_rng.Below(3)]},
                       {"churn_risk", std::to_string(tag_rng.Below(1000) / 1000.0)}}});
  }
  (void)slot->engine->SetTags(tagged);
  return *slot;
}

const char* const kRules[] = {
    R"(monetary_365d >= 20000 and preferred_channel = "app")",
    R"(rfm_layer in ("important_value", "potential") and churn_risk > 0.6)",
    R"(tier = "gold" or traits.vip = true and recency_days <= 30)",
};

// Arg 0: customers.
void BM_EngineForEach(benchmark::State& state) {
  const pipeline::Engine& engine = *EngineWith(static_cast<size_t>(state.range(0))).engine;
  std::int64_t visited = 0;
  for (auto _ : state) {
    visited = 0;
    engine.ForEach([&](CustomerId, const profile::Profile&) { ++visited; });
    benchmark::DoNotOptimize(visited);
  }
  state.counters["customers"] = static_cast<double>(visited);
  state.SetItemsProcessed(state.iterations() * visited);
}
BENCHMARK(BM_EngineForEach)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

// Arg 0: the rule; arg 1: customers. A full count over the engine's profiles.
void BM_SegmentFullCount(benchmark::State& state) {
  const pipeline::Engine& engine = *EngineWith(static_cast<size_t>(state.range(1))).engine;
  auto segment = profile::Segment::Compile(kRules[state.range(0)]);
  if (!segment.ok()) {
    state.SkipWithError(segment.status().message().c_str());
    return;
  }
  state.SetLabel(segment->text());
  std::int64_t members = 0;
  for (auto _ : state) {
    members = SegmentIndex::CountRule(*segment, engine);
    benchmark::DoNotOptimize(members);
  }
  state.counters["members"] = static_cast<double>(members);
  state.SetItemsProcessed(state.iterations() * state.range(1));
}
BENCHMARK(BM_SegmentFullCount)->ArgsProduct({{0, 1, 2}, {100'000, 1'000'000}})->Unit(benchmark::kMillisecond);

// Arg 0: customers in one committed batch (what the hook hands OnCustomersChanged), three saved
// segments, over 1 M customers.
void BM_SegmentIncrementalUpdate(benchmark::State& state) {
  Fixture& f = EngineWith(1'000'000);
  const Clock& clock = SystemClock::Instance();
  static std::unique_ptr<SegmentIndex> index = [&] {
    auto opened = SegmentIndex::Open(f.side->Get<store::SegmentRepository>(), *f.engine, clock);
    std::unique_ptr<SegmentIndex> out = std::move(*opened);
    for (int k = 0; k < 3; ++k) (void)out->Define("rule" + std::to_string(k), kRules[k], "", nullptr);
    return out;
  }();
  Rng rng{11};
  std::vector<CustomerId> batch(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    state.PauseTiming();
    for (auto& c : batch) c = CustomerId(1 + rng.Below(1'000'000));
    state.ResumeTiming();
    index->OnCustomersChanged(batch);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_SegmentIncrementalUpdate)->Arg(1'000)->Arg(25'000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace touchpoint::insight
