#include <touchpoint/ml/logistic.h>

#include <cmath>
#include <limits>
#include <random>

#include <gtest/gtest.h>

#include <touchpoint/ml/metrics.h>

#include "testing/matchers.h"

namespace touchpoint::ml {
namespace {

using ::touchpoint::testing::StatusIs;

// y ~ Bernoulli(sigmoid(2·x0 − 1·x1)), x2 is noise.
void MakeLinear(size_t n, unsigned seed, DenseMatrix* x, std::vector<int>* y) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> g(0, 1);
  std::uniform_real_distribution<double> u(0, 1);
  x->rows = n;
  x->cols = 3;
  x->values.resize(n * 3);
  y->resize(n);
  for (size_t i = 0; i < n; ++i) {
    double a = g(rng), b = g(rng) * 10 + 50, c = g(rng);  // b has a large offset and scale
    x->values[i * 3] = a;
    x->values[i * 3 + 1] = b;
    x->values[i * 3 + 2] = c;
    double z = 2 * a - 1 * (b - 50) / 10;
    (*y)[i] = u(rng) < 1 / (1 + std::exp(-z)) ? 1 : 0;
  }
}

TEST(LogisticTest, RecoversSignsAndRanksWell) {
  DenseMatrix x;
  std::vector<int> y;
  MakeLinear(4000, 1, &x, &y);
  auto model = LogisticModel::Train(x, y);
  ASSERT_OK(model);
  EXPECT_GT(model->weights()[0], 1.5);   // standardised x0 has sd 1: weight ≈ 2
  EXPECT_LT(model->weights()[1], -0.7);  // standardised x1: weight ≈ −1
  EXPECT_LT(std::fabs(model->weights()[2]), 0.15);
  DenseMatrix test;
  std::vector<int> ty;
  MakeLinear(2000, 2, &test, &ty);
  std::vector<double> p(test.rows);
  for (size_t i = 0; i < test.rows; ++i) p[i] = model->PredictProbability(test.Row(i));
  auto auc = RocAuc(p, ty);
  ASSERT_OK(auc);
  EXPECT_GT(*auc, 0.85);
  // Calibrated: mean prediction close to the observed rate.
  double mean_p = 0, rate = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    mean_p += p[i] / static_cast<double>(p.size());
    rate += ty[i] / static_cast<double>(p.size());
  }
  EXPECT_NEAR(mean_p, rate, 0.03);
}

TEST(LogisticTest, ContributionsSumToLogOdds) {
  DenseMatrix x;
  std::vector<int> y;
  MakeLinear(500, 3, &x, &y);
  auto model = LogisticModel::Train(x, y);
  ASSERT_OK(model);
  for (size_t r = 0; r < 5; ++r) {
    double z = model->bias();
    for (double c : model->Contributions(x.Row(r))) z += c;
    EXPECT_NEAR(1 / (1 + std::exp(-z)), model->PredictProbability(x.Row(r)), 1e-12);
  }
}

TEST(LogisticTest, MissingValuesImputeToMean) {
  DenseMatrix x;
  std::vector<int> y;
  MakeLinear(500, 4, &x, &y);
  auto model = LogisticModel::Train(x, y);
  ASSERT_OK(model);
  double row[3] = {std::numeric_limits<double>::quiet_NaN(), model->means()[1],
                   model->means()[2]};
  EXPECT_NEAR(model->PredictProbability(row), 1 / (1 + std::exp(-model->bias())), 1e-12);
}

TEST(LogisticTest, RejectsSingleClassAndMismatch) {
  DenseMatrix x{2, 1, {1.0, 2.0}};
  EXPECT_THAT(LogisticModel::Train(x, {1, 1}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(LogisticModel::Train(x, {1}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(LogisticModel::FromParameters({1.0}, 0, {0.0}, {0.0}),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(LogisticModel::FromParameters({1.0, 2.0}, 0, {0.0}, {1.0}),
              StatusIs(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace touchpoint::ml
