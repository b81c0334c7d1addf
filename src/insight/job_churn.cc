#include <touchpoint/insight/job_churn.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include <nlohmann/json.hpp>
#include <touchpoint/insight/customer_features.h>

#include "insight/job_params_internal.h"

namespace touchpoint::insight {
namespace {

Millis FloorDay(Millis t) { return (t >= 0 ? t / kMillisPerDay : (t - kMillisPerDay + 1) / kMillisPerDay) * kMillisPerDay; }

// Names the data in the messages of the tabular layer ("DIR (features as of 2026-08-02)").
std::string TableSource(const JobContext& context) { return context.source.empty() ? "store" : context.source; }

}  // namespace

Result<ChurnJobParams> ParseChurnJobParams(std::string_view json) {
  TP_ASSIGN_OR_RETURN(internal::ParamReader r, internal::ParamReader::Parse(json));
  ChurnJobParams p;
  r.Time("cutoff", [](std::string_view t) { return ParseTimestamp(t); }, &p.cutoff);
  std::string model(ChurnModelKindName(p.model));
  r.String("model", &model);
  r.Int("folds", 2, 100, &p.folds);
  r.Int("seed", 0, std::numeric_limits<std::int64_t>::max(), &p.seed);
  TP_RETURN_IF_ERROR(r.Finish());
  auto kind = ParseChurnModelKind(model);
  if (!kind.ok()) return Status::InvalidArgument("model: " + kind.status().message());
  p.model = *kind;
  return p;
}

ActivityRequest ChurnActivityRequest() {
  return {.orders = true, .order_ids = false, .items = false, .messages = true, .seen = true};
}

Result<ChurnTraining> TrainChurnJob(const ChurnJobParams& params, const Activity& activity,
                                    const JobContext& context) {
  TP_RETURN_IF_ERROR(context.CheckCancelled());
  context.Report("training");
  ChurnTrainOptions options;
  options.label_column = std::string(kChurnedColumn);
  options.id_column = std::string(kCustomerIdColumn);
  options.kind = params.model;
  if (activity.orders.empty() && activity.messages.empty()) {
    return Status::InvalidArgument(context.Where() + "no orders or messages ingested yet");
  }
  const std::string flag = context.Param("cutoff");
  const Millis data_end = activity.newest_event + 1;
  const Millis latest = FloorDay(data_end - kChurnLabelWindow);
  const Millis cutoff = params.cutoff != 0 ? params.cutoff : latest;
  if (cutoff + kChurnLabelWindow > data_end) {
    return Status::InvalidArgument(flag + " " + FormatDate(cutoff) +
                                   ": the label needs 90 days of data after the cut-off, but the newest event is " +
                                   FormatTimestamp(activity.newest_event) + " (latest usable cut-off " +
                                   FormatDate(latest) + ")");
  }
  const CustomerFeatureTable train = BuildCustomerFeatures(activity.orders, activity.messages, cutoff, activity.seen);
  if (train.customers.empty()) {
    return Status::InvalidArgument(flag + " " + FormatDate(cutoff) + ": no customer has any activity before it");
  }
  const std::vector<int> labels = NoPurchaseLabels(train.customers, activity.orders, cutoff, kChurnLabelWindow);
  const auto churned = static_cast<size_t>(std::count(labels.begin(), labels.end(), 1));
  if (churned == 0 || churned == labels.size()) {
    return Status::InvalidArgument(flag + " " + FormatDate(cutoff) + ": all " + std::to_string(labels.size()) +
                                   " customers " + (churned == 0 ? "purchased" : "made no purchase") +
                                   " in the 90 days after the cut-off; a churn model needs both classes (try "
                                   "another cut-off)");
  }
  const ml::RawTable table =
      CustomerFeatureRawTable(train, &labels, TableSource(context) + " (features as of " + FormatDate(cutoff) + ")");
  TP_ASSIGN_OR_RETURN(ChurnEvaluation cv, EvaluateChurn(table, options, params.folds, params.seed));
  TP_RETURN_IF_ERROR(context.CheckCancelled());
  const auto start = std::chrono::steady_clock::now();
  TP_ASSIGN_OR_RETURN(ChurnModel model, ChurnModel::Train(table, options));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return ChurnTraining{.model = std::move(model),
                       .cv = std::move(cv),
                       .cutoff = cutoff,
                       .training_customers = labels.size(),
                       .churned = churned,
                       .train_seconds = seconds};
}

Result<ChurnScoring> ScoreChurnJob(const ChurnModel& model, const Activity& activity, bool with_reasons,
                                   TagSink* sink, const JobContext& context) {
  TP_RETURN_IF_ERROR(context.CheckCancelled());
  context.Report("scoring");
  ChurnScoring scoring;
  scoring.as_of = activity.newest_event + 1;
  const CustomerFeatureTable now =
      BuildCustomerFeatures(activity.orders, activity.messages, scoring.as_of, activity.seen);
  if (now.customers.empty()) return Status::InvalidArgument(context.Where() + "no customers");
  const ml::RawTable table = CustomerFeatureRawTable(now, nullptr, TableSource(context));
  if (with_reasons) {
    TP_ASSIGN_OR_RETURN(scoring.scores, model.Score(table, kCustomerIdColumn));
  } else {
    TP_ASSIGN_OR_RETURN(std::vector<double> p, model.PredictProbabilities(table));
    scoring.scores.resize(p.size());
    for (size_t i = 0; i < p.size(); ++i) {
      scoring.scores[i].id = std::to_string(now.customers[i]);
      scoring.scores[i].probability = p[i];
    }
  }
  for (const auto& s : scoring.scores) {
    scoring.mean_risk += s.probability;
    scoring.high_risk += s.probability >= 0.5 ? 1 : 0;
  }
  scoring.mean_risk /= static_cast<double>(scoring.scores.size());
  if (sink == nullptr) return scoring;
  TP_RETURN_IF_ERROR(context.CheckCancelled());
  CustomerTags tags;
  tags.reserve(now.customers.size());
  const std::string as_of_date = nlohmann::json(FormatDate(scoring.as_of)).dump();
  for (size_t i = 0; i < now.customers.size(); ++i) {
    const double risk = std::round(scoring.scores[i].probability * 1000) / 1000;
    tags.emplace_back(CustomerId(now.customers[i]),
                      std::vector<std::pair<std::string, std::string>>{{"churn_risk", nlohmann::json(risk).dump()},
                                                                       {"churn_as_of", as_of_date}});
  }
  context.Report("writing tags");
  TP_RETURN_IF_ERROR(sink->Write(tags));
  return scoring;
}

Result<ChurnJobResult> RunChurnJob(const ChurnJobParams& params, ActivitySource& source, TagSink& sink,
                                   const JobContext& context) {
  context.Report("loading");
  TP_ASSIGN_OR_RETURN(Activity activity, source.Load(ChurnActivityRequest()));
  TP_ASSIGN_OR_RETURN(ChurnTraining training, TrainChurnJob(params, activity, context));
  TP_ASSIGN_OR_RETURN(ChurnScoring scoring, ScoreChurnJob(training.model, activity, false, &sink, context));
  const size_t tagged = scoring.scores.size();
  return ChurnJobResult{.training = std::move(training), .scoring = std::move(scoring), .tagged = tagged};
}

std::string ChurnJobResult::ToJson() const {
  nlohmann::ordered_json j;
  j["model"] = std::string(ChurnModelKindName(training.model.kind()));
  j["cutoff"] = FormatDate(training.cutoff);
  j["label"] = "no purchase in [cutoff, cutoff + 90 days)";
  j["training_customers"] = training.training_customers;
  j["churned"] = training.churned;
  j["churn_rate"] = static_cast<double>(training.churned) / static_cast<double>(training.training_customers);
  j["features"] = CustomerFeatureNames();
  j["cv"] = nlohmann::json::parse(ChurnEvaluationJson(training.cv));  // keys sorted, as the CLI has printed them
  j["train_seconds"] = training.train_seconds;
  j["scored_as_of"] = FormatTimestamp(scoring.as_of);
  j["scored"] = scoring.scores.size();
  j["mean_churn_risk"] = scoring.mean_risk;
  j["churn_risk_at_least_0_5"] = scoring.high_risk;
  j["tags"] = {"churn_risk", "churn_as_of"};
  return j.dump();
}

}  // namespace touchpoint::insight
