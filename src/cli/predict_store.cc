#include "cli/predict_store.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <touchpoint/insight/churn.h>
#include <touchpoint/insight/customer_features.h>
#include <touchpoint/insight/forecast_job.h>

#include "cli/analytics_store.h"
#include "cli/cli_util.h"
#include "cli/data_access.h"
#include "cli/engine_options.h"

namespace touchpoint::cli {
namespace {

using Tags = std::vector<std::pair<CustomerId, std::vector<std::pair<std::string, std::string>>>>;
constexpr Millis kLabelWindow = 90 * kMillisPerDay;

Millis FloorDay(Millis t) { return (t >= 0 ? t / kMillisPerDay : (t - kMillisPerDay + 1) / kMillisPerDay) * kMillisPerDay; }

// Every customer's features as of the newest event, with the model's probability; tags written.
Status ScoreAndTag(pipeline::Engine& engine, const StoreActivity& activity, const insight::ChurnModel& model,
                   const std::string& source, bool with_reasons, std::vector<insight::ChurnScore>* scores,
                   Millis* as_of) {
  *as_of = activity.newest_event + 1;
  const insight::CustomerFeatureTable now = insight::BuildCustomerFeatures(activity.orders, activity.messages, *as_of, activity.seen);
  if (now.customers.empty()) return Status::InvalidArgument(source + ": no customers");
  const ml::RawTable table = insight::CustomerFeatureRawTable(now, nullptr, source);
  if (with_reasons) {
    TP_ASSIGN_OR_RETURN(*scores, model.Score(table, insight::kCustomerIdColumn));
  } else {
    TP_ASSIGN_OR_RETURN(std::vector<double> p, model.PredictProbabilities(table));
    scores->resize(p.size());
    for (size_t i = 0; i < p.size(); ++i) {
      (*scores)[i].id = std::to_string(now.customers[i]);
      (*scores)[i].probability = p[i];
    }
  }
  Tags tags;
  tags.reserve(now.customers.size());
  const std::string as_of_date = nlohmann::json(FormatDate(*as_of)).dump();
  for (size_t i = 0; i < now.customers.size(); ++i) {
    const double risk = std::round((*scores)[i].probability * 1000) / 1000;
    tags.emplace_back(CustomerId(now.customers[i]),
                      std::vector<std::pair<std::string, std::string>>{{"churn_risk", nlohmann::json(risk).dump()},
                                                                       {"churn_as_of", as_of_date}});
  }
  return engine.SetTags(tags);
}

}  // namespace

int RunChurnTrainOverStore(const ChurnStoreArgs& a) {
  const auto start = std::chrono::steady_clock::now();
  insight::ChurnTrainOptions options;
  options.label_column = std::string(insight::kChurnedColumn);
  options.id_column = std::string(insight::kCustomerIdColumn);
  auto kind = insight::ParseChurnModelKind(a.model);
  if (!kind.ok()) return FailFile(kind.status());
  options.kind = *kind;

  auto dir = OpenForWriting(a.data_dir, MakeEngineOptions(5, false), "touchpoint churn train");
  if (!dir.ok()) return Fail(Status::Unavailable(dir.status().message()));
  pipeline::Engine& engine = *(*dir)->engine;
  auto activity = LoadActivity(engine, false, true);
  if (!activity.ok()) return Fail(activity.status());
  if (activity->orders.empty() && activity->messages.empty()) {
    return FailFile(Status::InvalidArgument(a.data_dir + ": no orders or messages ingested yet"));
  }
  const Millis data_end = activity->newest_event + 1;
  const Millis cutoff = a.cutoff != 0 ? a.cutoff : FloorDay(data_end - kLabelWindow);
  if (cutoff + kLabelWindow > data_end) {
    return FailFile(Status::InvalidArgument(
        "--cutoff " + FormatDate(cutoff) + ": the label needs 90 days of data after the cut-off, but the newest event is " +
        FormatTimestamp(activity->newest_event) + " (latest usable cut-off " + FormatDate(FloorDay(data_end - kLabelWindow)) +
        ")"));
  }
  const insight::CustomerFeatureTable train = insight::BuildCustomerFeatures(activity->orders, activity->messages, cutoff, activity->seen);
  if (train.customers.empty()) {
    return FailFile(Status::InvalidArgument("--cutoff " + FormatDate(cutoff) + ": no customer has any activity before it"));
  }
  const std::vector<int> labels = insight::NoPurchaseLabels(train.customers, activity->orders, cutoff, kLabelWindow);
  const auto churned = static_cast<size_t>(std::count(labels.begin(), labels.end(), 1));
  if (churned == 0 || churned == labels.size()) {
    return FailFile(Status::InvalidArgument(
        "--cutoff " + FormatDate(cutoff) + ": all " + std::to_string(labels.size()) + " customers " +
        (churned == 0 ? "purchased" : "made no purchase") +
        " in the 90 days after the cut-off; a churn model needs both classes (try another cut-off)"));
  }
  const std::string source = a.data_dir + " (features as of " + FormatDate(cutoff) + ")";
  const ml::RawTable table = insight::CustomerFeatureRawTable(train, &labels, source);
  auto ev = insight::EvaluateChurn(table, options, a.folds, a.seed);
  if (!ev.ok()) return FailFile(ev.status());
  const auto train_start = std::chrono::steady_clock::now();
  auto model = insight::ChurnModel::Train(table, options);
  if (!model.ok()) return FailFile(model.status());
  const double train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - train_start).count();
  if (!a.model_out.empty()) {
    Status saved = model->SaveToFile(a.model_out);
    if (!saved.ok()) return FailFile(saved);
  }
  std::vector<insight::ChurnScore> scores;
  Millis as_of = 0;
  Status s = ScoreAndTag(engine, *activity, *model, a.data_dir, false, &scores, &as_of);
  if (!s.ok()) return FailFile(s);
  double mean = 0;
  size_t high = 0;
  for (const auto& sc : scores) {
    mean += sc.probability;
    high += sc.probability >= 0.5 ? 1 : 0;
  }
  mean /= static_cast<double>(scores.size());
  nlohmann::ordered_json j;
  j["data"] = a.data_dir;
  j["model"] = std::string(insight::ChurnModelKindName(model->kind()));
  j["cutoff"] = FormatDate(cutoff);
  j["label"] = "no purchase in [cutoff, cutoff + 90 days)";
  j["training_customers"] = labels.size();
  j["churned"] = churned;
  j["churn_rate"] = static_cast<double>(churned) / static_cast<double>(labels.size());
  j["features"] = insight::CustomerFeatureNames();
  j["cv"] = nlohmann::json::parse(insight::ChurnEvaluationJson(*ev));
  j["train_seconds"] = train_seconds;
  if (!a.model_out.empty()) j["out"] = a.model_out;
  j["scored_as_of"] = FormatTimestamp(as_of);
  j["scored"] = scores.size();
  j["mean_churn_risk"] = mean;
  j["churn_risk_at_least_0_5"] = high;
  j["tags"] = {"churn_risk", "churn_as_of"};
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
  auto activity = LoadActivity(engine, false, true);
  if (!activity.ok()) return Fail(activity.status());
  std::vector<insight::ChurnScore> scores;
  Millis as_of = 0;
  Status s = ScoreAndTag(engine, *activity, *model, a.data_dir, true, &scores, &as_of);
  if (!s.ok()) return FailFile(s);
  std::string out = "id,probability,reasons\n";
  char prob[32];
  for (const auto& sc : scores) {
    std::snprintf(prob, sizeof(prob), "%.6f", sc.probability);
    std::string reasons;
    for (size_t i = 0; i < sc.reasons.size(); ++i) reasons += (i ? "; " : "") + sc.reasons[i];
    out += sc.id + "," + prob + ",";
    out += reasons.find_first_of(",\"") == std::string::npos ? reasons : "\"" + reasons + "\"";
    out += "\n";
  }
  s = WriteTextOutput(out, "");
  if (!s.ok()) return FailFile(s);
  nlohmann::ordered_json j = {{"scored", scores.size()}, {"as_of", FormatTimestamp(as_of)}, {"tags", {"churn_risk", "churn_as_of"}}};
  std::cerr << j.dump() << "\n";
  return kExitOk;
}

namespace {

Result<insight::ForecastReport> ForecastContacts(const ContactForecastArgs& a, const char* purpose, size_t* points) {
  TP_RETURN_IF_ERROR(RequireDataDir(a.data_dir));
  auto dir = OpenForWriting(a.data_dir, MakeEngineOptions(5, false), purpose);
  if (!dir.ok()) return Status::Unavailable(dir.status().message());
  TP_ASSIGN_OR_RETURN(StoreActivity activity, LoadActivity(*(*dir)->engine, false, true));
  const std::vector<insight::SeriesPoint> series = insight::HourlyContactVolume(activity.messages, a.since);
  *points = series.size();
  if (series.empty()) return Status::InvalidArgument(a.data_dir + ": no customer messages ingested" + (a.since ? " since --since" : ""));
  insight::ForecastRequest request;
  request.season = a.season;
  request.horizon = a.horizon;
  auto report = insight::RunForecast(series, request);
  if (!report.ok()) {
    return Status::InvalidArgument(a.data_dir + ": hourly contact volume (" + std::to_string(series.size()) +
                                   " hours): " + report.status().message());
  }
  return report;
}

}  // namespace

int RunForecastOverStore(const ContactForecastArgs& a) {
  size_t points = 0;
  auto report = ForecastContacts(a, "touchpoint forecast", &points);
  if (!report.ok()) return FailFile(report.status());
  const std::string csv = insight::ForecastCsv(*report);
  nlohmann::ordered_json summary = nlohmann::ordered_json::parse(insight::ForecastSummaryJson(*report));
  summary["series"] = "contacts per hour (messages from customers)";
  summary["hours"] = points;
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
  size_t points = 0;
  auto report = ForecastContacts(a, "touchpoint staffing", &points);
  if (!report.ok()) return FailFile(report.status());
  auto table = ml::ParseCsvTable(insight::ForecastCsv(*report), a.data_dir + " (contact forecast)");
  if (!table.ok()) return FailFile(table.status());
  auto plans = insight::PlanStaffingForForecast(*table, request);
  if (!plans.ok()) return FailFile(plans.status());
  std::string out;
  for (const auto& h : *plans) out += insight::StaffingPlanJson(h.plan, h.time) + "\n";
  Status s = WriteTextOutput(out, a.out);
  if (!s.ok()) return FailFile(s);
  std::cerr << insight::ForecastSummaryJson(*report) << "\n";
  return kExitOk;
}

}  // namespace touchpoint::cli
