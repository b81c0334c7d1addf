#include <touchpoint/insight/drivers.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <numeric>

#include <touchpoint/core/csv.h>
#include <touchpoint/core/strings.h>

namespace touchpoint::insight {
namespace {

bool ContainsAny(const std::string& s, std::initializer_list<const char*> words) {
  for (const char* w : words) {
    if (s.find(w) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

Result<NumericTable> ReadNumericCsv(const std::string& path, const NumericCsvOptions& options) {
  if (options.columns.empty()) return Status::InvalidArgument("no feature columns given");
  TP_ASSIGN_OR_RETURN(auto reader, CsvReader::Open(path));
  std::vector<std::string> fields;
  TP_ASSIGN_OR_RETURN(bool has_header, reader->Next(&fields));
  if (!has_header) return Status::InvalidArgument(path + ": empty file (expected a header row)");
  CsvHeader header(fields);
  std::vector<size_t> cols;
  for (const auto& c : options.columns) {
    TP_ASSIGN_OR_RETURN(size_t i, header.Require(c, path));
    cols.push_back(i);
  }
  std::optional<size_t> id_col;
  if (!options.id_column.empty()) id_col = header.Find(options.id_column);
  NumericTable table;
  table.columns = options.columns;
  table.values.cols = cols.size();
  std::int64_t row_number = 0;
  std::vector<double> row(cols.size());
  for (;;) {
    TP_ASSIGN_OR_RETURN(bool more, reader->Next(&fields));
    if (!more) break;
    const std::string where = path + ":" + std::to_string(reader->record_line()) + ": ";
    const std::int64_t this_row = row_number++;
    bool incomplete = false;
    for (size_t k = 0; k < cols.size(); ++k) {
      std::string_view cell =
          cols[k] < fields.size() ? TrimView(fields[cols[k]], kAsciiBlank) : std::string_view();
      if (cell.empty()) {
        if (options.skip_incomplete_rows) {
          incomplete = true;
          break;
        }
        return Status::InvalidArgument(where + "column '" + options.columns[k] + "': empty value");
      }
      const char* begin = cell.data();
      if (cell.front() == '+') ++begin;
      auto [p, ec] = std::from_chars(begin, cell.data() + cell.size(), row[k]);
      if (ec != std::errc() || p != cell.data() + cell.size() || !std::isfinite(row[k])) {
        return Status::InvalidArgument(where + "column '" + options.columns[k] +
                                       "': not a number: '" + std::string(cell) + "'");
      }
    }
    if (incomplete) {
      ++table.skipped_rows;
      continue;
    }
    table.values.data.insert(table.values.data.end(), row.begin(), row.end());
    ++table.values.rows;
    if (id_col && *id_col < fields.size()) {
      table.ids.emplace_back(TrimView(fields[*id_col], kAsciiBlank));
    } else {
      table.ids.push_back(std::to_string(this_row));
    }
  }
  if (table.values.rows == 0) return Status::InvalidArgument(path + ": no data rows");
  return table;
}

Result<DriverAnalysis> AnalyzeDrivers(const NumericTable& table, const std::vector<double>& target,
                                      const ml::ImportanceOptions& options) {
  auto fit = ml::RelativeImportance(table.values, target, options);
  if (!fit.ok()) {
    std::string msg = fit.status().message();
    // Name the column instead of its index.
    const std::string prefix = "predictor ";
    if (msg.starts_with(prefix)) {
      size_t idx = 0;
      auto [p, ec] = std::from_chars(msg.data() + prefix.size(), msg.data() + msg.size(), idx);
      if (ec == std::errc() && idx < table.columns.size()) {
        msg = "feature '" + table.columns[idx] + "'" + std::string(p);
      }
    }
    return Status::InvalidArgument(msg);
  }
  DriverAnalysis out;
  out.n = fit->fit.n;
  out.r2 = fit->fit.r2;
  out.bootstrap = fit->bootstrap_used;
  std::vector<double> column(table.values.rows);
  for (size_t c = 0; c < table.columns.size(); ++c) {
    for (size_t i = 0; i < table.values.rows; ++i) column[i] = table.values.at(i, c);
    Driver d;
    d.feature = table.columns[c];
    d.share = fit->fit.share[c];
    d.share_low = fit->share_low[c];
    d.share_high = fit->share_high[c];
    d.raw_weight = fit->fit.raw_weight[c];
    d.beta = fit->fit.beta[c];
    d.beta_se = fit->fit.beta_se[c];
    d.correlation = ml::Correlation(column, target);
    out.drivers.push_back(std::move(d));
  }
  std::stable_sort(out.drivers.begin(), out.drivers.end(),
                   [](const Driver& a, const Driver& b) { return a.share > b.share; });
  return out;
}

std::string SuggestSegmentName(const std::vector<std::string>& columns,
                               const std::vector<double>& centroid_z) {
  size_t best = 0;
  for (size_t c = 1; c < centroid_z.size(); ++c) {
    if (std::fabs(centroid_z[c]) > std::fabs(centroid_z[best])) best = c;
  }
  if (centroid_z.empty() || std::fabs(centroid_z[best]) < 0.25) return "average";
  const bool high = centroid_z[best] > 0;
  const std::string col = AsciiLower(columns[best]);
  if (ContainsAny(col, {"complain", "ticket", "issue", "problem", "refund", "return", "contact",
                        "escalat", "negative"})) {
    return high ? "problem-oriented" : "low-" + col;
  }
  if (ContainsAny(col, {"duration", "time", "handle", "wait", "effort", "step", "dwell"})) {
    return high ? "high-" + col : "efficiency-first";
  }
  if (ContainsAny(col, {"recency", "days_since", "inactive"})) {
    return high ? "lapsing" : "recently-active";
  }
  if (ContainsAny(col, {"discount", "coupon", "promo", "voucher"})) {
    return high ? "deal-seeker" : "low-" + col;
  }
  if (ContainsAny(col, {"spend", "amount", "monetary", "revenue", "value", "sales", "order",
                        "purchase", "frequency", "ltv", "price"})) {
    return high ? "high-value" : "low-value";
  }
  return (high ? "high-" : "low-") + col;
}

Result<Segmentation> SegmentTable(const NumericTable& table, const SegmentOptions& options) {
  if (table.values.rows == 0) return Status::InvalidArgument("no rows to cluster");
  ml::Matrix x = table.values;
  const size_t d = x.cols;
  std::vector<bool> log1p = options.log1p;
  log1p.resize(d, false);
  for (size_t c = 0; c < d; ++c) {
    if (!log1p[c]) continue;
    for (size_t i = 0; i < x.rows; ++i) {
      double& v = x.at(i, c);
      if (!(v > -1)) {
        return Status::InvalidArgument("column '" + table.columns[c] + "' has a value <= -1 (row " +
                                       table.ids[i] + "), cannot take log1p");
      }
      v = std::log1p(v);
    }
  }
  const ml::ColumnScaler scaler = ml::FitScaler(x);
  ml::Standardize(scaler, &x);

  Segmentation out;
  ml::KMeansOptions kopt = options.kmeans;
  if (options.k > 0) {
    kopt.k = options.k;
  } else {
    if (x.rows < 3) {
      return Status::InvalidArgument("choosing k needs at least 3 rows, got " +
                                     std::to_string(x.rows));
    }
    // Choose k on a seeded sample, then fit the chosen k on every row.
    ml::Matrix sample = x;
    if (options.selection_sample > 0 && x.rows > options.selection_sample) {
      std::vector<size_t> idx(x.rows);
      std::iota(idx.begin(), idx.end(), size_t{0});
      ml::SplitMix64 rng(kopt.seed ^ 0x5EED);
      for (size_t i = 0; i < options.selection_sample; ++i) {
        std::swap(idx[i], idx[i + static_cast<size_t>(rng.Below(x.rows - i))]);
      }
      sample = ml::Matrix(options.selection_sample, d);
      for (size_t i = 0; i < options.selection_sample; ++i) {
        std::copy(x.row(idx[i]), x.row(idx[i]) + d, sample.row(i));
      }
    }
    TP_ASSIGN_OR_RETURN(auto sel, ml::ChooseKBySilhouette(sample, options.k_min, options.k_max,
                                                          kopt, options.silhouette_sample));
    kopt.k = sel.best_k;
    out.tried_k = sel.ks;
    out.silhouettes = sel.silhouettes;
  }
  TP_ASSIGN_OR_RETURN(ml::KMeansResult km, ml::KMeans(x, kopt));
  out.k = kopt.k;
  out.inertia = km.inertia;
  out.iterations = km.iterations;
  out.labels = std::move(km.labels);
  std::map<std::string, int> used;
  for (int c = 0; c < out.k; ++c) {
    Segment s;
    s.cluster = c;
    s.size = km.sizes[static_cast<size_t>(c)];
    const double* z = km.centroids.row(static_cast<size_t>(c));
    s.centroid_z.assign(z, z + d);
    s.centroid = ml::Unstandardize(scaler, s.centroid_z);
    for (size_t j = 0; j < d; ++j) {
      if (log1p[j]) s.centroid[j] = std::expm1(s.centroid[j]);
    }
    s.name = SuggestSegmentName(table.columns, s.centroid_z);
    const int seen = ++used[s.name];
    if (seen > 1) s.name += "-" + std::to_string(seen);
    out.segments.push_back(std::move(s));
  }
  return out;
}

}  // namespace touchpoint::insight
