// ml/stats.h — small numeric helpers shared by the analytics algorithms: a dense row-major
// matrix, column standardisation (z-score), quantile scores, summary statistics.
//
// All functions are pure and thread-compatible (no shared state).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace touchpoint::ml {

// A dense row-major matrix of doubles. rows * cols == data.size().
struct Matrix {
  size_t rows = 0;
  size_t cols = 0;
  std::vector<double> data;

  Matrix() = default;
  Matrix(size_t r, size_t c) : rows(r), cols(c), data(r * c, 0.0) {}
  double& at(size_t r, size_t c) { return data[r * cols + c]; }
  double at(size_t r, size_t c) const { return data[r * cols + c]; }
  double* row(size_t r) { return data.data() + r * cols; }
  const double* row(size_t r) const { return data.data() + r * cols; }
};

// Arithmetic mean; 0 for an empty span.
double Mean(std::span<const double> values);
// Standard deviation; `sample` divides by n-1 (0 when n < 2), else by n.
double StdDev(std::span<const double> values, bool sample);

// Per-column mean and scale (population standard deviation; 1 when a column is constant, so
// constant columns become all zeros instead of NaN).
struct ColumnScaler {
  std::vector<double> mean;
  std::vector<double> scale;
};
ColumnScaler FitScaler(const Matrix& m);
// z = (x - mean) / scale, in place. REQUIRES: scaler fitted on m.cols columns.
void Standardize(const ColumnScaler& scaler, Matrix* m);
// x = z * scale + mean for one row of scaler.mean.size() values.
std::vector<double> Unstandardize(const ColumnScaler& scaler, std::span<const double> z);

// Quantile scores 1..bins: score = 1 + floor(bins * L / n), where L is the number of values
// strictly below the value. Equal values therefore always get the same score (ties go to the
// lower bin), and the result does not depend on input order.
std::vector<int> QuantileScores(std::span<const double> values, int bins);

// Pearson correlation; 0 when either side is constant or sizes differ / are < 2.
double Correlation(std::span<const double> a, std::span<const double> b);

// Inverse of the standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9).
// REQUIRES: 0 < p < 1.
double NormalQuantile(double p);

// The q-quantile (0..1) of values with linear interpolation (numpy's default). Sorts a copy.
double Quantile(std::vector<double> values, double q);

// A deterministic 64-bit PRNG (SplitMix64) for seeded sampling; not for cryptography.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t Next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1).
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  // Uniform integer in [0, n). REQUIRES: n > 0.
  std::uint64_t Below(std::uint64_t n) { return Next() % n; }

 private:
  std::uint64_t state_;
};

}  // namespace touchpoint::ml
