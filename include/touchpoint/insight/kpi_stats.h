// insight/kpi_stats.h — the intervals and summaries every service KPI is reported with
// (docs/measurement.md, "KPI statistics"): Wilson intervals for shares (CSAT, FCR, SLA
// compliance, resolution rate), the NPS with its analytic interval (and a percentile bootstrap
// for small samples), the difference of two NPS, and count/mean/median/p90 of durations.
//
// Pure functions; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace touchpoint::insight {

struct Interval {
  double low = 0;
  double high = 0;
};

// Wilson score interval of `successes` out of `n` at confidence 1 − alpha. nullopt for n = 0.
std::optional<Interval> WilsonInterval(std::int64_t successes, std::int64_t n, double alpha = 0.05);

// NPS from the counts of promoters (9–10), passives (7–8) and detractors (0–6), in points
// (−100…100). The interval is NPS ± z·100·√((p + d − (p − d)²)/n), clipped to [−100, 100].
struct NpsResult {
  std::int64_t n = 0;
  double nps = 0;
  Interval ci;
  // A percentile-bootstrap interval beside it when n < 30 (2,000 resamples, fixed seed, so the
  // same answers give the same interval).
  std::optional<Interval> bootstrap;
};
std::optional<NpsResult> Nps(std::int64_t promoters, std::int64_t passives, std::int64_t detractors,
                             double alpha = 0.05);
// The difference b − a of two NPS with its interval (independent samples: the variances add).
std::optional<NpsResult> NpsDifference(const NpsResult& a, std::int64_t a_promoters, std::int64_t a_detractors,
                                       const NpsResult& b, std::int64_t b_promoters, std::int64_t b_detractors,
                                       double alpha = 0.05);

// Count, mean, median and p90 of durations (or any values). Quantiles interpolate linearly
// between order statistics (numpy's default, ml::Quantile). nullopt mean/median/p90 when empty:
// an empty group reports count 0 and no mean, never NaN.
struct DurationSummary {
  std::int64_t count = 0;
  std::optional<double> mean;
  std::optional<double> median;
  std::optional<double> p90;
};
DurationSummary SummarizeDurations(std::span<const double> values);

}  // namespace touchpoint::insight
