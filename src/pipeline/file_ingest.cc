#include <touchpoint/pipeline/file_ingest.h>

#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>

#include <nlohmann/json.hpp>
#include <touchpoint/core/csv.h>
#include <touchpoint/ingest/parser.h>
#include <touchpoint/text/pii.h>

namespace touchpoint::pipeline {
namespace {

constexpr size_t kRawKeptInRejects = 64 * 1024;  // a giant line is kept truncated in the rejects

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

class Rejects {
 public:
  explicit Rejects(std::string path) : path_(std::move(path)) {}
  // `original_size` is the size of the record before it was cut (0: raw is complete).
  Status Add(const std::string& file, std::int64_t line, const std::string& reason, std::string_view raw,
             std::uint64_t original_size = 0) {
    if (!out_.is_open()) {
      // With a database store (--store) the data directory holds only local files such as this
      // one, and may not exist yet.
      std::error_code ec;
      const auto dir = std::filesystem::path(path_).parent_path();
      if (!dir.empty()) std::filesystem::create_directories(dir, ec);
      out_.open(path_, std::ios::app | std::ios::binary);
      if (!out_) return Status::Unavailable("cannot write rejects file " + path_);
    }
    nlohmann::json j;
    j["file"] = file;
    j["line"] = line;
    // Masked (phone numbers, e-mail addresses, ID numbers, cards: text/pii.h): the rejects file
    // sits in the data directory in clear, and encryption at rest must leave no value there.
    j["reason"] = text::MaskPii(reason);
    std::string kept(raw.substr(0, kRawKeptInRejects));
    j["raw"] = text::MaskPii(kept);
    if (original_size == 0 && raw.size() > kRawKeptInRejects) original_size = raw.size();
    if (original_size > kept.size()) j["raw_truncated_from_bytes"] = original_size;
    out_ << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    return out_ ? Status::Ok() : Status::Unavailable("cannot write rejects file " + path_);
  }
  Status Flush() {
    if (out_.is_open()) out_.flush();
    return out_ || !out_.is_open() ? Status::Ok() : Status::Unavailable("cannot write rejects file " + path_);
  }

 private:
  std::string path_;
  std::ofstream out_;
};

class Driver {
 public:
  Driver(Engine& engine, const FileIngestOptions& options)
      : engine_(engine), options_(options), rejects_(options.rejects_path) {
    ingest::ParserOptions po;
    po.max_record_bytes = options.max_record_bytes;
    po.clock = options.clock;  // null: the system clock
    po.default_timestamp = (options.clock != nullptr ? *options.clock : SystemClock::Instance()).Now();
    parser_ = std::make_unique<ingest::Parser>(po);
  }

  Status Reject(const std::string& file, std::int64_t line, const std::string& reason, std::string_view raw,
                std::uint64_t original_size = 0) {
    ++summary_.rejected;
    return rejects_.Add(file, line, reason, raw, original_size);
  }

  Status Accept(ingest::Event ev) {
    if (chunk_.capacity() == 0) chunk_.reserve(options_.chunk_events);  // no regrowth moves
    chunk_.push_back(std::move(ev));
    if (chunk_.size() >= options_.chunk_events) return Flush(false);
    return Status::Ok();
  }

  // Hands the current chunk to the engine; with wait, also waits for everything in flight.
  Status Flush(bool wait) {
    if (!chunk_.empty()) {
      inflight_.push_back(engine_.SubmitAsync(std::move(chunk_)));
      chunk_ = {};
    }
    while (!inflight_.empty() && (wait || inflight_.size() > 32 ||
                                  inflight_.front().wait_for(std::chrono::seconds(0)) == std::future_status::ready)) {
      Result<SubmitResult> r = inflight_.front().get();
      inflight_.pop_front();
      if (!r.ok()) return r.status();
      summary_.accepted += r->accepted;
      summary_.duplicates += r->duplicates;
      summary_.suppressed += r->suppressed;
    }
    return Status::Ok();
  }

  void Progress(std::uint64_t done, std::uint64_t total) {
    if (options_.progress && (++ticks_ & 1023) == 0) options_.progress(base_ + done, total_, records_);
    (void)total;
  }

  Status IngestNdjson(const std::string& path, gzFile gz) {
    std::vector<char> buf(1 << 20);
    std::string line;
    bool skipping = false;  // inside a line over the limit
    std::uint64_t line_bytes = 0;
    std::int64_t lineno = 0;
    std::uint64_t done = 0;
    bool first = true;
    auto finish_line = [&]() -> Status {
      ++lineno;
      ++records_;
      if (skipping) {
        Status s = Reject(path, lineno,
                          "line is " + std::to_string(line_bytes) + " bytes, over the limit of " +
                              std::to_string(options_.max_record_bytes),
                          line, line_bytes);
        skipping = false;
        line.clear();
        line_bytes = 0;
        return s;
      }
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (first) {
        first = false;
        if (line.size() >= 3 && std::memcmp(line.data(), "\xEF\xBB\xBF", 3) == 0) line.erase(0, 3);
      }
      bool blank = true;
      for (char c : line) {
        if (c != ' ' && c != '\t') {
          blank = false;
          break;
        }
      }
      if (!blank) {
        if (chunk_.capacity() == 0) chunk_.reserve(options_.chunk_events);
        rejected_.clear();
        parser_->ParseLineInto(line, chunk_, rejected_);  // events are built in the chunk
        for (const Status& r : rejected_) TP_RETURN_IF_ERROR(Reject(path, lineno, r.message(), line));
        if (chunk_.size() >= options_.chunk_events) TP_RETURN_IF_ERROR(Flush(false));
      }
      line.clear();
      line_bytes = 0;
      return Status::Ok();
    };
    for (;;) {
      const int got = gzread(gz, buf.data(), static_cast<unsigned>(buf.size()));
      if (got < 0) {
        int err = 0;
        const char* msg = gzerror(gz, &err);
        summary_.unreadable.push_back(path + ": read error after line " + std::to_string(lineno) + ": " + msg);
        break;
      }
      if (got == 0) break;
      done += static_cast<std::uint64_t>(got);
      const char* p = buf.data();
      const char* end = p + got;
      while (p < end) {
        const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
        const char* stop = nl ? nl : end;
        const auto n = static_cast<size_t>(stop - p);
        line_bytes += n;
        if (!skipping) {
          if (line.size() + n > options_.max_record_bytes) {
            skipping = true;  // keep the first part for the rejects file, drop the rest
            line.append(p, std::min(n, kRawKeptInRejects > line.size() ? kRawKeptInRejects - line.size() : 0));
          } else {
            line.append(p, n);
          }
        }
        p = stop;
        if (nl) {
          ++p;
          TP_RETURN_IF_ERROR(finish_line());
          Progress(done, 0);
        }
      }
    }
    if (!line.empty() || skipping) TP_RETURN_IF_ERROR(finish_line());
    base_ += done;
    return Status::Ok();
  }

  Status IngestCsv(const std::string& path, char delimiter) {
    auto reader = CsvReader::Open(path, CsvOptions{delimiter, options_.max_record_bytes});
    if (!reader.ok()) {
      summary_.unreadable.push_back(reader.status().message());
      return Status::Ok();
    }
    std::vector<std::string> row;
    auto head = (*reader)->Next(&row);
    if (!head.ok()) return Reject(path, 1, head.status().message(), "");
    if (!*head) return Status::Ok();  // empty file
    CsvHeader header(row);
    ingest::CsvKind kind = ingest::GuessCsvKind(header);
    if (options_.kind == "customers") kind = ingest::CsvKind::kCustomers;
    if (options_.kind == "orders") kind = ingest::CsvKind::kOrders;
    if (options_.kind == "messages") kind = ingest::CsvKind::kMessages;
    for (;;) {
      auto more = (*reader)->Next(&row);
      const std::int64_t line = (*reader)->record_line();
      ++records_;
      if (!more.ok()) {
        TP_RETURN_IF_ERROR(Reject(path, line, more.status().message(), ""));
        continue;
      }
      if (!*more) break;
      auto msg = ingest::CsvRowToMessage(kind, header, row, path, line);
      std::string raw;
      for (size_t i = 0; i < row.size(); ++i) {
        if (i) raw.push_back(delimiter);
        raw += row[i];
      }
      if (!msg.ok()) {
        TP_RETURN_IF_ERROR(Reject(path, line, msg.status().message(), raw));
        continue;
      }
      auto ev = parser_->ParseMessage(*msg);
      if (!ev.ok()) {
        TP_RETURN_IF_ERROR(Reject(path, line, ev.status().message(), raw));
        continue;
      }
      TP_RETURN_IF_ERROR(Accept(std::move(*ev)));
      Progress((*reader)->bytes_read(), 0);
    }
    base_ += (*reader)->bytes_read();
    return Status::Ok();
  }

  Result<FileIngestSummary> Run(const std::vector<std::string>& files) {
    for (const auto& f : files) {
      std::error_code ec;
      if (f != "-") total_ += static_cast<std::uint64_t>(std::filesystem::file_size(f, ec));
    }
    for (const auto& path : files) {
      std::string format = options_.format;
      if (format == "auto") {
        std::string base = EndsWith(path, ".gz") ? path.substr(0, path.size() - 3) : path;
        format = EndsWith(base, ".csv") ? "csv" : EndsWith(base, ".tsv") ? "tsv" : "ndjson";
      }
      if (format == "csv" || format == "tsv") {
        TP_RETURN_IF_ERROR(IngestCsv(path, format == "csv" ? ',' : '\t'));
      } else {
        std::error_code ec;
        if (path != "-" && std::filesystem::is_directory(path, ec)) {
          summary_.unreadable.push_back(path + ": is a directory, not a file");
          continue;
        }
        errno = 0;
        gzFile gz = path == "-" ? gzdopen(dup(0), "rb") : gzopen(path.c_str(), "rb");
        if (gz == nullptr) {
          summary_.unreadable.push_back(path + ": cannot open (" + std::strerror(errno ? errno : ENOENT) + ")");
          continue;
        }
        gzbuffer(gz, 1 << 18);
        Status s = IngestNdjson(path, gz);
        gzclose(gz);
        TP_RETURN_IF_ERROR(s);
      }
    }
    TP_RETURN_IF_ERROR(Flush(false));  // submits the last chunk
    if (options_.on_input_end) options_.on_input_end();
    TP_RETURN_IF_ERROR(Flush(true));
    TP_RETURN_IF_ERROR(rejects_.Flush());
    if (options_.progress) options_.progress(base_, total_, records_);
    return summary_;
  }

 private:
  Engine& engine_;
  const FileIngestOptions& options_;
  Rejects rejects_;
  std::unique_ptr<ingest::Parser> parser_;
  std::vector<ingest::Event> chunk_;
  std::vector<Status> rejected_;  // scratch: reasons of one line's rejected items
  std::deque<std::future<Result<SubmitResult>>> inflight_;
  FileIngestSummary summary_;
  std::uint64_t base_ = 0;
  std::uint64_t total_ = 0;
  std::int64_t records_ = 0;
  std::uint64_t ticks_ = 0;
};

}  // namespace

Result<FileIngestSummary> IngestFiles(Engine& engine, const std::vector<std::string>& files,
                                      const FileIngestOptions& options) {
  Driver driver(engine, options);
  return driver.Run(files);
}

}  // namespace touchpoint::pipeline
