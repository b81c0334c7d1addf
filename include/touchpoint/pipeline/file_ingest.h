// pipeline/file_ingest.h — ingest NDJSON and CSV/TSV files of any size in bounded memory.
// Bad records never stop the run: each goes to the rejects file with file, line and reason.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/pipeline/engine.h>

namespace touchpoint::pipeline {

struct FileIngestOptions {
  std::string format = "auto";  // auto (by extension: .csv, .tsv, else NDJSON) | ndjson | csv | tsv
  std::string kind = "auto";    // CSV kind: auto | customers | orders | messages
  std::string rejects_path;     // NDJSON file the rejected records are appended to
  size_t max_record_bytes = 1u << 20;
  size_t chunk_events = 5000;   // events per submission to the engine
  // Called now and then with bytes read so far and the total (0 when unknown, e.g. stdin).
  std::function<void(std::uint64_t done, std::uint64_t total, std::int64_t records)> progress;
  // Called once every record has been submitted, before waiting for the acknowledgements. A
  // caller that owns the engine may stop it here: its final work (the profile checkpoint) then
  // overlaps the last commits instead of following them.
  std::function<void()> on_input_end;
  // Read once, at the start: the time given to every record without a timestamp. Null: the
  // system clock. Must outlive the call.
  const Clock* clock = nullptr;
};

struct FileIngestSummary {
  std::int64_t accepted = 0;
  std::int64_t rejected = 0;
  std::int64_t duplicates = 0;
  std::int64_t suppressed = 0;  // dropped: identifiers of an erased person (the suppression list)
  std::vector<std::string> unreadable;  // "path: reason" for files that could not be read
};

// Ingests the files in order ("-" = standard input). Fails only when the engine fails (e.g. the
// disk is full); unreadable files are listed in the summary and the others still go in. Every
// record counted as accepted is durable when this returns.
Result<FileIngestSummary> IngestFiles(Engine& engine, const std::vector<std::string>& files,
                                      const FileIngestOptions& options);

}  // namespace touchpoint::pipeline
