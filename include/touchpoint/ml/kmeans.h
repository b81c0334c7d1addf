// ml/kmeans.h — k-means clustering: greedy k-means++ seeding, Lloyd iterations until the
// centroids stop moving, best of several restarts; silhouette scores for choosing k.
//
// Deterministic for a given seed, whatever the number of threads. Functions are
// thread-compatible.
#pragma once

#include <cstdint>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/ml/stats.h>

namespace touchpoint::ml {

struct KMeansOptions {
  int k = 8;
  int restarts = 4;          // independent k-means++ seedings; the lowest inertia wins
  int max_iterations = 300;  // Lloyd iterations per restart
  // Converged when the summed squared centroid shift is <= tolerance * mean column variance
  // (scikit-learn's rule), or when no point changes cluster.
  double tolerance = 1e-4;
  std::uint64_t seed = 42;
  // Threads for the Lloyd passes (0 = the hardware's, at most 8). The result does not depend on
  // it: rows are split into fixed chunks whose partial sums are added in chunk order.
  int threads = 0;
};

struct KMeansResult {
  std::vector<int> labels;  // cluster of each row, 0..k-1
  Matrix centroids;         // k x cols, in the units of the input
  std::vector<std::int64_t> sizes;
  double inertia = 0;       // sum of squared distances to the assigned centroid
  int iterations = 0;       // Lloyd iterations of the winning restart
};

// Clusters the rows of `data`. Fails with kInvalidArgument when k < 1, k > rows, or data has
// no columns. Empty clusters are re-seeded with the point farthest from its centroid.
Result<KMeansResult> KMeans(const Matrix& data, const KMeansOptions& options);

// Mean silhouette coefficient of a labelling, computed on at most `max_sample` rows drawn
// with `seed` (all rows when rows <= max_sample or max_sample == 0), distances taken within
// the sample (as scikit-learn's silhouette_score(sample_size=...)). O(sample²). Returns 0
// when fewer than two clusters are present.
double Silhouette(const Matrix& data, const std::vector<int>& labels, int k, size_t max_sample,
                  std::uint64_t seed);

struct KSelection {
  int best_k = 0;
  std::vector<int> ks;
  std::vector<double> silhouettes;  // parallel to ks
  KMeansResult best;
};

// Runs KMeans for k in [k_min, k_max] (clamped to rows - 1) and keeps the k with the highest
// silhouette (the smaller k on ties). Fails with kInvalidArgument when rows < 3.
Result<KSelection> ChooseKBySilhouette(const Matrix& data, int k_min, int k_max,
                                       const KMeansOptions& options, size_t max_sample);

}  // namespace touchpoint::ml
