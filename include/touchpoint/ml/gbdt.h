// ml/gbdt.h — gradient-boosted decision trees for binary classification (XGBoost C API).
// Missing values (NaN) are handled natively by the trees.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/ml/tabular.h>

namespace touchpoint::ml {

struct GbdtOptions {
  int rounds = 100;          // number of trees
  int max_depth = 3;
  double learning_rate = 0.1;
  double subsample = 1.0;
  double min_child_weight = 1.0;
  double lambda = 1.0;       // L2 penalty on leaf weights
  int threads = 1;
  std::uint64_t seed = 0;
};

// A trained booster. Movable, not copyable. Predict calls are not safe concurrently on one
// model (XGBoost keeps per-booster caches); use one model per thread.
class GbdtModel {
 public:
  GbdtModel(GbdtModel&&) noexcept = default;
  GbdtModel& operator=(GbdtModel&&) noexcept = default;
  ~GbdtModel();

  // Trains on x (NaN = missing) and labels 0/1. Fails with kInvalidArgument on size mismatch,
  // no rows or a single class; kInternal when XGBoost reports an error.
  static Result<GbdtModel> Train(const DenseMatrix& x, const std::vector<int>& labels,
                                 GbdtOptions options = {});
  // Reads back a model written by Serialize(). Fails with kInvalidArgument when the bytes are
  // not an XGBoost model or its feature count differs from `num_features`.
  static Result<GbdtModel> Deserialize(std::string_view bytes, size_t num_features);

  // XGBoost's JSON model.
  Result<std::string> Serialize() const;

  // Probability of class 1 for every row. Fails with kInvalidArgument when x.cols differs
  // from num_features().
  Result<std::vector<double>> Predict(const DenseMatrix& x) const;
  // Per-row, per-feature contributions to the log-odds (TreeSHAP); row-major rows × features
  // (the bias term is dropped).
  Result<std::vector<double>> Contributions(const DenseMatrix& x) const;

  size_t num_features() const { return num_features_; }

 private:
  struct HandleDeleter {
    void operator()(void* handle) const;
  };
  GbdtModel() = default;
  Result<std::vector<double>> RunPredict(const DenseMatrix& x, int type) const;

  std::unique_ptr<void, HandleDeleter> booster_;
  size_t num_features_ = 0;
};

}  // namespace touchpoint::ml
