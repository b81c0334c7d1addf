// Segments: evaluating a compiled rule over many profiles (the membership count of a saved
// segment; the target is 1 M profiles in ≤ 1 s on one thread). Profiles are realistic: a few
// orders over two years, views, contacts with sentiment, four traits, and the tags the analytics
// jobs write (rfm_layer, rfm_score, tier, ltv, cluster, cluster_id, churn_risk) on most.
//
//   cmake --preset release && cmake --build --preset release --target tp_profile_bench
//   build/release/bench/profile/tp_profile_bench --benchmark_filter=Segment
//
// ns/profile = the reported time per iteration / profiles (items_per_second is profiles/s).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <touchpoint/profile/segment.h>

namespace touchpoint::profile {
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

Profile MakeProfile(Rng& rng) {
  static const char* const kChannels[] = {"app", "app", "web", "mini-program", "store"};
  static const char* const kCities[] = {"\"上海\"", "\"北京\"", "\"深圳\"", "\"Hangzhou\""};
  static const char* const kLayers[] = {"\"important_value\"", "\"important_retain\"", "\"potential\"",
                                        "\"general_value\"", "\"churn_warning\""};
  static const char* const kTiers[] = {"\"gold\"", "\"silver\"", "\"bronze\""};
  static const char* const kClusters[] = {"\"high-value\"", "\"low-value\"", "\"problem-oriented\""};
  Profile p;
  const Millis first = kAsOf - (30 + rng.Below(700)) * kDay;
  std::vector<std::pair<std::string, std::string>> traits = {
      {"name", "\"李雷\""},
      {"city", kCities[rng.Below(4)]},
      {"email", "\"user" + std::to_string(rng.Below(1'000'000)) + "@example.cn\""},
      {"vip", rng.Below(5) == 0 ? "true" : "false"}};
  Activity id;
  id.kind = Activity::Kind::kIdentify;
  id.at = first;
  id.traits = traits;
  p.Apply(id);
  const char* home = kChannels[rng.Below(5)];
  const int orders = rng.Below(12);
  for (int i = 0; i < orders; ++i) {
    Activity o;
    o.kind = Activity::Kind::kOrder;
    o.at = first + static_cast<Millis>(rng.Unit() * static_cast<double>(kAsOf - first));
    o.channel = rng.Below(4) ? home : kChannels[rng.Below(5)];
    o.order_total = 50 + rng.Unit() * rng.Unit() * 8000;
    p.Apply(o);
  }
  const int views = rng.Below(20);
  for (int i = 0; i < views; ++i) {
    Activity v;
    v.kind = Activity::Kind::kView;
    v.at = first + static_cast<Millis>(rng.Unit() * static_cast<double>(kAsOf - first));
    v.channel = home;
    v.dwell_seconds = rng.Below(300);
    p.Apply(v);
  }
  const int contacts = rng.Below(4);
  for (int i = 0; i < contacts; ++i) {
    Activity m;
    m.kind = Activity::Kind::kMessage;
    m.at = first + static_cast<Millis>(rng.Unit() * static_cast<double>(kAsOf - first));
    m.channel = "chat";
    m.inbound_message = true;
    m.has_sentiment = true;
    m.sentiment = rng.Unit() * 2 - 1;
    m.sentiment_label = m.sentiment < -0.3 ? "negative" : m.sentiment > 0.3 ? "positive" : "neutral";
    m.intent = "delivery_status";
    p.Apply(m);
  }
  if (rng.Below(10) < 8) {  // most customers have been through the analytics jobs
    p.SetTag("rfm_layer", kLayers[rng.Below(5)]);
    p.SetTag("rfm_score", "\"" + std::to_string(1 + rng.Below(5)) + std::to_string(1 + rng.Below(5)) +
                              std::to_string(1 + rng.Below(5)) + "\"");
    p.SetTag("tier", kTiers[rng.Below(3)]);
    p.SetTag("ltv", std::to_string(rng.Below(100000) / 10.0));
    const int cluster = rng.Below(3);
    p.SetTag("cluster", kClusters[cluster]);
    p.SetTag("cluster_id", std::to_string(cluster));
    p.SetTag("churn_risk", std::to_string(rng.Below(1000) / 1000.0));
  }
  return p;
}

// Built once per size and shared by every rule.
const std::vector<Profile>& Profiles(size_t n) {
  static std::map<size_t, std::unique_ptr<std::vector<Profile>>> cache;
  auto& slot = cache[n];
  if (!slot) {
    slot = std::make_unique<std::vector<Profile>>();
    slot->reserve(n);
    Rng rng{42};
    for (size_t i = 0; i < n; ++i) slot->push_back(MakeProfile(rng));
  }
  return *slot;
}

const char* const kRules[] = {
    R"(monetary_365d >= 20000 and preferred_channel = "app")",
    R"(rfm_layer in ("important_value", "potential") and churn_risk > 0.6)",
    R"(tier = "gold" or traits.vip = true and recency_days <= 30 and not avg_sentiment < -0.3)",
};

// Arg 0: the rule; arg 1: profiles per iteration. Counter "matched": members per iteration.
void BM_SegmentMatches(benchmark::State& state) {
  const auto& profiles = Profiles(static_cast<size_t>(state.range(1)));
  auto segment = Segment::Compile(kRules[state.range(0)]);
  if (!segment.ok()) {
    state.SkipWithError(segment.status().message().c_str());
    return;
  }
  state.SetLabel(segment->text());
  std::int64_t matched = 0;
  for (auto _ : state) {
    matched = 0;
    for (const Profile& p : profiles) matched += segment->Matches(p, kAsOf) ? 1 : 0;
    benchmark::DoNotOptimize(matched);
  }
  state.counters["matched"] = static_cast<double>(matched);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(profiles.size()));
}
BENCHMARK(BM_SegmentMatches)->ArgsProduct({{0, 1, 2}, {10'000, 1'000'000}})->Unit(benchmark::kMillisecond);

void BM_SegmentCompile(benchmark::State& state) {
  for (auto _ : state) {
    auto s = Segment::Compile(kRules[state.range(0)]);
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_SegmentCompile)->DenseRange(0, 2);

}  // namespace
}  // namespace touchpoint::profile
