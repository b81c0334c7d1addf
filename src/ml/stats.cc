#include <touchpoint/ml/stats.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace touchpoint::ml {

double Mean(std::span<const double> values) {
  if (values.empty()) return 0.0;
  double sum = 0.0;
  for (double v : values) sum += v;
  return sum / static_cast<double>(values.size());
}

double StdDev(std::span<const double> values, bool sample) {
  const size_t n = values.size();
  if (n == 0 || (sample && n < 2)) return 0.0;
  const double mean = Mean(values);
  double ss = 0.0;
  for (double v : values) ss += (v - mean) * (v - mean);
  return std::sqrt(ss / static_cast<double>(sample ? n - 1 : n));
}

ColumnScaler FitScaler(const Matrix& m) {
  ColumnScaler s;
  s.mean.assign(m.cols, 0.0);
  s.scale.assign(m.cols, 1.0);
  if (m.rows == 0) return s;
  // Two passes per column (mean, then squared deviations) for numerical stability.
  for (size_t r = 0; r < m.rows; ++r) {
    const double* row = m.row(r);
    for (size_t c = 0; c < m.cols; ++c) s.mean[c] += row[c];
  }
  for (double& v : s.mean) v /= static_cast<double>(m.rows);
  std::vector<double> ss(m.cols, 0.0);
  for (size_t r = 0; r < m.rows; ++r) {
    const double* row = m.row(r);
    for (size_t c = 0; c < m.cols; ++c) {
      const double d = row[c] - s.mean[c];
      ss[c] += d * d;
    }
  }
  for (size_t c = 0; c < m.cols; ++c) {
    const double sd = std::sqrt(ss[c] / static_cast<double>(m.rows));
    s.scale[c] = sd > 1e-12 * (1.0 + std::fabs(s.mean[c])) ? sd : 1.0;
  }
  return s;
}

void Standardize(const ColumnScaler& scaler, Matrix* m) {
  for (size_t r = 0; r < m->rows; ++r) {
    double* row = m->row(r);
    for (size_t c = 0; c < m->cols; ++c) row[c] = (row[c] - scaler.mean[c]) / scaler.scale[c];
  }
}

std::vector<double> Unstandardize(const ColumnScaler& scaler, std::span<const double> z) {
  std::vector<double> out(z.size());
  for (size_t c = 0; c < z.size(); ++c) out[c] = z[c] * scaler.scale[c] + scaler.mean[c];
  return out;
}

std::vector<int> QuantileScores(std::span<const double> values, int bins) {
  const size_t n = values.size();
  std::vector<int> scores(n, 1);
  if (n == 0 || bins <= 1) return scores;
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return values[a] < values[b]; });
  size_t i = 0;
  while (i < n) {
    size_t j = i;
    while (j < n && values[order[j]] == values[order[i]]) ++j;
    // i values are strictly below this group.
    const auto score = 1 + static_cast<int>((static_cast<std::uint64_t>(bins) * i) / n);
    for (size_t k = i; k < j; ++k) scores[order[k]] = score;
    i = j;
  }
  return scores;
}

double Correlation(std::span<const double> a, std::span<const double> b) {
  if (a.size() != b.size() || a.size() < 2) return 0.0;
  const double ma = Mean(a), mb = Mean(b);
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  if (saa <= 0 || sbb <= 0) return 0.0;
  return sab / std::sqrt(saa * sbb);
}

double NormalQuantile(double p) {
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                             -2.759285104469687e+02, 1.383577518672690e+02,
                             -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                             -1.556989798598866e+02, 6.680131188771972e+01,
                             -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                             -2.400758277161838e+00, -2.549732539343734e+00,
                             4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                             2.445134137142996e+00, 3.754408661907416e+00};
  const double plow = 0.02425;
  if (p < plow) {
    const double q = std::sqrt(-2 * std::log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - plow) {
    const double q = std::sqrt(-2 * std::log(1 - p));
    return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  const double q = p - 0.5;
  const double r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
         (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

double Quantile(std::vector<double> values, double q) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const double pos = std::clamp(q, 0.0, 1.0) * static_cast<double>(values.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  return values[lo] + (values[hi] - values[lo]) * frac;
}

}  // namespace touchpoint::ml
