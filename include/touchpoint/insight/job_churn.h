// insight/job_churn.h — the `churn` job: a churn model trained on the customer features as of a
// cut-off (label: no purchase in the 90 days after it), cross-validated, then every live
// customer scored as of just after the newest event and tagged `churn_risk` (3 decimals) and
// `churn_as_of` (date). The two halves are separate so the CLI can save the model in between
// and score with a saved one. Thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/insight/churn.h>
#include <touchpoint/insight/jobs.h>

namespace touchpoint::insight {

inline constexpr Millis kChurnLabelWindow = 90 * kMillisPerDay;

struct ChurnJobParams {
  Millis cutoff = 0;  // 0 = the newest event's day (UTC) minus the label window
  ChurnModelKind model = ChurnModelKind::kLogistic;
  int folds = 5;      // cross-validation folds, >= 2
  std::uint64_t seed = 42;
};

// {"cutoff": "2026-08-02" (core ParseTimestamp forms), "model": "logistic" | "gbdt",
//  "folds": 5 (2..100), "seed": 42}
Result<ChurnJobParams> ParseChurnJobParams(std::string_view json);

struct ChurnTraining {
  ChurnModel model;
  ChurnEvaluation cv;
  Millis cutoff = 0;
  size_t training_customers = 0;
  size_t churned = 0;
  double train_seconds = 0;  // wall time of the final training
};

struct ChurnScoring {
  Millis as_of = 0;                 // newest event + 1 ms
  std::vector<ChurnScore> scores;   // one per live customer, ascending id (reasons when asked)
  double mean_risk = 0;
  size_t high_risk = 0;             // probability >= 0.5
};

struct ChurnJobResult {
  ChurnTraining training;
  ChurnScoring scoring;
  size_t tagged = 0;
  // {"model","cutoff","label","training_customers","churned","churn_rate","features","cv",
  //  "train_seconds","scored_as_of","scored","mean_churn_risk","churn_risk_at_least_0_5","tags"}
  std::string ToJson() const;
};

ActivityRequest ChurnActivityRequest();

// Trains on `activity`. kInvalidArgument: "SOURCE: no orders or messages ingested yet"; a
// cut-off without 90 days of data after it or with no customer before it, or after which all
// customers fall in one class (each naming the cutoff parameter); the model's own errors.
Result<ChurnTraining> TrainChurnJob(const ChurnJobParams& params, const Activity& activity,
                                    const JobContext& context);

// Scores every customer of `activity` as of newest event + 1 ms and writes the tags through
// `sink` (null: no tags). With `with_reasons` each score carries its reasons and the id column.
// kInvalidArgument "SOURCE: no customers"; the model's errors; the sink's errors unchanged.
Result<ChurnScoring> ScoreChurnJob(const ChurnModel& model, const Activity& activity, bool with_reasons,
                                   TagSink* sink, const JobContext& context);

// Train, then score and tag.
Result<ChurnJobResult> RunChurnJob(const ChurnJobParams& params, ActivitySource& source, TagSink& sink,
                                   const JobContext& context);

}  // namespace touchpoint::insight
