// k-means on 1,000,000 x 8 standardised features, k = 8, 4 restarts (documented target: <= 5 s).
// Data: 8 Gaussian blobs with different spreads, fixed seed (bench/ml/kmeans_compare.py
// generates the same kind of data for the side-by-side run with scikit-learn).
#include <benchmark/benchmark.h>

#include <cmath>
#include <string>

#include <touchpoint/ml/kmeans.h>
#include <touchpoint/ml/stats.h>

namespace {

touchpoint::ml::Matrix Blobs(size_t n, size_t d, int k) {
  touchpoint::ml::SplitMix64 rng(7);
  touchpoint::ml::Matrix centres(static_cast<size_t>(k), d);
  for (auto& v : centres.data) v = rng.Uniform() * 20 - 10;
  touchpoint::ml::Matrix x(n, d);
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<size_t>(rng.Below(static_cast<std::uint64_t>(k)));
    const double spread = 1.0 + static_cast<double>(c % 3);
    for (size_t j = 0; j < d; ++j) {
      // Box-Muller normal.
      const double u1 = 1.0 - rng.Uniform(), u2 = rng.Uniform();
      x.at(i, j) = centres.at(c, j) + spread * std::sqrt(-2 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    }
  }
  const auto scaler = touchpoint::ml::FitScaler(x);
  touchpoint::ml::Standardize(scaler, &x);
  return x;
}

void BM_KMeans(benchmark::State& state) {
  const auto x = Blobs(static_cast<size_t>(state.range(0)), 8, 8);
  double inertia = 0;
  int iterations = 0;
  for (auto _ : state) {
    auto got = touchpoint::ml::KMeans(x, {.k = 8, .restarts = static_cast<int>(state.range(1)),
                                          .max_iterations = 300, .tolerance = 1e-4, .seed = 42});
    // DoNotOptimize on a double register clobbers it with GCC 12 + benchmark 1.7.1; keep the
    // labels alive instead.
    benchmark::DoNotOptimize(got->labels.data());
    inertia = got->inertia;
    iterations = got->iterations;
  }
  state.SetLabel("inertia=" + std::to_string(inertia) + " iterations=" + std::to_string(iterations));
}
// Args: rows, restarts.
BENCHMARK(BM_KMeans)->Args({100'000, 4})->Args({1'000'000, 1})->Args({1'000'000, 4})
    ->Unit(benchmark::kMillisecond)->Iterations(1);

// No cluster structure: Lloyd needs 100+ iterations. Args: rows, restarts, threads.
void BM_KMeansUniform(benchmark::State& state) {
  touchpoint::ml::SplitMix64 rng(7);
  touchpoint::ml::Matrix x(static_cast<size_t>(state.range(0)), 8);
  for (auto& v : x.data) v = rng.Uniform();
  double inertia = 0;
  int iterations = 0;
  for (auto _ : state) {
    auto got = touchpoint::ml::KMeans(x, {.k = 8, .restarts = static_cast<int>(state.range(1)),
                                          .max_iterations = 300, .tolerance = 1e-4, .seed = 42,
                                          .threads = static_cast<int>(state.range(2))});
    benchmark::DoNotOptimize(got->labels.data());
    inertia = got->inertia;
    iterations = got->iterations;
  }
  state.SetLabel("inertia=" + std::to_string(inertia) + " iterations=" + std::to_string(iterations));
}
BENCHMARK(BM_KMeansUniform)->Args({1'000'000, 4, 1})->Args({1'000'000, 4, 2})
    ->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();

void BM_Silhouette(benchmark::State& state) {
  const auto x = Blobs(100'000, 8, 8);
  auto km = touchpoint::ml::KMeans(x, {.k = 8, .restarts = 1, .max_iterations = 300, .tolerance = 1e-4, .seed = 1});
  for (auto _ : state) {
    const double s = touchpoint::ml::Silhouette(x, km->labels, 8, static_cast<size_t>(state.range(0)), 3);
    benchmark::DoNotOptimize(&s);
  }
}
BENCHMARK(BM_Silhouette)->Arg(2000)->Unit(benchmark::kMillisecond);

}  // namespace
