#include <touchpoint/ml/erlang.h>

#include <cmath>
#include <cstdint>

#include <gtest/gtest.h>

namespace touchpoint::ml {
namespace {

// Independent Erlang C: the textbook closed form
//   C = (a^n/n! · n/(n−a)) / (Σ_{k<n} a^k/k! + a^n/n! · n/(n−a))
// evaluated in long double in log space (lgamma + log-sum-exp), not via the B recursion.
double ErlangCDirect(std::int64_t n, double a) {
  long double la = std::log(static_cast<long double>(a));
  auto log_term = [&](std::int64_t k) {
    return static_cast<long double>(k) * la - std::lgamma(static_cast<long double>(k) + 1.0L);
  };
  long double nn = static_cast<long double>(n);
  long double log_top = log_term(n) + std::log(nn / (nn - a));
  long double mx = log_top;
  for (std::int64_t k = 0; k < n; ++k) mx = std::max(mx, log_term(k));
  long double sum = std::exp(log_top - mx);
  for (std::int64_t k = 0; k < n; ++k) sum += std::exp(log_term(k) - mx);
  return static_cast<double>(std::exp(log_top - mx) / sum);
}

// Erlang B from its definition, also in log space.
double ErlangBDirect(std::int64_t n, double a) {
  long double la = std::log(static_cast<long double>(a));
  auto log_term = [&](std::int64_t k) {
    return static_cast<long double>(k) * la - std::lgamma(static_cast<long double>(k) + 1.0L);
  };
  long double mx = 0;
  for (std::int64_t k = 0; k <= n; ++k) mx = std::max(mx, log_term(k));
  long double sum = 0;
  for (std::int64_t k = 0; k <= n; ++k) sum += std::exp(log_term(k) - mx);
  return static_cast<double>(std::exp(log_term(n) - mx) / sum);
}

TEST(ErlangTest, MatchesPublishedTableValues) {
  // Erlang B tables: 10 trunks at 5 Erlangs block 1.84 %; 5 trunks at 2 Erlangs block 3.67 %.
  EXPECT_NEAR(ErlangB(10, 5.0), 0.01838, 5e-5);
  EXPECT_NEAR(ErlangB(5, 2.0), 0.03670, 5e-5);
  // The classic call-centre example: 10 Erlangs (200 calls/h × 180 s) on 14 agents waits with
  // probability 17.4 % and answers 88.8 % within 20 s.
  EXPECT_NEAR(ErlangC(14, 10.0), 0.1741, 1e-4);
  EXPECT_NEAR(ServiceLevel(14, 10.0, 180, 20), 0.8883, 1e-4);
  // M/M/1: P(wait) = utilisation; ASA = ρ/(1−ρ) · service time.
  EXPECT_NEAR(ErlangC(1, 0.5), 0.5, 1e-12);
  EXPECT_NEAR(AverageSpeedOfAnswer(1, 0.5, 100), 100.0, 1e-9);
}

TEST(ErlangTest, AgreesWithIndependentLongDoubleFormulaTo1e9) {
  const double loads[] = {0.3, 2.5, 10, 47.3, 150, 833.33, 2500.5};
  for (double a : loads) {
    auto base = static_cast<std::int64_t>(std::floor(a)) + 1;
    for (std::int64_t extra : {0, 1, 3, 10, 40}) {
      std::int64_t n = base + extra;
      EXPECT_NEAR(ErlangC(n, a), ErlangCDirect(n, a), 1e-9) << "n=" << n << " a=" << a;
      EXPECT_NEAR(ErlangB(n, a), ErlangBDirect(n, a), 1e-9) << "n=" << n << " a=" << a;
    }
  }
}

TEST(ErlangTest, UnstableQueueAlwaysWaits) {
  EXPECT_EQ(ErlangC(10, 10.0), 1.0);
  EXPECT_EQ(ErlangC(5, 12.0), 1.0);
  EXPECT_EQ(ServiceLevel(5, 12.0, 180, 20), 0.0);
  EXPECT_TRUE(std::isinf(AverageSpeedOfAnswer(5, 12.0, 180)));
}

TEST(ErlangTest, ThousandsOfAgentsStayFiniteAndMonotone) {
  double prev = 1.0;
  for (std::int64_t n = 5001; n < 5200; n += 7) {
    double c = ErlangC(n, 5000.0);
    ASSERT_TRUE(std::isfinite(c));
    ASSERT_GE(c, 0.0);
    ASSERT_LE(c, prev);
    prev = c;
  }
}

}  // namespace
}  // namespace touchpoint::ml
