// ml/linear.h — the one wrapper over liblinear: sparse training rows with a constant bias
// feature, the solver and its parameters, and the trained decision functions copied out, so no
// caller builds liblinear's C structs or sees its headers.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include <touchpoint/core/result.h>

namespace touchpoint::ml {

enum class LinearSolver {
  kL2LogisticRegression,  // liblinear L2R_LR: primal trust-region Newton; deterministic
  kL2LossSvcDual,         // liblinear L2R_L2LOSS_SVC_DUAL: dual coordinate descent, one-vs-rest;
                          // visits rows in an order drawn from std::rand()
};

struct LinearModel;

struct LinearOptions {
  LinearSolver solver = LinearSolver::kL2LogisticRegression;
  double c = 1.0;     // cost of a training error (liblinear -c, scikit-learn C); > 0
  double eps = 0.01;  // stopping tolerance (liblinear -e); > 0
};

// Training rows. Each row is sparse: (feature, value) pairs with feature < num_features, in the
// order the caller adds them (kept as given: the solver's sums follow it). Every row also gets a
// constant bias feature of value 1 after its own features (liblinear -B 1). Not thread-safe.
class LinearProblem {
 public:
  explicit LinearProblem(size_t num_features);
  ~LinearProblem();
  LinearProblem(LinearProblem&&) noexcept;
  LinearProblem& operator=(LinearProblem&&) noexcept;

  // Appends one value to the row being built. REQUIRES: feature < num_features().
  void Add(size_t feature, double value);
  // Ends the row being built; `label` is its class (an integer value, as liblinear reads it).
  void EndRow(double label);

  size_t num_features() const { return num_features_; }
  size_t rows() const;

 private:
  friend Result<LinearModel> TrainLinear(const LinearProblem& problem, const LinearOptions& options);
  struct Impl;
  size_t num_features_;
  std::unique_ptr<Impl> impl_;
};

// The trained decision functions, one per class: f_k(x) = Σ_j weight(k, j)·x_j + bias[k].
// With two classes liblinear trains one function; the second class gets its negation.
struct LinearModel {
  // The class of each function, in liblinear's order: first seen first, except that a two-class
  // problem labelled -1 and +1 always lists +1 first.
  std::vector<int> labels;
  size_t num_features = 0;
  std::vector<double> weights;  // labels.size() × num_features, one function after another
  std::vector<double> bias;     // per function: the weight of the constant bias feature

  double weight(size_t k, size_t feature) const { return weights[k * num_features + feature]; }
};

// Trains on every row of `problem`. kInvalidArgument with liblinear's own message ("C <= 0",
// "eps <= 0") when the options are rejected, or when there are no rows; kInternal when
// liblinear returns no model. Callers name themselves with Status::WithContext.
Result<LinearModel> TrainLinear(const LinearProblem& problem, const LinearOptions& options);

}  // namespace touchpoint::ml
