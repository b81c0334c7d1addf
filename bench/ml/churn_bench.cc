// Churn training and scoring on a telco-sized table (7,043 rows, mixed column types).
#include <cmath>
#include <random>
#include <string>

#include <benchmark/benchmark.h>

#include <touchpoint/insight/churn.h>

namespace {

using touchpoint::insight::ChurnModel;
using touchpoint::insight::ChurnModelKind;
using touchpoint::insight::ChurnTrainOptions;

// A telco-like table: numbers (with " " blanks), yes/no columns, categories, a Churn label.
touchpoint::ml::RawTable MakeTable(size_t rows) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(0, 1);
  touchpoint::ml::RawTable t;
  t.source = "bench";
  t.columns = {"customerID", "tenure", "MonthlyCharges", "TotalCharges", "Contract",
               "InternetService", "PaymentMethod", "Partner", "Dependents", "PhoneService",
               "PaperlessBilling", "OnlineSecurity", "TechSupport", "StreamingTV",
               "SeniorCitizen", "Churn"};
  const char* contracts[] = {"Month-to-month", "One year", "Two year"};
  const char* internet[] = {"DSL", "Fiber optic", "No"};
  const char* payment[] = {"Electronic check", "Mailed check", "Bank transfer (automatic)",
                           "Credit card (automatic)"};
  for (size_t i = 0; i < rows; ++i) {
    int contract = static_cast<int>(u(rng) * 3);
    int net = static_cast<int>(u(rng) * 3);
    int pay = static_cast<int>(u(rng) * 4);
    int tenure = i % 700 == 0 ? 0 : 1 + static_cast<int>(u(rng) * 71);
    double monthly = 20 + 30 * net + 40 * u(rng);
    auto yn = [&](double p) { return std::string(u(rng) < p ? "Yes" : "No"); };
    double z = -1 + (contract == 0 ? 1.0 : -1.0) - 0.04 * tenure + (net == 1 ? 0.6 : 0.0) +
               (pay == 0 ? 0.5 : 0.0);
    std::vector<std::string> row = {
        "C" + std::to_string(i), std::to_string(tenure), std::to_string(monthly),
        tenure == 0 ? " " : std::to_string(monthly * tenure), contracts[contract],
        internet[net], payment[pay], yn(0.5), yn(0.3), yn(0.9), yn(0.6), yn(0.3), yn(0.3),
        yn(0.4), u(rng) < 0.16 ? "1" : "0", u(rng) < 1 / (1 + std::exp(-z)) ? "Yes" : "No"};
    t.rows.push_back(std::move(row));
    t.lines.push_back(static_cast<std::int64_t>(i + 2));
  }
  return t;
}

ChurnTrainOptions Options(ChurnModelKind kind) {
  ChurnTrainOptions o;
  o.label_column = "Churn";
  o.id_column = "customerID";
  o.kind = kind;
  return o;
}

void BM_ChurnTrain(benchmark::State& state, ChurnModelKind kind) {
  const auto table = MakeTable(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    auto model = ChurnModel::Train(table, Options(kind));
    if (!model.ok()) state.SkipWithError(model.status().message().c_str());
    benchmark::DoNotOptimize(model);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
void BM_ChurnTrain_Logistic(benchmark::State& state) {
  BM_ChurnTrain(state, ChurnModelKind::kLogistic);
}
void BM_ChurnTrain_Gbdt(benchmark::State& state) { BM_ChurnTrain(state, ChurnModelKind::kGbdt); }
BENCHMARK(BM_ChurnTrain_Logistic)->Arg(7043)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ChurnTrain_Gbdt)->Arg(7043)->Unit(benchmark::kMillisecond);

void BM_ChurnScore(benchmark::State& state, ChurnModelKind kind) {
  const auto table = MakeTable(static_cast<size_t>(state.range(0)));
  auto model = ChurnModel::Train(table, Options(kind));
  if (!model.ok()) {
    state.SkipWithError(model.status().message().c_str());
    return;
  }
  for (auto _ : state) {
    auto scores = model->Score(table);
    benchmark::DoNotOptimize(scores);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
void BM_ChurnScore_Logistic(benchmark::State& state) {
  BM_ChurnScore(state, ChurnModelKind::kLogistic);
}
void BM_ChurnScore_Gbdt(benchmark::State& state) { BM_ChurnScore(state, ChurnModelKind::kGbdt); }
BENCHMARK(BM_ChurnScore_Logistic)->Arg(7043)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ChurnScore_Gbdt)->Arg(7043)->Unit(benchmark::kMillisecond);

}  // namespace

namespace {

// Probabilities only, no reasons: what a batch job that writes churn_risk needs.
void BM_ChurnPredict_Gbdt(benchmark::State& state) {
  const auto table = MakeTable(static_cast<size_t>(state.range(0)));
  auto model = ChurnModel::Train(table, Options(ChurnModelKind::kGbdt));
  if (!model.ok()) {
    state.SkipWithError(model.status().message().c_str());
    return;
  }
  for (auto _ : state) {
    auto p = model->PredictProbabilities(table);
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ChurnPredict_Gbdt)->Arg(7043)->Unit(benchmark::kMillisecond);

}  // namespace
