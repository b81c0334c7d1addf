// ml/logistic.h — L2-regularised logistic regression (liblinear's L2R_LR solver) on
// standardised features; missing values (NaN) are imputed with the training mean.
#pragma once

#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/ml/tabular.h>

namespace touchpoint::ml {

struct LogisticOptions {
  double c = 1.0;      // inverse regularisation strength, as liblinear / scikit-learn C
  double eps = 1e-4;   // solver stopping tolerance
};

// A trained binary logistic model. Immutable after construction; safe to share across threads.
class LogisticModel {
 public:
  // Builds a model from its parameters (e.g. read back from a file). Fails with
  // kInvalidArgument when the vectors differ in size or hold non-finite values.
  static Result<LogisticModel> FromParameters(std::vector<double> weights, double bias,
                                              std::vector<double> means,
                                              std::vector<double> scales);

  // Trains on x (rows × features, NaN = missing) and labels 0/1. Fails with kInvalidArgument
  // when sizes differ, there are no rows, or only one class is present.
  static Result<LogisticModel> Train(const DenseMatrix& x, const std::vector<int>& labels,
                                     LogisticOptions options = {});

  // Probability of class 1 for one row of `num_features()` values.
  double PredictProbability(const double* row) const;
  // Per-feature contribution to the log-odds: weight × standardised value (0 when missing).
  std::vector<double> Contributions(const double* row) const;

  size_t num_features() const { return weights_.size(); }
  const std::vector<double>& weights() const { return weights_; }  // on standardised features
  double bias() const { return bias_; }
  const std::vector<double>& means() const { return means_; }
  const std::vector<double>& scales() const { return scales_; }

 private:
  double Standardise(const double* row, size_t j) const;

  std::vector<double> weights_;
  double bias_ = 0;
  std::vector<double> means_;
  std::vector<double> scales_;
};

}  // namespace touchpoint::ml
