#include <touchpoint/ml/kmeans.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace touchpoint::ml {
namespace {

// Gaussian-ish blobs (sum of uniforms) around the given centres.
Matrix Blobs(const std::vector<std::vector<double>>& centres, size_t per, double spread,
             std::uint64_t seed, std::vector<int>* truth) {
  SplitMix64 rng(seed);
  const size_t d = centres[0].size();
  Matrix m(centres.size() * per, d);
  size_t r = 0;
  for (size_t c = 0; c < centres.size(); ++c) {
    for (size_t i = 0; i < per; ++i, ++r) {
      for (size_t j = 0; j < d; ++j) {
        double noise = rng.Uniform() + rng.Uniform() + rng.Uniform() - 1.5;
        m.at(r, j) = centres[c][j] + spread * noise;
      }
      if (truth) truth->push_back(static_cast<int>(c));
    }
  }
  return m;
}

double InertiaOf(const Matrix& x, const std::vector<int>& labels, const Matrix& centres) {
  double s = 0;
  for (size_t i = 0; i < x.rows; ++i) {
    for (size_t j = 0; j < x.cols; ++j) {
      const double t = x.at(i, j) - centres.at(static_cast<size_t>(labels[i]), j);
      s += t * t;
    }
  }
  return s;
}

TEST(KMeansTest, RecoversSeparatedBlobs) {
  std::vector<int> truth;
  Matrix x = Blobs({{0, 0}, {10, 0}, {0, 10}, {10, 10}}, 100, 1.0, 3, &truth);
  auto got = KMeans(x, {.k = 4, .restarts = 3, .max_iterations = 300, .tolerance = 1e-4, .seed = 1});
  ASSERT_OK(got);
  // Each true blob maps to exactly one cluster and vice versa.
  std::map<int, std::set<int>> mapping;
  for (size_t i = 0; i < truth.size(); ++i) mapping[truth[i]].insert(got->labels[i]);
  std::set<int> used;
  for (auto& [t, clusters] : mapping) {
    EXPECT_EQ(clusters.size(), 1u) << "blob " << t;
    used.insert(*clusters.begin());
  }
  EXPECT_EQ(used.size(), 4u);
  EXPECT_NEAR(got->inertia, InertiaOf(x, got->labels, got->centroids), 1e-6 * got->inertia);
  for (auto s : got->sizes) EXPECT_EQ(s, 100);
}

TEST(KMeansTest, FindsTheOptimumOnSmallOneDimensionalData) {
  // In 1-D the optimal 2-clustering splits the sorted values; enumerate every split.
  SplitMix64 rng(11);
  Matrix x(30, 1);
  for (auto& v : x.data) v = std::pow(rng.Uniform() * 10, 2);
  std::vector<double> sorted = x.data;
  std::sort(sorted.begin(), sorted.end());
  double best = std::numeric_limits<double>::infinity();
  for (size_t cut = 1; cut < sorted.size(); ++cut) {
    auto sse = [&](size_t a, size_t b) {
      double mean = 0;
      for (size_t i = a; i < b; ++i) mean += sorted[i];
      mean /= static_cast<double>(b - a);
      double s = 0;
      for (size_t i = a; i < b; ++i) s += (sorted[i] - mean) * (sorted[i] - mean);
      return s;
    };
    best = std::min(best, sse(0, cut) + sse(cut, sorted.size()));
  }
  auto got = KMeans(x, {.k = 2, .restarts = 5, .max_iterations = 300, .tolerance = 0, .seed = 9});
  ASSERT_OK(got);
  EXPECT_NEAR(got->inertia, best, 1e-9 * best);
}

TEST(KMeansTest, DeterministicForASeedAndRejectsBadK) {
  Matrix x = Blobs({{0, 0, 0}, {5, 5, 5}, {0, 5, 0}}, 50, 2.0, 5, nullptr);
  KMeansOptions opt{.k = 3, .restarts = 2, .max_iterations = 300, .tolerance = 1e-4, .seed = 77};
  auto a = KMeans(x, opt);
  auto b = KMeans(x, opt);
  ASSERT_OK(a);
  ASSERT_OK(b);
  EXPECT_EQ(a->labels, b->labels);
  EXPECT_EQ(a->inertia, b->inertia);
  opt.k = 151;
  EXPECT_THAT(KMeans(x, opt), testing::StatusIs(StatusCode::kInvalidArgument));
  opt.k = 0;
  EXPECT_THAT(KMeans(x, opt), testing::StatusIs(StatusCode::kInvalidArgument));
  opt.k = 150;  // every point its own cluster
  auto all = KMeans(x, opt);
  ASSERT_OK(all);
  EXPECT_NEAR(all->inertia, 0.0, 1e-9);
}

// Structureless data (many Lloyd iterations, points changing cluster late), spread over several
// row chunks: 1, 2 and 3 threads give bit-identical results, every label is the nearest
// centroid, and the centroids are the means of their points (converged Lloyd).
TEST(KMeansTest, SameResultForAnyThreadCountAndALloydFixedPoint) {
  SplitMix64 rng(21);
  Matrix x(40'000, 5);
  for (auto& v : x.data) v = rng.Uniform();
  KMeansOptions opt{.k = 6, .restarts = 1, .max_iterations = 300, .tolerance = 0, .seed = 5, .threads = 1};
  auto one = KMeans(x, opt);
  ASSERT_OK(one);
  EXPECT_GT(one->iterations, 10);
  for (int threads : {2, 3}) {
    opt.threads = threads;
    auto many = KMeans(x, opt);
    ASSERT_OK(many);
    EXPECT_EQ(many->labels, one->labels) << threads;
    EXPECT_EQ(many->centroids.data, one->centroids.data) << threads;
    EXPECT_EQ(many->inertia, one->inertia) << threads;
    EXPECT_EQ(many->iterations, one->iterations) << threads;
  }
  const size_t k = 6, d = 5;
  std::vector<double> mean(k * d, 0.0);
  for (size_t i = 0; i < x.rows; ++i) {
    const auto l = static_cast<size_t>(one->labels[i]);
    double best = std::numeric_limits<double>::infinity();
    for (size_t c = 0; c < k; ++c) {
      double s = 0;
      for (size_t j = 0; j < d; ++j) s += std::pow(x.at(i, j) - one->centroids.at(c, j), 2);
      best = std::min(best, s);
    }
    double own = 0;
    for (size_t j = 0; j < d; ++j) {
      own += std::pow(x.at(i, j) - one->centroids.at(l, j), 2);
      mean[l * d + j] += x.at(i, j) / static_cast<double>(one->sizes[l]);
    }
    ASSERT_EQ(own, best) << "row " << i;
  }
  for (size_t v = 0; v < k * d; ++v) EXPECT_NEAR(mean[v], one->centroids.data[v], 1e-9);
  EXPECT_NEAR(one->inertia, InertiaOf(x, one->labels, one->centroids), 1e-9 * one->inertia);
}

TEST(KMeansTest, SilhouettePicksTheTrueK) {
  Matrix x = Blobs({{0, 0}, {8, 0}, {4, 7}}, 60, 1.0, 21, nullptr);
  auto sel = ChooseKBySilhouette(x, 2, 6, {.k = 0, .restarts = 3, .max_iterations = 300, .tolerance = 1e-4, .seed = 3}, 0);
  ASSERT_OK(sel);
  EXPECT_EQ(sel->best_k, 3);
  ASSERT_EQ(sel->ks.size(), 5u);
  const double s3 = sel->silhouettes[1];
  EXPECT_GT(s3, 0.7);
  // Sampling gives nearly the same value.
  const double sampled = Silhouette(x, sel->best.labels, 3, 90, 5);
  EXPECT_NEAR(sampled, s3, 0.05);
  EXPECT_THAT(ChooseKBySilhouette(Matrix(2, 1), 2, 3, {}, 0),
              testing::StatusIs(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace touchpoint::ml
