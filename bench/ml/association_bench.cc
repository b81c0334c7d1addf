// Association rules on 10,000 synthetic baskets at support 0.001 (the documented target is
// <= 1 s). Baskets: Zipf item popularity over 1,000 items, sizes 1..30, planted patterns;
// generated in memory with a fixed seed (bench/ml/make_baskets.py writes similar files for
// the CLI).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <touchpoint/ml/association.h>
#include <touchpoint/ml/stats.h>

namespace {

std::vector<std::vector<std::uint32_t>> Baskets(size_t n) {
  touchpoint::ml::SplitMix64 rng(42);
  const std::uint32_t items = 1000;
  std::vector<double> cumulative(items);
  double total = 0;
  for (std::uint32_t i = 0; i < items; ++i) {
    total += 1.0 / std::pow(i + 1, 0.9);
    cumulative[i] = total;
  }
  std::vector<std::vector<std::uint32_t>> patterns(40);
  for (auto& p : patterns) {
    const auto len = 2 + rng.Below(4);
    for (std::uint64_t k = 0; k < len; ++k) p.push_back(static_cast<std::uint32_t>(rng.Below(300)));
  }
  std::vector<std::vector<std::uint32_t>> out(n);
  for (auto& b : out) {
    const auto size = std::clamp<int>(static_cast<int>(-8 * std::log(1 - rng.Uniform())), 1, 30);
    for (int k = 0; k < size; ++k) {
      const double r = rng.Uniform() * total;
      b.push_back(static_cast<std::uint32_t>(
          std::lower_bound(cumulative.begin(), cumulative.end(), r) - cumulative.begin()));
    }
    if (rng.Uniform() < 0.3) {
      const auto& p = patterns[rng.Below(patterns.size())];
      b.insert(b.end(), p.begin(), p.end());
    }
    std::sort(b.begin(), b.end());
    b.erase(std::unique(b.begin(), b.end()), b.end());
  }
  return out;
}

void BM_MineRules(benchmark::State& state) {
  const auto baskets = Baskets(static_cast<size_t>(state.range(0)));
  const double support = static_cast<double>(state.range(1)) / 1e4;
  size_t rules = 0, itemsets = 0;
  for (auto _ : state) {
    auto got = touchpoint::ml::MineAssociationRules(baskets, 1000,
                                                    {.min_support = support, .min_confidence = 0.1, .max_len = 0});
    rules = got->rules.size();
    itemsets = got->itemsets.size();
    benchmark::DoNotOptimize(rules);
  }
  state.counters["rules"] = static_cast<double>(rules);
  state.counters["itemsets"] = static_cast<double>(itemsets);
}
// Args: baskets, support in 1e-4 units (10 = 0.001).
BENCHMARK(BM_MineRules)->Args({10'000, 10})->Args({10'000, 50})->Args({100'000, 10})
    ->Unit(benchmark::kMillisecond);

}  // namespace
