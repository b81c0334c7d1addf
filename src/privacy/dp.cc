// Differential privacy: the exact discrete Laplace sampler (Canonne–Kamath–Steinke), contribution
// bounding, grouped releases and the budget spend. See privacy/dp.h for the guarantees.
#include <touchpoint/privacy/dp.h>

#include <sodium.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <numeric>
#include <unordered_map>
#include <utility>

#include <touchpoint/core/json_text.h>
#include <touchpoint/store/dp_budget_repository.h>

namespace touchpoint::privacy::dp {
namespace {

class SodiumRandom final : public RandomSource {
 public:
  SodiumRandom() { TP_CHECK(sodium_init() >= 0, "libsodium cannot be initialised"); }
  std::uint64_t Uniform(std::uint64_t n) override {
    TP_CHECK(n > 0, "Uniform(0)");
    // Rejection sampling over 64-bit words: accept below the largest multiple of n (unbiased).
    const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() -
                                std::numeric_limits<std::uint64_t>::max() % n;
    for (;;) {
      const std::uint64_t x = Next();
      if (x < limit) return x % n;
    }
  }

 private:
  // randombytes_buf (the kernel's getrandom on Linux) fills a per-thread buffer of 512 words:
  // one system call per 4 KB instead of one per draw.
  static std::uint64_t Next() {
    struct Buffer {
      std::uint64_t words[512];
      std::size_t next = 512;
      ~Buffer() { sodium_memzero(words, sizeof words); }
    };
    thread_local Buffer buffer;
    if (buffer.next == 512) {
      randombytes_buf(buffer.words, sizeof buffer.words);
      buffer.next = 0;
    }
    const std::uint64_t x = buffer.words[buffer.next];
    buffer.words[buffer.next++] = 0;  // a drawn word is not kept
    return x;
  }
};

class SecureNoiseSource final : public NoiseSource {
 public:
  std::int64_t Draw(std::int64_t sensitivity, std::int64_t epsilon_micros) override {
    // scale = Δ / (ε_micros / 10^6) = (Δ · 10^6) / ε_micros, reduced.
    std::uint64_t t = static_cast<std::uint64_t>(sensitivity) * static_cast<std::uint64_t>(kMicrosPerEpsilon);
    std::uint64_t s = static_cast<std::uint64_t>(epsilon_micros);
    const std::uint64_t g = std::gcd(t, s);
    return SampleDiscreteLaplace(t / g, s / g, SecureRandom());
  }
  std::uint64_t Uniform(std::uint64_t n) override { return SecureRandom().Uniform(n); }
};

// Bernoulli(exp(−num/den)) for num ≤ den (γ ∈ [0, 1]): CKS Algorithm 1, first case.
bool BernoulliExpUnit(std::uint64_t num, std::uint64_t den, RandomSource& random) {
  std::uint64_t k = 1;
  for (;;) {
    // A ~ Bernoulli(γ / k) = Bernoulli(num / (den · k)).
    std::uint64_t denk = 0;
    if (__builtin_mul_overflow(den, k, &denk)) break;  // γ/k < 2^-64 · den: A = 0 (never in practice)
    if (random.Uniform(denk) >= num) break;
    ++k;
  }
  return (k % 2) == 1;
}

std::int64_t ClampValue(std::int64_t v, std::int64_t lo, std::int64_t hi) { return std::min(std::max(v, lo), hi); }

std::int64_t AddSaturating(std::int64_t a, std::int64_t b) {
  std::int64_t out = 0;
  if (__builtin_add_overflow(a, b, &out)) return b > 0 ? std::numeric_limits<std::int64_t>::max()
                                                       : std::numeric_limits<std::int64_t>::min();
  return out;
}

void AppendNumber(std::string& out, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  out += buf;
}

// The standard deviation of the noise of sensitivity Δ at ε (micro-units).
double NoiseStddev(std::int64_t sensitivity, std::int64_t epsilon_micros) {
  if (epsilon_micros <= 0) return 0;
  const double scale = static_cast<double>(sensitivity) * static_cast<double>(kMicrosPerEpsilon) /
                       static_cast<double>(epsilon_micros);
  return std::sqrt(DiscreteLaplaceVariance(scale));
}

}  // namespace

Result<std::int64_t> ParseEpsilon(std::string_view text, std::int64_t max_micros) {
  const auto bad = [&] {
    return Status::InvalidArgument("epsilon '" + std::string(text) +
                                   "' must be a decimal number above 0 and at most " + FormatEpsilon(max_micros) +
                                   ", with at most 6 decimals (e.g. 0.5)");
  };
  if (text.empty() || text.size() > 24) return bad();
  std::int64_t whole = 0;
  std::int64_t frac = 0;
  int frac_digits = 0;
  bool seen_dot = false;
  bool seen_digit = false;
  for (char c : text) {
    if (c == '.') {
      if (seen_dot) return bad();
      seen_dot = true;
      continue;
    }
    if (c < '0' || c > '9') return bad();
    seen_digit = true;
    if (seen_dot) {
      if (++frac_digits > 6) return bad();
      frac = frac * 10 + (c - '0');
    } else {
      if (whole > 1'000'000) return bad();
      whole = whole * 10 + (c - '0');
    }
  }
  if (!seen_digit) return bad();
  for (int i = frac_digits; i < 6; ++i) frac *= 10;
  const std::int64_t micros = whole * kMicrosPerEpsilon + frac;
  if (micros <= 0 || micros > max_micros) return bad();
  return micros;
}

std::string FormatEpsilon(std::int64_t micros) { return store::FormatEpsilonMicros(micros); }

RandomSource& SecureRandom() {
  static SodiumRandom random;
  return random;
}

NoiseSource& SecureNoise() {
  static SecureNoiseSource noise;
  return noise;
}

bool BernoulliExp(std::uint64_t num, std::uint64_t den, RandomSource& random) {
  TP_CHECK(den > 0, "BernoulliExp: zero denominator");
  // γ > 1: e^−γ = (e^−1)^⌊γ⌋ · e^−(γ−⌊γ⌋), each factor an independent Bernoulli (CKS Alg. 1).
  for (std::uint64_t i = 0; i < num / den; ++i) {
    if (!BernoulliExpUnit(1, 1, random)) return false;
  }
  return BernoulliExpUnit(num % den, den, random);
}

std::int64_t SampleDiscreteLaplace(std::uint64_t t, std::uint64_t s, RandomSource& random) {
  TP_CHECK(t > 0 && s > 0, "SampleDiscreteLaplace: the scale must be positive");
  for (;;) {
    const std::uint64_t u = random.Uniform(t);
    if (!BernoulliExp(u, t, random)) continue;
    std::uint64_t v = 0;
    while (BernoulliExp(1, 1, random)) ++v;
    std::uint64_t x = 0;
    if (__builtin_mul_overflow(t, v, &x) || __builtin_add_overflow(x, u, &x)) continue;  // beyond 2^64: redraw
    const std::uint64_t y = x / s;
    const bool negative = random.Uniform(2) == 1;
    if (negative && y == 0) continue;  // +0 and −0 would count zero twice
    if (y > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) continue;
    return negative ? -static_cast<std::int64_t>(y) : static_cast<std::int64_t>(y);
  }
}

double DiscreteLaplaceVariance(double scale) {
  const double p = std::exp(-1.0 / scale);
  return 2.0 * p / ((1.0 - p) * (1.0 - p));
}

Result<Release> ReleaseGroups(std::span<const Contribution> contributions, const ReleaseOptions& o,
                              NoiseSource& noise) {
  if (o.epsilon_micros <= 0 || o.epsilon_micros > kMaxEpsilonMicros) {
    return Status::InvalidArgument("epsilon must be above 0 and at most " + FormatEpsilon(kMaxEpsilonMicros));
  }
  if (o.max_groups_per_person < 1 || o.max_groups_per_person > 1000) {
    return Status::InvalidArgument("the groups one person may count in must be 1..1000");
  }
  if (o.min_count < 0) return Status::InvalidArgument("the suppression threshold must not be negative");
  if (o.with_values && o.lower > o.upper) return Status::InvalidArgument("the value bounds are reversed (lower > upper)");
  if (o.with_values && (o.lower < -(std::int64_t{1} << 32) || o.upper > (std::int64_t{1} << 32))) {
    return Status::InvalidArgument("the value bounds must lie within ±2^32");
  }
  if (o.public_groups.empty() && o.min_count < 2) {
    return Status::InvalidArgument(
        "groups taken from the data need a suppression threshold of at least 2 (one person alone must not "
        "make a group appear); or name the groups");
  }
  const std::int64_t k = o.max_groups_per_person;
  Release out;
  out.epsilon_micros = o.epsilon_micros;
  out.count_epsilon_micros = o.with_values ? o.epsilon_micros / 2 : o.epsilon_micros;
  out.sum_epsilon_micros = o.with_values ? o.epsilon_micros - out.count_epsilon_micros : 0;
  if (out.count_epsilon_micros <= 0 || (o.with_values && out.sum_epsilon_micros <= 0)) {
    return Status::InvalidArgument("epsilon is too small to split between counts and sums");
  }
  out.count_sensitivity = k;
  const std::int64_t bound = std::max(o.lower < 0 ? -o.lower : o.lower, o.upper < 0 ? -o.upper : o.upper);
  out.sum_sensitivity = o.with_values ? std::max<std::int64_t>(k * bound, 1) : 0;
  out.count_noise_stddev = NoiseStddev(out.count_sensitivity, out.count_epsilon_micros);
  out.sum_noise_stddev = o.with_values ? NoiseStddev(out.sum_sensitivity, out.sum_epsilon_micros) : 0;

  // 1. Per person: total per group, then at most k groups (uniformly chosen), clamped.
  std::map<std::string, std::size_t> group_index;  // group → slot in totals
  std::vector<std::string> group_names;
  if (!o.public_groups.empty()) {
    for (const std::string& g : o.public_groups) {
      if (group_index.emplace(g, group_names.size()).second) group_names.push_back(g);
    }
  }
  std::unordered_map<std::int64_t, std::map<std::size_t, std::int64_t>> per_person;
  for (const Contribution& c : contributions) {
    auto it = group_index.find(c.group);
    if (it == group_index.end()) {
      if (!o.public_groups.empty()) continue;  // outside the public domain
      it = group_index.emplace(c.group, group_names.size()).first;
      group_names.push_back(c.group);
    }
    auto& slot = per_person[c.person][it->second];
    slot = AddSaturating(slot, c.value);
  }
  std::vector<std::int64_t> counts(group_names.size(), 0);
  std::vector<std::int64_t> sums(group_names.size(), 0);
  std::vector<std::pair<std::size_t, std::int64_t>> groups;
  for (auto& [person, totals] : per_person) {
    groups.assign(totals.begin(), totals.end());
    if (groups.size() > static_cast<std::size_t>(k)) {
      // A uniformly random k-subset (partial Fisher–Yates with the secure source).
      for (std::size_t i = 0; i < static_cast<std::size_t>(k); ++i) {
        const std::size_t j = i + static_cast<std::size_t>(noise.Uniform(groups.size() - i));
        std::swap(groups[i], groups[j]);
      }
      groups.resize(static_cast<std::size_t>(k));
    }
    for (const auto& [g, total] : groups) {
      ++counts[g];
      if (o.with_values) sums[g] = AddSaturating(sums[g], ClampValue(total, o.lower, o.upper));
    }
  }

  // 2. Noise, 3. post-processing. The order of the output does not depend on the data when the
  // groups are public; otherwise it is by name.
  std::vector<std::size_t> order(group_names.size());
  std::iota(order.begin(), order.end(), 0);
  if (o.public_groups.empty()) {
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return group_names[a] < group_names[b]; });
  }
  for (std::size_t g : order) {
    GroupRelease r;
    r.group = group_names[g];
    const std::int64_t noisy_count = AddSaturating(counts[g], noise.Draw(out.count_sensitivity, out.count_epsilon_micros));
    std::optional<std::int64_t> noisy_sum;
    if (o.with_values) noisy_sum = AddSaturating(sums[g], noise.Draw(out.sum_sensitivity, out.sum_epsilon_micros));
    if (noisy_count < o.min_count) {
      r.suppressed = true;
    } else {
      r.count = std::max<std::int64_t>(noisy_count, 0);
      if (noisy_sum) {
        r.sum = *noisy_sum;
        const double denominator = static_cast<double>(std::max<std::int64_t>(r.count, 1));
        r.mean = std::clamp(static_cast<double>(*noisy_sum) / denominator, static_cast<double>(o.lower),
                            static_cast<double>(o.upper));
      }
    }
    out.groups.push_back(std::move(r));
  }
  if (o.public_groups.empty()) {
    const double p = std::exp(-static_cast<double>(out.count_epsilon_micros) /
                              (static_cast<double>(kMicrosPerEpsilon) * static_cast<double>(k)));
    out.delta = static_cast<double>(k) * std::pow(p, static_cast<double>(o.min_count - 1)) / (1.0 + p);
  }
  return out;
}

std::string ReleaseJson(const Release& r, const ReleaseOptions& o, std::int64_t value_scale) {
  const double scale = static_cast<double>(std::max<std::int64_t>(value_scale, 1));
  std::string out = "{\"mechanism\":\"discrete_laplace\",\"epsilon\":";
  AppendJsonString(out, FormatEpsilon(r.epsilon_micros));
  char buf[96];
  std::snprintf(buf, sizeof buf, ",\"delta\":%.3g", r.delta);
  out += buf;
  out += ",\"count_epsilon\":";
  AppendJsonString(out, FormatEpsilon(r.count_epsilon_micros));
  out += ",\"max_groups_per_person\":" + std::to_string(o.max_groups_per_person);
  out += ",\"min_count\":" + std::to_string(o.min_count);
  out += ",\"count_noise_stddev\":";
  AppendNumber(out, r.count_noise_stddev);
  if (o.with_values) {
    out += ",\"sum_epsilon\":";
    AppendJsonString(out, FormatEpsilon(r.sum_epsilon_micros));
    out += ",\"value_bounds\":[";
    AppendNumber(out, static_cast<double>(o.lower) / scale);
    out += ",";
    AppendNumber(out, static_cast<double>(o.upper) / scale);
    out += "],\"sum_noise_stddev\":";
    AppendNumber(out, r.sum_noise_stddev / scale);
  }
  out += ",\"groups\":[";
  bool first = true;
  for (const GroupRelease& g : r.groups) {
    if (!first) out += ',';
    first = false;
    out += "{\"group\":";
    AppendJsonString(out, g.group);
    out += g.suppressed ? ",\"suppressed\":true" : ",\"suppressed\":false";
    if (!g.suppressed) {
      out += ",\"count\":" + std::to_string(g.count);
      if (g.sum) {
        out += ",\"sum\":";
        AppendNumber(out, static_cast<double>(*g.sum) / scale);
      }
      if (g.mean) {
        out += ",\"mean\":";
        AppendNumber(out, *g.mean / scale);
      }
    }
    out += '}';
  }
  out += "]}";
  return out;
}

Status SpendBudget(store::DpBudgetRepository& budgets, std::string_view dataset, std::string_view report,
                   std::int64_t epsilon_micros, std::string_view actor, Millis now) {
  store::DpRelease release;
  release.dataset = std::string(dataset);
  release.report = std::string(report);
  release.epsilon_micros = epsilon_micros;
  release.actor = std::string(actor);
  release.released_at = now;
  auto spent = budgets.Spend(release, kDefaultBudgetMicros);
  if (!spent.ok()) return spent.status();
  return Status::Ok();
}

}  // namespace touchpoint::privacy::dp
