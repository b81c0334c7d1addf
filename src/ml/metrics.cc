#include <touchpoint/ml/metrics.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <utility>

namespace touchpoint::ml {
namespace {

Status CheckBinary(size_t scores, const std::vector<int>& labels, bool need_both) {
  if (scores != labels.size()) {
    return Status::InvalidArgument("metrics: " + std::to_string(scores) + " scores but " +
                                   std::to_string(labels.size()) + " labels");
  }
  if (labels.empty()) return Status::InvalidArgument("metrics: no rows");
  size_t pos = 0;
  for (int y : labels) {
    if (y != 0 && y != 1) return Status::InvalidArgument("metrics: labels must be 0 or 1");
    pos += static_cast<size_t>(y);
  }
  if (need_both && (pos == 0 || pos == labels.size())) {
    return Status::InvalidArgument("metrics: only one class present");
  }
  return Status::Ok();
}

// Indices sorted by descending score.
std::vector<size_t> ByScoreDescending(const std::vector<double>& scores) {
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  return order;
}

}  // namespace

Result<double> RocAuc(const std::vector<double>& scores, const std::vector<int>& labels) {
  TP_RETURN_IF_ERROR(CheckBinary(scores.size(), labels, true));
  // Rank-sum with average ranks for ties.
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  double rank_sum = 0;
  double pos = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) ++j;
    double avg_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    for (size_t k = i; k < j; ++k) {
      if (labels[order[k]] == 1) {
        rank_sum += avg_rank;
        pos += 1;
      }
    }
    i = j;
  }
  double neg = static_cast<double>(labels.size()) - pos;
  return (rank_sum - pos * (pos + 1) / 2.0) / (pos * neg);
}

Result<double> PrAuc(const std::vector<double>& scores, const std::vector<int>& labels) {
  TP_RETURN_IF_ERROR(CheckBinary(scores.size(), labels, true));
  std::vector<size_t> order = ByScoreDescending(scores);
  double total_pos = 0;
  for (int y : labels) total_pos += y;
  double tp = 0, fp = 0, prev_recall = 0, ap = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) {
      (labels[order[j]] == 1 ? tp : fp) += 1;
      ++j;
    }
    double recall = tp / total_pos;
    double precision = tp / (tp + fp);
    ap += (recall - prev_recall) * precision;
    prev_recall = recall;
    i = j;
  }
  return ap;
}

Result<double> LogLoss(const std::vector<double>& probabilities, const std::vector<int>& labels) {
  TP_RETURN_IF_ERROR(CheckBinary(probabilities.size(), labels, false));
  double sum = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    double p = std::clamp(probabilities[i], 1e-15, 1 - 1e-15);
    sum -= labels[i] == 1 ? std::log(p) : std::log1p(-p);
  }
  return sum / static_cast<double>(labels.size());
}

std::uint64_t SplitMix64Hash(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

Result<std::vector<int>> StratifiedFolds(const std::vector<int>& labels, int k,
                                         std::uint64_t seed) {
  if (k < 2) return Status::InvalidArgument("folds: need at least 2 folds, got " + std::to_string(k));
  std::vector<int> fold(labels.size(), 0);
  for (int cls = 0; cls <= 1; ++cls) {
    std::vector<std::pair<std::uint64_t, size_t>> keyed;
    for (size_t i = 0; i < labels.size(); ++i) {
      if (labels[i] == cls) keyed.emplace_back(SplitMix64Hash(static_cast<std::uint64_t>(i) ^ seed), i);
    }
    if (keyed.size() < static_cast<size_t>(k)) {
      return Status::InvalidArgument("folds: class " + std::to_string(cls) + " has " +
                                     std::to_string(keyed.size()) + " rows, fewer than " +
                                     std::to_string(k) + " folds");
    }
    std::sort(keyed.begin(), keyed.end());
    for (size_t r = 0; r < keyed.size(); ++r) {
      fold[keyed[r].second] = static_cast<int>(r % static_cast<size_t>(k));
    }
  }
  return fold;
}

}  // namespace touchpoint::ml
