// Profile storage form: the writer serialises every changed profile at each checkpoint.
// BM_Serialize is the shipped writer; BM_SerializeViaJsonTree builds the same document as an
// nlohmann::json tree first (the previous implementation), for the ratio.
#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>
#include <touchpoint/profile/profile.h>

namespace touchpoint::profile {
namespace {

Profile Typical() {
  Profile p;
  Activity id;
  id.kind = Activity::Kind::kIdentify;
  id.at = 1'700'000'000'000;
  static const std::vector<std::pair<std::string, std::string>> traits = {
      {"name", "\"李雷\""}, {"phone", "\"+8613812345678\""}, {"email", "\"li.lei@example.cn\""}, {"city", "\"上海\""}};
  id.traits = traits;  // Activity holds views
  p.Apply(id);
  for (int i = 0; i < 12; ++i) {
    Activity a;
    a.at = id.at + i * 86'400'000;
    a.channel = i % 2 ? "app" : "web";
    if (i % 3 == 0) {
      a.kind = Activity::Kind::kOrder;
      a.order_total = 199.9 + i;
    } else {
      a.kind = Activity::Kind::kView;
      a.dwell_seconds = 30 + i;
    }
    p.Apply(a);
  }
  return p;
}

void BM_Serialize(benchmark::State& state) {
  const Profile p = Typical();
  size_t bytes = 0;
  for (auto _ : state) {
    std::string s = p.Serialize();
    bytes += s.size();
    benchmark::DoNotOptimize(s);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_Serialize);

void BM_SerializeViaJsonTree(benchmark::State& state) {
  const std::string stored = Typical().Serialize();
  const nlohmann::json doc = nlohmann::json::parse(stored);
  for (auto _ : state) {
    // Rebuild the tree as the old code did, then dump it.
    nlohmann::json j;
    j["t"] = doc["t"];
    j["o"] = doc["o"];
    j["a"] = doc["a"];
    j["c"] = doc["c"];
    j["i"] = doc["i"];
    std::string s = j.dump();
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_SerializeViaJsonTree);

void BM_Parse(benchmark::State& state) {
  const std::string stored = Typical().Serialize();
  for (auto _ : state) {
    auto p = Profile::Parse(stored);
    benchmark::DoNotOptimize(p);
  }
}
BENCHMARK(BM_Parse);

// The features of GET /v1/customers (rendered on every call), as of a day after the last event.
void BM_FeaturesJson(benchmark::State& state) {
  const Profile p = Typical();
  const Millis as_of = p.last_seen() + 86'400'000;
  size_t bytes = 0;
  for (auto _ : state) {
    std::string s = p.FeaturesJson(as_of);
    bytes += s.size();
    benchmark::DoNotOptimize(s);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_FeaturesJson);

}  // namespace
}  // namespace touchpoint::profile
