// insight/job_kmeans.h — the `kmeans` job: k-means segments of every live customer on the
// customer features (insight/customer_features.h) as of just after the newest event, written
// onto the profiles as `cluster` (name) and `cluster_id` tags. Thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/insight/drivers.h>
#include <touchpoint/insight/jobs.h>

namespace touchpoint::insight {

struct KMeansJobParams {
  std::vector<std::string> features;  // empty = the default set (KMeansDefaultFeatures)
  // Features to log1p before standardising; nullopt = the skewed ones among `features`
  // (recency, tenure, counts and amounts).
  std::optional<std::vector<std::string>> log_features;
  int k = 0;  // 0 = chosen by silhouette in [2, k_max]
  int k_max = 10;
  std::uint64_t seed = 42;
  int restarts = 4;
};

// recency_days, frequency, monetary, avg_order_value, contacts, negative_share, avg_sentiment.
const std::vector<std::string>& KMeansDefaultFeatures();

// {"features": [...], "log_features": [...], "k": 3 | "auto", "k_max": 10, "seed": 42,
//  "restarts": 4}; ranges as the CLI's: k ≥ 1, k_max in [2, 100], restarts in [1, 1000].
Result<KMeansJobParams> ParseKMeansJobParams(std::string_view json);

// kInvalidArgument naming the parameter (context.Param): a feature that is not a customer
// feature, a log feature that is not one of the features.
Status ValidateKMeansJobParams(const KMeansJobParams& params, const JobContext& context);

struct KMeansJobResult {
  Millis as_of = 0;                     // features as of this instant (newest event + 1 ms)
  std::vector<std::string> features;    // the columns used
  std::vector<std::string> log_features;
  std::vector<std::int64_t> customers;  // one per row, ascending; labels in segmentation.labels
  Segmentation segmentation;
  std::uint64_t seed = 0;
  int restarts = 0;
  size_t tagged = 0;
  // {"as_of","rows","features","log_features", SegmentationJson's fields, "tagged","tags"}
  std::string ToJson() const;
};

// The k-means part of a summary: {"k","k_selection" (when k was chosen),"seed","restarts",
// "iterations","inertia","clusters":[{"cluster","name","size","centroid","centroid_z"}]},
// centroids keyed by `features`. Shared with `segment kmeans` over a CSV file.
std::string SegmentationJson(const Segmentation& segmentation, const std::vector<std::string>& features,
                             std::uint64_t seed, int restarts);

// Fails with kInvalidArgument "SOURCE: no customers ingested yet", "SOURCE: k = 9 is larger than
// the 5 customers", or SegmentTable's errors prefixed with the source.
ActivityRequest KMeansActivityRequest();
Result<KMeansJobResult> RunKMeansJob(const KMeansJobParams& params, ActivitySource& source, TagSink& sink,
                                     const JobContext& context);
Result<KMeansJobResult> RunKMeansJob(const KMeansJobParams& params, const Activity& activity, TagSink* sink,
                                     const JobContext& context);

}  // namespace touchpoint::insight
