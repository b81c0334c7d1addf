#include <touchpoint/insight/experiment_stats.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <cstdio>
#include <numeric>
#include <string>
#include <utility>

// Boost.Math for the t, χ² and normal distributions: full double precision (the reference
// values from scipy are met to 1e-6), where the hand-written approximations elsewhere in the
// code (ml::NormalQuantile, 1e-9) would do for the normal but not for the others.
#include <boost/math/distributions/chi_squared.hpp>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>

namespace touchpoint::insight {
namespace {

bool Finite(double v) { return std::isfinite(v); }

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// Mean and (sample) variance of one arm; proportions use p(1 − p), as GrowthBook does.
struct Moments {
  double n = 0;
  double mean = 0;
  double var = 0;
  // pre-period
  double pre_mean = 0;
  double pre_var = 0;
  double cov = 0;
};

Moments MomentsOf(const ArmSummary& a, MetricKind metric) {
  Moments m;
  m.n = a.units;
  m.mean = a.units > 0 ? a.sum / a.units : 0;
  if (metric == MetricKind::kProportion) {
    m.var = m.mean * (1 - m.mean);
  } else if (a.units > 1) {
    m.var = std::max(0.0, (a.sum_squares - a.sum * a.sum / a.units) / (a.units - 1));
  }
  if (a.has_pre && a.units > 1) {
    m.pre_mean = a.pre_sum / a.units;
    m.pre_var = std::max(0.0, (a.pre_sum_squares - a.pre_sum * a.pre_sum / a.units) / (a.units - 1));
    m.cov = (a.sum_products - a.sum * a.pre_sum / a.units) / (a.units - 1);
  }
  return m;
}

// θ of CUPED over two arms pooled into one sample.
double PooledTheta(const ArmSummary& a, const ArmSummary& b) {
  const double n = a.units + b.units;
  if (n < 2) return 0;
  const double sum = a.sum + b.sum, pre = a.pre_sum + b.pre_sum;
  const double pre_ss = a.pre_sum_squares + b.pre_sum_squares;
  const double products = a.sum_products + b.sum_products;
  const double var_pre = (pre_ss - pre * pre / n) / (n - 1);
  if (!(var_pre > 0)) return 0;
  const double cov = (products - sum * pre / n) / (n - 1);
  return cov / var_pre;
}

double WelchDof(double var_a, double n_a, double var_b, double n_b) {
  const double va = var_a / n_a, vb = var_b / n_b;
  const double den = (n_a > 1 ? va * va / (n_a - 1) : 0) + (n_b > 1 ? vb * vb / (n_b - 1) : 0);
  if (!(den > 0)) return std::numeric_limits<double>::infinity();
  return (va + vb) * (va + vb) / den;
}

double TwoSidedP(double t, double dof) {
  if (!std::isfinite(dof)) {
    return 2 * boost::math::cdf(boost::math::complement(boost::math::normal(), std::abs(t)));
  }
  return 2 * boost::math::cdf(boost::math::complement(boost::math::students_t(dof), std::abs(t)));
}

double Critical(double alpha, double dof) {
  if (!std::isfinite(dof)) return boost::math::quantile(boost::math::complement(boost::math::normal(), alpha / 2));
  return boost::math::quantile(boost::math::complement(boost::math::students_t(dof), alpha / 2));
}

double NormalQ(double p) { return boost::math::quantile(boost::math::normal(), p); }

std::vector<double> Normalised(std::span<const double> weights, size_t k) {
  std::vector<double> w(weights.begin(), weights.end());
  if (w.empty()) w.assign(k, 1.0);
  const double total = std::accumulate(w.begin(), w.end(), 0.0);
  for (double& x : w) x /= total;
  return w;
}

Status CheckWeights(std::span<const double> weights, size_t k) {
  if (weights.empty()) return Status::Ok();
  if (weights.size() != k) {
    return Status::InvalidArgument("weights: " + std::to_string(weights.size()) + " given for " + std::to_string(k) +
                                   " arms");
  }
  for (double w : weights) {
    if (!Finite(w) || w <= 0) return Status::InvalidArgument("weights: every weight must be a positive number");
  }
  return Status::Ok();
}

}  // namespace

double SampleRatioMismatchP(std::span<const double> counts, std::span<const double> weights) {
  if (counts.size() < 2) return 1;
  const auto w = Normalised(weights, counts.size());
  const double total = std::accumulate(counts.begin(), counts.end(), 0.0);
  if (!(total > 0)) return 1;
  double chi2 = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    const double expected = total * w[i];
    chi2 += (counts[i] - expected) * (counts[i] - expected) / expected;
  }
  const boost::math::chi_squared dist(static_cast<double>(counts.size() - 1));
  return boost::math::cdf(boost::math::complement(dist, chi2));
}

std::vector<double> HolmAdjust(std::span<const double> p) {
  const size_t m = p.size();
  std::vector<size_t> order(m);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] < p[b]; });
  std::vector<double> out(m);
  double running = 0;
  for (size_t r = 0; r < m; ++r) {
    const double adjusted = std::min(1.0, static_cast<double>(m - r) * p[order[r]]);
    running = std::max(running, adjusted);  // step-down: never below an earlier (smaller p) one
    out[order[r]] = running;
  }
  return out;
}

std::vector<double> BenjaminiHochbergAdjust(std::span<const double> p) {
  const size_t m = p.size();
  std::vector<size_t> order(m);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] < p[b]; });
  std::vector<double> out(m);
  double running = 1;
  for (size_t r = m; r-- > 0;) {
    const double adjusted = std::min(1.0, p[order[r]] * static_cast<double>(m) / static_cast<double>(r + 1));
    running = std::min(running, adjusted);  // step-up: never above a later (larger p) one
    out[order[r]] = running;
  }
  return out;
}

double SequentialRho(double alpha, double tuning) {
  const double l = -2 * std::log(alpha);
  return std::sqrt((l + std::log(l + 1)) / tuning);
}

double SequentialHalfWidth(double se, double n, double alpha, double rho) {
  // Eq. 9 with the per-unit standard deviation σ = se·√n: σ·√(2(nρ²+1)/(n²ρ²)·ln(√(nρ²+1)/α)).
  const double a = n * rho * rho + 1;
  return se * std::sqrt(n) * std::sqrt(2 * a / (n * n * rho * rho) * std::log(std::sqrt(a) / alpha));
}

Result<AnalysisResult> AnalyzeExperiment(std::span<const ArmSummary> arms, const AnalysisOptions& o) {
  if (arms.size() < 2) return Status::InvalidArgument("an experiment needs a control and at least one variant");
  if (!(o.alpha > 0 && o.alpha < 1)) return Status::InvalidArgument("alpha must be between 0 and 1, got " + Num(o.alpha));
  if (o.sequential_tuning < 0 || !Finite(o.sequential_tuning)) {
    return Status::InvalidArgument("sequential: N* must be a positive number");
  }
  TP_RETURN_IF_ERROR(CheckWeights(o.weights, arms.size()));
  for (const auto& a : arms) {
    const std::string where = "variant " + a.variant + ": ";
    for (double v : {a.units, a.sum, a.sum_squares, a.pre_sum, a.pre_sum_squares, a.sum_products}) {
      if (!Finite(v)) return Status::InvalidArgument(where + "a value is not a finite number");
    }
    if (a.units < 0) return Status::InvalidArgument(where + "units must not be negative");
    if (o.metric == MetricKind::kProportion && (a.sum < 0 || a.sum > a.units)) {
      return Status::InvalidArgument(where + "conversions (sum) must be between 0 and units");
    }
    if (a.has_pre != arms[0].has_pre) {
      return Status::InvalidArgument(where + "pre-period sums must be given for every arm or for none");
    }
  }

  AnalysisResult r;
  std::vector<double> counts;
  for (const auto& a : arms) counts.push_back(a.units);
  r.srm_p = SampleRatioMismatchP(counts, o.weights);
  if (r.srm_p < o.srm_threshold) {
    r.warnings.push_back("sample ratio mismatch: the units per arm do not fit the weights (p = " + Num(r.srm_p) + ")");
  }
  for (const auto& a : arms) {
    if (a.units < o.min_units) {
      r.warnings.push_back("too little data: variant " + a.variant + " has " + Num(a.units) + " units (fewer than " +
                           Num(o.min_units) + ")");
    }
  }

  const Moments control = MomentsOf(arms[0], o.metric);
  VariantResult first;
  first.variant = arms[0].variant;
  first.units = arms[0].units;
  first.mean = control.mean;
  r.variants.push_back(std::move(first));
  const double rho = o.sequential_tuning > 0 ? SequentialRho(o.alpha, o.sequential_tuning) : 0;
  std::vector<size_t> tested;  // indexes into r.variants with a lift
  for (size_t i = 1; i < arms.size(); ++i) {
    const Moments v = MomentsOf(arms[i], o.metric);
    VariantResult out;
    out.variant = arms[i].variant;
    out.units = arms[i].units;
    out.mean = v.mean;
    double var_a = control.var, var_b = v.var;
    double diff = v.mean - control.mean;
    if (arms[0].has_pre) {
      const double theta = PooledTheta(arms[0], arms[i]);
      if (i == 1) r.theta = theta;
      var_a = std::max(0.0, control.var + theta * theta * control.pre_var - 2 * theta * control.cov);
      var_b = std::max(0.0, v.var + theta * theta * v.pre_var - 2 * theta * v.cov);
      diff -= theta * (v.pre_mean - control.pre_mean);
      // Did the arms already differ before exposure? Welch on the pre-period means.
      if (control.n > 1 && v.n > 1) {
        const double pre_se2 = control.pre_var / control.n + v.pre_var / v.n;
        if (pre_se2 > 0) {
          const double p = TwoSidedP((v.pre_mean - control.pre_mean) / std::sqrt(pre_se2),
                                     WelchDof(control.pre_var, control.n, v.pre_var, v.n));
          if (p < o.pre_imbalance_threshold) {
            r.warnings.push_back("pre-period imbalance: variant " + arms[i].variant +
                                 " already differed from the control before exposure (p = " + Num(p) + ")");
          }
        }
      }
    }
    const bool computable = control.n > 1 && v.n > 1 && (var_a > 0 || var_b > 0) &&
                            (o.lift == LiftKind::kAbsolute || control.mean != 0);
    if (computable) {
      double estimate = diff, variance = var_a / control.n + var_b / v.n;
      if (o.lift == LiftKind::kRelative) {
        // Delta method for (b − a)/a with the unadjusted means (GrowthBook's variance_of_ratios).
        const double ma = control.mean, mb = v.mean;
        estimate = diff / ma;
        variance = var_b / (v.n * ma * ma) + var_a * mb * mb / (control.n * ma * ma * ma * ma);
      }
      out.has_lift = true;
      out.lift = estimate;
      out.se = std::sqrt(variance);
      if (rho > 0) {
        const double n = control.n + v.n;
        const double half = SequentialHalfWidth(out.se, n, o.alpha, rho);
        out.ci_low = estimate - half;
        out.ci_high = estimate + half;
        // The smallest α whose sequence excludes 0: solve half(α) = |estimate| (ρ fixed).
        const double a = n * rho * rho + 1;
        const double t2 = estimate * estimate / variance;
        const double log_e = t2 * (a - 1) / (2 * a) - 0.5 * std::log(a);
        out.p_value = log_e <= 0 ? 1.0 : std::min(1.0, std::exp(-log_e));
        out.dof = 0;
      } else {
        out.dof = WelchDof(var_a, control.n, var_b, v.n);
        const double width = Critical(o.alpha, out.dof) * out.se;
        out.ci_low = estimate - width;
        out.ci_high = estimate + width;
        out.p_value = TwoSidedP(estimate / out.se, out.dof);
        if (!std::isfinite(out.dof)) out.dof = 0;
      }
      tested.push_back(r.variants.size());
    }
    r.variants.push_back(std::move(out));
  }
  if (o.correction != Correction::kNone && !tested.empty()) {
    std::vector<double> p;
    for (size_t i : tested) p.push_back(r.variants[i].p_value);
    const auto adjusted = o.correction == Correction::kHolm ? HolmAdjust(p) : BenjaminiHochbergAdjust(p);
    for (size_t j = 0; j < tested.size(); ++j) r.variants[tested[j]].p_adjusted = adjusted[j];
  }
  return r;
}

namespace {

Status CheckPower(const PowerInput& in) {
  if (!(in.baseline_mean != 0 && Finite(in.baseline_mean))) return Status::InvalidArgument("baseline: must be a non-zero number");
  if (in.metric == MetricKind::kProportion && !(in.baseline_mean > 0 && in.baseline_mean < 1)) {
    return Status::InvalidArgument("baseline: a proportion must be between 0 and 1");
  }
  if (in.metric == MetricKind::kMean && !(in.variance > 0 && Finite(in.variance))) {
    return Status::InvalidArgument("variance: must be a positive number");
  }
  if (!(in.daily_units > 0 && Finite(in.daily_units))) return Status::InvalidArgument("traffic: units per day must be positive");
  if (!(in.alpha > 0 && in.alpha < 1)) return Status::InvalidArgument("alpha must be between 0 and 1");
  if (!(in.power > 0 && in.power < 1)) return Status::InvalidArgument("power must be between 0 and 1");
  if (in.weights.size() == 1) return Status::InvalidArgument("weights: a control and at least one variant");
  return CheckWeights(in.weights, in.weights.size());
}

// Σ of the per-unit variances over the arm shares for the control against its smallest variant,
// times the per-unit variance: Var(difference) = k / N.
double VarianceFactor(const PowerInput& in) {
  const auto w = Normalised(in.weights, in.weights.empty() ? 2 : in.weights.size());
  const double smallest = *std::min_element(w.begin() + 1, w.end());
  const double var = in.metric == MetricKind::kProportion ? in.baseline_mean * (1 - in.baseline_mean) : in.variance;
  return var * (1 / w[0] + 1 / smallest);
}

}  // namespace

Result<PowerPlan> UnitsForEffect(const PowerInput& in, double relative_effect) {
  TP_RETURN_IF_ERROR(CheckPower(in));
  if (!(relative_effect > 0 && Finite(relative_effect))) return Status::InvalidArgument("effect: must be a positive number");
  const double z = NormalQ(1 - in.alpha / 2) + NormalQ(in.power);
  const double effect = relative_effect * std::abs(in.baseline_mean);
  PowerPlan plan;
  plan.relative_effect = relative_effect;
  plan.units = std::ceil(z * z * VarianceFactor(in) / (effect * effect));
  plan.days = plan.units / in.daily_units;
  return plan;
}

Result<double> MinimumDetectableEffect(const PowerInput& in, double days) {
  TP_RETURN_IF_ERROR(CheckPower(in));
  if (!(days > 0 && Finite(days))) return Status::InvalidArgument("days: must be a positive number");
  const double z = NormalQ(1 - in.alpha / 2) + NormalQ(in.power);
  const double units = days * in.daily_units;
  return z * std::sqrt(VarianceFactor(in) / units) / std::abs(in.baseline_mean);
}

}  // namespace touchpoint::insight
