#include <touchpoint/ml/regression.h>

#include <algorithm>
#include <cmath>

#include <Eigen/Dense>

namespace touchpoint::ml {

Result<StandardizedFit> StandardizedRegression(const Matrix& x, std::span<const double> y) {
  const size_t n = x.rows, p = x.cols;
  if (y.size() != n) return Status::InvalidArgument("predictor and target sizes differ");
  if (p == 0) return Status::InvalidArgument("no predictors");
  if (n <= p + 1) {
    return Status::InvalidArgument("need more rows (" + std::to_string(n) + ") than predictors + 1 (" +
                                   std::to_string(p + 1) + ")");
  }
  const double dn = static_cast<double>(n);
  Eigen::MatrixXd z(n, p);
  for (size_t c = 0; c < p; ++c) {
    double mean = 0;
    for (size_t i = 0; i < n; ++i) mean += x.at(i, c);
    mean /= dn;
    double ss = 0;
    for (size_t i = 0; i < n; ++i) ss += (x.at(i, c) - mean) * (x.at(i, c) - mean);
    const double sd = std::sqrt(ss / dn);
    if (!(sd > 1e-12 * (1 + std::fabs(mean)))) {
      return Status::InvalidArgument("predictor " + std::to_string(c) + " is constant");
    }
    for (size_t i = 0; i < n; ++i) {
      z(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(c)) = (x.at(i, c) - mean) / sd;
    }
  }
  const double ymean = Mean(y);
  const double ysd = StdDev(y, false);
  if (!(ysd > 1e-12 * (1 + std::fabs(ymean)))) return Status::InvalidArgument("target is constant");
  Eigen::VectorXd yz(n);
  for (size_t i = 0; i < n; ++i) yz(static_cast<Eigen::Index>(i)) = (y[i] - ymean) / ysd;

  const Eigen::MatrixXd rxx = (z.transpose() * z) / dn;
  const Eigen::VectorXd rxy = (z.transpose() * yz) / dn;
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(rxx);
  const Eigen::VectorXd lambda = eig.eigenvalues();
  if (lambda.minCoeff() < 1e-10 * std::max(1.0, lambda.maxCoeff())) {
    return Status::InvalidArgument("predictors are perfectly collinear");
  }
  const Eigen::MatrixXd& v = eig.eigenvectors();
  const Eigen::MatrixXd rxx_inv = v * lambda.cwiseInverse().asDiagonal() * v.transpose();
  const Eigen::VectorXd beta = rxx_inv * rxy;
  const double r2 = std::clamp(beta.dot(rxy), 0.0, 1.0);
  // Johnson's relative weights: Λ = Rxx^{1/2}; β* = Λ^{-1} rxy; raw_j = Σ_k Λ_jk² β*_k².
  const Eigen::MatrixXd half = v * lambda.cwiseSqrt().asDiagonal() * v.transpose();
  const Eigen::MatrixXd half_inv = v * lambda.cwiseSqrt().cwiseInverse().asDiagonal() * v.transpose();
  const Eigen::VectorXd beta_star = half_inv * rxy;
  const Eigen::VectorXd raw = half.cwiseAbs2() * beta_star.cwiseAbs2();

  StandardizedFit fit;
  fit.n = static_cast<std::int64_t>(n);
  fit.r2 = r2;
  const double resid = std::max(0.0, 1.0 - r2) / static_cast<double>(n - p - 1);
  double raw_sum = 0;
  for (size_t c = 0; c < p; ++c) raw_sum += raw(static_cast<Eigen::Index>(c));
  for (size_t c = 0; c < p; ++c) {
    const auto k = static_cast<Eigen::Index>(c);
    fit.beta.push_back(beta(k));
    fit.beta_se.push_back(std::sqrt(resid * rxx_inv(k, k)));
    fit.raw_weight.push_back(raw(k));
    fit.share.push_back(raw_sum > 0 ? raw(k) / raw_sum : 0.0);
  }
  return fit;
}

Result<RelativeImportanceResult> RelativeImportance(const Matrix& x, std::span<const double> y,
                                                    const ImportanceOptions& options) {
  RelativeImportanceResult out;
  TP_ASSIGN_OR_RETURN(out.fit, StandardizedRegression(x, y));
  const size_t n = x.rows, p = x.cols;
  out.share_low = out.fit.share;
  out.share_high = out.fit.share;
  if (options.bootstrap <= 0) return out;
  std::vector<std::vector<double>> shares(p);
  SplitMix64 rng(options.seed);
  Matrix xb(n, p);
  std::vector<double> yb(n);
  for (int b = 0; b < options.bootstrap; ++b) {
    for (size_t i = 0; i < n; ++i) {
      const auto j = static_cast<size_t>(rng.Below(n));
      std::copy(x.row(j), x.row(j) + p, xb.row(i));
      yb[i] = y[j];
    }
    auto fit = StandardizedRegression(xb, yb);
    if (!fit.ok()) continue;
    ++out.bootstrap_used;
    for (size_t c = 0; c < p; ++c) shares[c].push_back(fit->share[c]);
  }
  if (out.bootstrap_used == 0) return out;
  const double alpha = (1.0 - options.confidence) / 2.0;
  for (size_t c = 0; c < p; ++c) {
    out.share_low[c] = Quantile(shares[c], alpha);
    out.share_high[c] = Quantile(shares[c], 1.0 - alpha);
  }
  return out;
}

}  // namespace touchpoint::ml
