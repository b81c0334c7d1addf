#include <touchpoint/ml/tabular.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <utility>

#include <touchpoint/core/csv.h>
#include <touchpoint/core/strings.h>

namespace touchpoint::ml {
namespace {

// The yes/no-like pairs a binary column may use; first = true token.
constexpr std::pair<const char*, const char*> kBinaryPairs[] = {
    {"yes", "no"}, {"true", "false"}, {"1", "0"}, {"y", "n"}, {"t", "f"}};

std::string CellContext(const RawTable& t, size_t row, std::string_view column) {
  std::int64_t line = row < t.lines.size() ? t.lines[row] : static_cast<std::int64_t>(row + 2);
  return t.source + ":" + std::to_string(line) + ": column '" + std::string(column) + "'";
}

Result<RawTable> ReadAll(CsvReader& reader, std::string source) {
  RawTable table;
  table.source = std::move(source);
  std::vector<std::string> fields;
  TP_ASSIGN_OR_RETURN(bool has_header, reader.Next(&fields));
  if (!has_header || (fields.size() == 1 && IsBlankCell(fields[0]))) {
    return Status::InvalidArgument(table.source + ": file is empty (no header)");
  }
  for (auto& f : fields) table.columns.emplace_back(TrimView(f, kAsciiWhitespace));
  while (true) {
    TP_ASSIGN_OR_RETURN(bool more, reader.Next(&fields));
    if (!more) break;
    if (fields.size() == 1 && IsBlankCell(fields[0])) continue;  // blank line
    if (fields.size() != table.columns.size()) {
      return Status::InvalidArgument(table.source + ":" + std::to_string(reader.record_line()) +
                                     ": expected " + std::to_string(table.columns.size()) +
                                     " fields, found " + std::to_string(fields.size()));
    }
    table.rows.push_back(fields);
    table.lines.push_back(reader.record_line());
  }
  if (table.rows.empty()) {
    return Status::InvalidArgument(table.source + ": no data rows after the header");
  }
  return table;
}

}  // namespace

Result<size_t> RawTable::Require(std::string_view column) const {
  CsvHeader header(columns);
  return header.Require(column, source);
}

Result<RawTable> ReadCsvTable(const std::string& path) {
  TP_ASSIGN_OR_RETURN(std::unique_ptr<CsvReader> reader, CsvReader::Open(path));
  return ReadAll(*reader, reader->name());
}

Result<RawTable> ParseCsvTable(std::string text, std::string source) {
  std::unique_ptr<CsvReader> reader = CsvReader::FromString(std::move(text));
  return ReadAll(*reader, std::move(source));
}

bool IsBlankCell(std::string_view cell) { return TrimView(cell, kAsciiWhitespace).empty(); }

bool ParseNumberCell(std::string_view cell, double* out) {
  std::string_view s = TrimView(cell, kAsciiWhitespace);
  if (s.empty()) return false;
  if (s.front() == '+') s.remove_prefix(1);
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

std::vector<std::string> TabularSchema::FeatureNames() const {
  std::vector<std::string> names;
  for (const auto& c : columns) {
    if (c.kind == ColumnKind::kCategorical) {
      for (const auto& cat : c.categories) names.push_back(c.name + "=" + cat);
    } else {
      names.push_back(c.name);
    }
  }
  return names;
}

size_t TabularSchema::Width() const {
  size_t w = 0;
  for (const auto& c : columns) w += c.kind == ColumnKind::kCategorical ? c.categories.size() : 1;
  return w;
}

Result<TabularSchema> InferSchema(const RawTable& table,
                                  const std::vector<std::string>& feature_columns,
                                  InferOptions options) {
  TabularSchema schema;
  for (const auto& name : feature_columns) {
    TP_ASSIGN_OR_RETURN(size_t col, table.Require(name));
    ColumnEncoding enc;
    enc.name = table.columns[col];
    std::map<std::string, size_t> counts;  // distinct trimmed values
    size_t numeric = 0, present = 0;
    size_t first_non_numeric = table.rows.size();
    for (size_t r = 0; r < table.rows.size(); ++r) {
      std::string_view cell = TrimView(table.rows[r][col], kAsciiWhitespace);
      if (cell.empty()) continue;
      ++present;
      ++counts[std::string(cell)];
      double v;
      if (ParseNumberCell(cell, &v)) {
        ++numeric;
      } else if (first_non_numeric == table.rows.size()) {
        first_non_numeric = r;
      }
    }
    if (present == 0) {
      return Status::InvalidArgument(table.source + ": column '" + enc.name +
                                     "' has no values");
    }
    // Binary: every distinct lower-cased token belongs to one pair.
    std::map<std::string, size_t> lowered;
    for (const auto& [v, n] : counts) lowered[AsciiLower(v)] += n;
    bool is_binary = false;
    if (lowered.size() <= 2) {
      for (const auto& [t, f] : kBinaryPairs) {
        bool all = true;
        for (const auto& [v, n] : lowered) all = all && (v == t || v == f);
        if (all) {
          is_binary = true;
          enc.true_token = t;
          enc.false_token = f;
          break;
        }
      }
    }
    if (is_binary) {
      enc.kind = ColumnKind::kBinary;
    } else if (numeric == present) {
      enc.kind = ColumnKind::kNumeric;
    } else if (static_cast<double>(numeric) >= 0.95 * static_cast<double>(present)) {
      return Status::InvalidArgument(CellContext(table, first_non_numeric, enc.name) +
                                     ": cannot parse '" + table.rows[first_non_numeric][col] +
                                     "' as a number");
    } else {
      enc.kind = ColumnKind::kCategorical;
      std::vector<std::pair<std::string, size_t>> levels(counts.begin(), counts.end());
      // Most frequent first; ties by name so the encoding is deterministic.
      std::stable_sort(levels.begin(), levels.end(),
                       [](const auto& a, const auto& b) { return a.second > b.second; });
      if (levels.size() > options.max_categories) levels.resize(options.max_categories);
      std::sort(levels.begin(), levels.end());
      for (auto& [v, n] : levels) enc.categories.push_back(v);
    }
    schema.columns.push_back(std::move(enc));
  }
  return schema;
}

Result<DenseMatrix> EncodeTable(const TabularSchema& schema, const RawTable& table) {
  DenseMatrix m;
  m.rows = table.rows.size();
  m.cols = schema.Width();
  m.values.assign(m.rows * m.cols, 0.0);
  const double kNaN = std::numeric_limits<double>::quiet_NaN();
  size_t offset = 0;
  for (const auto& enc : schema.columns) {
    TP_ASSIGN_OR_RETURN(size_t col, table.Require(enc.name));
    std::map<std::string, size_t, std::less<>> index;
    for (size_t i = 0; i < enc.categories.size(); ++i) index[enc.categories[i]] = i;
    for (size_t r = 0; r < m.rows; ++r) {
      std::string_view cell = TrimView(table.rows[r][col], kAsciiWhitespace);
      double* out = &m.values[r * m.cols + offset];
      switch (enc.kind) {
        case ColumnKind::kNumeric: {
          if (cell.empty()) {
            *out = kNaN;
          } else if (!ParseNumberCell(cell, out)) {
            return Status::InvalidArgument(CellContext(table, r, enc.name) + ": cannot parse '" +
                                           std::string(cell) + "' as a number");
          }
          break;
        }
        case ColumnKind::kBinary: {
          std::string v = AsciiLower(cell);
          if (cell.empty()) {
            *out = kNaN;
          } else if (v == enc.true_token) {
            *out = 1.0;
          } else if (v == enc.false_token) {
            *out = 0.0;
          } else if (enc.true_token == "1" && enc.false_token == "0" && ParseNumberCell(cell, out)) {
            // A 1/0 column is a number that happened to be 0 or 1 in the training rows (a
            // feature that is whole at the cut-off may be fractional when scored): keep it.
          } else {
            return Status::InvalidArgument(CellContext(table, r, enc.name) + ": expected '" +
                                           enc.true_token + "' or '" + enc.false_token +
                                           "', found '" + std::string(cell) + "'");
          }
          break;
        }
        case ColumnKind::kCategorical: {
          auto it = index.find(cell);
          if (it != index.end()) out[it->second] = 1.0;
          break;
        }
      }
    }
    offset += enc.kind == ColumnKind::kCategorical ? enc.categories.size() : 1;
  }
  return m;
}

}  // namespace touchpoint::ml
