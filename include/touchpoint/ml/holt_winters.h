// ml/holt_winters.h — Holt-Winters exponential smoothing with additive or multiplicative
// seasonality, smoothing parameters fitted by minimising the one-step-ahead squared error
// (Nelder-Mead over α, β, γ ∈ (0, 1)), plus the seasonal-naive baseline and sMAPE.
// Pure functions and immutable results; thread-safe.
#pragma once

#include <cstddef>
#include <vector>

#include <touchpoint/core/result.h>

namespace touchpoint::ml {

enum class Seasonality { kAdditive, kMultiplicative };

struct HoltWintersParams {
  double alpha = 0.3;  // level
  double beta = 0.05;  // trend
  double gamma = 0.1;  // season
};

// A fitted model: the final state after the last observation.
struct HoltWintersModel {
  Seasonality seasonality = Seasonality::kAdditive;
  size_t period = 0;
  HoltWintersParams params;
  double level = 0;
  double trend = 0;
  std::vector<double> season;  // season[i] applies to time n + i (mod period), n = series size
  double sse = 0;              // sum of squared one-step errors (after the first period)
  double sigma = 0;            // standard deviation of one-step errors

  // Point forecasts for the next `horizon` steps.
  std::vector<double> Forecast(size_t horizon) const;
};

// Runs the recursions with fixed parameters. Fails with kInvalidArgument when the series is
// shorter than two periods, period < 2, a value is not finite, or (multiplicative) a value is
// negative or the first period averages zero.
Result<HoltWintersModel> RunHoltWinters(const std::vector<double>& series, size_t period,
                                        Seasonality seasonality, HoltWintersParams params);

// Fits α, β, γ by minimising the one-step squared error from several starting points.
// Fails like RunHoltWinters.
Result<HoltWintersModel> FitHoltWinters(const std::vector<double>& series, size_t period,
                                        Seasonality seasonality);

// Repeats the last full period. Fails with kInvalidArgument when series.size() < period.
Result<std::vector<double>> SeasonalNaiveForecast(const std::vector<double>& series,
                                                  size_t period, size_t horizon);

// Symmetric MAPE in percent: mean of 200·|F − A| / (|A| + |F|); a point with A = F = 0 counts
// as 0. Fails with kInvalidArgument when sizes differ or are zero.
Result<double> Smape(const std::vector<double>& actual, const std::vector<double>& forecast);

}  // namespace touchpoint::ml
