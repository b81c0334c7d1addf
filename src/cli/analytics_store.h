// cli/analytics_store.h — analytics over the ingested store, with results written back to
// customer profiles as tags.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/insight/jobs.h>
#include <touchpoint/pipeline/engine.h>
#include <touchpoint/wiring/wiring.h>

namespace touchpoint::cli {

std::string DefaultDataDir();  // cli_util.h

// True when the input `path` of an analytics command means the ingested store rather than a CSV
// file: an existing directory, or anything but a regular file when --store names the store (a
// PostgreSQL store needs no data directory).
bool ReadsFromStore(const std::string& path);

// kNotFound "DIR: no data directory here (ingest first, or give --data)" unless `path` is an
// existing directory or --store names the store — so that analytics never create an empty data
// directory as a side effect.
Status RequireDataDir(const std::string& path);

using wiring::EngineActivitySource;
using wiring::EngineTagSink;

// The context of a job run by a command over `data_dir`: its errors name the directory and the
// command's flags.
insight::JobContext CliJobContext(const std::string& data_dir);

// Writes `text` to `out`, or to stdout when `out` is empty or "-".
Status WriteTextOutput(const std::string& text, const std::string& out);

// The `rfm` and `ltv` jobs over `data_dir`: writes `rfm_layer`, `rfm_score`, `rfm_headline`,
// `tier`, `rfm_as_of` and `ltv` onto each customer's profile and prints one CSV row per customer
// (to `out`, or stdout) and a summary on stderr. Returns the exit code.
int RunRfmOverStore(const std::string& data_dir, Millis as_of, double silver, double gold, const std::string& out);

struct KMeansStoreArgs {
  std::string data_dir;
  std::vector<std::string> features;      // empty = the default set (docs/analytics.md)
  std::vector<std::string> log_features;  // used when log_features_given
  bool log_features_given = false;
  int k = 0;                              // 0 = auto
  int k_max = 10;
  std::uint64_t seed = 42;
  int restarts = 4;
  std::string out;
};
// The `kmeans` job over the store (insight/job_kmeans.h); writes `cluster` (name) and
// `cluster_id` tags and prints CSV id,cluster plus the same JSON summary as the CSV command.
// Returns the exit code.
int RunKMeansOverStore(const KMeansStoreArgs& args);

struct RulesStoreArgs {
  std::string data_dir;
  std::string kind = "products";  // products | category-intent
  double min_support = 0;
  double min_confidence = 0;
  size_t max_len = 0;
  int window_days = 30;
  std::string out;
};
// The `rules` job over the store's orders (and messages); NDJSON as `rules mine --baskets`.
int RunRulesOverStore(const RulesStoreArgs& args);

}  // namespace touchpoint::cli
