// ml/regression.h — standardised linear regression and relative importance of predictors.
//
// StandardizedRegression: ordinary least squares on z-scored predictors and target. Returns
// the standardised coefficients (beta), their standard errors, R², and Johnson's (2000)
// relative weights: the R² decomposed into non-negative shares per predictor that stay
// meaningful when predictors are correlated (unlike beta² or raw correlations).
// RelativeImportance adds percentile bootstrap intervals for each predictor's share.
//
// Pure functions; thread-compatible.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/ml/stats.h>

namespace touchpoint::ml {

struct StandardizedFit {
  std::int64_t n = 0;
  double r2 = 0;
  std::vector<double> beta;      // per predictor, standardised units
  std::vector<double> beta_se;   // standard errors of beta (OLS, homoscedastic)
  std::vector<double> raw_weight;  // relative weights; they sum to r2
  std::vector<double> share;     // raw_weight / r2 (sums to 1 when r2 > 0)
};

// Fails with kInvalidArgument when rows <= cols + 1, sizes differ, the target or a predictor
// is constant (the message names the column index), or predictors are perfectly collinear.
Result<StandardizedFit> StandardizedRegression(const Matrix& x, std::span<const double> y);

struct ImportanceOptions {
  int bootstrap = 200;        // resamples for the intervals; 0 = none
  double confidence = 0.95;   // interval coverage
  std::uint64_t seed = 7;
};

struct RelativeImportanceResult {
  StandardizedFit fit;
  std::vector<double> share_low;   // bootstrap percentile interval of share
  std::vector<double> share_high;
  int bootstrap_used = 0;          // resamples that could be fitted
};

// StandardizedRegression plus bootstrap intervals (resamples that fail, e.g. a predictor
// constant in the resample, are skipped). Same errors as StandardizedRegression.
Result<RelativeImportanceResult> RelativeImportance(const Matrix& x, std::span<const double> y,
                                                    const ImportanceOptions& options);

}  // namespace touchpoint::ml
