#include <touchpoint/ml/gbdt.h>

#include <cmath>
#include <limits>
#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <touchpoint/ml/logistic.h>
#include <touchpoint/ml/metrics.h>

#include "testing/matchers.h"

namespace touchpoint::ml {
namespace {

using ::touchpoint::testing::StatusIs;

// XOR of the signs of x0 and x1 (with 5 % label noise): no linear model can rank it.
void MakeXor(size_t n, unsigned seed, DenseMatrix* x, std::vector<int>* y) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  x->rows = n;
  x->cols = 2;
  x->values.resize(n * 2);
  y->resize(n);
  for (size_t i = 0; i < n; ++i) {
    double a = u(rng), b = u(rng);
    x->values[i * 2] = a;
    x->values[i * 2 + 1] = b;
    int label = (a > 0) != (b > 0) ? 1 : 0;
    if (u(rng) > 0.9) label = 1 - label;
    (*y)[i] = label;
  }
}

TEST(GbdtTest, LearnsWhatLogisticCannot) {
  DenseMatrix x, test;
  std::vector<int> y, ty;
  MakeXor(2000, 1, &x, &y);
  MakeXor(1000, 2, &test, &ty);
  auto gbdt = GbdtModel::Train(x, y);
  ASSERT_OK(gbdt);
  auto p = gbdt->Predict(test);
  ASSERT_OK(p);
  auto auc = RocAuc(*p, ty);
  ASSERT_OK(auc);
  EXPECT_GT(*auc, 0.85);
  auto logistic = LogisticModel::Train(x, y);
  ASSERT_OK(logistic);
  std::vector<double> lp(test.rows);
  for (size_t i = 0; i < test.rows; ++i) lp[i] = logistic->PredictProbability(test.Row(i));
  EXPECT_LT(*RocAuc(lp, ty), 0.65);
}

TEST(GbdtTest, SerializeRoundTripGivesSamePredictions) {
  DenseMatrix x;
  std::vector<int> y;
  MakeXor(500, 3, &x, &y);
  x.values[7] = std::numeric_limits<double>::quiet_NaN();  // a missing value
  GbdtOptions options;
  options.rounds = 20;
  auto model = GbdtModel::Train(x, y, options);
  ASSERT_OK(model);
  auto bytes = model->Serialize();
  ASSERT_OK(bytes);
  auto back = GbdtModel::Deserialize(*bytes, 2);
  ASSERT_OK(back);
  auto p1 = model->Predict(x);
  auto p2 = back->Predict(x);
  ASSERT_OK(p1);
  ASSERT_OK(p2);
  EXPECT_EQ(*p1, *p2);
  EXPECT_THAT(GbdtModel::Deserialize(*bytes, 3), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(GbdtModel::Deserialize("{\"not\": \"a model\"}", 2),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(GbdtModel::Deserialize(bytes->substr(0, bytes->size() / 2), 2),
              StatusIs(StatusCode::kInvalidArgument));
}

TEST(GbdtTest, DamagedTreeStructureIsAnErrorNotACrash) {
  DenseMatrix x;
  std::vector<int> y;
  MakeXor(300, 5, &x, &y);
  GbdtOptions options;
  options.rounds = 5;
  auto model = GbdtModel::Train(x, y, options);
  ASSERT_OK(model);
  auto bytes = model->Serialize();
  ASSERT_OK(bytes);
  auto json = nlohmann::json::parse(*bytes);
  auto& tree = json["learner"]["gradient_booster"]["model"]["trees"][0];
  ASSERT_GT(tree["right_children"].size(), 1u);
  auto cycle = json;
  cycle["learner"]["gradient_booster"]["model"]["trees"][0]["right_children"][0] = 0;
  auto out_of_range = json;
  out_of_range["learner"]["gradient_booster"]["model"]["trees"][0]["right_children"][0] = 1000;
  auto bad_feature = json;
  bad_feature["learner"]["gradient_booster"]["model"]["trees"][0]["split_indices"][0] = 7;
  for (const auto& damaged : {cycle, out_of_range, bad_feature}) {
    EXPECT_THAT(GbdtModel::Deserialize(damaged.dump(), 2), StatusIs(StatusCode::kInvalidArgument));
  }
}

TEST(GbdtTest, ContributionsExplainTheLogOdds) {
  DenseMatrix x;
  std::vector<int> y;
  MakeXor(500, 4, &x, &y);
  auto model = GbdtModel::Train(x, y);
  ASSERT_OK(model);
  auto p = model->Predict(x);
  auto c = model->Contributions(x);
  ASSERT_OK(p);
  ASSERT_OK(c);
  ASSERT_EQ(c->size(), x.rows * 2);
  // SHAP values plus a common bias add up to the log-odds: the differences between rows match.
  auto logit = [](double q) { return std::log(q / (1 - q)); };
  double d_pred = logit((*p)[0]) - logit((*p)[1]);
  double d_contrib = ((*c)[0] + (*c)[1]) - ((*c)[2] + (*c)[3]);
  EXPECT_NEAR(d_pred, d_contrib, 1e-3);
}

TEST(GbdtTest, RejectsBadInput) {
  DenseMatrix x{2, 1, {1.0, 2.0}};
  EXPECT_THAT(GbdtModel::Train(x, {0, 0}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(GbdtModel::Train(x, {0}), StatusIs(StatusCode::kInvalidArgument));
  auto model = GbdtModel::Train(x, {0, 1});
  ASSERT_OK(model);
  DenseMatrix wide{1, 2, {1.0, 2.0}};
  EXPECT_THAT(model->Predict(wide), StatusIs(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace touchpoint::ml
