#include "cli/predict_store.h"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <touchpoint/core/csv.h>
#include <touchpoint/insight/customer_features.h>
#include <touchpoint/insight/job_churn.h>
#include <touchpoint/insight/job_contacts.h>

#include "cli/analytics_store.h"
#include "cli/cli_util.h"
#include "cli/data_access.h"
#include "cli/engine_options.h"

namespace touchpoint::cli {

int RunChurnTrainOverStore(const ChurnStoreArgs& a) {
  const auto start = std::chrono::steady_clock::now();
  insight::ChurnJobParams params;
  auto kind = insight::ParseChurnModelKind(a.model);
  if (!kind.ok()) return FailFile(kind.status());
  params.model = *kind;
  params.cutoff = a.cutoff;
  params.folds = a.folds;
  params.seed = a.seed;

  auto dir = OpenForWriting(a.data_dir, MakeEngineOptions(5, false), "touchpoint churn train");
  if (!dir.ok()) return Fail(Status::Unavailable(dir.status().message()));
  pipeline::Engine& engine = *(*dir)->engine;
  auto activity = EngineActivitySource(engine).Load(insight::ChurnActivityRequest());
  if (!activity.ok()) return Fail(activity.status());
  const insight::JobContext context = CliJobContext(a.data_dir);
  auto training = insight::TrainChurnJob(params, *activity, context);
  if (!training.ok()) return FailFile(training.status());
  if (!a.model_out.empty()) {
    Status saved = training->model.SaveToFile(a.model_out);
    if (!saved.ok()) return FailFile(saved);
  }
  EngineTagSink sink(engine);
  auto scoring = insight::ScoreChurnJob(training->model, *activity, false, &sink, context);
  if (!scoring.ok()) return FailFile(scoring.status());
  const size_t tagged = scoring->scores.size();
  const insight::ChurnJobResult result{.training = std::move(*training), .scoring = std::move(*scoring), .tagged = tagged};
  nlohmann::ordered_json j;
  j["data"] = a.data_dir;
  nlohmann::ordered_json fields = nlohmann::ordered_json::parse(result.ToJson());
  for (auto it = fields.begin(); it != fields.end(); ++it) {
    j[it.key()] = std::move(it.value());
    if (it.key() == "train_seconds" && !a.model_out.empty()) j["out"] = a.model_out;
  }
  j["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << j.dump() << "\n";
  return kExitOk;
}

int RunChurnScoreOverStore(const ChurnStoreArgs& a) {
  auto model = insight::ChurnModel::LoadFromFile(a.model_in);
  if (!model.ok()) return FailFile(model.status());
  const auto& names = insight::CustomerFeatureNames();
  for (const auto& c : model->schema().columns) {
    if (std::find(names.begin(), names.end(), c.name) == names.end()) {
      return FailFile(Status::InvalidArgument(a.model_in + ": feature '" + c.name +
                                              "' is not a store feature; score this model on a CSV file "
                                              "(the model was not trained with `churn train --data DIR`)"));
    }
  }
  auto dir = OpenForWriting(a.data_dir, MakeEngineOptions(5, false), "touchpoint churn score");
  if (!dir.ok()) return Fail(Status::Unavailable(dir.status().message()));
  pipeline::Engine& engine = *(*dir)->engine;
  auto activity = EngineActivitySource(engine).Load(insight::ChurnActivityRequest());
  if (!activity.ok()) return Fail(activity.status());
  EngineTagSink sink(engine);
  auto scoring = insight::ScoreChurnJob(*model, *activity, true, &sink, CliJobContext(a.data_dir));
  if (!scoring.ok()) return FailFile(scoring.status());
  std::string out = "id,probability,reasons\n";
  char prob[32];
  for (const auto& sc : scoring->scores) {
    std::snprintf(prob, sizeof(prob), "%.6f", sc.probability);
    std::string reasons;
    for (size_t i = 0; i < sc.reasons.size(); ++i) reasons += (i ? "; " : "") + sc.reasons[i];
    out += CsvField(sc.id) + "," + prob + "," + CsvField(reasons) + "\n";
  }
  Status s = WriteTextOutput(out, "");
  if (!s.ok()) return FailFile(s);
  nlohmann::ordered_json j = {
      {"scored", scoring->scores.size()}, {"as_of", FormatTimestamp(scoring->as_of)}, {"tags", {"churn_risk", "churn_as_of"}}};
  std::cerr << j.dump() << "\n";
  return kExitOk;
}

namespace {

insight::ContactForecastParams ForecastParams(const ContactForecastArgs& a) {
  insight::ContactForecastParams p;
  p.season = a.season;
  p.horizon = a.horizon;
  p.since = a.since;
  return p;
}

// The messages of the store (the data directory must exist: no empty one is created).
Result<insight::Activity> LoadContacts(const ContactForecastArgs& a, const char* purpose,
                                       std::unique_ptr<OpenedEngine>* dir) {
  TP_RETURN_IF_ERROR(RequireDataDir(a.data_dir));
  auto opened = OpenForWriting(a.data_dir, MakeEngineOptions(5, false), purpose);
  if (!opened.ok()) return Status::Unavailable(opened.status().message());
  *dir = std::move(*opened);
  return EngineActivitySource(*(*dir)->engine).Load(insight::ContactActivityRequest());
}

}  // namespace

int RunForecastOverStore(const ContactForecastArgs& a) {
  std::unique_ptr<OpenedEngine> dir;
  auto activity = LoadContacts(a, "touchpoint forecast", &dir);
  if (!activity.ok()) return FailFile(activity.status());
  auto result = insight::RunForecastJob(ForecastParams(a), *activity, CliJobContext(a.data_dir));
  dir.reset();
  if (!result.ok()) return FailFile(result.status());
  const std::string csv = insight::ForecastCsv(result->report);
  nlohmann::ordered_json summary = nlohmann::ordered_json::parse(insight::ForecastSummaryJson(result->report));
  summary["series"] = "contacts per hour (messages from customers)";
  summary["hours"] = result->hours;
  if (a.out.empty() || a.out == "-") {
    std::cout << csv;
    std::cerr << summary.dump() << "\n";
    return kExitOk;
  }
  Status s = WriteTextOutput(csv, a.out);
  if (!s.ok()) return FailFile(s);
  std::cout << summary.dump() << "\n";
  return kExitOk;
}

int RunStaffingOverStore(const ContactForecastArgs& a, const insight::StaffingRequest& request) {
  Status valid = insight::ValidateStaffingRequest(request);
  if (!valid.ok()) return FailFile(valid);
  std::unique_ptr<OpenedEngine> dir;
  auto activity = LoadContacts(a, "touchpoint staffing", &dir);
  if (!activity.ok()) return FailFile(activity.status());
  auto result = insight::RunStaffingJob({.forecast = ForecastParams(a), .request = request}, *activity,
                                        CliJobContext(a.data_dir));
  dir.reset();
  if (!result.ok()) return FailFile(result.status());
  std::string out;
  for (const auto& h : result->plans) out += insight::StaffingPlanJson(h.plan, h.time) + "\n";
  Status s = WriteTextOutput(out, a.out);
  if (!s.ok()) return FailFile(s);
  std::cerr << insight::ForecastSummaryJson(result->forecast.report) << "\n";
  return kExitOk;
}

}  // namespace touchpoint::cli
