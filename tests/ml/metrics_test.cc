#include <touchpoint/ml/metrics.h>

#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace touchpoint::ml {
namespace {

using ::touchpoint::testing::StatusIs;

// Fraction of (positive, negative) pairs ranked correctly, ties one half — by brute force.
double PairwiseAuc(const std::vector<double>& s, const std::vector<int>& y) {
  double good = 0, pairs = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    for (size_t j = 0; j < s.size(); ++j) {
      if (y[i] == 1 && y[j] == 0) {
        pairs += 1;
        good += s[i] > s[j] ? 1.0 : (s[i] == s[j] ? 0.5 : 0.0);
      }
    }
  }
  return good / pairs;
}

TEST(MetricsTest, RocAucCases) {
  struct Case {
    std::vector<double> scores;
    std::vector<int> labels;
    double want;
  } cases[] = {
      {{0.1, 0.2, 0.8, 0.9}, {0, 0, 1, 1}, 1.0},
      {{0.9, 0.8, 0.2, 0.1}, {0, 0, 1, 1}, 0.0},
      {{0.5, 0.5, 0.5, 0.5}, {0, 1, 0, 1}, 0.5},
      {{0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1}, 0.75},  // scikit-learn's documented example
  };
  for (const auto& c : cases) {
    auto auc = RocAuc(c.scores, c.labels);
    ASSERT_OK(auc);
    EXPECT_NEAR(*auc, c.want, 1e-12);
  }
}

TEST(MetricsTest, RocAucEqualsPairwiseCountWithTies) {
  std::mt19937 rng(3);
  std::vector<double> s(300);
  std::vector<int> y(300);
  for (size_t i = 0; i < s.size(); ++i) {
    y[i] = rng() % 3 == 0 ? 1 : 0;
    s[i] = static_cast<double>(rng() % 20) + (y[i] ? 3.0 : 0.0);  // many ties
  }
  auto auc = RocAuc(s, y);
  ASSERT_OK(auc);
  EXPECT_NEAR(*auc, PairwiseAuc(s, y), 1e-12);
}

TEST(MetricsTest, PrAucIsAveragePrecision) {
  // scikit-learn's average_precision_score example gives 0.8333...
  auto ap = PrAuc({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1});
  ASSERT_OK(ap);
  EXPECT_NEAR(*ap, 0.5 * 1.0 + 0.5 * (2.0 / 3.0), 1e-12);
}

TEST(MetricsTest, LogLossMatchesDefinitionAndClips) {
  auto ll = LogLoss({0.9, 0.2}, {1, 0});
  ASSERT_OK(ll);
  EXPECT_NEAR(*ll, -(std::log(0.9) + std::log(0.8)) / 2, 1e-12);
  auto clipped = LogLoss({0.0}, {1});
  ASSERT_OK(clipped);
  EXPECT_NEAR(*clipped, -std::log(1e-15), 1e-6);
}

TEST(MetricsTest, RejectsBadInput) {
  EXPECT_THAT(RocAuc({0.1, 0.2}, {1, 1}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(RocAuc({0.1}, {1, 0}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(PrAuc({0.1, 0.2}, {0, 0}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(LogLoss({}, {}), StatusIs(StatusCode::kInvalidArgument));
}

TEST(MetricsTest, StratifiedFoldsKeepClassBalance) {
  std::vector<int> y(1000);
  for (size_t i = 0; i < y.size(); ++i) y[i] = i % 4 == 0 ? 1 : 0;  // 250 positives
  auto folds = StratifiedFolds(y, 5, 42);
  ASSERT_OK(folds);
  int pos[5] = {}, all[5] = {};
  for (size_t i = 0; i < y.size(); ++i) {
    all[(*folds)[i]]++;
    pos[(*folds)[i]] += y[i];
  }
  for (int f = 0; f < 5; ++f) {
    EXPECT_EQ(all[f], 200);
    EXPECT_EQ(pos[f], 50);
  }
  // Shuffled, not in input order: the first five positives do not land in folds 0..4.
  std::vector<int> first;
  for (size_t i = 0; i < y.size() && first.size() < 5; ++i) {
    if (y[i] == 1) first.push_back((*folds)[i]);
  }
  EXPECT_NE(first, (std::vector<int>{0, 1, 2, 3, 4}));
  auto again = StratifiedFolds(y, 5, 42);
  EXPECT_EQ(*folds, *again);
}

TEST(MetricsTest, StratifiedFoldsRejectsTooFewRows) {
  EXPECT_THAT(StratifiedFolds({0, 0, 0, 1}, 2), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(StratifiedFolds({0, 1, 0, 1}, 1), StatusIs(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace touchpoint::ml
