// ml/metrics.h — binary-classification metrics and stratified k-fold splits. Pure functions,
// thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include <touchpoint/core/result.h>

namespace touchpoint::ml {

// Area under the ROC curve (ties count one half, i.e. the Mann-Whitney statistic).
// `labels` are 0/1. Fails with kInvalidArgument when sizes differ or only one class is present.
Result<double> RocAuc(const std::vector<double>& scores, const std::vector<int>& labels);

// Area under the precision-recall curve as average precision (the step-wise sum
// Σ (R_k − R_{k−1}) P_k over distinct score thresholds, as scikit-learn computes it).
// Fails like RocAuc (needs at least one positive).
Result<double> PrAuc(const std::vector<double>& scores, const std::vector<int>& labels);

// Mean negative log-likelihood; probabilities are clipped to [1e-15, 1 − 1e-15].
Result<double> LogLoss(const std::vector<double>& probabilities, const std::vector<int>& labels);

// Assigns each row a fold in [0, k): within each class, rows are ordered by
// SplitMix64Hash(row_index XOR seed) and dealt round-robin, so every fold has (nearly) the same
// class balance. Deterministic and reproducible in other languages. Fails with
// kInvalidArgument when k < 2 or a class has fewer than k rows.
Result<std::vector<int>> StratifiedFolds(const std::vector<int>& labels, int k,
                                         std::uint64_t seed = 42);

// The SplitMix64 finaliser used by StratifiedFolds.
std::uint64_t SplitMix64Hash(std::uint64_t x);

}  // namespace touchpoint::ml
