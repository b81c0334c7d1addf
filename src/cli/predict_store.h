// cli/predict_store.h — churn, forecast and staffing over the ingested store (docs/predict.md).
#pragma once

#include <cstdint>
#include <string>

#include <touchpoint/core/time.h>
#include <touchpoint/insight/staffing.h>

namespace touchpoint::cli {

struct ChurnStoreArgs {
  std::string data_dir;
  Millis cutoff = 0;   // 0 = the newest event's day minus the label window
  std::string model = "logistic";
  int folds = 5;       // cross-validation folds (>= 2)
  std::uint64_t seed = 42;
  std::string model_out;  // optional: save the trained model here
  std::string model_in;   // score: the model to apply
};

// Trains on features as of the cut-off (label: no purchase in the 90 days after it), reports
// cross-validated metrics, scores every customer as of the newest event and writes `churn_risk`
// onto the profiles. Prints a JSON summary. Returns the exit code.
int RunChurnTrainOverStore(const ChurnStoreArgs& args);
// Scores every customer as of the newest event with a model trained over the store, writes
// `churn_risk` and prints CSV id,probability,reasons.
int RunChurnScoreOverStore(const ChurnStoreArgs& args);

struct ContactForecastArgs {
  std::string data_dir;
  size_t season = 168;
  size_t horizon = 24;
  Millis since = 0;  // only contacts at or after this (0 = all)
  std::string out;
};
// Forecast of hourly contact volume; the same CSV and summary as `forecast --series`.
int RunForecastOverStore(const ContactForecastArgs& args);
// The forecast above turned into one Erlang C plan per hour (JSON lines with "time" first).
int RunStaffingOverStore(const ContactForecastArgs& args, const insight::StaffingRequest& request);

}  // namespace touchpoint::cli
