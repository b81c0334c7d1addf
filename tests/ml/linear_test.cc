#include <touchpoint/ml/linear.h>

#include <random>

#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace touchpoint::ml {
namespace {

using ::touchpoint::testing::StatusIs;

double Decision(const LinearModel& m, size_t k, const std::vector<double>& x) {
  double z = m.bias[k];
  for (size_t j = 0; j < x.size(); ++j) z += m.weight(k, j) * x[j];
  return z;
}

// One feature, label = x > 2: only a bias term can put the boundary away from 0.
TEST(LinearTest, LearnsAThresholdThroughTheBiasFeature) {
  for (LinearSolver solver : {LinearSolver::kL2LogisticRegression, LinearSolver::kL2LossSvcDual}) {
    LinearProblem problem(1);
    for (int i = 0; i <= 40; ++i) {
      if (i == 20) continue;  // x = 2 sits on the boundary
      const double x = i * 0.1;  // 0 … 4
      problem.Add(0, x);
      problem.EndRow(x > 2 ? 1 : -1);
    }
    auto m = TrainLinear(problem, {.solver = solver, .c = 100, .eps = 1e-4});
    ASSERT_OK(m);
    // -1 was seen first, but liblinear puts +1 first in a -1/+1 problem.
    ASSERT_EQ(m->labels, (std::vector<int>{1, -1}));
    EXPECT_EQ(m->num_features, 1u);
    EXPECT_LT(m->bias[0], 0) << "the bias must move the boundary off 0";
    // Function 1 (label -1) is the negation of function 0 (label +1).
    EXPECT_DOUBLE_EQ(m->weight(1, 0), -m->weight(0, 0));
    EXPECT_DOUBLE_EQ(m->bias[1], -m->bias[0]);
    for (double x : {0.0, 1.0, 1.8, 2.2, 3.0, 4.0}) {
      EXPECT_EQ(Decision(*m, 0, {x}) > 0, x > 2) << "x = " << x;
    }
  }
}

// Three classes, each marked by its own feature plus noise: one function per class (one vs the
// rest), and each scores highest on its own class.
TEST(LinearTest, OneFunctionPerClassInFirstSeenOrder) {
  std::mt19937 rng(3);
  std::normal_distribution<double> noise(0, 0.2);
  LinearProblem problem(4);
  const int order[] = {7, 2, 5};  // labels as the rows introduce them
  for (int i = 0; i < 90; ++i) {
    const int c = i % 3;
    for (size_t j = 0; j < 4; ++j) {
      const double v = (static_cast<int>(j) == c ? 1.0 : 0.0) + noise(rng);
      problem.Add(j, v);
    }
    problem.EndRow(order[c]);
  }
  EXPECT_EQ(problem.rows(), 90u);
  auto m = TrainLinear(problem, {.solver = LinearSolver::kL2LossSvcDual, .c = 1, .eps = 0.01});
  ASSERT_OK(m);
  ASSERT_EQ(m->labels, (std::vector<int>{7, 2, 5}));
  ASSERT_EQ(m->weights.size(), 3u * 4u);
  for (size_t c = 0; c < 3; ++c) {
    std::vector<double> x(4, 0.0);
    x[c] = 1.0;
    size_t best = 0;
    for (size_t k = 1; k < 3; ++k) {
      if (Decision(*m, k, x) > Decision(*m, best, x)) best = k;
    }
    EXPECT_EQ(best, c) << "class " << order[c];
  }
}

TEST(LinearTest, RejectsBadOptionsWithLiblinearsMessageAndEmptyProblems) {
  LinearProblem problem(2);
  problem.Add(0, 1.0);
  problem.EndRow(1);
  problem.Add(1, 1.0);
  problem.EndRow(-1);
  auto bad_c = TrainLinear(problem, {.solver = LinearSolver::kL2LogisticRegression, .c = 0, .eps = 0.01});
  EXPECT_THAT(bad_c, StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(bad_c.status().message(), "C <= 0");
  auto bad_eps = TrainLinear(problem, {.solver = LinearSolver::kL2LossSvcDual, .c = 1, .eps = 0});
  EXPECT_THAT(bad_eps, StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(bad_eps.status().message(), "eps <= 0");
  EXPECT_THAT(TrainLinear(LinearProblem(2), {}), StatusIs(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace touchpoint::ml
