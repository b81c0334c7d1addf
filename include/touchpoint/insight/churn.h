// insight/churn.h — churn prediction over a table of customers: one row per customer, a
// label column (yes/true/1/churn = churned) and any feature columns, whose types are
// inferred (ml/tabular.h). Models are logistic regression or gradient-boosted trees.
//
// The table is in memory (ml::RawTable) so the same code serves CSV files and the store.
// A ChurnModel is immutable after training/loading; Score() may be called from one thread
// at a time (the boosted-tree backend keeps caches).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/ml/gbdt.h>
#include <touchpoint/ml/logistic.h>
#include <touchpoint/ml/tabular.h>

namespace touchpoint::insight {

enum class ChurnModelKind { kLogistic, kGbdt };

// "logistic" | "gbdt"; kInvalidArgument otherwise.
Result<ChurnModelKind> ParseChurnModelKind(std::string_view name);
std::string_view ChurnModelKindName(ChurnModelKind kind);

struct ChurnTrainOptions {
  std::string label_column;
  std::string id_column;  // optional; never used as a feature
  ChurnModelKind kind = ChurnModelKind::kLogistic;
  ml::LogisticOptions logistic;
  ml::GbdtOptions gbdt;
};

// Parses the label column: yes/true/1/churn/churned/y/t → 1, no/false/0/stay/stayed/
// retained/active/n/f → 0 (case-insensitive). Fails with kInvalidArgument naming file, line
// and column for a blank or other value, and when only one class is present.
Result<std::vector<int>> ParseChurnLabels(const ml::RawTable& table, std::string_view column);

struct ChurnScore {
  std::string id;
  double probability = 0;
  std::vector<std::string> reasons;  // up to three "column=value" pushing the score up
};

class ChurnModel {
 public:
  ChurnModel(ChurnModel&&) noexcept;
  ChurnModel& operator=(ChurnModel&&) noexcept;
  ~ChurnModel();

  // Trains on every column except the label and id. Columns with no values, and text columns
  // whose values are all distinct (identifiers), are ignored; without `id_column` the first of them becomes the id. Fails with kInvalidArgument on bad labels, missing
  // columns or unparsable cells (naming file, line, column).
  static Result<ChurnModel> Train(const ml::RawTable& table, const ChurnTrainOptions& options);

  // Scores every row. The id is taken from `id_column` if given, else the training id column
  // if the table has it, else the 1-based row number. Fails with kInvalidArgument when a
  // feature column of training is missing or a cell cannot be parsed.
  Result<std::vector<ChurnScore>> Score(const ml::RawTable& table,
                                        std::string_view id_column = {}) const;
  // Probabilities only (no reasons), in row order.
  Result<std::vector<double>> PredictProbabilities(const ml::RawTable& table) const;

  // A versioned text file: a header line "touchpoint-churn-model 1 <bytes> <fnv1a64>" and a
  // JSON body (kind, columns and their encodings, parameters).
  Result<std::string> Serialize() const;
  // Fails with kInvalidArgument naming `source` when the bytes are not a churn model, of an
  // unsupported version, truncated or corrupted.
  static Result<ChurnModel> Deserialize(std::string_view bytes, std::string_view source);
  // File wrappers: kNotFound when the file cannot be read, kFailedPrecondition when it cannot
  // be written.
  Status SaveToFile(const std::string& path) const;
  static Result<ChurnModel> LoadFromFile(const std::string& path);

  ChurnModelKind kind() const { return kind_; }
  const std::string& label_column() const { return label_column_; }
  const std::string& id_column() const { return id_column_; }
  const ml::TabularSchema& schema() const { return schema_; }
  const std::vector<std::string>& ignored_columns() const { return ignored_; }

 private:
  ChurnModel() = default;
  // Row-major per-row, per-feature log-odds contributions.
  Result<std::vector<double>> FeatureContributions(const ml::DenseMatrix& x) const;

  ChurnModelKind kind_ = ChurnModelKind::kLogistic;
  std::string label_column_;
  std::string id_column_;
  std::vector<std::string> ignored_;
  ml::TabularSchema schema_;
  std::optional<ml::LogisticModel> logistic_;
  std::unique_ptr<ml::GbdtModel> gbdt_;
};

struct ChurnFoldMetrics {
  double roc_auc = 0;
  double pr_auc = 0;
  double log_loss = 0;
};

struct ChurnEvaluation {
  ChurnModelKind kind = ChurnModelKind::kLogistic;
  size_t rows = 0;
  size_t positives = 0;
  int folds = 0;
  std::vector<ChurnFoldMetrics> per_fold;
  ChurnFoldMetrics mean;
  double seconds_per_fit = 0;  // mean wall time of one training
};

// Stratified k-fold cross-validation (ml::StratifiedFolds with `seed`); the schema is inferred
// on each training part only. Fails with kInvalidArgument for bad labels, k < 2 or a class
// with fewer rows than folds.
Result<ChurnEvaluation> EvaluateChurn(const ml::RawTable& table, const ChurnTrainOptions& options,
                                      int folds, std::uint64_t seed = 42);

// {"model":"logistic","rows":…,"positives":…,"folds":5,"roc_auc":…,"pr_auc":…,"log_loss":…,
//  "per_fold":[{…}],"seconds_per_fit":…}
std::string ChurnEvaluationJson(const ChurnEvaluation& evaluation);

}  // namespace touchpoint::insight
