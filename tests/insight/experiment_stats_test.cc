#include <touchpoint/insight/experiment_stats.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace touchpoint::insight {
namespace {

using ::touchpoint::testing::StatusIs;

ArmSummary Arm(std::string name, double n, double sum, double ss = 0) {
  ArmSummary a;
  a.variant = std::move(name);
  a.units = n;
  a.sum = sum;
  a.sum_squares = ss;
  return a;
}

double Round(double v, int digits) {
  const double f = std::pow(10.0, digits);
  return std::round(v * f) / f;
}

// GrowthBook's published frequentist cases (packages/stats, TwoSidedTTest), to 5 decimals.
TEST(ExperimentStatsTest, ReproducesGrowthBooksMeanCase) {
  const std::vector<ArmSummary> arms = {Arm("A", 3407, 1396.87, 52377.9767), Arm("B", 3461, 2422.7, 134698.29)};
  AnalysisOptions o;
  auto rel = AnalyzeExperiment(arms, o);
  ASSERT_TRUE(rel.ok()) << rel.status().message();
  const auto& b = rel->variants[1];
  ASSERT_TRUE(b.has_lift);
  EXPECT_EQ(Round(b.lift, 5), 0.70732);
  EXPECT_EQ(Round(b.ci_low, 5), -0.03526);
  EXPECT_EQ(Round(b.ci_high, 5), 1.44989);
  EXPECT_EQ(Round(b.p_value, 5), 0.06191);
  EXPECT_EQ(Round(b.se, 5), 0.37879);
  EXPECT_FALSE(rel->variants[0].has_lift);  // the control has only its mean

  o.lift = LiftKind::kAbsolute;
  auto abs = AnalyzeExperiment(arms, o);
  ASSERT_TRUE(abs.ok());
  EXPECT_EQ(Round(abs->variants[1].lift, 5), 0.29);
  EXPECT_EQ(Round(abs->variants[1].ci_low, 5), 0.04538);
  EXPECT_EQ(Round(abs->variants[1].ci_high, 5), 0.53462);
  EXPECT_EQ(Round(abs->variants[1].p_value, 5), 0.02016);
}

TEST(ExperimentStatsTest, ReproducesGrowthBooksProportionCase) {
  const std::vector<ArmSummary> arms = {Arm("A", 28, 14), Arm("B", 30, 16)};
  AnalysisOptions o;
  o.metric = MetricKind::kProportion;
  auto r = AnalyzeExperiment(arms, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(Round(r->variants[1].lift, 5), 0.06667);
  EXPECT_EQ(Round(r->variants[1].ci_low, 5), -0.47767);
  EXPECT_EQ(Round(r->variants[1].ci_high, 5), 0.61101);
  EXPECT_EQ(Round(r->variants[1].p_value, 5), 0.80707);
  // 28 units are fewer than the default minimum of 30: a warning, the figures still computed.
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_NE(r->warnings[0].find("too little data: variant A has 28 units"), std::string::npos);
}

bool Near(double got, double want, double tol = 1e-6) {
  return std::abs(got - want) <= tol * std::max(1.0, std::abs(want)) || std::abs(got - want) <= 1e-300;
}

// Random data reduced to sums; the expectations are scipy's (scripts/experiment_reference.py).
TEST(ExperimentStatsTest, MatchesScipyOnRandomData) {
  std::ifstream in(std::string(TP_SOURCE_DIR) + "/tests/data/experiment_reference.csv");
  ASSERT_TRUE(in) << "tests/data/experiment_reference.csv is part of the repository";
  std::string line;
  std::getline(in, line);
  int welch = 0, srm = 0;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) f.push_back(cell);
    if (f[0] == "srm") {
      std::vector<double> counts, weights;
      std::stringstream c(f[1]), w(f[2]);
      for (double v; c >> v;) counts.push_back(v);
      for (double v; w >> v;) weights.push_back(v);
      const double want = std::stod(f[3]);
      const double got = SampleRatioMismatchP(counts, weights);
      EXPECT_TRUE(std::abs(got - want) <= 1e-6 * want) << line << " got " << got;
      ++srm;
      continue;
    }
    ASSERT_EQ(f.size(), 15u) << line;
    AnalysisOptions o;
    o.metric = f[1] == "proportion" ? MetricKind::kProportion : MetricKind::kMean;
    o.lift = f[2] == "relative" ? LiftKind::kRelative : LiftKind::kAbsolute;
    o.min_units = 0;
    const std::vector<ArmSummary> arms = {Arm("a", std::stod(f[3]), std::stod(f[4]), std::stod(f[5])),
                                          Arm("b", std::stod(f[6]), std::stod(f[7]), std::stod(f[8]))};
    auto r = AnalyzeExperiment(arms, o);
    ASSERT_TRUE(r.ok()) << line;
    const auto& v = r->variants[1];
    EXPECT_TRUE(Near(v.lift, std::stod(f[9]))) << line << " lift " << v.lift;
    EXPECT_TRUE(Near(v.se, std::stod(f[10]))) << line << " se " << v.se;
    EXPECT_TRUE(Near(v.ci_low, std::stod(f[11]))) << line << " ci_low " << v.ci_low;
    EXPECT_TRUE(Near(v.ci_high, std::stod(f[12]))) << line << " ci_high " << v.ci_high;
    const double p = std::stod(f[13]);
    EXPECT_TRUE(std::abs(v.p_value - p) <= 1e-6 * std::max(p, 1e-12)) << line << " p " << v.p_value;
    EXPECT_TRUE(Near(v.dof, std::stod(f[14]))) << line << " dof " << v.dof;
    ++welch;
  }
  EXPECT_EQ(welch, 120);
  EXPECT_EQ(srm, 5);
}

TEST(ExperimentStatsTest, SampleRatioMismatchWarnsOnlyWhenTheSplitIsImplausible) {
  AnalysisOptions o;
  o.metric = MetricKind::kProportion;
  auto bad = AnalyzeExperiment(std::vector<ArmSummary>{Arm("control", 5000, 500), Arm("b", 5400, 560)}, o);
  ASSERT_TRUE(bad.ok());
  EXPECT_LT(bad->srm_p, 0.001);
  ASSERT_EQ(bad->warnings.size(), 1u);
  EXPECT_NE(bad->warnings[0].find("sample ratio mismatch"), std::string::npos);
  auto fine = AnalyzeExperiment(std::vector<ArmSummary>{Arm("control", 5000, 500), Arm("b", 5200, 540)}, o);
  ASSERT_TRUE(fine.ok());
  EXPECT_GT(fine->srm_p, 0.001);
  EXPECT_TRUE(fine->warnings.empty());
  // The same 5000/5400 split is expected under weights 25/27.
  o.weights = {25, 27};
  auto weighted = AnalyzeExperiment(std::vector<ArmSummary>{Arm("control", 5000, 500), Arm("b", 5400, 560)}, o);
  ASSERT_TRUE(weighted.ok());
  EXPECT_GT(weighted->srm_p, 0.9);
}

TEST(ExperimentStatsTest, HolmAndBenjaminiHochbergByHand) {
  const std::vector<double> p = {0.01, 0.04, 0.03, 0.005};
  EXPECT_EQ(HolmAdjust(p), (std::vector<double>{0.03, 0.06, 0.06, 0.02}));
  const auto bh = BenjaminiHochbergAdjust(p);
  const std::vector<double> want = {0.02, 0.04, 0.04, 0.02};
  for (size_t i = 0; i < p.size(); ++i) EXPECT_NEAR(bh[i], want[i], 1e-15) << i;
  EXPECT_EQ(HolmAdjust(std::vector<double>{0.5, 0.9}), (std::vector<double>{1.0, 1.0}));
}

TEST(ExperimentStatsTest, CorrectionAppliesAcrossVariants) {
  AnalysisOptions o;
  o.metric = MetricKind::kProportion;
  o.correction = Correction::kHolm;
  const std::vector<ArmSummary> arms = {Arm("control", 4000, 400), Arm("b", 4000, 470), Arm("c", 4000, 410)};
  auto r = AnalyzeExperiment(arms, o);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->variants[1].p_adjusted && r->variants[2].p_adjusted);
  EXPECT_DOUBLE_EQ(*r->variants[1].p_adjusted, std::min(1.0, 2 * r->variants[1].p_value));
  EXPECT_DOUBLE_EQ(*r->variants[2].p_adjusted, std::max(*r->variants[1].p_adjusted, r->variants[2].p_value));
  EXPECT_FALSE(r->variants[0].p_adjusted);
}

// Per-unit data drawn by a seeded generator, reduced to arm summaries.
struct Sim {
  std::mt19937_64 rng;
  explicit Sim(std::uint64_t seed) : rng(seed) {}
  void Add(ArmSummary& a, int n, double mean, double sd) {
    std::normal_distribution<double> d(mean, sd);
    for (int i = 0; i < n; ++i) {
      const double x = d(rng);
      a.units += 1;
      a.sum += x;
      a.sum_squares += x * x;
    }
  }
};

// Under no effect, p-values are uniform: Kolmogorov–Smirnov distance of 2,000 A/A tests below
// the 1 % critical value 1.628/√2000.
TEST(ExperimentStatsTest, AaTestPValuesAreUniform) {
  Sim sim(7);
  std::vector<double> p;
  AnalysisOptions o;
  o.lift = LiftKind::kAbsolute;
  for (int k = 0; k < 2000; ++k) {
    std::vector<ArmSummary> arms = {Arm("a", 0, 0), Arm("b", 0, 0)};
    sim.Add(arms[0], 200, 5, 2);
    sim.Add(arms[1], 200, 5, 2);
    auto r = AnalyzeExperiment(arms, o);
    ASSERT_TRUE(r.ok());
    p.push_back(r->variants[1].p_value);
  }
  std::sort(p.begin(), p.end());
  double d = 0;
  const double n = static_cast<double>(p.size());
  for (size_t i = 0; i < p.size(); ++i) {
    d = std::max({d, std::abs(p[i] - static_cast<double>(i) / n), std::abs(static_cast<double>(i + 1) / n - p[i])});
  }
  EXPECT_LT(d, 1.628 / std::sqrt(n));
  // … and a real effect is found: the same test with a shift of 0.5 sd rejects nearly always.
  std::vector<ArmSummary> arms = {Arm("a", 0, 0), Arm("b", 0, 0)};
  sim.Add(arms[0], 200, 5, 2);
  sim.Add(arms[1], 200, 6, 2);
  EXPECT_LT(AnalyzeExperiment(arms, o)->variants[1].p_value, 0.01);
}

// Peeking every day for 30 days: the fixed-horizon test's false-positive rate grows far above
// α, the sequential one stays at or below it.
TEST(ExperimentStatsTest, SequentialKeepsTheFalsePositiveRateWhenPeekedDaily) {
  Sim sim(11);
  AnalysisOptions fixed;
  fixed.lift = LiftKind::kAbsolute;
  AnalysisOptions seq = fixed;
  seq.sequential_tuning = 5000;
  int fixed_hits = 0, seq_hits = 0;
  const int kExperiments = 400;
  for (int k = 0; k < kExperiments; ++k) {
    std::vector<ArmSummary> arms = {Arm("a", 0, 0), Arm("b", 0, 0)};
    bool fixed_hit = false, seq_hit = false;
    for (int day = 0; day < 30; ++day) {
      sim.Add(arms[0], 100, 3, 1);
      sim.Add(arms[1], 100, 3, 1);
      auto f = AnalyzeExperiment(arms, fixed);
      auto s = AnalyzeExperiment(arms, seq);
      ASSERT_TRUE(f.ok() && s.ok());
      fixed_hit |= f->variants[1].p_value < 0.05;
      seq_hit |= s->variants[1].p_value < 0.05;
      // The sequence is wider than the fixed interval, and its p-value agrees with it.
      ASSERT_LT(s->variants[1].ci_low, f->variants[1].ci_low);
      ASSERT_EQ(s->variants[1].p_value < 0.05, s->variants[1].ci_low > 0 || s->variants[1].ci_high < 0);
    }
    fixed_hits += fixed_hit;
    seq_hits += seq_hit;
  }
  EXPECT_GT(fixed_hits, kExperiments * 15 / 100);  // peeking the fixed test: well above 5 %
  EXPECT_LE(seq_hits, kExperiments * 5 / 100);
}

TEST(ExperimentStatsTest, CupedShrinksTheIntervalAndFlagsPrePeriodImbalance) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> noise(0, 1);
  auto fill = [&](ArmSummary& a, int n, double effect, double pre_shift) {
    a.has_pre = true;
    for (int i = 0; i < n; ++i) {
      const double pre = 10 + pre_shift + 3 * noise(rng);
      const double post = 2 + 0.8 * pre + effect + noise(rng);
      a.units += 1;
      a.sum += post;
      a.sum_squares += post * post;
      a.pre_sum += pre;
      a.pre_sum_squares += pre * pre;
      a.sum_products += post * pre;
    }
  };
  std::vector<ArmSummary> arms = {Arm("a", 0, 0), Arm("b", 0, 0)};
  fill(arms[0], 3000, 0, 0);
  fill(arms[1], 3000, 0.1, 0);
  AnalysisOptions o;
  o.lift = LiftKind::kAbsolute;
  auto cuped = AnalyzeExperiment(arms, o);
  ASSERT_TRUE(cuped.ok());
  ASSERT_TRUE(cuped->theta);
  EXPECT_NEAR(*cuped->theta, 0.8, 0.03);
  std::vector<ArmSummary> plain = arms;
  for (auto& a : plain) a.has_pre = false;
  auto raw = AnalyzeExperiment(plain, o);
  ASSERT_TRUE(raw.ok());
  // Var(post) = 0.64·9 + 1 = 6.76 against the residual 1: the standard error shrinks ~2.6×.
  EXPECT_LT(cuped->variants[1].se * 2.2, raw->variants[1].se);
  EXPECT_NEAR(cuped->variants[1].lift, 0.1, 3 * cuped->variants[1].se);
  EXPECT_TRUE(cuped->warnings.empty());

  std::vector<ArmSummary> skewed = {Arm("a", 0, 0), Arm("b", 0, 0)};
  fill(skewed[0], 3000, 0, 0);
  fill(skewed[1], 3000, 0, 1.0);  // the variant's units were already different
  auto imbalanced = AnalyzeExperiment(skewed, o);
  ASSERT_TRUE(imbalanced.ok());
  ASSERT_EQ(imbalanced->warnings.size(), 1u);
  EXPECT_NE(imbalanced->warnings[0].find("pre-period imbalance"), std::string::npos);
  EXPECT_NEAR(imbalanced->variants[1].lift, 0, 4 * imbalanced->variants[1].se);  // CUPED corrects it
}

TEST(ExperimentStatsTest, PowerPlanAndMinimumDetectableEffectAreInverse) {
  PowerInput in;
  in.metric = MetricKind::kProportion;
  in.baseline_mean = 0.1;
  in.daily_units = 1000;
  auto plan = UnitsForEffect(in, 0.10);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  // (z₀.₉₇₅ + z₀.₈)² · p(1 − p) · (1/0.5 + 1/0.5) / (0.01)² = 7.8489 · 0.36 / 1e-4
  EXPECT_NEAR(plan->units, 28256, 2);
  EXPECT_NEAR(plan->days, 28.256, 0.01);
  auto mde = MinimumDetectableEffect(in, plan->days);
  ASSERT_TRUE(mde.ok());
  EXPECT_NEAR(*mde, 0.10, 1e-4);
  in.weights = {80, 20};  // a small variant needs more traffic
  EXPECT_GT(UnitsForEffect(in, 0.10)->units, plan->units * 1.5);
  EXPECT_THAT(UnitsForEffect(in, 0).status(), StatusIs(StatusCode::kInvalidArgument));
  in.weights = {1};
  EXPECT_THAT(UnitsForEffect(in, 0.1).status(), StatusIs(StatusCode::kInvalidArgument));
}

TEST(ExperimentStatsTest, RejectsMalformedInputNamingTheProblem) {
  AnalysisOptions o;
  EXPECT_THAT(AnalyzeExperiment(std::vector<ArmSummary>{Arm("a", 10, 1)}, o).status(),
              StatusIs(StatusCode::kInvalidArgument));
  o.metric = MetricKind::kProportion;
  auto over = AnalyzeExperiment(std::vector<ArmSummary>{Arm("a", 10, 1), Arm("b", 10, 11)}, o);
  ASSERT_FALSE(over.ok());
  EXPECT_NE(over.status().message().find("variant b"), std::string::npos);
  o.weights = {1, 1, 1};
  EXPECT_NE(AnalyzeExperiment(std::vector<ArmSummary>{Arm("a", 10, 1), Arm("b", 10, 1)}, o).status().message().find(
                "weights"),
            std::string::npos);
  o.weights.clear();
  o.alpha = 1.5;
  EXPECT_THAT(AnalyzeExperiment(std::vector<ArmSummary>{Arm("a", 10, 1), Arm("b", 10, 1)}, o).status(),
              StatusIs(StatusCode::kInvalidArgument));
  // Constant arms: no lift rather than NaN.
  o.alpha = 0.05;
  o.metric = MetricKind::kMean;
  auto flat = AnalyzeExperiment(std::vector<ArmSummary>{Arm("a", 10, 10, 10), Arm("b", 10, 10, 10)}, o);
  ASSERT_TRUE(flat.ok());
  EXPECT_FALSE(flat->variants[1].has_lift);
}

}  // namespace
}  // namespace touchpoint::insight
