// RFM over generated order lines: parse + compute, the path of `touchpoint segment rfm`.
// The CSV (customer,order,date,amount; 1 M customers for 10 M lines) is generated once into
// $TP_BENCH_DIR (default /tmp) and reused.
#include <benchmark/benchmark.h>
#include <touchpoint/core/time.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <touchpoint/insight/orders.h>
#include <touchpoint/insight/rfm.h>
#include <touchpoint/ml/stats.h>

namespace {

std::string OrdersFile(std::int64_t lines) {
  const char* dir = std::getenv("TP_BENCH_DIR");
  const std::string path = std::string(dir ? dir : "/tmp") + "/tp_rfm_orders_" +
                           std::to_string(lines) + ".csv";
  if (std::filesystem::exists(path)) return path;
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) std::abort();
  touchpoint::ml::SplitMix64 rng(2024);
  const std::int64_t customers = lines / 10;
  const touchpoint::Millis start = touchpoint::DaysFromCivil(2022, 1, 1);
  std::fputs("customer,order,date,amount\n", f);
  std::int64_t written = 0, order = 0;
  while (written < lines) {
    const auto customer = static_cast<std::int64_t>(rng.Below(static_cast<std::uint64_t>(customers)));
    const auto day = start + static_cast<std::int64_t>(rng.Below(730));
    const std::string date = touchpoint::FormatDate(day * touchpoint::kMillisPerDay);
    const int n = 1 + static_cast<int>(rng.Below(5));
    ++order;
    for (int i = 0; i < n && written < lines; ++i, ++written) {
      std::fprintf(f, "U%07lld,O%08lld,%s,%.2f\n", static_cast<long long>(customer),
                   static_cast<long long>(order), date.c_str(),
                   1 + static_cast<double>(rng.Below(50000)) / 100.0);
    }
  }
  std::fclose(f);
  std::filesystem::rename(tmp, path);
  return path;
}

void BM_RfmCsv(benchmark::State& state) {
  const std::string path = OrdersFile(state.range(0));
  touchpoint::insight::OrderCsvOptions opt;
  opt.customer_column = "customer";
  opt.date_column = "date";
  opt.amount_column = "amount";
  opt.order_column = "order";
  std::int64_t customers = 0;
  for (auto _ : state) {
    auto orders = touchpoint::insight::ReadOrdersCsv(path, opt);
    if (!orders.ok()) {
      state.SkipWithError(orders.status().message().c_str());
      return;
    }
    auto rfm = touchpoint::insight::ComputeRfm(orders->book, {});
    if (!rfm.ok()) {
      state.SkipWithError(rfm.status().message().c_str());
      return;
    }
    customers = static_cast<std::int64_t>(rfm->rows.size());
    benchmark::DoNotOptimize(customers);
  }
  state.counters["customers"] = static_cast<double>(customers);
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_RfmCsv)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMillisecond)->Iterations(2);

void BM_RfmCompute(benchmark::State& state) {
  const std::string path = OrdersFile(state.range(0));
  touchpoint::insight::OrderCsvOptions opt;
  opt.customer_column = "customer";
  opt.date_column = "date";
  opt.amount_column = "amount";
  opt.order_column = "order";
  auto orders = touchpoint::insight::ReadOrdersCsv(path, opt);
  if (!orders.ok()) {
    state.SkipWithError(orders.status().message().c_str());
    return;
  }
  for (auto _ : state) {
    auto rfm = touchpoint::insight::ComputeRfm(orders->book, {});
    benchmark::DoNotOptimize(rfm);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_RfmCompute)->Arg(10'000'000)->Unit(benchmark::kMillisecond)->Iterations(2);

}  // namespace
