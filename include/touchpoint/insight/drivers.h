// insight/drivers.h — jobs over a table of numeric features: key-driver analysis of a survey
// target (e.g. NPS) and k-means customer segments with names suggested from the centroids.
//
// Pure functions; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/ml/kmeans.h>
#include <touchpoint/ml/regression.h>
#include <touchpoint/ml/stats.h>

namespace touchpoint::insight {

// Named numeric columns plus an id per row.
struct NumericTable {
  std::vector<std::string> columns;
  std::vector<std::string> ids;  // one per row
  ml::Matrix values;             // rows x columns.size()
  std::int64_t skipped_rows = 0;  // rows with an empty cell (when skipping is enabled)
};

struct NumericCsvOptions {
  std::vector<std::string> columns;  // required, in this order
  std::string id_column;             // "" or absent from the file → row number from 0
  bool skip_incomplete_rows = false;  // an empty cell skips the row (else it is an error)
};

// Reads the columns of a CSV file (.gz allowed). Fails with kNotFound when the file cannot
// be opened; kInvalidArgument for an empty file, a missing column, an unparsable or empty
// value ("FILE:LINE: column 'x': ..."), or no data rows.
Result<NumericTable> ReadNumericCsv(const std::string& path, const NumericCsvOptions& options);

struct Driver {
  std::string feature;
  double share = 0;       // share of explained variance (relative weight / R²)
  double share_low = 0;   // bootstrap interval of share
  double share_high = 0;
  double raw_weight = 0;  // relative weight; the weights sum to R²
  double beta = 0;        // standardised coefficient
  double beta_se = 0;
  double correlation = 0;  // simple correlation with the target
};

struct DriverAnalysis {
  std::int64_t n = 0;
  double r2 = 0;
  int bootstrap = 0;
  std::vector<Driver> drivers;  // by share, largest first (ties: column order)
};

// Ranks the table's columns as drivers of `target` (one value per row). Errors as
// ml::RelativeImportance, with column names in the messages.
Result<DriverAnalysis> AnalyzeDrivers(const NumericTable& table, const std::vector<double>& target,
                                      const ml::ImportanceOptions& options);

struct SegmentOptions {
  int k = 0;                  // 0 = choose by silhouette in [k_min, k_max]
  int k_min = 2;
  int k_max = 10;
  std::vector<bool> log1p;    // per column: log1p before standardising (values must be > -1)
  ml::KMeansOptions kmeans;   // k is taken from above
  size_t silhouette_sample = 2000;
  size_t selection_sample = 50000;  // choose k on a sample of at most this many rows
};

struct Segment {
  int cluster = 0;
  std::int64_t size = 0;
  std::vector<double> centroid;           // original units (log1p undone)
  std::vector<double> centroid_z;         // standardised space
  std::string name;                       // e.g. "high-value", "problem-oriented"
};

struct Segmentation {
  int k = 0;
  double inertia = 0;  // standardised space
  int iterations = 0;
  std::vector<int> labels;  // per row
  std::vector<Segment> segments;
  std::vector<int> tried_k;          // when k was chosen
  std::vector<double> silhouettes;   // parallel to tried_k
};

// Standardises the table (z-score, optional log1p first), clusters it and names the
// clusters. Fails with kInvalidArgument when k > rows, a log1p column has a value <= -1, or
// the table is empty.
Result<Segmentation> SegmentTable(const NumericTable& table, const SegmentOptions& options);

// A name for a centroid in standardised units: the column with the largest |z| decides
// ("high-value" for spend-like columns, "problem-oriented" for complaint/ticket-like ones,
// "efficiency-first" for low time/effort, else "high-<column>" / "low-<column>"); "average"
// when no |z| reaches 0.25.
std::string SuggestSegmentName(const std::vector<std::string>& columns,
                               const std::vector<double>& centroid_z);

}  // namespace touchpoint::insight
