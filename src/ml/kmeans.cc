#include <touchpoint/ml/kmeans.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <numeric>
#include <thread>

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

// Rows are processed in fixed chunks; per-chunk partial results are combined in chunk order, so
// the result is the same for any number of threads.
constexpr size_t kChunkRows = 16384;

size_t ChunkCount(size_t n) { return (n + kChunkRows - 1) / kChunkRows; }

// Runs body(chunk) for every chunk on up to `threads` threads (the caller's thread included).
template <class Body>
void ForEachChunk(size_t chunks, int threads, const Body& body) {
  const size_t t = std::min(chunks, static_cast<size_t>(std::max(1, threads)));
  if (t <= 1) {
    for (size_t c = 0; c < chunks; ++c) body(c);
    return;
  }
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t c = next.fetch_add(1, std::memory_order_relaxed); c < chunks;
         c = next.fetch_add(1, std::memory_order_relaxed)) {
      body(c);
    }
  };
  std::vector<std::jthread> pool;
  pool.reserve(t - 1);
  for (size_t i = 1; i < t; ++i) pool.emplace_back(work);
  work();
}  // the jthreads join here

// Greedy k-means++ (Arthur & Vassilvitskii 2007 with 2 + ln k local trials per centre, as
// scikit-learn does): each new centre is the best of several D²-sampled candidates.
// The passes over the data run on `threads`; the random draws and the choice stay sequential.
Matrix SeedPlusPlus(const Matrix& x, int k, SplitMix64& rng, int threads) {
  const size_t n = x.rows, d = x.cols;
  Matrix centres(static_cast<size_t>(k), d);
  const size_t first = static_cast<size_t>(rng.Below(n));
  std::copy(x.row(first), x.row(first) + d, centres.row(0));
  std::vector<double> closest(n);
  ForEachChunk(ChunkCount(n), threads, [&](size_t ch) {
    const size_t hi = std::min(n, (ch + 1) * kChunkRows);
    for (size_t i = ch * kChunkRows; i < hi; ++i) closest[i] = SqDist(x.row(i), centres.row(0), d);
  });
  const int trials = 2 + static_cast<int>(std::log(static_cast<double>(k)));
  std::vector<double> cumulative(n);
  std::vector<size_t> candidates(static_cast<size_t>(trials));
  std::vector<double> potentials(static_cast<size_t>(trials));
  std::vector<double> partial(ChunkCount(n) * static_cast<size_t>(trials));
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
    const size_t nt = candidates.size();
    ForEachChunk(ChunkCount(n), threads, [&](size_t ch) {
      double* pot = partial.data() + ch * nt;
      std::fill(pot, pot + nt, 0.0);
      const size_t hi = std::min(n, (ch + 1) * kChunkRows);
      for (size_t i = ch * kChunkRows; i < hi; ++i) {
        const double* p = x.row(i);
        for (size_t t = 0; t < nt; ++t) pot[t] += std::min(closest[i], SqDist(p, x.row(candidates[t]), d));
      }
    });
    std::fill(potentials.begin(), potentials.end(), 0.0);
    for (size_t ch = 0; ch < ChunkCount(n); ++ch) {  // chunk order: the same for any thread count
      for (size_t t = 0; t < nt; ++t) potentials[t] += partial[ch * nt + t];
    }
    size_t best = 0;
    for (size_t t = 1; t < candidates.size(); ++t) {
      if (potentials[t] < potentials[best]) best = t;
    }
    const double* chosen = x.row(candidates[best]);
    std::copy(chosen, chosen + d, centres.row(static_cast<size_t>(c)));
    ForEachChunk(ChunkCount(n), threads, [&](size_t ch) {
      const size_t hi = std::min(n, (ch + 1) * kChunkRows);
      for (size_t i = ch * kChunkRows; i < hi; ++i) closest[i] = std::min(closest[i], SqDist(x.row(i), chosen, d));
    });
  }
  return centres;
}

// Squared distance with the dimension known at compile time (unrolled), or at run time.
template <size_t D>
struct FixedDist {
  size_t d() const { return D; }
  double operator()(const double* a, const double* b) const {
    double s = 0.0;
    for (size_t j = 0; j < D; ++j) {
      const double t = a[j] - b[j];
      s += t * t;
    }
    return s;
  }
};
struct RuntimeDist {
  size_t dim;
  size_t d() const { return dim; }
  double operator()(const double* a, const double* b) const { return SqDist(a, b, dim); }
};

// Assigns every row to its nearest centre; returns the inertia.
template <class Dist>
double Assign(const Matrix& x, const Matrix& centres, int threads, const Dist& dist, std::vector<int>* labels) {
  const size_t n = x.rows, k = centres.rows;
  std::vector<double> partial(ChunkCount(n), 0.0);
  ForEachChunk(partial.size(), threads, [&](size_t ch) {
    double inertia = 0.0;
    const size_t hi = std::min(n, (ch + 1) * kChunkRows);
    for (size_t i = ch * kChunkRows; i < hi; ++i) {
      const double* p = x.row(i);
      double best = std::numeric_limits<double>::infinity();
      int arg = 0;
      for (size_t c = 0; c < k; ++c) {
        const double s = dist(p, centres.row(c));
        if (s < best) {
          best = s;
          arg = static_cast<int>(c);
        }
      }
      (*labels)[i] = arg;
      inertia += best;
    }
    partial[ch] = inertia;
  });
  double inertia = 0.0;
  for (double v : partial) inertia += v;
  return inertia;
}

// Lloyd iterations with Hamerly's (2010) bounds: per point an upper bound on the distance to
// its centre and a lower bound on the distance to any other centre. A point whose upper
// bound is below max(lower bound, half the distance from its centre to the nearest other
// centre) cannot change cluster and is skipped, so late iterations touch few points. The
// assignments are the same as plain Lloyd's. The bounds are moved with the centres at the start
// of each pass, and the per-cluster sums are updated only for points that change cluster (per
// chunk, added in chunk order), so a pass reads a row of the data only when its bounds fail.
template <class Dist>
KMeansResult Lloyd(const Matrix& x, Matrix centres, const KMeansOptions& options, double tol_abs, int threads,
                   const Dist& dist) {
  const size_t n = x.rows, d = dist.d(), k = centres.rows;
  KMeansResult r;
  r.labels.assign(n, 0);
  std::vector<double> upper(n), lower(n);
  std::vector<double> half_min(k), moved(k, 0.0), drop(k, 0.0);
  Matrix sums(k, d);
  std::vector<std::int64_t> counts(k);
  constexpr double kInf = std::numeric_limits<double>::infinity();
  struct ChunkDelta {
    std::vector<double> sums;
    std::vector<std::int64_t> counts;
    std::vector<std::uint32_t> doubt;  // rows still in doubt (scratch)
    size_t changed = 0;
  };
  std::vector<ChunkDelta> deltas(ChunkCount(n));
  for (auto& cd : deltas) {
    cd.sums.assign(k * d, 0.0);
    cd.counts.assign(k, 0);
    cd.doubt.resize(kChunkRows);
  }
  // Exact nearest and second-nearest centre of point i (branch-free selection: which centre
  // is nearest is unpredictable, and mispredicted branches cost more than the arithmetic).
  auto full = [&](size_t i) {
    const double* p = x.row(i);
    double best = kInf, second = kInf;
    int arg = 0;
    for (size_t c = 0; c < k; ++c) {
      const double s2 = dist(p, centres.row(c));
      second = std::min(second, std::max(best, s2));
      arg = s2 < best ? static_cast<int>(c) : arg;
      best = std::min(best, s2);
    }
    r.labels[i] = arg;
    upper[i] = std::sqrt(best);
    lower[i] = std::sqrt(second);
  };
  std::vector<double> far_dist;
  for (int it = 0; it < options.max_iterations; ++it) {
    r.iterations = it + 1;
    if (it > 0) {
      for (size_t c = 0; c < k; ++c) {
        double m = kInf;
        for (size_t o = 0; o < k; ++o) {
          if (o != c) m = std::min(m, dist(centres.row(c), centres.row(o)));
        }
        half_min[c] = 0.5 * std::sqrt(m);
      }
    }
    ForEachChunk(deltas.size(), threads, [&](size_t ch) {
      ChunkDelta& cd = deltas[ch];
      std::fill(cd.sums.begin(), cd.sums.end(), 0.0);
      std::fill(cd.counts.begin(), cd.counts.end(), 0);
      cd.changed = 0;
      const size_t lo = ch * kChunkRows, hi = std::min(n, lo + kChunkRows);
      if (it == 0) {
        for (size_t i = lo; i < hi; ++i) {
          full(i);
          const auto c = static_cast<size_t>(r.labels[i]);
          const double* p = x.row(i);
          double* s = cd.sums.data() + c * d;
          for (size_t j = 0; j < d; ++j) s[j] += p[j];
          ++cd.counts[c];
        }
        return;
      }
      // Three filters, each a branch-free loop that keeps the rows still in doubt: move the
      // bounds with the centres; then tighten the upper bound with the distance to the own
      // centre; then the full search. Which rows pass is unpredictable, so the branches are
      // replaced by a compacted index list.
      std::uint32_t* doubt = cd.doubt.data();
      size_t m = 0;
      for (size_t i = lo; i < hi; ++i) {
        const auto a = static_cast<size_t>(r.labels[i]);
        const double u = upper[i] + moved[a];
        const double l = lower[i] - drop[a];
        upper[i] = u;
        lower[i] = l;
        doubt[m] = static_cast<std::uint32_t>(i);
        m += u > std::max(half_min[a], l) ? 1 : 0;
      }
      size_t m2 = 0;
      constexpr size_t kAhead = 8;  // the rows in doubt are scattered: fetch a few ahead
      for (size_t q = 0; q < m; ++q) {
        if (q + kAhead < m) __builtin_prefetch(x.row(doubt[q + kAhead]));
        const size_t i = doubt[q];
        const auto a = static_cast<size_t>(r.labels[i]);
        const double u = std::sqrt(dist(x.row(i), centres.row(a)));
        upper[i] = u;
        doubt[m2] = static_cast<std::uint32_t>(i);
        m2 += u > std::max(half_min[a], lower[i]) ? 1 : 0;
      }
      for (size_t q = 0; q < m2; ++q) {
        const size_t i = doubt[q];
        const auto a = static_cast<size_t>(r.labels[i]);
        full(i);
        const auto b = static_cast<size_t>(r.labels[i]);
        if (b == a) continue;
        ++cd.changed;
        const double* p = x.row(i);
        double* sa = cd.sums.data() + a * d;
        double* sb = cd.sums.data() + b * d;
        for (size_t j = 0; j < d; ++j) {
          sa[j] -= p[j];
          sb[j] += p[j];
        }
        --cd.counts[a];
        ++cd.counts[b];
      }
    });
    size_t changed = it == 0 ? n : 0;
    for (const ChunkDelta& cd : deltas) {  // chunk order: deterministic for any thread count
      for (size_t v = 0; v < k * d; ++v) sums.data[v] += cd.sums[v];
      for (size_t c = 0; c < k; ++c) counts[c] += cd.counts[c];
      changed += cd.changed;
    }
    // Re-seed empty clusters with the points farthest from their centres.
    if (std::find(counts.begin(), counts.end(), 0) != counts.end()) {
      far_dist.resize(n);
      for (size_t i = 0; i < n; ++i) {
        far_dist[i] = dist(x.row(i), centres.row(static_cast<size_t>(r.labels[i])));
      }
      for (size_t c = 0; c < k; ++c) {
        if (counts[c] > 0) continue;
        const auto far =
            static_cast<size_t>(std::max_element(far_dist.begin(), far_dist.end()) - far_dist.begin());
        const auto old = static_cast<size_t>(r.labels[far]);
        const double* p = x.row(far);
        for (size_t j = 0; j < d; ++j) {
          sums.row(old)[j] -= p[j];
          sums.row(c)[j] = p[j];
        }
        --counts[old];
        counts[c] = 1;
        r.labels[far] = static_cast<int>(c);
        far_dist[far] = 0.0;
        upper[far] = 0.0;
        lower[far] = 0.0;
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
    // How far the nearest other centre can have come closer: the largest move of any other centre.
    size_t top = 0;
    for (size_t c = 1; c < k; ++c) {
      if (moved[c] > moved[top]) top = c;
    }
    double second_move = 0.0;
    for (size_t c = 0; c < k; ++c) {
      if (c != top) second_move = std::max(second_move, moved[c]);
    }
    for (size_t c = 0; c < k; ++c) drop[c] = c == top ? second_move : moved[top];
  }
  // Final E-step so that labels and inertia belong to the returned centres.
  r.inertia = Assign(x, centres, threads, dist, &r.labels);
  r.sizes.assign(k, 0);
  for (int l : r.labels) ++r.sizes[static_cast<size_t>(l)];
  r.centroids = std::move(centres);
  return r;
}

KMeansResult RunLloyd(const Matrix& x, Matrix centres, const KMeansOptions& options, double tol_abs, int threads) {
  switch (x.cols) {
    case 1: return Lloyd(x, std::move(centres), options, tol_abs, threads, FixedDist<1>{});
    case 2: return Lloyd(x, std::move(centres), options, tol_abs, threads, FixedDist<2>{});
    case 3: return Lloyd(x, std::move(centres), options, tol_abs, threads, FixedDist<3>{});
    case 4: return Lloyd(x, std::move(centres), options, tol_abs, threads, FixedDist<4>{});
    case 5: return Lloyd(x, std::move(centres), options, tol_abs, threads, FixedDist<5>{});
    case 6: return Lloyd(x, std::move(centres), options, tol_abs, threads, FixedDist<6>{});
    case 7: return Lloyd(x, std::move(centres), options, tol_abs, threads, FixedDist<7>{});
    case 8: return Lloyd(x, std::move(centres), options, tol_abs, threads, FixedDist<8>{});
    default: return Lloyd(x, std::move(centres), options, tol_abs, threads, RuntimeDist{x.cols});
  }
}

int ResolveThreads(int requested) {
  if (requested > 0) return requested;
  const unsigned hw = std::thread::hardware_concurrency();
  return static_cast<int>(std::clamp(hw, 1u, 8u));
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
  const int threads = ResolveThreads(options.threads);
  for (int r = 0; r < restarts; ++r) {
    Matrix centres = SeedPlusPlus(data, options.k, rng, threads);
    KMeansResult run = RunLloyd(data, std::move(centres), options, tol_abs, threads);
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
