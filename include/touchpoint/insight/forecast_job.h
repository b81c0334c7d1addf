// insight/forecast_job.h — forecast a regular time series (e.g. daily orders, hourly calls)
// with Holt-Winters, additive or multiplicative, whichever wins a hold-out backtest, and report
// the seasonal-naive baseline alongside. Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/ml/holt_winters.h>
#include <touchpoint/ml/tabular.h>

namespace touchpoint::insight {

struct SeriesPoint {
  Millis time = 0;
  double value = 0;
};

// Reads (time, value) pairs from two columns and sorts them by time. Fails with
// kInvalidArgument naming file, line and column for a missing column, an unparsable date or
// number, or a repeated time.
Result<std::vector<SeriesPoint>> SeriesFromTable(const ml::RawTable& table,
                                                 std::string_view time_column,
                                                 std::string_view value_column);

struct ForecastRequest {
  size_t season = 7;
  size_t horizon = 14;
  double interval_z = 1.96;  // half-width of the band in one-step standard deviations
};

struct ForecastRow {
  Millis time = 0;
  double forecast = 0;
  double lower = 0;
  double upper = 0;
};

struct ForecastReport {
  ml::Seasonality chosen = ml::Seasonality::kAdditive;
  ml::HoltWintersParams params;            // of the chosen model refitted on the whole series
  size_t backtest_points = 0;              // 0 = series too short to hold any out
  size_t backtest_windows = 0;
  std::optional<double> smape_additive;    // backtest sMAPE in percent
  std::optional<double> smape_multiplicative;  // absent when the series has negative values
  std::optional<double> smape_seasonal_naive;
  bool dates_only = false;                 // every time is midnight UTC: print dates
  std::vector<ForecastRow> rows;
};

// Backtest (rolling origin): up to three consecutive windows of w = max(horizon, season)
// points at the end of the series (fewer and shorter when the series is short; each fit keeps
// at least two seasons); each method is fitted before a window and scored on it, and the mean
// sMAPE over all held-out points decides. The chosen seasonality is refitted on the whole
// series and forecasts `horizon` steps at the median spacing of the input. The band is
// forecast ± z·σ₁·√h, σ₁ the one-step error (for the multiplicative model scaled by the season
// index over its mean); non-negative series get non-negative forecasts and bands.
// Fails with kInvalidArgument when the series is shorter than two seasons or season < 2.
Result<ForecastReport> RunForecast(const std::vector<SeriesPoint>& series,
                                   const ForecastRequest& request);

// "time,forecast,lower,upper\n" then one line per row.
std::string ForecastCsv(const ForecastReport& report);
// {"chosen":"multiplicative","alpha":…,"beta":…,"gamma":…,"backtest_points":…,
//  "smape":{"additive":…,"multiplicative":…,"seasonal_naive":…}}
std::string ForecastSummaryJson(const ForecastReport& report);

}  // namespace touchpoint::insight
