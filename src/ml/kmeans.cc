#include <touchpoint/ml/kmeans.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace touchpoint::ml {
namespace {

inline double SqDist(const double* a, const double* b, size_t d) {
  double s = 0.0;
  for (size_t j = 0; j < d; ++j) {
    const double t = a[j] - b[j];
    s += t * t;
  }
  return s;
}

// Greedy k-means++ (Arthur & Vassilvitskii 2007 with 2 + ln k local trials per centre, as
// scikit-learn does): each new centre is the best of several D²-sampled candidates.
Matrix SeedPlusPlus(const Matrix& x, int k, SplitMix64& rng) {
  const size_t n = x.rows, d = x.cols;
  Matrix centres(static_cast<size_t>(k), d);
  const size_t first = static_cast<size_t>(rng.Below(n));
  std::copy(x.row(first), x.row(first) + d, centres.row(0));
  std::vector<double> closest(n);
  double potential = 0.0;
  for (size_t i = 0; i < n; ++i) {
    closest[i] = SqDist(x.row(i), centres.row(0), d);
    potential += closest[i];
  }
  const int trials = 2 + static_cast<int>(std::log(static_cast<double>(k)));
  std::vector<double> cumulative(n);
  std::vector<size_t> candidates(static_cast<size_t>(trials));
  std::vector<double> potentials(static_cast<size_t>(trials));
  std::vector<double> dists(static_cast<size_t>(trials));
  for (int c = 1; c < k; ++c) {
    std::partial_sum(closest.begin(), closest.end(), cumulative.begin());
    const double total = cumulative.back();
    for (auto& index : candidates) {
      if (total > 0) {
        const double r = rng.Uniform() * total;
        index = static_cast<size_t>(std::upper_bound(cumulative.begin(), cumulative.end(), r) -
                                    cumulative.begin());
        index = std::min(index, n - 1);
      } else {
        index = static_cast<size_t>(rng.Below(n));
      }
    }
    // One pass scores every candidate (the data is read once, not once per candidate).
    std::fill(potentials.begin(), potentials.end(), 0.0);
    for (size_t i = 0; i < n; ++i) {
      const double* p = x.row(i);
      for (size_t t = 0; t < candidates.size(); ++t) {
        potentials[t] += std::min(closest[i], SqDist(p, x.row(candidates[t]), d));
      }
    }
    size_t best = 0;
    for (size_t t = 1; t < candidates.size(); ++t) {
      if (potentials[t] < potentials[best]) best = t;
    }
    const double* chosen = x.row(candidates[best]);
    std::copy(chosen, chosen + d, centres.row(static_cast<size_t>(c)));
    for (size_t i = 0; i < n; ++i) closest[i] = std::min(closest[i], SqDist(x.row(i), chosen, d));
    potential = potentials[best];
  }
  (void)potential;
  return centres;
}

// Assigns every row to its nearest centre; returns the inertia.
double Assign(const Matrix& x, const Matrix& centres, std::vector<int>* labels,
              std::vector<double>* dist) {
  const size_t n = x.rows, d = x.cols, k = centres.rows;
  double inertia = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double* p = x.row(i);
    double best = std::numeric_limits<double>::infinity();
    int arg = 0;
    for (size_t c = 0; c < k; ++c) {
      const double s = SqDist(p, centres.row(c), d);
      if (s < best) {
        best = s;
        arg = static_cast<int>(c);
      }
    }
    (*labels)[i] = arg;
    (*dist)[i] = best;
    inertia += best;
  }
  return inertia;
}

// Lloyd iterations with Hamerly's (2010) bounds: per point an upper bound on the distance to
// its centre and a lower bound on the distance to any other centre. A point whose upper
// bound is below max(lower bound, half the distance from its centre to the nearest other
// centre) cannot change cluster and is skipped, so late iterations touch few points. The
// assignments are the same as plain Lloyd's.
KMeansResult Lloyd(const Matrix& x, Matrix centres, const KMeansOptions& options,
                   double tol_abs) {
  const size_t n = x.rows, d = x.cols, k = centres.rows;
  KMeansResult r;
  r.labels.assign(n, 0);
  std::vector<double> upper(n), lower(n), dist;
  std::vector<double> half_min(k), moved(k);
  Matrix sums(k, d);
  std::vector<std::int64_t> counts(k);
  constexpr double kInf = std::numeric_limits<double>::infinity();
  // Exact nearest and second-nearest centre of point i.
  auto full = [&](size_t i) {
    const double* p = x.row(i);
    double best = kInf, second = kInf;
    int arg = 0;
    for (size_t c = 0; c < k; ++c) {
      const double s2 = SqDist(p, centres.row(c), d);
      if (s2 < best) {
        second = best;
        best = s2;
        arg = static_cast<int>(c);
      } else if (s2 < second) {
        second = s2;
      }
    }
    r.labels[i] = arg;
    upper[i] = std::sqrt(best);
    lower[i] = std::sqrt(second);
  };
  for (int it = 0; it < options.max_iterations; ++it) {
    r.iterations = it + 1;
    size_t changed = 0;
    if (it == 0) {
      for (size_t i = 0; i < n; ++i) full(i);
      changed = n;
    } else {
      for (size_t c = 0; c < k; ++c) {
        double m = kInf;
        for (size_t o = 0; o < k; ++o) {
          if (o != c) m = std::min(m, SqDist(centres.row(c), centres.row(o), d));
        }
        half_min[c] = 0.5 * std::sqrt(m);
      }
      for (size_t i = 0; i < n; ++i) {
        const auto a = static_cast<size_t>(r.labels[i]);
        const double bound = std::max(half_min[a], lower[i]);
        if (upper[i] <= bound) continue;
        upper[i] = std::sqrt(SqDist(x.row(i), centres.row(a), d));
        if (upper[i] <= bound) continue;
        full(i);
        if (static_cast<size_t>(r.labels[i]) != a) ++changed;
      }
    }
    std::fill(sums.data.begin(), sums.data.end(), 0.0);
    std::fill(counts.begin(), counts.end(), 0);
    for (size_t i = 0; i < n; ++i) {
      const auto c = static_cast<size_t>(r.labels[i]);
      double* s = sums.row(c);
      const double* p = x.row(i);
      for (size_t j = 0; j < d; ++j) s[j] += p[j];
      ++counts[c];
    }
    // Re-seed empty clusters with the points farthest from their centres.
    if (std::find(counts.begin(), counts.end(), 0) != counts.end()) {
      dist.resize(n);
      for (size_t i = 0; i < n; ++i) {
        dist[i] = SqDist(x.row(i), centres.row(static_cast<size_t>(r.labels[i])), d);
      }
      for (size_t c = 0; c < k; ++c) {
        if (counts[c] > 0) continue;
        const auto far =
            static_cast<size_t>(std::max_element(dist.begin(), dist.end()) - dist.begin());
        const auto old = static_cast<size_t>(r.labels[far]);
        const double* p = x.row(far);
        for (size_t j = 0; j < d; ++j) {
          sums.row(old)[j] -= p[j];
          sums.row(c)[j] = p[j];
        }
        --counts[old];
        counts[c] = 1;
        r.labels[far] = static_cast<int>(c);
        dist[far] = 0.0;
        upper[far] = 0.0;
        lower[far] = 0.0;  // forces a full check next iteration
        ++changed;
      }
    }
    double shift = 0.0;
    for (size_t c = 0; c < k; ++c) {
      double* centre = centres.row(c);
      const double* s = sums.row(c);
      double mc = 0.0;
      for (size_t j = 0; j < d; ++j) {
        const double v = counts[c] > 0 ? s[j] / static_cast<double>(counts[c]) : centre[j];
        mc += (v - centre[j]) * (v - centre[j]);
        centre[j] = v;
      }
      shift += mc;
      moved[c] = std::sqrt(mc);
    }
    if (changed == 0 || shift <= tol_abs) break;
    size_t top = 0;
    for (size_t c = 1; c < k; ++c) {
      if (moved[c] > moved[top]) top = c;
    }
    double second_move = 0.0;
    for (size_t c = 0; c < k; ++c) {
      if (c != top) second_move = std::max(second_move, moved[c]);
    }
    for (size_t i = 0; i < n; ++i) {
      const auto a = static_cast<size_t>(r.labels[i]);
      upper[i] += moved[a];
      lower[i] -= a == top ? second_move : moved[top];
    }
  }
  // Final E-step so that labels and inertia belong to the returned centres.
  dist.resize(n);
  r.inertia = Assign(x, centres, &r.labels, &dist);
  r.sizes.assign(k, 0);
  for (int l : r.labels) ++r.sizes[static_cast<size_t>(l)];
  r.centroids = std::move(centres);
  return r;
}

}  // namespace

Result<KMeansResult> KMeans(const Matrix& data, const KMeansOptions& options) {
  if (data.cols == 0) return Status::InvalidArgument("k-means needs at least one feature");
  if (options.k < 1) return Status::InvalidArgument("k must be at least 1");
  if (static_cast<size_t>(options.k) > data.rows) {
    return Status::InvalidArgument("k = " + std::to_string(options.k) + " is larger than the " +
                                   std::to_string(data.rows) + " rows");
  }
  // Tolerance relative to the data's mean column variance, as scikit-learn does.
  ColumnScaler scaler = FitScaler(data);
  double mean_var = 0.0;
  for (size_t c = 0; c < data.cols; ++c) {
    double v = 0.0;
    for (size_t i = 0; i < data.rows; ++i) {
      const double t = data.at(i, c) - scaler.mean[c];
      v += t * t;
    }
    mean_var += v / static_cast<double>(data.rows);
  }
  mean_var /= static_cast<double>(data.cols);
  const double tol_abs = options.tolerance * mean_var;

  SplitMix64 rng(options.seed);
  KMeansResult best;
  best.inertia = std::numeric_limits<double>::infinity();
  const int restarts = std::max(1, options.restarts);
  for (int r = 0; r < restarts; ++r) {
    Matrix centres = SeedPlusPlus(data, options.k, rng);
    KMeansResult run = Lloyd(data, std::move(centres), options, tol_abs);
    if (run.inertia < best.inertia) best = std::move(run);
  }
  return best;
}

double Silhouette(const Matrix& data, const std::vector<int>& labels, int k, size_t max_sample,
                  std::uint64_t seed) {
  const size_t n = data.rows;
  if (n < 2 || k < 2) return 0.0;
  std::vector<size_t> sample(n);
  std::iota(sample.begin(), sample.end(), size_t{0});
  if (max_sample > 0 && n > max_sample) {
    SplitMix64 rng(seed);
    for (size_t i = 0; i < max_sample; ++i) {  // partial Fisher-Yates
      const size_t j = i + static_cast<size_t>(rng.Below(n - i));
      std::swap(sample[i], sample[j]);
    }
    sample.resize(max_sample);
  }
  const size_t m = sample.size();
  const auto kk = static_cast<size_t>(k);
  std::vector<std::int64_t> in_sample(kk, 0);
  for (size_t s : sample) ++in_sample[static_cast<size_t>(labels[s])];
  size_t present = 0;
  for (auto c : in_sample) present += c > 0 ? 1 : 0;
  if (present < 2) return 0.0;
  std::vector<double> sums(kk);
  double total = 0.0;
  for (size_t a = 0; a < m; ++a) {
    std::fill(sums.begin(), sums.end(), 0.0);
    const size_t i = sample[a];
    for (size_t b = 0; b < m; ++b) {
      if (a == b) continue;
      const size_t j = sample[b];
      sums[static_cast<size_t>(labels[j])] += std::sqrt(SqDist(data.row(i), data.row(j), data.cols));
    }
    const auto own = static_cast<size_t>(labels[i]);
    if (in_sample[own] <= 1) continue;  // a singleton's silhouette is 0 by convention
    const double ai = sums[own] / static_cast<double>(in_sample[own] - 1);
    double bi = std::numeric_limits<double>::infinity();
    for (size_t c = 0; c < kk; ++c) {
      if (c == own || in_sample[c] == 0) continue;
      bi = std::min(bi, sums[c] / static_cast<double>(in_sample[c]));
    }
    const double denom = std::max(ai, bi);
    if (denom > 0) total += (bi - ai) / denom;
  }
  return total / static_cast<double>(m);
}

Result<KSelection> ChooseKBySilhouette(const Matrix& data, int k_min, int k_max,
                                       const KMeansOptions& options, size_t max_sample) {
  if (data.rows < 3) {
    return Status::InvalidArgument("choosing k needs at least 3 rows, got " +
                                   std::to_string(data.rows));
  }
  k_min = std::max(2, k_min);
  k_max = std::min<int>(k_max, static_cast<int>(data.rows) - 1);
  if (k_max < k_min) k_max = k_min;
  KSelection sel;
  double best_score = -std::numeric_limits<double>::infinity();
  for (int k = k_min; k <= k_max; ++k) {
    KMeansOptions o = options;
    o.k = k;
    TP_ASSIGN_OR_RETURN(KMeansResult run, KMeans(data, o));
    const double s = Silhouette(data, run.labels, k, max_sample, options.seed);
    sel.ks.push_back(k);
    sel.silhouettes.push_back(s);
    if (s > best_score) {
      best_score = s;
      sel.best_k = k;
      sel.best = std::move(run);
    }
  }
  return sel;
}

}  // namespace touchpoint::ml
