// insight/experiment_stats.h — the statistics of A/B tests of service flows, from summary
// statistics per arm (units, sum, sum of squares; optionally the pre-period sums for CUPED).
//
// Frequentist, with GrowthBook's choices so its published cases reproduce:
//  - each variant against the control (the first arm): Welch's t-test with Welch–Satterthwaite
//    degrees of freedom, on the absolute difference of means or on the relative lift (delta-method
//    variance, the control's mean as denominator); proportions are Bernoulli means with variance
//    p(1 − p); two-sided at a configurable alpha;
//  - CUPED: θ = Cov(post, pre) / Var(pre) estimated on the control and the variant pooled, each
//    arm's mean adjusted by −θ·(its pre-period mean), the variance by θ²·Var(pre) − 2θ·Cov;
//  - sample-ratio mismatch: χ² goodness of fit of the units against the configured weights;
//  - sequential mode: the asymptotic confidence sequence of Waudby-Smith et al. (2023, eq. 9 with
//    ρ from the tuning parameter N*, eq. 161), which stays valid when looked at every day, and
//    the p-value that is its inverse (the smallest α whose sequence excludes 0);
//  - Holm–Bonferroni and Benjamini–Hochberg adjusted p-values;
//  - power and minimum detectable effect for planning (normal approximation).
// docs/measurement.md has the formulas and a worked example of each.
//
// All functions are pure and thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <touchpoint/core/result.h>

namespace touchpoint::insight {

enum class MetricKind { kMean, kProportion };
enum class LiftKind { kRelative, kAbsolute };
enum class Correction { kNone, kHolm, kBenjaminiHochberg };

// One arm's sufficient statistics. For proportions `sum` is the conversions and `sum_squares`
// is ignored. The pre-period fields are used when has_pre (CUPED).
struct ArmSummary {
  std::string variant;
  double units = 0;
  double sum = 0;
  double sum_squares = 0;
  bool has_pre = false;
  double pre_sum = 0;
  double pre_sum_squares = 0;
  double sum_products = 0;  // Σ post·pre
};

struct AnalysisOptions {
  MetricKind metric = MetricKind::kMean;
  LiftKind lift = LiftKind::kRelative;
  double alpha = 0.05;
  // > 0: sequential mode with this tuning parameter N* (units where the sequence is tightest).
  double sequential_tuning = 0;
  // Expected shares of the arms (ratios, any scale); empty: equal.
  std::vector<double> weights;
  Correction correction = Correction::kNone;
  // Arms with fewer units are "too little data" (a warning; the figures are still computed).
  double min_units = 30;
  // Warnings fire below these p-values.
  double srm_threshold = 0.001;
  double pre_imbalance_threshold = 0.001;
};

struct VariantResult {
  std::string variant;
  double units = 0;
  double mean = 0;  // the arm's (unadjusted) mean
  // The rest is of the lift against the control; absent for the control and when the lift has
  // no variance (both arms constant) or the control's mean is 0 for a relative lift.
  bool has_lift = false;
  double lift = 0;
  double se = 0;
  double ci_low = 0;
  double ci_high = 0;
  double p_value = 1;
  double dof = 0;  // Welch–Satterthwaite (infinite in sequential mode: 0 here)
  std::optional<double> p_adjusted;
};

struct AnalysisResult {
  double srm_p = 1;
  std::vector<std::string> warnings;     // "sample ratio mismatch …", "pre-period imbalance …", "too little data …"
  std::vector<VariantResult> variants;   // the control first
  std::optional<double> theta;           // CUPED's θ of the first variant (reported)
};

// kInvalidArgument naming the problem: fewer than two arms, negative or non-finite values, a
// proportion above 1, weights of the wrong count, alpha outside (0, 1), pre-period fields on
// some arms only.
Result<AnalysisResult> AnalyzeExperiment(std::span<const ArmSummary> arms, const AnalysisOptions& options);

// The p-value of the χ² goodness-of-fit test of `counts` against `weights` (equal when empty).
double SampleRatioMismatchP(std::span<const double> counts, std::span<const double> weights);

// Adjusted p-values, in the input's order (monotone as the procedures require, capped at 1).
std::vector<double> HolmAdjust(std::span<const double> p);
std::vector<double> BenjaminiHochbergAdjust(std::span<const double> p);

// ρ of the confidence sequence for alpha and N* (Waudby-Smith et al., eq. 161).
double SequentialRho(double alpha, double tuning);
// Half-width of the two-sided asymptotic confidence sequence for an estimate with standard error
// `se` after `n` units (both arms), at alpha with mixing parameter rho.
double SequentialHalfWidth(double se, double n, double alpha, double rho);

// Planning a test (normal approximation, two-sided).
struct PowerInput {
  double baseline_mean = 0;   // the control's mean (a proportion for proportions)
  double variance = 0;        // per-unit variance (ignored for proportions: p(1 − p))
  MetricKind metric = MetricKind::kMean;
  double daily_units = 0;     // units entering the test per day, all arms together
  std::vector<double> weights;  // empty: 50/50
  double alpha = 0.05;
  double power = 0.8;
};
struct PowerPlan {
  double relative_effect = 0;
  double units = 0;  // all arms together
  double days = 0;
};
// Units and days to detect `relative_effect` (e.g. 0.05 = +5 %) on the smallest arm against the
// control. kInvalidArgument for non-positive effect, mean or traffic.
Result<PowerPlan> UnitsForEffect(const PowerInput& input, double relative_effect);
// The minimum detectable relative effect after `days` days.
Result<double> MinimumDetectableEffect(const PowerInput& input, double days);

}  // namespace touchpoint::insight
