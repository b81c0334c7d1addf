// ml/tabular.h — a table of text cells, column type inference and encoding into a dense
// numeric matrix (numeric as is, yes/no-like → 0/1, categorical → one-hot).
//
// Blank cells (empty or only spaces, e.g. the " " in a numeric column) are missing values and
// become NaN in the matrix; a missing categorical value sets none of its one-hot columns.
// All functions are pure and thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/core/result.h>

namespace touchpoint::ml {

// Rows of text cells under a header. `lines[i]` is the 1-based source line of row i (for
// error messages); `source` names the file or origin.
struct RawTable {
  std::string source;
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::int64_t> lines;

  // Index of the column (exact, then case-insensitive), or kInvalidArgument
  // "SOURCE: missing column 'x' (columns: a, b)".
  Result<size_t> Require(std::string_view column) const;
};

// Reads a whole CSV file (*.gz transparently) into a RawTable. Fails with kNotFound when the
// file cannot be opened, kInvalidArgument when it is empty, has no data rows, a row has the
// wrong number of fields, or a record is malformed (all naming file and line).
Result<RawTable> ReadCsvTable(const std::string& path);
// Same from CSV text in memory (`source` is used in messages).
Result<RawTable> ParseCsvTable(std::string text, std::string source);

// Row-major dense matrix of doubles; NaN marks a missing value.
struct DenseMatrix {
  size_t rows = 0;
  size_t cols = 0;
  std::vector<double> values;
  const double* Row(size_t r) const { return values.data() + r * cols; }
  double At(size_t r, size_t c) const { return values[r * cols + c]; }
};

enum class ColumnKind { kNumeric, kBinary, kCategorical };

// How one source column becomes one or more matrix columns.
struct ColumnEncoding {
  std::string name;
  ColumnKind kind = ColumnKind::kNumeric;
  std::vector<std::string> categories;  // kCategorical: one matrix column per category
  std::string true_token;               // kBinary: lower-cased token that encodes 1
  std::string false_token;              // kBinary: lower-cased token that encodes 0
};

// The encoding of every feature column, learned from training data.
struct TabularSchema {
  std::vector<ColumnEncoding> columns;
  // Matrix column names: "tenure", "Contract=Month-to-month", ...
  std::vector<std::string> FeatureNames() const;
  size_t Width() const;
};

struct InferOptions {
  size_t max_categories = 50;  // more frequent levels kept; the rest encode as all-zero
};

// Infers the kind of each of `feature_columns` from the values in `table`:
// only tokens of one yes/no, true/false, 1/0 (y/n, t/f) pair → kBinary; all numbers →
// kNumeric; otherwise kCategorical. A column whose values are nearly all numbers
// (≥ 95 %) but has a few that are not fails with kInvalidArgument naming the first bad cell
// ("file:line: column 'x': cannot parse 'abc' as a number"). Fails when a column is missing or
// has no non-blank value.
Result<TabularSchema> InferSchema(const RawTable& table,
                                  const std::vector<std::string>& feature_columns,
                                  InferOptions options = {});

// Encodes `table` with `schema`. Fails with kInvalidArgument when a schema column is missing
// from the table ("missing column") or a numeric / binary cell cannot be parsed (naming file,
// line and column). Unknown categories encode as all-zero.
Result<DenseMatrix> EncodeTable(const TabularSchema& schema, const RawTable& table);

// True when the cell is empty or only whitespace.
bool IsBlankCell(std::string_view cell);
// Parses a whole cell as a finite double (surrounding spaces allowed).
bool ParseNumberCell(std::string_view cell, double* out);

}  // namespace touchpoint::ml
