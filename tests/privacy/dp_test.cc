// Differential privacy (privacy/dp.h): the exact discrete Laplace sampler, contribution bounding,
// suppression, the budget, and the e^ε bound on neighbouring data sets.
//
// The statistical tests draw from the secure source, so they cannot be seeded. Each check is
// set at six standard errors (normal approximation; two-sided false-failure probability 2·10^-9
// per check), or for the histogram ratios by a multiplicative Chernoff bound whose total failure
// probability is at most 10^-9 (see WorstRatio). Everything runs in about two seconds.
#include <touchpoint/privacy/dp.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <touchpoint/store/dp_budget_repository.h>
#include <touchpoint/store/open.h>

#include "testing/matchers.h"

namespace touchpoint::privacy::dp {
namespace {

using ::testing::HasSubstr;
using ::touchpoint::testing::StatusIs;

// No noise and the first choice always: for the deterministic parts of the mechanism.
class ZeroNoise final : public NoiseSource {
 public:
  std::int64_t Draw(std::int64_t sensitivity, std::int64_t epsilon_micros) override {
    draws.emplace_back(sensitivity, epsilon_micros);
    return 0;
  }
  std::uint64_t Uniform(std::uint64_t) override { return 0; }
  std::vector<std::pair<std::int64_t, std::int64_t>> draws;
};

// Secure noise at a different epsilon than the release claims (a broken mechanism).
class WrongScaleNoise final : public NoiseSource {
 public:
  explicit WrongScaleNoise(std::int64_t factor) : factor_(factor) {}
  std::int64_t Draw(std::int64_t sensitivity, std::int64_t epsilon_micros) override {
    return SecureNoise().Draw(sensitivity, epsilon_micros * factor_);
  }
  std::uint64_t Uniform(std::uint64_t n) override { return SecureNoise().Uniform(n); }

 private:
  std::int64_t factor_;
};

TEST(EpsilonTest, ParsesExactDecimals) {
  struct Case {
    const char* text;
    std::int64_t micros;  // 0: invalid
  } cases[] = {{"1", 1'000'000}, {"0.5", 500'000}, {"0.000001", 1},  {"2.25", 2'250'000}, {"10", 10'000'000},
               {"0", 0},         {"-1", 0},        {"0.0000001", 0}, {"1e-3", 0},         {"", 0},
               {".", 0},         {"1.2.3", 0},     {"10.000001", 0}, {".5", 500'000}};
  for (const auto& c : cases) {
    auto r = ParseEpsilon(c.text);
    if (c.micros == 0) {
      EXPECT_THAT(r, StatusIs(StatusCode::kInvalidArgument)) << c.text;
    } else {
      ASSERT_OK(r);
      EXPECT_EQ(*r, c.micros) << c.text;
    }
  }
  EXPECT_EQ(FormatEpsilon(500'000), "0.5");
  EXPECT_EQ(FormatEpsilon(1'000'000), "1");
  EXPECT_EQ(FormatEpsilon(1'250'001), "1.250001");
}

// Six standard errors of a sample mean from the sample itself.
struct Moments {
  double n = 0, mean = 0, var = 0, m4 = 0;
};
Moments Measure(const std::vector<std::int64_t>& xs) {
  Moments m;
  m.n = static_cast<double>(xs.size());
  for (auto x : xs) m.mean += static_cast<double>(x);
  m.mean /= m.n;
  for (auto x : xs) {
    const double d = static_cast<double>(x) - m.mean;
    m.var += d * d;
    m.m4 += d * d * d * d;
  }
  m.var /= m.n;
  m.m4 /= m.n;
  return m;
}

// The sampler's variance is the two-sided geometric's, 2p/(1−p)², its mean 0 and its mass at 0
// (1−p)/(1+p), at a small integer scale and at a rational one reached through the noise source.
TEST(DiscreteLaplaceTest, HasTheRightScale) {
  struct Case {
    std::int64_t sensitivity;
    std::int64_t epsilon_micros;
    int samples;
  } cases[] = {{1, 500'000, 200'000}, {3, 700'000, 100'000}};  // scales 2 and 30/7
  for (const auto& c : cases) {
    std::vector<std::int64_t> xs;
    xs.reserve(static_cast<size_t>(c.samples));
    std::int64_t zeros = 0;
    for (int i = 0; i < c.samples; ++i) {
      xs.push_back(SecureNoise().Draw(c.sensitivity, c.epsilon_micros));
      zeros += xs.back() == 0;
    }
    const double scale = static_cast<double>(c.sensitivity) * 1e6 / static_cast<double>(c.epsilon_micros);
    const double p = std::exp(-1 / scale);
    const double want_var = DiscreteLaplaceVariance(scale);
    EXPECT_NEAR(want_var, 2 * p / ((1 - p) * (1 - p)), 1e-9);
    const Moments m = Measure(xs);
    // Var(sample variance) ≈ (μ4 − σ⁴)/n; Var(mean) = σ²/n.
    EXPECT_NEAR(m.var, want_var, 6 * std::sqrt((m.m4 - m.var * m.var) / m.n)) << "scale " << scale;
    EXPECT_NEAR(m.mean, 0.0, 6 * std::sqrt(want_var / m.n)) << "scale " << scale;
    const double q0 = (1 - p) / (1 + p);
    EXPECT_NEAR(static_cast<double>(zeros) / m.n, q0, 6 * std::sqrt(q0 * (1 - q0) / m.n)) << "scale " << scale;
  }
}

TEST(DiscreteLaplaceTest, BernoulliExpIsExact) {
  constexpr int kN = 200'000;
  for (auto [num, den] : {std::pair<std::uint64_t, std::uint64_t>{3, 2}, {1, 7}, {0, 5}}) {
    int ones = 0;
    for (int i = 0; i < kN; ++i) ones += BernoulliExp(num, den, SecureRandom());
    const double q = std::exp(-static_cast<double>(num) / static_cast<double>(den));
    EXPECT_NEAR(ones / static_cast<double>(kN), q, 6 * std::sqrt(q * (1 - q) / kN) + 1e-12) << num << "/" << den;
  }
}

// The empirical distribution of one group's released count over many runs.
std::map<std::int64_t, std::int64_t> Histogram(int people, int runs, std::int64_t epsilon_micros, NoiseSource& noise) {
  std::vector<Contribution> data;
  for (int i = 0; i < people; ++i) data.push_back({i, "a", 0});
  ReleaseOptions o;
  o.epsilon_micros = epsilon_micros;
  o.public_groups = {"a"};
  std::map<std::int64_t, std::int64_t> h;
  for (int r = 0; r < runs; ++r) {
    auto release = ReleaseGroups(data, o, noise);
    TP_CHECK(release.ok() && release->groups.size() == 1, "release failed");
    ++h[release->groups[0].count];
  }
  return h;
}

// Checks P_D[o] ≤ e^ε · P_D'[o] for both orders on every output o seen at least kMinCount times
// in both histograms (n runs each). For such a bin with true probability q, a multiplicative
// Chernoff bound gives P[p̂ > (1+η)q] ≤ exp(−η²nq/3) and P[p̂ < (1−η)q] ≤ exp(−η²nq/2); with
// η = sqrt(3·ln(4B/β) / c) (c the bin's observed count, a plug-in for nq, B bins, β = 10^-9)
// every bin's estimates hold at once with probability ≥ 1 − β, and then
// p̂_D ≤ (1+η_D)·q_D ≤ (1+η_D)·e^ε·q_D' ≤ e^ε · p̂_D' · (1+η_D)/(1−η_D').
// Returns the largest ratio p̂_D / (e^ε · p̂_D' · tolerance): ≤ 1 when the bound holds.
double WorstRatio(const std::map<std::int64_t, std::int64_t>& d, const std::map<std::int64_t, std::int64_t>& d2,
                  double epsilon, int* bins_checked) {
  constexpr std::int64_t kMinCount = 1000;
  constexpr double kBeta = 1e-9;
  std::vector<std::int64_t> bins;
  for (const auto& [o, c] : d) {
    auto it = d2.find(o);
    if (c >= kMinCount && it != d2.end() && it->second >= kMinCount) bins.push_back(o);
  }
  *bins_checked = static_cast<int>(bins.size());
  const double log_term = std::log(4.0 * static_cast<double>(bins.size()) / kBeta);
  double worst = 0;
  for (std::int64_t o : bins) {
    const double c1 = static_cast<double>(d.at(o));
    const double c2 = static_cast<double>(d2.at(o));
    const double eta1 = std::sqrt(3 * log_term / c1);
    const double eta2 = std::sqrt(3 * log_term / c2);
    // Both directions: D vs D' and D' vs D (equal run counts, so counts compare as probabilities).
    worst = std::max(worst, c1 / (std::exp(epsilon) * c2 * (1 + eta1) / (1 - eta2)));
    worst = std::max(worst, c2 / (std::exp(epsilon) * c1 * (1 + eta2) / (1 - eta1)));
  }
  return worst;
}

TEST(ReleaseGroupsTest, NeighbouringDataSetsStayWithinTheEpsilonBound) {
  constexpr int kRuns = 30'000;
  const std::int64_t eps = 1'000'000;  // ε = 1
  auto without = Histogram(20, kRuns, eps, SecureNoise());
  auto with_one_more = Histogram(21, kRuns, eps, SecureNoise());
  int bins = 0;
  const double worst = WorstRatio(without, with_one_more, 1.0, &bins);
  EXPECT_GE(bins, 3) << "enough outputs are frequent enough to test";
  EXPECT_LE(worst, 1.0) << "some output is more than e^ε times likelier on one data set";
  // The check has power: noise at 2ε while claiming ε (a mechanism off by a factor 2) fails it.
  WrongScaleNoise broken(2);
  auto b1 = Histogram(20, 15'000, eps, broken);
  auto b2 = Histogram(21, 15'000, eps, broken);
  EXPECT_GT(WorstRatio(b1, b2, 1.0, &bins), 1.0);
}

TEST(ReleaseGroupsTest, BoundsEachPersonsContribution) {
  ZeroNoise noise;
  ReleaseOptions o;
  o.epsilon_micros = 1'000'000;
  o.with_values = true;
  o.lower = 0;
  o.upper = 100;
  o.max_groups_per_person = 2;
  o.min_count = 0;
  o.public_groups = {"a", "b", "c", "empty"};
  const std::vector<Contribution> data = {
      {1, "a", 60}, {1, "a", 60},  // summed to 120, clamped to 100
      {2, "a", -50},               // clamped to 0
      {3, "a", 1'000'000}, {3, "b", 10}, {3, "c", 10},  // three groups, capped at two
      {4, "outside", 5},           // not a public group: ignored
  };
  auto r = ReleaseGroups(data, o, noise);
  ASSERT_OK(r);
  ASSERT_EQ(r->groups.size(), 4u);
  EXPECT_EQ(r->groups[3].group, "empty");
  EXPECT_EQ(r->groups[3].count, 0);
  std::int64_t total_count = 0;
  for (const auto& g : r->groups) total_count += g.count;
  EXPECT_EQ(total_count, 2 + 2) << "persons 1 and 2 in a; person 3 in two of a, b, c";
  // Person 3 counts in two groups chosen by the (here fixed) random draw: a and b survive the
  // swap of the partial Fisher–Yates with Uniform() = 0.
  EXPECT_EQ(r->groups[0].count, 3);
  EXPECT_EQ(*r->groups[0].sum, 100 + 0 + 100);
  EXPECT_NEAR(*r->groups[0].mean, 200.0 / 3, 1e-9);
  EXPECT_EQ(r->groups[1].count, 1);
  EXPECT_EQ(*r->groups[1].sum, 10);
  // Sensitivities and the split of ε between counts and sums.
  EXPECT_EQ(r->count_sensitivity, 2);
  EXPECT_EQ(r->sum_sensitivity, 200);
  EXPECT_EQ(r->count_epsilon_micros + r->sum_epsilon_micros, 1'000'000);
  EXPECT_EQ(r->delta, 0.0);
  for (const auto& [sensitivity, eps] : noise.draws) {
    EXPECT_TRUE((sensitivity == 2 && eps == 500'000) || (sensitivity == 200 && eps == 500'000))
        << sensitivity << " at " << eps;
  }
  EXPECT_EQ(noise.draws.size(), 8u) << "a count and a sum per group, empty ones too";
}

TEST(ReleaseGroupsTest, SmallGroupsAreSuppressedAndDataGroupsNeedAThreshold) {
  ZeroNoise noise;
  ReleaseOptions o;
  o.epsilon_micros = 500'000;
  o.min_count = 3;
  std::vector<Contribution> data = {{1, "big", 0}, {2, "big", 0}, {3, "big", 0}, {4, "small", 0}};
  auto r = ReleaseGroups(data, o, noise);
  ASSERT_OK(r);
  ASSERT_EQ(r->groups.size(), 2u);
  EXPECT_EQ(r->groups[0].group, "big");
  EXPECT_FALSE(r->groups[0].suppressed);
  EXPECT_EQ(r->groups[0].count, 3);
  EXPECT_TRUE(r->groups[1].suppressed);
  EXPECT_EQ(r->groups[1].count, 0) << "nothing of a suppressed group is shown";
  // Groups from the data: δ = k·p^(τ−1)/(1+p), p = e^(−ε/k).
  const double p = std::exp(-0.5);
  EXPECT_NEAR(r->delta, std::pow(p, 2) / (1 + p), 1e-12);
  const std::string json = ReleaseJson(*r, o);
  EXPECT_THAT(json, HasSubstr(R"({"group":"small","suppressed":true})"));
  EXPECT_THAT(json, HasSubstr(R"("epsilon":"0.5")"));
  o.min_count = 1;
  EXPECT_THAT(ReleaseGroups(data, o, noise), StatusIs(StatusCode::kInvalidArgument));
  o.min_count = 3;
  o.epsilon_micros = 0;
  EXPECT_THAT(ReleaseGroups(data, o, noise), StatusIs(StatusCode::kInvalidArgument));
  o.epsilon_micros = 1;
  o.with_values = true;  // 1 micro-epsilon cannot be split in two
  EXPECT_THAT(ReleaseGroups(data, o, noise), StatusIs(StatusCode::kInvalidArgument));
}

TEST(SpendBudgetTest, ARefusedReleaseRecordsNothing) {
  auto store = store::Open("memory:dp-spend-test", {});
  ASSERT_OK(store);
  auto& budgets = (*store)->Get<store::DpBudgetRepository>();
  ASSERT_OK(SpendBudget(budgets, kCustomersDataset, "segment-report", 700'000, "cli", 1));
  Status refused = SpendBudget(budgets, kCustomersDataset, "rfm-report", 400'000, "cli", 2);
  EXPECT_THAT(refused, StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(refused.message(), HasSubstr("spent 0.7 of 1, this release needs 0.4"));
  EXPECT_EQ(*budgets.Spent("customers"), 700'000);
  ASSERT_OK(SpendBudget(budgets, kCustomersDataset, "rfm-report", 300'000, "api:admin", 3));
  EXPECT_EQ(budgets.Releases("customers")->back().actor, "api:admin");
}

}  // namespace
}  // namespace touchpoint::privacy::dp
