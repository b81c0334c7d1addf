#include <touchpoint/insight/kpi_stats.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include <touchpoint/ml/stats.h>

namespace touchpoint::insight {
namespace {

// z_{1−α/2}; Acklam's approximation (|error| < 1.2e-9) is ample for intervals reported to 4 digits.
double Z(double alpha) { return ml::NormalQuantile(1 - alpha / 2); }

Interval Clip(double low, double high) { return Interval{std::max(-100.0, low), std::min(100.0, high)}; }

// (p + d − (p − d)²)/n: the variance of the mean of the scores +1 (promoter), 0, −1 (detractor).
double NpsVariance(double p, double d, double n) { return (p + d - (p - d) * (p - d)) / n; }

}  // namespace

std::optional<Interval> WilsonInterval(std::int64_t successes, std::int64_t n, double alpha) {
  if (n <= 0 || successes < 0 || successes > n) return std::nullopt;
  const double z = Z(alpha), nn = static_cast<double>(n);
  const double p = static_cast<double>(successes) / nn;
  const double denom = 1 + z * z / nn;
  const double center = (p + z * z / (2 * nn)) / denom;
  const double half = z * std::sqrt(p * (1 - p) / nn + z * z / (4 * nn * nn)) / denom;
  return Interval{std::max(0.0, center - half), std::min(1.0, center + half)};
}

std::optional<NpsResult> Nps(std::int64_t promoters, std::int64_t passives, std::int64_t detractors, double alpha) {
  if (promoters < 0 || passives < 0 || detractors < 0) return std::nullopt;
  const std::int64_t n = promoters + passives + detractors;
  if (n == 0) return std::nullopt;
  const double nn = static_cast<double>(n);
  const double p = static_cast<double>(promoters) / nn, d = static_cast<double>(detractors) / nn;
  NpsResult r;
  r.n = n;
  r.nps = 100 * (p - d);
  const double half = Z(alpha) * 100 * std::sqrt(NpsVariance(p, d, nn));
  r.ci = Clip(r.nps - half, r.nps + half);
  if (n < 30) {
    // Percentile bootstrap: resample the n answers (as +1/0/−1) with replacement.
    ml::SplitMix64 rng(0x6e7073);  // "nps": fixed, so a report is reproducible
    constexpr int kResamples = 2000;
    std::vector<double> stats;
    stats.reserve(kResamples);
    for (int b = 0; b < kResamples; ++b) {
      std::int64_t score = 0;
      for (std::int64_t i = 0; i < n; ++i) {
        const auto k = static_cast<std::int64_t>(rng.Below(static_cast<std::uint64_t>(n)));
        score += k < promoters ? 1 : (k < promoters + detractors ? -1 : 0);
      }
      stats.push_back(100.0 * static_cast<double>(score) / nn);
    }
    r.bootstrap = Interval{ml::Quantile(stats, alpha / 2), ml::Quantile(stats, 1 - alpha / 2)};
  }
  return r;
}

std::optional<NpsResult> NpsDifference(const NpsResult& a, std::int64_t a_promoters, std::int64_t a_detractors,
                                       const NpsResult& b, std::int64_t b_promoters, std::int64_t b_detractors,
                                       double alpha) {
  if (a.n <= 0 || b.n <= 0) return std::nullopt;
  const double na = static_cast<double>(a.n), nb = static_cast<double>(b.n);
  const double var = NpsVariance(static_cast<double>(a_promoters) / na, static_cast<double>(a_detractors) / na, na) +
                     NpsVariance(static_cast<double>(b_promoters) / nb, static_cast<double>(b_detractors) / nb, nb);
  NpsResult r;
  r.n = a.n + b.n;
  r.nps = b.nps - a.nps;
  const double half = Z(alpha) * 100 * std::sqrt(var);
  r.ci = Interval{std::max(-200.0, r.nps - half), std::min(200.0, r.nps + half)};
  return r;
}

DurationSummary SummarizeDurations(std::span<const double> values) {
  DurationSummary s;
  s.count = static_cast<std::int64_t>(values.size());
  if (values.empty()) return s;
  s.mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
  std::vector<double> v(values.begin(), values.end());
  s.median = ml::Quantile(v, 0.5);
  s.p90 = ml::Quantile(std::move(v), 0.9);
  return s;
}

}  // namespace touchpoint::insight
