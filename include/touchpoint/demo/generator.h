// demo/generator.h — a deterministic, bilingual demo data set in the Segment tracking format.
//
// The demo module owns the synthetic data behind `touchpoint demo`: persons with Chinese and
// English names, phones in varied spellings, devices (some shared), orders, browsing, service
// conversations and surveys, written as NDJSON (one Segment message per line, in time order).
// It does not ingest or serve the data; see docs/demo-data.md for what the set contains.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include <touchpoint/core/result.h>

namespace touchpoint::demo {

struct GenerateOptions {
  int64_t customers = 1000;           // persons to simulate, 1 … 100,000,000
  int64_t events = 0;                 // lines to write exactly; 0 = 50 × customers
  uint64_t seed = 42;                 // same options ⇒ byte-identical output
  std::string end_date = "2026-11-01";  // exclusive end of the window, "YYYY-MM-DD" (UTC)
  int days = 365;                     // window length in days, 1 … 3660
};

struct GenerateStats {
  int64_t events = 0;     // lines written (== the requested number)
  int64_t customers = 0;  // persons simulated
  int64_t orders = 0;     // `Order Completed` lines
  int64_t messages = 0;   // `Message Received` + `Message Sent` lines
  int64_t surveys = 0;    // `Survey Answered` lines
};

// Returns OK when Generate() would accept the options; kInvalidArgument (with the reason)
// otherwise. Lets callers check before they create an output file.
Status ValidateOptions(const GenerateOptions& options);

// Writes exactly the requested number of NDJSON lines to `out`, in timestamp order, within
// [end_date - days, end_date). Memory is bounded by the customer count and one day of events,
// not by the total. Fails with kInvalidArgument for bad options and kUnavailable when `out`
// goes bad (disk full, closed pipe). Thread-compatible: no shared state between calls.
Result<GenerateStats> Generate(const GenerateOptions& options, std::ostream& out);

}  // namespace touchpoint::demo
