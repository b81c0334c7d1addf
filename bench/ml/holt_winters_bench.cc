// Holt-Winters parameter fitting and the full forecast job (rolling backtest + refit).
#include <cmath>
#include <vector>

#include <benchmark/benchmark.h>

#include <touchpoint/insight/forecast_job.h>
#include <touchpoint/ml/holt_winters.h>

namespace {

std::vector<double> Series(size_t n) {
  std::vector<double> y(n);
  for (size_t t = 0; t < n; ++t) {
    double s = std::sin(2 * 3.14159265358979 * static_cast<double>(t % 7) / 7.0);
    y[t] = (100 + 0.2 * static_cast<double>(t)) * (1 + 0.3 * s) +
           static_cast<double>((t * 7919) % 11);
  }
  return y;
}

void BM_HoltWintersFit(benchmark::State& state, touchpoint::ml::Seasonality s) {
  const auto y = Series(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    auto m = touchpoint::ml::FitHoltWinters(y, 7, s);
    benchmark::DoNotOptimize(m);
  }
}
void BM_HoltWintersFit_Additive(benchmark::State& state) {
  BM_HoltWintersFit(state, touchpoint::ml::Seasonality::kAdditive);
}
void BM_HoltWintersFit_Multiplicative(benchmark::State& state) {
  BM_HoltWintersFit(state, touchpoint::ml::Seasonality::kMultiplicative);
}
BENCHMARK(BM_HoltWintersFit_Additive)->Arg(365)->Arg(3650)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_HoltWintersFit_Multiplicative)->Arg(365)->Arg(3650)->Unit(benchmark::kMillisecond);

void BM_ForecastJob(benchmark::State& state) {
  const auto y = Series(static_cast<size_t>(state.range(0)));
  std::vector<touchpoint::insight::SeriesPoint> series(y.size());
  for (size_t i = 0; i < y.size(); ++i) {
    series[i] = {static_cast<touchpoint::Millis>(i) * touchpoint::kMillisPerDay, y[i]};
  }
  touchpoint::insight::ForecastRequest req;
  req.season = 7;
  req.horizon = 14;
  for (auto _ : state) {
    auto r = touchpoint::insight::RunForecast(series, req);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_ForecastJob)->Arg(365)->Unit(benchmark::kMillisecond);

}  // namespace
