#include <touchpoint/insight/forecast_job.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace touchpoint::insight {
namespace {

std::string Num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

std::string FormatTime(Millis t, bool dates_only) {
  return dates_only ? FormatDate(t) : FormatTimestamp(t);
}

}  // namespace

Result<std::vector<SeriesPoint>> SeriesFromTable(const ml::RawTable& table,
                                                 std::string_view time_column,
                                                 std::string_view value_column) {
  TP_ASSIGN_OR_RETURN(size_t tc, table.Require(time_column));
  TP_ASSIGN_OR_RETURN(size_t vc, table.Require(value_column));
  std::vector<std::pair<SeriesPoint, std::int64_t>> points;  // with source line
  points.reserve(table.rows.size());
  for (size_t r = 0; r < table.rows.size(); ++r) {
    const std::string where = table.source + ":" + std::to_string(table.lines[r]) + ": column '";
    auto t = ParseTimestamp(table.rows[r][tc]);
    if (!t.ok()) {
      return Status::InvalidArgument(where + table.columns[tc] + "': cannot parse '" +
                                     table.rows[r][tc] + "' as a date/time");
    }
    double v = 0;
    if (!ml::ParseNumberCell(table.rows[r][vc], &v)) {
      return Status::InvalidArgument(where + table.columns[vc] + "': cannot parse '" +
                                     table.rows[r][vc] + "' as a number");
    }
    points.push_back({{*t, v}, table.lines[r]});
  }
  std::stable_sort(points.begin(), points.end(),
                   [](const auto& a, const auto& b) { return a.first.time < b.first.time; });
  std::vector<SeriesPoint> out;
  out.reserve(points.size());
  for (size_t i = 0; i < points.size(); ++i) {
    if (i > 0 && points[i].first.time == points[i - 1].first.time) {
      return Status::InvalidArgument(table.source + ":" + std::to_string(points[i].second) +
                                     ": column '" + table.columns[tc] + "': time '" +
                                     FormatTimestamp(points[i].first.time) +
                                     "' appears twice (aggregate the series first)");
    }
    out.push_back(points[i].first);
  }
  return out;
}

Result<ForecastReport> RunForecast(const std::vector<SeriesPoint>& series,
                                   const ForecastRequest& request) {
  const size_t p = request.season;
  if (p < 2) return Status::InvalidArgument("forecast: season must be at least 2");
  if (request.horizon == 0) return Status::InvalidArgument("forecast: horizon must be at least 1");
  if (series.size() < 2 * p) {
    return Status::InvalidArgument("forecast: series has " + std::to_string(series.size()) +
                                   " points, shorter than two seasons (" +
                                   std::to_string(2 * p) + ")");
  }
  std::vector<double> y(series.size());
  bool non_negative = true;
  bool dates_only = true;
  for (size_t i = 0; i < series.size(); ++i) {
    y[i] = series[i].value;
    non_negative = non_negative && y[i] >= 0;
    dates_only = dates_only && series[i].time % kMillisPerDay == 0;
  }
  ForecastReport report;
  report.dates_only = dates_only;
  const bool try_mult = non_negative;
  const size_t spare = series.size() - 2 * p;  // points that can be held out
  const size_t window = std::min(std::max(request.horizon, p), spare);
  const size_t windows = window == 0 ? 0 : std::min<size_t>(3, spare / window);
  auto clamp = [&](std::vector<double> f) {
    if (non_negative) {
      for (double& v : f) v = std::max(0.0, v);
    }
    return f;
  };
  std::vector<double> actual, f_add, f_mult, f_naive;
  bool mult_ok = try_mult;
  for (size_t w = windows; w-- > 0;) {
    const size_t cut = series.size() - (w + 1) * window;
    std::vector<double> train(y.begin(), y.begin() + static_cast<std::ptrdiff_t>(cut));
    actual.insert(actual.end(), y.begin() + static_cast<std::ptrdiff_t>(cut),
                  y.begin() + static_cast<std::ptrdiff_t>(cut + window));
    TP_ASSIGN_OR_RETURN(ml::HoltWintersModel add,
                        ml::FitHoltWinters(train, p, ml::Seasonality::kAdditive));
    std::vector<double> fa = clamp(add.Forecast(window));
    f_add.insert(f_add.end(), fa.begin(), fa.end());
    if (mult_ok) {
      auto mult = ml::FitHoltWinters(train, p, ml::Seasonality::kMultiplicative);
      if (mult.ok()) {
        std::vector<double> fm = clamp(mult->Forecast(window));
        f_mult.insert(f_mult.end(), fm.begin(), fm.end());
      } else {
        mult_ok = false;
      }
    }
    TP_ASSIGN_OR_RETURN(std::vector<double> naive, ml::SeasonalNaiveForecast(train, p, window));
    f_naive.insert(f_naive.end(), naive.begin(), naive.end());
  }
  report.backtest_points = actual.size();
  report.backtest_windows = windows;
  if (!actual.empty()) {
    TP_ASSIGN_OR_RETURN(report.smape_additive, ml::Smape(actual, f_add));
    if (mult_ok) {
      TP_ASSIGN_OR_RETURN(report.smape_multiplicative, ml::Smape(actual, f_mult));
    }
    TP_ASSIGN_OR_RETURN(report.smape_seasonal_naive, ml::Smape(actual, f_naive));
    if (report.smape_multiplicative && *report.smape_multiplicative < *report.smape_additive) {
      report.chosen = ml::Seasonality::kMultiplicative;
    }
  }
  auto final_fit = ml::FitHoltWinters(y, p, report.chosen);
  if (!final_fit.ok() && report.chosen == ml::Seasonality::kMultiplicative) {
    report.chosen = ml::Seasonality::kAdditive;
    final_fit = ml::FitHoltWinters(y, p, report.chosen);
  }
  TP_ASSIGN_OR_RETURN(ml::HoltWintersModel model, std::move(final_fit));
  report.params = model.params;
  // Step: the median spacing of the input.
  std::vector<Millis> gaps;
  for (size_t i = 1; i < series.size(); ++i) gaps.push_back(series[i].time - series[i - 1].time);
  std::nth_element(gaps.begin(), gaps.begin() + static_cast<std::ptrdiff_t>(gaps.size() / 2),
                   gaps.end());
  const Millis step = gaps[gaps.size() / 2];
  std::vector<double> f = model.Forecast(request.horizon);
  double season_mean = 0;
  for (double v : model.season) season_mean += std::fabs(v) / static_cast<double>(p);
  if (season_mean <= 0) season_mean = 1;
  for (size_t h = 0; h < request.horizon; ++h) {
    ForecastRow row;
    row.time = series.back().time + static_cast<Millis>(h + 1) * step;
    const double spread = std::sqrt(static_cast<double>(h + 1)) * request.interval_z;
    // Multiplicative errors scale with the season index (a closed day has none).
    double half = model.seasonality == ml::Seasonality::kMultiplicative
                      ? spread * model.sigma * std::fabs(model.season[h % p]) / season_mean
                      : spread * model.sigma;
    row.forecast = f[h];
    row.lower = f[h] - half;
    row.upper = f[h] + half;
    if (non_negative) {
      row.forecast = std::max(0.0, row.forecast);
      row.lower = std::max(0.0, row.lower);
      row.upper = std::max(0.0, row.upper);
    }
    report.rows.push_back(row);
  }
  return report;
}

std::string ForecastCsv(const ForecastReport& report) {
  std::string out = "time,forecast,lower,upper\n";
  for (const auto& r : report.rows) {
    out += FormatTime(r.time, report.dates_only) + "," + Num(r.forecast) + "," + Num(r.lower) +
           "," + Num(r.upper) + "\n";
  }
  return out;
}

std::string ForecastSummaryJson(const ForecastReport& report) {
  nlohmann::ordered_json j;
  j["chosen"] = report.chosen == ml::Seasonality::kAdditive ? "additive" : "multiplicative";
  j["alpha"] = report.params.alpha;
  j["beta"] = report.params.beta;
  j["gamma"] = report.params.gamma;
  j["backtest_points"] = report.backtest_points;
  j["backtest_windows"] = report.backtest_windows;
  nlohmann::ordered_json s;
  auto put = [&](const char* k, const std::optional<double>& v) {
    s[k] = v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
  };
  put("additive", report.smape_additive);
  put("multiplicative", report.smape_multiplicative);
  put("seasonal_naive", report.smape_seasonal_naive);
  j["smape"] = s;
  return j.dump();
}

}  // namespace touchpoint::insight
