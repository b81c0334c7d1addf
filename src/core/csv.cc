#include <touchpoint/core/csv.h>

#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <cerrno>
#include <unistd.h>

#include <touchpoint/core/strings.h>

namespace touchpoint {

CsvReader::CsvReader(ReadFn read, std::string name, CsvOptions options)
    : read_(std::move(read)), name_(std::move(name)), options_(options), buf_(1 << 16) {}

CsvReader::~CsvReader() {
  if (closer_) closer_();
}

Result<std::unique_ptr<CsvReader>> CsvReader::Open(const std::string& path, CsvOptions options) {
  gzFile gz = path == "-" ? gzdopen(dup(0), "rb") : gzopen(path.c_str(), "rb");
  if (gz == nullptr) {
    return Status::NotFound(path + ": cannot open (" + std::strerror(errno) + ")");
  }
  gzbuffer(gz, 1 << 17);
  auto reader = std::make_unique<CsvReader>(
      [gz](char* buf, size_t n) -> size_t {
        int got = gzread(gz, buf, static_cast<unsigned>(n));
        return got > 0 ? static_cast<size_t>(got) : 0;
      },
      path, options);
  reader->closer_ = [gz]() { gzclose(gz); };
  return reader;
}

std::unique_ptr<CsvReader> CsvReader::FromString(std::string data, CsvOptions options) {
  auto shared = std::make_shared<std::string>(std::move(data));
  auto offset = std::make_shared<size_t>(0);
  return std::make_unique<CsvReader>(
      [shared, offset](char* buf, size_t n) -> size_t {
        size_t left = shared->size() - *offset;
        size_t take = left < n ? left : n;
        std::memcpy(buf, shared->data() + *offset, take);
        *offset += take;
        return take;
      },
      "<string>", options);
}

bool CsvReader::Fill() {
  if (eof_) return false;
  end_ = read_(buf_.data(), buf_.size());
  pos_ = 0;
  bytes_read_ += end_;
  if (end_ == 0) eof_ = true;
  return end_ > 0;
}

int CsvReader::Peek() {
  if (pos_ == end_ && !Fill()) return -1;
  return static_cast<unsigned char>(buf_[pos_]);
}

int CsvReader::Get() {
  if (pos_ == end_ && !Fill()) return -1;
  return static_cast<unsigned char>(buf_[pos_++]);
}

Result<bool> CsvReader::Next(std::vector<std::string>* fields) {
  if (!started_) {
    started_ = true;
    // Skip a UTF-8 byte order mark.
    if (Peek() == 0xEF) {
      if (pos_ + 3 <= end_ && static_cast<unsigned char>(buf_[pos_ + 1]) == 0xBB &&
          static_cast<unsigned char>(buf_[pos_ + 2]) == 0xBF) {
        pos_ += 3;
      }
    }
  }
  size_t nfields = 0;
  auto field = [&]() -> std::string& {
    if (fields->size() <= nfields) fields->emplace_back();
    std::string& f = (*fields)[nfields];
    return f;
  };
  // Skip completely empty lines between records.
  for (;;) {
    int c = Peek();
    if (c == '\n') {
      Get();
      ++line_;
    } else if (c == '\r') {
      Get();
      if (Peek() == '\n') Get();
      ++line_;
    } else {
      break;
    }
  }
  if (Peek() == -1) {
    fields->clear();
    return false;
  }
  record_line_ = line_;
  size_t record_bytes = 0;
  field().clear();
  const char delim = options_.delimiter;
  for (;;) {
    std::string& f = field();
    int c = Peek();
    if (c == '"' && f.empty()) {
      Get();
      // Quoted field.
      for (;;) {
        // Fast path: copy the run up to the next quote or newline.
        if (pos_ == end_ && !Fill()) {
          fields->resize(nfields + 1);
          ++line_;
          return Status::InvalidArgument(name_ + ":" + std::to_string(record_line_) +
                                         ": unterminated quoted field");
        }
        const char* start = buf_.data() + pos_;
        const char* stop = buf_.data() + end_;
        const char* q = static_cast<const char*>(std::memchr(start, '"', static_cast<size_t>(stop - start)));
        const char* run_end = q ? q : stop;
        for (const char* p = start; p < run_end; ++p) {
          if (*p == '\n') ++line_;
        }
        f.append(start, run_end);
        record_bytes += static_cast<size_t>(run_end - start);
        pos_ += static_cast<size_t>(run_end - start);
        if (record_bytes > options_.max_record_bytes) {
          return Status::InvalidArgument(name_ + ":" + std::to_string(record_line_) +
                                         ": record longer than the limit");
        }
        if (q == nullptr) continue;
        Get();  // the quote
        if (Peek() == '"') {
          Get();
          f.push_back('"');
          continue;
        }
        break;
      }
      c = Peek();
      if (c != delim && c != '\n' && c != '\r' && c != -1) {
        // Text after a closing quote: keep it literally (lenient, like most tools).
        while (c != delim && c != '\n' && c != '\r' && c != -1) {
          f.push_back(static_cast<char>(Get()));
          c = Peek();
        }
      }
    } else {
      // Unquoted field: fast scan to delimiter or newline.
      for (;;) {
        if (pos_ == end_ && !Fill()) break;
        const char* start = buf_.data() + pos_;
        const char* p = start;
        const char* stop = buf_.data() + end_;
        while (p < stop && *p != delim && *p != '\n' && *p != '\r') ++p;
        f.append(start, p);
        record_bytes += static_cast<size_t>(p - start);
        pos_ += static_cast<size_t>(p - start);
        if (record_bytes > options_.max_record_bytes) {
          // Skip the rest of the line so the next record starts cleanly.
          for (int d = Get(); d != -1 && d != '\n'; d = Get()) {
          }
          ++line_;
          return Status::InvalidArgument(name_ + ":" + std::to_string(record_line_) +
                                         ": record longer than the limit");
        }
        if (p < stop) break;
      }
    }
    c = Get();
    ++nfields;
    if (c == delim) {
      field().clear();
      continue;
    }
    if (c == '\r') {
      if (Peek() == '\n') Get();
      ++line_;
    } else if (c == '\n') {
      ++line_;
    }
    break;  // end of record (newline or EOF)
  }
  fields->resize(nfields);
  return true;
}

CsvHeader::CsvHeader(std::vector<std::string> names) {
  for (auto& n : names) names_.emplace_back(TrimView(n, kAsciiBlank));
}

std::optional<size_t> CsvHeader::Find(std::string_view name) const {
  name = TrimView(name, kAsciiBlank);
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) return i;
  }
  for (size_t i = 0; i < names_.size(); ++i) {
    if (EqualsIgnoreAsciiCase(names_[i], name)) return i;
  }
  return std::nullopt;
}

Result<size_t> CsvHeader::Require(std::string_view name, std::string_view file) const {
  if (auto i = Find(name)) return *i;
  std::string cols;
  for (size_t i = 0; i < names_.size(); ++i) {
    if (i) cols += ", ";
    cols += names_[i];
  }
  return Status::InvalidArgument(std::string(file) + ": missing column '" + std::string(name) +
                                 "' (columns: " + cols + ")");
}

void AppendCsvField(std::string& out, std::string_view value) {
  if (value.find_first_of(",\"\r\n") == std::string_view::npos) {
    out.append(value);
    return;
  }
  out.push_back('"');
  for (char c : value) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

std::string CsvField(std::string_view value) {
  std::string out;
  AppendCsvField(out, value);
  return out;
}

}  // namespace touchpoint
