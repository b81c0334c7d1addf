#include <touchpoint/ml/holt_winters.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <limits>
#include <string>

namespace touchpoint::ml {
namespace {

constexpr double kTiny = 1e-12;

double Logistic(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double Logit(double p) { return std::log(p / (1.0 - p)); }

// Keeps the parameters strictly inside (0, 1) so the recursions stay smoothing filters.
HoltWintersParams FromUnbounded(const std::array<double, 3>& u) {
  auto f = [](double x) { return std::clamp(Logistic(x), 1e-4, 1.0 - 1e-4); };
  return {f(u[0]), f(u[1]), f(u[2])};
}

// Nelder-Mead minimisation over three unbounded variables.
std::array<double, 3> NelderMead(const std::array<double, 3>& start,
                                 const std::function<double(const std::array<double, 3>&)>& f,
                                 int max_iter) {
  constexpr size_t kN = 3;
  std::array<std::array<double, 3>, kN + 1> pts;
  std::array<double, kN + 1> vals;
  pts[0] = start;
  for (size_t i = 0; i < kN; ++i) {
    pts[i + 1] = start;
    pts[i + 1][i] += 1.0;
  }
  for (size_t i = 0; i <= kN; ++i) vals[i] = f(pts[i]);
  for (int iter = 0; iter < max_iter; ++iter) {
    std::array<size_t, kN + 1> idx = {0, 1, 2, 3};
    std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return vals[a] < vals[b]; });
    auto p = pts;
    auto v = vals;
    for (size_t i = 0; i <= kN; ++i) {
      pts[i] = p[idx[i]];
      vals[i] = v[idx[i]];
    }
    if (std::fabs(vals[kN] - vals[0]) <= 1e-10 * (std::fabs(vals[0]) + 1e-12)) break;
    std::array<double, 3> centroid{};
    for (size_t i = 0; i < kN; ++i)
      for (size_t d = 0; d < kN; ++d) centroid[d] += pts[i][d] / kN;
    auto along = [&](double t) {
      std::array<double, 3> x;
      for (size_t d = 0; d < kN; ++d) x[d] = centroid[d] + t * (pts[kN][d] - centroid[d]);
      return x;
    };
    auto xr = along(-1.0);
    double fr = f(xr);
    if (fr < vals[0]) {
      auto xe = along(-2.0);
      double fe = f(xe);
      if (fe < fr) {
        pts[kN] = xe;
        vals[kN] = fe;
      } else {
        pts[kN] = xr;
        vals[kN] = fr;
      }
    } else if (fr < vals[kN - 1]) {
      pts[kN] = xr;
      vals[kN] = fr;
    } else {
      auto xc = fr < vals[kN] ? along(-0.5) : along(0.5);
      double fc = f(xc);
      if (fc < std::min(fr, vals[kN])) {
        pts[kN] = xc;
        vals[kN] = fc;
      } else {
        for (size_t i = 1; i <= kN; ++i) {
          for (size_t d = 0; d < kN; ++d) pts[i][d] = pts[0][d] + 0.5 * (pts[i][d] - pts[0][d]);
          vals[i] = f(pts[i]);
        }
      }
    }
  }
  size_t best = static_cast<size_t>(std::min_element(vals.begin(), vals.end()) - vals.begin());
  return pts[best];
}

Status Validate(const std::vector<double>& y, size_t period, Seasonality s) {
  if (period < 2) return Status::InvalidArgument("holt-winters: season must be at least 2");
  if (y.size() < 2 * period) {
    return Status::InvalidArgument("holt-winters: series has " + std::to_string(y.size()) +
                                   " points, shorter than two seasons (" +
                                   std::to_string(2 * period) + ")");
  }
  for (size_t i = 0; i < y.size(); ++i) {
    if (!std::isfinite(y[i])) {
      return Status::InvalidArgument("holt-winters: value " + std::to_string(i) + " is not finite");
    }
    if (s == Seasonality::kMultiplicative && y[i] < 0) {
      return Status::InvalidArgument(
          "holt-winters: multiplicative seasonality needs non-negative values");
    }
  }
  return Status::Ok();
}

}  // namespace

std::vector<double> HoltWintersModel::Forecast(size_t horizon) const {
  std::vector<double> out(horizon);
  for (size_t h = 0; h < horizon; ++h) {
    double base = level + static_cast<double>(h + 1) * trend;
    double s = season[h % period];
    out[h] = seasonality == Seasonality::kAdditive ? base + s : base * s;
  }
  return out;
}

Result<HoltWintersModel> RunHoltWinters(const std::vector<double>& y, size_t period,
                                        Seasonality seasonality, HoltWintersParams params) {
  TP_RETURN_IF_ERROR(Validate(y, period, seasonality));
  const size_t p = period;
  const bool mult = seasonality == Seasonality::kMultiplicative;
  double mean1 = 0, mean2 = 0;
  for (size_t i = 0; i < p; ++i) {
    mean1 += y[i] / static_cast<double>(p);
    mean2 += y[p + i] / static_cast<double>(p);
  }
  if (mult && mean1 <= kTiny) {
    return Status::InvalidArgument("holt-winters: the first season averages zero");
  }
  HoltWintersModel m;
  m.seasonality = seasonality;
  m.period = p;
  m.params = params;
  m.level = mean1;
  m.trend = (mean2 - mean1) / static_cast<double>(p);
  std::vector<double> season(p);  // season[t % p]
  for (size_t i = 0; i < p; ++i) season[i] = mult ? y[i] / mean1 : y[i] - mean1;
  const double a = params.alpha, b = params.beta, g = params.gamma;
  double sse = 0;
  size_t count = 0;
  // The first period initialises the state; one-step errors are taken from then on.
  for (size_t t = p; t < y.size(); ++t) {
    double& s = season[t % p];
    double prev_level = m.level;
    double fitted = mult ? (prev_level + m.trend) * s : prev_level + m.trend + s;
    double err = y[t] - fitted;
    sse += err * err;
    ++count;

    if (mult) {
      // A season index near zero carries no information about the level (e.g. a closed day).
      double deseasoned = s > kTiny ? y[t] / s : prev_level + m.trend;
      m.level = a * deseasoned + (1 - a) * (prev_level + m.trend);
      m.trend = b * (m.level - prev_level) + (1 - b) * m.trend;
      s = m.level > kTiny ? g * y[t] / m.level + (1 - g) * s : s;
    } else {
      m.level = a * (y[t] - s) + (1 - a) * (prev_level + m.trend);
      m.trend = b * (m.level - prev_level) + (1 - b) * m.trend;
      s = g * (y[t] - m.level) + (1 - g) * s;
    }
  }
  m.season.resize(p);
  for (size_t i = 0; i < p; ++i) m.season[i] = season[(y.size() + i) % p];
  m.sse = sse;
  m.sigma = count > 0 ? std::sqrt(sse / static_cast<double>(count)) : 0.0;
  return m;
}

Result<HoltWintersModel> FitHoltWinters(const std::vector<double>& y, size_t period,
                                        Seasonality seasonality) {
  // Validates (and fails) once with the default parameters.
  TP_ASSIGN_OR_RETURN(HoltWintersModel best, RunHoltWinters(y, period, seasonality, {}));
  auto objective = [&](const std::array<double, 3>& u) {
    auto r = RunHoltWinters(y, period, seasonality, FromUnbounded(u));
    if (!r.ok() || !std::isfinite(r->sse)) return std::numeric_limits<double>::max();
    return r->sse;
  };
  const HoltWintersParams starts[] = {{0.3, 0.05, 0.1}, {0.1, 0.01, 0.3}, {0.6, 0.1, 0.05}};
  for (const auto& s : starts) {
    std::array<double, 3> u = {Logit(s.alpha), Logit(s.beta), Logit(s.gamma)};
    u = NelderMead(u, objective, 300);
    auto r = RunHoltWinters(y, period, seasonality, FromUnbounded(u));
    if (r.ok() && r->sse < best.sse) best = std::move(r).value();
  }
  return best;
}

Result<std::vector<double>> SeasonalNaiveForecast(const std::vector<double>& series,
                                                  size_t period, size_t horizon) {
  if (period == 0 || series.size() < period) {
    return Status::InvalidArgument("seasonal naive: series shorter than one season");
  }
  std::vector<double> out(horizon);
  size_t start = series.size() - period;
  for (size_t h = 0; h < horizon; ++h) out[h] = series[start + h % period];
  return out;
}

Result<double> Smape(const std::vector<double>& actual, const std::vector<double>& forecast) {
  if (actual.size() != forecast.size() || actual.empty()) {
    return Status::InvalidArgument("smape: needs equally sized, non-empty series");
  }
  double sum = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    double denom = std::fabs(actual[i]) + std::fabs(forecast[i]);
    if (denom > 0) sum += 200.0 * std::fabs(forecast[i] - actual[i]) / denom;
  }
  return sum / static_cast<double>(actual.size());
}

}  // namespace touchpoint::ml
