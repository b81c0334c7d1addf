// churn train|score|eval, forecast, staffing — thin wrappers over insight/{churn,
// forecast_job,staffing}.h that read CSV files and print CSV / JSON; with a data directory
// they dispatch to cli/predict_store.h (the same jobs over the ingested store).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include <touchpoint/core/csv.h>
#include <touchpoint/insight/churn.h>
#include <touchpoint/insight/forecast_job.h>
#include <touchpoint/insight/staffing.h>
#include <touchpoint/ml/tabular.h>

#include "cli/analytics_store.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/predict_store.h"

namespace touchpoint::cli {
namespace {


struct ChurnArgs {
  std::string data;
  std::string label;
  std::string id;
  std::string model = "logistic";
  std::string model_path;
  std::string out;
  int folds = 0;
  std::uint64_t seed = 42;
  std::string cutoff;  // over the store only
};

// `--data DIR`: the churn job over the ingested store (docs/predict.md).
Result<ChurnStoreArgs> StoreArgs(const ChurnArgs& a) {
  ChurnStoreArgs s;
  s.data_dir = a.data;
  s.model = a.model;
  s.folds = a.folds > 1 ? a.folds : 5;
  s.seed = a.seed;
  s.model_out = a.out;
  s.model_in = a.model_path;
  if (!a.cutoff.empty()) {
    auto t = ParseTimestamp(a.cutoff);
    if (!t.ok()) return Status::InvalidArgument("--cutoff: " + t.status().message());
    s.cutoff = *t;
  }
  return s;
}

Result<insight::ChurnTrainOptions> TrainOptions(const ChurnArgs& a) {
  insight::ChurnTrainOptions o;
  o.label_column = a.label;
  o.id_column = a.id;
  TP_ASSIGN_OR_RETURN(o.kind, insight::ParseChurnModelKind(a.model));
  return o;
}

int ChurnTrain(const ChurnArgs& a) {
  if (ReadsFromStore(a.data)) {
    if (!a.label.empty()) return FailFile(Status::InvalidArgument("--label: over a data directory the label is fixed (no purchase in the 90 days after --cutoff)"));
    auto s = StoreArgs(a);
    if (!s.ok()) return FailFile(s.status());
    return RunChurnTrainOverStore(*s);
  }
  if (!a.cutoff.empty()) return FailFile(Status::InvalidArgument("--cutoff needs --data to name a data directory"));
  if (!std::filesystem::exists(a.data)) return FailFile(Status::NotFound(a.data + ": no such file or data directory"));
  if (a.label.empty() || a.out.empty()) {
    return FailFile(Status::InvalidArgument("churn train on a CSV file needs --label and --out"));
  }
  auto options = TrainOptions(a);
  if (!options.ok()) return FailFile(options.status());
  auto table = ml::ReadCsvTable(a.data);
  if (!table.ok()) return FailFile(table.status());
  auto start = std::chrono::steady_clock::now();
  auto model = insight::ChurnModel::Train(*table, *options);
  if (!model.ok()) return FailFile(model.status());
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Status saved = model->SaveToFile(a.out);
  if (!saved.ok()) return FailFile(saved);
  nlohmann::ordered_json j;
  j["model"] = std::string(insight::ChurnModelKindName(model->kind()));
  j["rows"] = table->rows.size();
  j["features"] = model->schema().FeatureNames().size();
  j["columns"] = model->schema().columns.size();
  j["ignored_columns"] = model->ignored_columns();
  j["train_seconds"] = seconds;
  j["out"] = a.out;
  if (a.folds > 1) {
    auto ev = insight::EvaluateChurn(*table, *options, a.folds, a.seed);
    if (!ev.ok()) return FailFile(ev.status());
    j["cv"] = nlohmann::json::parse(insight::ChurnEvaluationJson(*ev));
  }
  std::cout << j.dump() << "\n";
  return 0;
}

int ChurnScore(const ChurnArgs& a) {
  if (ReadsFromStore(a.data)) {
    auto s = StoreArgs(a);
    if (!s.ok()) return FailFile(s.status());
    return RunChurnScoreOverStore(*s);
  }
  auto model = insight::ChurnModel::LoadFromFile(a.model_path);
  if (!model.ok()) return FailFile(model.status());
  auto table = ml::ReadCsvTable(a.data);
  if (!table.ok()) return FailFile(table.status());
  auto scores = model->Score(*table, a.id);
  if (!scores.ok()) return FailFile(scores.status());
  std::string out = "id,probability,reasons\n";
  char prob[32];
  for (const auto& s : *scores) {
    std::snprintf(prob, sizeof(prob), "%.6f", s.probability);
    std::string reasons;
    for (size_t i = 0; i < s.reasons.size(); ++i) reasons += (i ? "; " : "") + s.reasons[i];
    out += CsvField(s.id) + "," + prob + "," + CsvField(reasons) + "\n";
  }
  std::cout << out;
  return 0;
}

int ChurnEval(const ChurnArgs& a) {
  auto options = TrainOptions(a);
  if (!options.ok()) return FailFile(options.status());
  auto table = ml::ReadCsvTable(a.data);
  if (!table.ok()) return FailFile(table.status());
  auto ev = insight::EvaluateChurn(*table, *options, a.folds, a.seed);
  if (!ev.ok()) return FailFile(ev.status());
  std::cout << insight::ChurnEvaluationJson(*ev) << "\n";
  return 0;
}

struct ForecastArgs {
  std::string series;
  std::string data_dir;
  std::string since;
  std::string time_column;
  std::string value_column;
  size_t season = 0;
  size_t horizon = 0;
  std::string out;
};

Result<ContactForecastArgs> ContactArgs(const std::string& data_dir, size_t season, size_t horizon,
                                        const std::string& since, const std::string& out) {
  ContactForecastArgs c{.data_dir = data_dir.empty() ? DefaultDataDir() : data_dir, .season = season,
                        .horizon = horizon, .since = 0, .out = out};
  if (!since.empty()) {
    auto t = ParseTimestamp(since);
    if (!t.ok()) return Status::InvalidArgument("--since: " + t.status().message());
    c.since = *t;
  }
  return c;
}

int Forecast(const ForecastArgs& a) {
  if (a.series.empty()) {
    auto c = ContactArgs(a.data_dir, a.season, a.horizon, a.since, a.out);
    if (!c.ok()) return FailFile(c.status());
    return RunForecastOverStore(*c);
  }
  if (a.time_column.empty() || a.value_column.empty()) {
    return FailFile(Status::InvalidArgument("forecast --series needs --time-column and --value-column"));
  }
  auto table = ml::ReadCsvTable(a.series);
  if (!table.ok()) return FailFile(table.status());
  auto series = insight::SeriesFromTable(*table, a.time_column, a.value_column);
  if (!series.ok()) return FailFile(series.status());
  insight::ForecastRequest request;
  request.season = a.season;
  request.horizon = a.horizon;
  auto report = insight::RunForecast(*series, request);
  if (!report.ok()) return FailFile(report.status().WithContext(a.series));
  std::string csv = insight::ForecastCsv(*report);
  std::string summary = insight::ForecastSummaryJson(*report);
  if (a.out.empty()) {
    std::cout << csv;
    std::cerr << summary << "\n";
  } else {
    std::ofstream f(a.out, std::ios::trunc);
    f << csv;
    f.close();
    if (!f) return FailFile(Status::FailedPrecondition(a.out + ": cannot write"));
    std::cout << summary << "\n";
  }
  return 0;
}

struct StaffingArgs {
  insight::StaffingRequest request;
  std::string forecast;
  bool has_calls = false;
  std::string data_dir;  // contact volume of the store, forecast first
  size_t season = 168;
  size_t horizon = 24;
  std::string since;
};

int Staffing(const StaffingArgs& a) {
  if (!a.data_dir.empty()) {
    if (a.has_calls || !a.forecast.empty()) {
      return FailFile(Status::InvalidArgument("staffing: --data excludes --calls-per-hour and --forecast"));
    }
    auto c = ContactArgs(a.data_dir, a.season, a.horizon, a.since, "");
    if (!c.ok()) return FailFile(c.status());
    return RunStaffingOverStore(*c, a.request);
  }
  if (a.forecast.empty() == !a.has_calls) {
    return FailFile(Status::InvalidArgument("staffing: give exactly one of --calls-per-hour or --forecast"));
  }
  if (a.forecast.empty()) {
    auto plan = insight::PlanStaffing(a.request);
    if (!plan.ok()) return FailFile(plan.status());
    std::cout << insight::StaffingPlanJson(*plan) << "\n";
    return 0;
  }
  Status valid = insight::ValidateStaffingRequest(a.request);
  if (!valid.ok()) return FailFile(valid);
  auto table = ml::ReadCsvTable(a.forecast);
  if (!table.ok()) return FailFile(table.status());
  auto plans = insight::PlanStaffingForForecast(*table, a.request);
  if (!plans.ok()) return FailFile(plans.status());
  std::string out;
  for (const auto& h : *plans) out += insight::StaffingPlanJson(h.plan, h.time) + "\n";
  std::cout << out;
  return 0;
}

}  // namespace

void RegisterPredictCommands(CLI::App& app, int* exit_code) {
  // CLI11 keeps references to these, so they live as long as the app (the process).
  static ChurnArgs train_args, score_args, eval_args;
  static ForecastArgs forecast_args;
  static StaffingArgs staffing_args;

  CLI::App* churn = app.add_subcommand("churn", "Churn prediction: train, score, evaluate");
  churn->require_subcommand(1);

  CLI::App* train = churn->add_subcommand("train", "Train a churn model on a CSV file");
  train->add_option("--data", train_args.data,
                    "CSV with one row per customer, or a data directory (features from the ingested "
                    "store, label = no purchase in the 90 days after --cutoff; writes churn_risk "
                    "onto the profiles)")
      ->required();
  train->add_option("--label", train_args.label, "label column (yes/no, true/false, 1/0); CSV only");
  train->add_option("--cutoff", train_args.cutoff,
                    "data directory: features as of this date (default: newest event's day - 90 days)");
  train->add_option("--id", train_args.id, "id column (not a feature)");
  train->add_option("--model", train_args.model, "logistic | gbdt")
      ->check(CLI::IsMember({"logistic", "gbdt"}));
  train->add_option("--folds", train_args.folds, "also cross-validate with K folds")
      ->check(CLI::Range(0, 100));
  train->add_option("--seed", train_args.seed, "fold assignment seed");
  train->add_option("--out", train_args.out, "model file to write (required with a CSV file)");
  train->callback([exit_code] { *exit_code = ChurnTrain(train_args); });

  CLI::App* score = churn->add_subcommand("score", "Score a CSV file: id,probability,reasons");
  score->add_option("--model", score_args.model_path, "model file from churn train")->required();
  score->add_option("--data", score_args.data,
                    "CSV with the training feature columns, or a data directory (model trained over "
                    "the store; writes churn_risk onto the profiles)")
      ->required();
  score->add_option("--id", score_args.id, "id column (default: the training id column)");
  score->callback([exit_code] { *exit_code = ChurnScore(score_args); });

  CLI::App* eval = churn->add_subcommand("eval", "Stratified k-fold ROC-AUC, PR-AUC, log loss");
  eval_args.folds = 5;
  eval->add_option("--data", eval_args.data, "CSV with one row per customer")->required();
  eval->add_option("--label", eval_args.label, "label column")->required();
  eval->add_option("--id", eval_args.id, "id column (not a feature)");
  eval->add_option("--model", eval_args.model, "logistic | gbdt")
      ->check(CLI::IsMember({"logistic", "gbdt"}));
  eval->add_option("--folds", eval_args.folds, "number of folds (default 5)")
      ->check(CLI::Range(2, 100));
  eval->add_option("--seed", eval_args.seed, "fold assignment seed (default 42)");
  eval->callback([exit_code] { *exit_code = ChurnEval(eval_args); });

  CLI::App* forecast = app.add_subcommand(
      "forecast", "Holt-Winters forecast with backtest; CSV time,forecast,lower,upper");
  forecast->add_option("--series", forecast_args.series,
                       "CSV file; without it: contacts per hour (messages from customers) in --data");
  forecast->add_option("--data", forecast_args.data_dir, "data directory (when --series is not given)");
  forecast->add_option("--since", forecast_args.since, "data directory: only contacts from this date");
  forecast->add_option("--time-column", forecast_args.time_column, "time column (with --series)");
  forecast->add_option("--value-column", forecast_args.value_column, "value column (with --series)");
  forecast->add_option("--season", forecast_args.season, "season length in steps (7 = weekly)")
      ->required()
      ->check(CLI::Range(2, 100000));
  forecast->add_option("--horizon", forecast_args.horizon, "steps to forecast")
      ->required()
      ->check(CLI::Range(1, 100000));
  forecast->add_option("--out", forecast_args.out,
                       "write the CSV here and the summary to stdout (default: CSV to stdout, "
                       "summary to stderr)");
  forecast->callback([exit_code] { *exit_code = Forecast(forecast_args); });

  CLI::App* staffing = app.add_subcommand("staffing", "Erlang C agents for a service level");
  auto* calls = staffing->add_option("--calls-per-hour", staffing_args.request.calls_per_hour,
                                     "offered calls per hour");
  staffing->add_option("--forecast", staffing_args.forecast,
                       "CSV from `touchpoint forecast` (forecast = calls per hour)");
  staffing->add_option("--data", staffing_args.data_dir,
                       "data directory: forecast its hourly contact volume, then plan each hour");
  staffing->add_option("--season", staffing_args.season, "with --data: season in hours (default 168)")
      ->check(CLI::Range(2, 100000));
  staffing->add_option("--horizon", staffing_args.horizon, "with --data: hours to plan (default 24)")
      ->check(CLI::Range(1, 100000));
  staffing->add_option("--since", staffing_args.since, "with --data: only contacts from this date");
  staffing->add_option("--aht-seconds", staffing_args.request.aht_seconds,
                       "average handling time in seconds")
      ->required();
  staffing->add_option("--target-level", staffing_args.request.target_level,
                       "fraction answered within target seconds (default 0.8)");
  staffing->add_option("--target-seconds", staffing_args.request.target_seconds,
                       "answer-time target (default 20)");
  staffing->add_option("--max-occupancy", staffing_args.request.max_occupancy,
                       "occupancy cap (default 0.85; 1 = no cap)");
  staffing->add_option("--shrinkage", staffing_args.request.shrinkage,
                       "fraction of paid time away from the phones (default 0.3)");
  staffing->callback([exit_code, calls] {
    staffing_args.has_calls = calls->count() > 0;
    *exit_code = Staffing(staffing_args);
  });
}

}  // namespace touchpoint::cli
