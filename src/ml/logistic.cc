#include <touchpoint/ml/logistic.h>

#include <cmath>
#include <string>

#include <linear.h>

namespace touchpoint::ml {
namespace {

void Silent(const char*) {}

}  // namespace

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
  // Sparse rows for liblinear: 1-based indices, a bias node, then the -1 terminator.
  std::vector<feature_node> nodes;
  nodes.reserve(x.rows * (d + 2));
  std::vector<size_t> starts(x.rows);
  for (size_t r = 0; r < x.rows; ++r) {
    starts[r] = nodes.size();
    const double* row = x.Row(r);
    for (size_t j = 0; j < d; ++j) {
      double z = m.Standardise(row, j);
      if (z != 0.0) nodes.push_back({static_cast<int>(j + 1), z});
    }
    nodes.push_back({static_cast<int>(d + 1), 1.0});
    nodes.push_back({-1, 0.0});
  }
  std::vector<feature_node*> rows(x.rows);
  std::vector<double> y(x.rows);
  for (size_t r = 0; r < x.rows; ++r) {
    rows[r] = &nodes[starts[r]];
    y[r] = labels[r] == 1 ? 1.0 : -1.0;
  }
  problem prob{};
  prob.l = static_cast<int>(x.rows);
  prob.n = static_cast<int>(d + 1);
  prob.y = y.data();
  prob.x = rows.data();
  prob.bias = 1.0;
  parameter param{};
  param.solver_type = L2R_LR;
  param.eps = options.eps;
  param.C = options.c;
  param.nr_weight = 0;
  param.weight_label = nullptr;
  param.weight = nullptr;
  param.p = 0.1;
  param.init_sol = nullptr;
  if (const char* err = check_parameter(&prob, &param)) {
    return Status::InvalidArgument(std::string("logistic: ") + err);
  }
  set_print_string_function(&Silent);
  model* trained = train(&prob, &param);
  if (trained == nullptr) return Status::Internal("logistic: liblinear failed to train");
  int first_label = trained->label[0];
  double sign = first_label == 1 ? 1.0 : -1.0;
  m.weights_.assign(d, 0.0);
  for (size_t j = 0; j < d; ++j) {
    m.weights_[j] = sign * get_decfun_coef(trained, static_cast<int>(j + 1), 0);
  }
  m.bias_ = sign * get_decfun_bias(trained, 0);
  free_and_destroy_model(&trained);
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
