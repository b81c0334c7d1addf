// Erlang C staffing searches from a small queue to a very large contact centre.
#include <benchmark/benchmark.h>

#include <touchpoint/insight/staffing.h>
#include <touchpoint/ml/erlang.h>

namespace {

void BM_ErlangC(benchmark::State& state) {
  const auto n = static_cast<std::int64_t>(state.range(0));
  const double a = static_cast<double>(n) * 0.9;
  for (auto _ : state) {
    double c = touchpoint::ml::ErlangC(n, a);
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_ErlangC)->Arg(10)->Arg(1000)->Arg(10000);

// Arg = calls per hour at 300 s AHT (100 → 8 Erlangs, 100000 → 8,333 Erlangs).
void BM_PlanStaffing(benchmark::State& state) {
  touchpoint::insight::StaffingRequest r;
  r.calls_per_hour = static_cast<double>(state.range(0));
  r.aht_seconds = 300;
  r.max_occupancy = 1;
  for (auto _ : state) {
    auto plan = touchpoint::insight::PlanStaffing(r);
    benchmark::DoNotOptimize(plan);
  }
}
BENCHMARK(BM_PlanStaffing)->Arg(100)->Arg(10000)->Arg(100000);

}  // namespace
