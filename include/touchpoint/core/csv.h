// core/csv.h — a streaming RFC 4180 reader: quoted fields, doubled quotes, embedded newlines,
// CRLF, a UTF-8 BOM, any delimiter (',' for CSV, '\t' for TSV). Memory is bounded by the
// longest record. Files ending in .gz are decompressed transparently.
//
// Written here rather than taken from a library because Debian 12 packages no maintained
// streaming CSV reader for C++ that reports the line of each record (needed for rejects).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/core/result.h>

namespace touchpoint {

struct CsvOptions {
  char delimiter = ',';
  size_t max_record_bytes = 64u << 20;  // a record longer than this is rejected
};

// Reads records one at a time. Not thread-safe.
class CsvReader {
 public:
  // `read(buf, n)` fills up to n bytes and returns how many (0 at end of input).
  using ReadFn = std::function<size_t(char* buf, size_t n)>;

  CsvReader(ReadFn read, std::string name, CsvOptions options = {});
  ~CsvReader();
  CsvReader(const CsvReader&) = delete;
  CsvReader& operator=(const CsvReader&) = delete;

  // Opens a file ("-" = standard input; *.gz is decompressed). Fails with kNotFound /
  // kInvalidArgument when the file cannot be opened.
  static Result<std::unique_ptr<CsvReader>> Open(const std::string& path, CsvOptions options = {});
  // Reads from an in-memory string (copied).
  static std::unique_ptr<CsvReader> FromString(std::string data, CsvOptions options = {});

  // Reads the next record into *fields. Returns false at the end of input. A malformed record
  // (unterminated quote, too long) fails with kInvalidArgument naming file and line; the next
  // call continues with the following line.
  Result<bool> Next(std::vector<std::string>* fields);

  // 1-based line on which the last record returned (or rejected) started.
  std::int64_t record_line() const { return record_line_; }
  const std::string& name() const { return name_; }
  // Bytes consumed from the input so far (for progress bars).
  std::uint64_t bytes_read() const { return bytes_read_; }

 private:
  bool Fill();
  int Peek();
  int Get();

  ReadFn read_;
  std::string name_;
  CsvOptions options_;
  std::vector<char> buf_;
  size_t pos_ = 0;
  size_t end_ = 0;
  bool eof_ = false;
  bool started_ = false;
  std::int64_t line_ = 1;
  std::int64_t record_line_ = 0;
  std::uint64_t bytes_read_ = 0;
  std::function<void()> closer_;
};

// Column lookup by header name (exact match after trimming spaces; case-insensitive fallback).
class CsvHeader {
 public:
  CsvHeader() = default;
  explicit CsvHeader(std::vector<std::string> names);
  // Index of the column, or nullopt.
  std::optional<size_t> Find(std::string_view name) const;
  // Index of the column or kInvalidArgument "FILE: missing column 'x' (columns: a, b, c)".
  Result<size_t> Require(std::string_view name, std::string_view file) const;
  const std::vector<std::string>& names() const { return names_; }

 private:
  std::vector<std::string> names_;
};

// Writing: one field as RFC 4180 writes it — as is, or in quotes (quotes doubled) when it holds
// a comma, a quote or a line break. Appended to `out`, or returned.
void AppendCsvField(std::string& out, std::string_view value);
std::string CsvField(std::string_view value);

}  // namespace touchpoint
