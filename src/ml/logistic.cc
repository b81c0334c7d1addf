#include <touchpoint/ml/logistic.h>

#include <cmath>
#include <string>

#include <touchpoint/ml/linear.h>

namespace touchpoint::ml {

Result<LogisticModel> LogisticModel::FromParameters(std::vector<double> weights, double bias,
                                                    std::vector<double> means,
                                                    std::vector<double> scales) {
  if (weights.size() != means.size() || weights.size() != scales.size()) {
    return Status::InvalidArgument("logistic model: weights, means and scales differ in size");
  }
  auto finite = [](const std::vector<double>& v) {
    for (double x : v) {
      if (!std::isfinite(x)) return false;
    }
    return true;
  };
  if (!finite(weights) || !finite(means) || !finite(scales) || !std::isfinite(bias)) {
    return Status::InvalidArgument("logistic model: non-finite parameter");
  }
  for (double s : scales) {
    if (s <= 0) return Status::InvalidArgument("logistic model: scale must be positive");
  }
  LogisticModel m;
  m.weights_ = std::move(weights);
  m.bias_ = bias;
  m.means_ = std::move(means);
  m.scales_ = std::move(scales);
  return m;
}

Result<LogisticModel> LogisticModel::Train(const DenseMatrix& x, const std::vector<int>& labels,
                                           LogisticOptions options) {
  if (x.rows != labels.size()) {
    return Status::InvalidArgument("logistic: " + std::to_string(x.rows) + " rows but " +
                                   std::to_string(labels.size()) + " labels");
  }
  if (x.rows == 0) return Status::InvalidArgument("logistic: no training rows");
  size_t positives = 0;
  for (int y : labels) positives += y == 1 ? 1 : 0;
  if (positives == 0 || positives == labels.size()) {
    return Status::InvalidArgument("logistic: the label has a single class");
  }
  const size_t d = x.cols;
  LogisticModel m;
  m.means_.assign(d, 0.0);
  m.scales_.assign(d, 1.0);
  for (size_t j = 0; j < d; ++j) {
    double sum = 0, sq = 0, n = 0;
    for (size_t r = 0; r < x.rows; ++r) {
      double v = x.At(r, j);
      if (std::isnan(v)) continue;
      sum += v;
      n += 1;
    }
    double mean = n > 0 ? sum / n : 0.0;
    for (size_t r = 0; r < x.rows; ++r) {
      double v = x.At(r, j);
      if (!std::isnan(v)) sq += (v - mean) * (v - mean);
    }
    double sd = n > 0 ? std::sqrt(sq / n) : 0.0;
    m.means_[j] = mean;
    m.scales_[j] = sd > 1e-12 ? sd : 1.0;
  }
  // Standardised rows; zeros (the mean, or missing) are left out of the sparse rows.
  LinearProblem problem(d);
  for (size_t r = 0; r < x.rows; ++r) {
    const double* row = x.Row(r);
    for (size_t j = 0; j < d; ++j) {
      double z = m.Standardise(row, j);
      if (z != 0.0) problem.Add(j, z);
    }
    problem.EndRow(labels[r] == 1 ? 1.0 : -1.0);
  }
  Result<LinearModel> trained = TrainLinear(
      problem, {.solver = LinearSolver::kL2LogisticRegression, .c = options.c, .eps = options.eps});
  if (!trained.ok()) return trained.status().WithContext("logistic");
  // Function 0 is for labels[0] (liblinear lists +1 first); negate it if that is class 0.
  const double sign = trained->labels[0] == 1 ? 1.0 : -1.0;
  m.weights_.assign(d, 0.0);
  for (size_t j = 0; j < d; ++j) m.weights_[j] = sign * trained->weight(0, j);
  m.bias_ = sign * trained->bias[0];
  return m;
}

double LogisticModel::Standardise(const double* row, size_t j) const {
  double v = row[j];
  if (std::isnan(v)) return 0.0;
  return (v - means_[j]) / scales_[j];
}

double LogisticModel::PredictProbability(const double* row) const {
  double z = bias_;
  for (size_t j = 0; j < weights_.size(); ++j) z += weights_[j] * Standardise(row, j);
  return 1.0 / (1.0 + std::exp(-z));
}

std::vector<double> LogisticModel::Contributions(const double* row) const {
  std::vector<double> out(weights_.size());
  for (size_t j = 0; j < weights_.size(); ++j) out[j] = weights_[j] * Standardise(row, j);
  return out;
}

}  // namespace touchpoint::ml
