// privacy/dp.h — differential privacy for aggregate reports that leave the company: counts, sums
// and means by group with discrete Laplace noise, per-person contribution bounds, small groups
// suppressed by a noisy threshold, and the epsilon budget of a data set (docs/security.md,
// "Differential privacy").
//
// The mechanism (Release):
//   1. Contribution bounding. A person's contributions are summed per group; if the person
//      counts in more than `max_groups_per_person` groups, that many are kept, chosen uniformly
//      at random (secure source); each kept per-group total is clamped to [lower, upper].
//      Adding or removing one person then changes each group's count by at most 1 and its sum
//      by at most max(|lower|, |upper|), in at most k = max_groups_per_person groups: L1
//      sensitivities Δcount = k, Δsum = k · max(|lower|, |upper|).
//   2. Noise. Every released number gets independent discrete Laplace noise
//      P[Z = z] ∝ exp(−ε'·|z| / Δ) (the two-sided geometric distribution), ε' = ε for counts
//      only, or ε/2 for the counts and ε/2 for the sums (ε split in exact micro-units). By
//      sequential composition the whole report is ε-differentially private with respect to
//      adding or removing one person — over a public group domain (below).
//   3. Derived numbers are post-processing of the noisy ones: a count below 0 is shown as 0;
//      mean = noisy sum / noisy count, clamped to [lower, upper]; a group whose noisy count is
//      below `min_count` is suppressed (its numbers are not shown). Suppression uses only the
//      noisy count, so it costs no budget.
//   Groups: with `public_groups` (the RFM layers, the saved segments' names: known without the
//   data) exactly those groups are reported — empty ones too, with noise — and the release is
//   pure ε-DP. Without a public domain the groups are the data's own; a group that one person
//   alone creates appears only when its noisy count reaches min_count, so the release is
//   (ε, δ)-DP with δ = k · P[Z ≥ min_count − 1] = k · p^(min_count−1) / (1 + p), p = e^(−ε'/Δcount),
//   which Report::delta states (min_count ≥ 2 is required then).
//
// Sampling (SampleDiscreteLaplace): Canonne, Kamath & Steinke, "The Discrete Gaussian for
// Differential Privacy" (NeurIPS 2020), Algorithm 2, with their Algorithm 1 for Bernoulli(e^−γ)
// at rational γ: only integer uniforms from libsodium's randombytes (a CSPRNG) and exact integer
// comparisons — no floating point, so there is no rounding pattern to leak (Mironov 2012, the
// attack on floating-point Laplace). The scale Δ/ε is the exact rational Δ·10^6 / ε_micros.
//
// Thread safety: the functions are reentrant; SecureNoise() is safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>

namespace touchpoint::store {
class DpBudgetRepository;
}

namespace touchpoint::privacy::dp {

// Epsilons are exact decimals in micro-units: 1 ε = 1,000,000.
inline constexpr std::int64_t kMicrosPerEpsilon = 1'000'000;
// The largest epsilon one release may ask for (larger is no protection worth the name).
inline constexpr std::int64_t kMaxEpsilonMicros = 10 * kMicrosPerEpsilon;
// The budget of a data set nobody configured (touchpoint dp-budget --set).
inline constexpr std::int64_t kDefaultBudgetMicros = 1 * kMicrosPerEpsilon;
// The data set of the customer base: every report over the store's customers spends from it.
inline constexpr std::string_view kCustomersDataset = "customers";

// "0.5", "1", "0.000001" → micro-units. kInvalidArgument unless a plain decimal with at most six
// fractional digits, > 0 and ≤ `max_micros`.
Result<std::int64_t> ParseEpsilon(std::string_view text, std::int64_t max_micros = kMaxEpsilonMicros);
// Micro-units as the shortest exact decimal: 500000 → "0.5", 1000000 → "1".
std::string FormatEpsilon(std::int64_t micros);

// Uniform integers from a cryptographically secure source.
class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // Uniform in [0, n). REQUIRES: n > 0.
  virtual std::uint64_t Uniform(std::uint64_t n) = 0;
};
// libsodium's randombytes (sodium_init is called once).
RandomSource& SecureRandom();

// Bernoulli(exp(−num/den)), exactly (CKS Algorithm 1). REQUIRES: den > 0.
bool BernoulliExp(std::uint64_t num, std::uint64_t den, RandomSource& random);

// One draw of the discrete Laplace distribution with scale t/s: P[X = x] ∝ exp(−|x|·s/t)
// (CKS Algorithm 2). REQUIRES: t > 0, s > 0.
std::int64_t SampleDiscreteLaplace(std::uint64_t t, std::uint64_t s, RandomSource& random);

// The variance of that distribution, 2p / (1 − p)², p = exp(−s/t) (for tests and docs).
double DiscreteLaplaceVariance(double scale);

// Where Release gets its noise: Laplace(Δ/ε) as above. Tests inject a fixed one.
class NoiseSource {
 public:
  virtual ~NoiseSource() = default;
  // A draw of the discrete Laplace distribution with scale sensitivity / (epsilon_micros / 10^6).
  virtual std::int64_t Draw(std::int64_t sensitivity, std::int64_t epsilon_micros) = 0;
  // Uniform in [0, n) (choosing which groups of a person to keep).
  virtual std::uint64_t Uniform(std::uint64_t n) = 0;
};
// Discrete Laplace from SecureRandom().
NoiseSource& SecureNoise();

// One person's value in one group (a person may have several rows in a group: they are added).
// Values are integers in the report's unit (e.g. cents); counts-only reports ignore them.
struct Contribution {
  std::int64_t person = 0;
  std::string group;
  std::int64_t value = 0;
};

struct ReleaseOptions {
  std::int64_t epsilon_micros = 0;  // the whole report's ε (> 0)
  bool with_values = false;         // also sums and means (the budget is split in two)
  std::int64_t lower = 0;           // clamp of a person's total in a group (with_values)
  std::int64_t upper = 0;
  int max_groups_per_person = 1;  // k ≥ 1
  std::int64_t min_count = 0;     // groups whose noisy count is below this are suppressed
  // The groups to report, known without the data; contributions to other groups are ignored.
  // Empty: the data's own groups (then min_count ≥ 2 is required; see the top of this file).
  std::vector<std::string> public_groups;
};

struct GroupRelease {
  std::string group;
  bool suppressed = false;     // noisy count below min_count: nothing else is shown
  std::int64_t count = 0;      // noisy, at least 0
  std::optional<std::int64_t> sum;  // with_values: noisy, in the value unit
  std::optional<double> mean;       // with_values: noisy sum / noisy count, clamped to [lower, upper]
};

struct Release {
  std::vector<GroupRelease> groups;  // public_groups' order, else by group name
  std::int64_t epsilon_micros = 0;       // spent by the whole report
  std::int64_t count_epsilon_micros = 0;
  std::int64_t sum_epsilon_micros = 0;   // 0 without values
  std::int64_t count_sensitivity = 0;    // Δcount = k
  std::int64_t sum_sensitivity = 0;      // Δsum = k · max(|lower|, |upper|)
  double count_noise_stddev = 0;         // of each count's noise
  double sum_noise_stddev = 0;
  double delta = 0;                      // 0 over public groups
};

// Checks `options` (kInvalidArgument naming the problem), bounds the contributions and draws the
// noise (see the top of this file). Spends nothing: record the spend first (SpendBudget).
Result<Release> ReleaseGroups(std::span<const Contribution> contributions, const ReleaseOptions& options,
                              NoiseSource& noise = SecureNoise());

// {"epsilon":"0.5","delta":0,"mechanism":"discrete_laplace",...,"groups":[{"group":"a",
//  "suppressed":false,"count":12,"sum":3400,"mean":283.33},...]}. `value_scale`: sums and
// means are divided by it (values in cents → currency units with 100).
std::string ReleaseJson(const Release& release, const ReleaseOptions& options, std::int64_t value_scale = 1);

// Records a release of `epsilon_micros` against `dataset`'s budget (its configured budget, else
// kDefaultBudgetMicros), atomically for every process sharing the store. kFailedPrecondition
// ("differential privacy budget of customers exhausted: spent 0.8 of 1, this release needs
// 0.5") when it would exceed the budget; nothing is recorded then.
Status SpendBudget(store::DpBudgetRepository& budgets, std::string_view dataset, std::string_view report,
                   std::int64_t epsilon_micros, std::string_view actor, Millis now);

}  // namespace touchpoint::privacy::dp
