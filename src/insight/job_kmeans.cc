#include <touchpoint/insight/job_kmeans.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>

#include <nlohmann/json.hpp>

#include "insight/job_params_internal.h"

namespace touchpoint::insight {
namespace {

using Json = nlohmann::ordered_json;

bool SkewedByDefault(const std::string& f) {
  return f == "recency_days" || f == "tenure_days" || f == "frequency" || f == "monetary" || f == "avg_order_value" ||
         f == "orders_90d" || f == "contacts" || f == "contacts_90d";
}

const std::vector<std::string>& FeaturesOf(const KMeansJobParams& p) {
  return p.features.empty() ? KMeansDefaultFeatures() : p.features;
}

}  // namespace

const std::vector<std::string>& KMeansDefaultFeatures() {
  static const std::vector<std::string> kFeatures = {"recency_days", "frequency",      "monetary",     "avg_order_value",
                                                     "contacts",     "negative_share", "avg_sentiment"};
  return kFeatures;
}

Result<KMeansJobParams> ParseKMeansJobParams(std::string_view json) {
  TP_ASSIGN_OR_RETURN(internal::ParamReader r, internal::ParamReader::Parse(json));
  KMeansJobParams p;
  r.StringList("features", &p.features);
  r.StringList("log_features", &p.log_features);
  r.IntOrAuto("k", 1, 1'000'000, &p.k);
  r.Int("k_max", 2, 100, &p.k_max);
  r.Int("seed", 0, std::numeric_limits<std::int64_t>::max(), &p.seed);
  r.Int("restarts", 1, 1000, &p.restarts);
  TP_RETURN_IF_ERROR(r.Finish());
  return p;
}

Status ValidateKMeansJobParams(const KMeansJobParams& params, const JobContext& context) {
  const std::vector<std::string>& all = CustomerFeatureNames();
  const std::vector<std::string>& features = FeaturesOf(params);
  for (const auto& f : features) {
    if (std::find(all.begin(), all.end(), f) == all.end()) {
      std::string names;
      for (const auto& n : all) names += (names.empty() ? "" : ", ") + n;
      return Status::InvalidArgument(context.Param("features") + ": '" + f + "' is not a store feature (" + names + ")");
    }
  }
  if (params.log_features) {
    for (const auto& lf : *params.log_features) {
      if (std::find(features.begin(), features.end(), lf) == features.end()) {
        return Status::InvalidArgument(context.Param("log_features") + ": '" + lf + "' is not one of the features");
      }
    }
  }
  return Status::Ok();
}

ActivityRequest KMeansActivityRequest() {
  return {.orders = true, .order_ids = false, .items = false, .messages = true, .seen = true};
}

Result<KMeansJobResult> RunKMeansJob(const KMeansJobParams& params, ActivitySource& source, TagSink& sink,
                                     const JobContext& context) {
  TP_RETURN_IF_ERROR(ValidateKMeansJobParams(params, context));
  context.Report("loading");
  TP_ASSIGN_OR_RETURN(Activity activity, source.Load(KMeansActivityRequest()));
  return RunKMeansJob(params, activity, &sink, context);
}

Result<KMeansJobResult> RunKMeansJob(const KMeansJobParams& params, const Activity& activity, TagSink* sink,
                                     const JobContext& context) {
  TP_RETURN_IF_ERROR(ValidateKMeansJobParams(params, context));
  TP_RETURN_IF_ERROR(context.CheckCancelled());
  context.Report("computing");
  const std::vector<std::string>& all = CustomerFeatureNames();
  KMeansJobResult result;
  result.features = FeaturesOf(params);
  result.seed = params.seed;
  result.restarts = params.restarts;
  SegmentOptions options;
  options.k = params.k;
  options.k_max = params.k_max;
  options.kmeans.seed = params.seed;
  options.kmeans.restarts = params.restarts;
  std::vector<size_t> columns;
  for (const auto& f : result.features) {
    columns.push_back(static_cast<size_t>(std::find(all.begin(), all.end(), f) - all.begin()));
    const bool log = params.log_features
                         ? std::find(params.log_features->begin(), params.log_features->end(), f) !=
                               params.log_features->end()
                         : SkewedByDefault(f);
    options.log1p.push_back(log);
    if (log) result.log_features.push_back(f);
  }
  const CustomerFeatureTable ft =
      BuildCustomerFeatures(activity.orders, activity.messages, activity.newest_event + 1, activity.seen);
  if (ft.customers.empty()) return Status::InvalidArgument(context.Where() + "no customers ingested yet");
  result.as_of = ft.as_of;
  NumericTable table;
  table.columns = result.features;
  table.values = ml::Matrix(ft.customers.size(), result.features.size());
  table.ids.reserve(ft.customers.size());
  for (size_t i = 0; i < ft.customers.size(); ++i) {
    table.ids.push_back(std::to_string(ft.customers[i]));
    for (size_t c = 0; c < columns.size(); ++c) table.values.at(i, c) = ft.values.at(i, columns[c]);
  }
  if (options.k > 0 && static_cast<size_t>(options.k) > table.values.rows) {
    return Status::InvalidArgument(context.Where() + "k = " + std::to_string(options.k) + " is larger than the " +
                                   std::to_string(table.values.rows) + " customers");
  }
  auto segmentation = SegmentTable(table, options);
  if (!segmentation.ok()) return Status::InvalidArgument(context.Where() + segmentation.status().message());
  result.segmentation = std::move(*segmentation);
  result.customers = ft.customers;
  if (sink == nullptr) return result;
  TP_RETURN_IF_ERROR(context.CheckCancelled());
  CustomerTags tags;
  tags.reserve(result.customers.size());
  for (size_t i = 0; i < result.customers.size(); ++i) {
    const int label = result.segmentation.labels[i];
    const std::string& name = result.segmentation.segments[static_cast<size_t>(label)].name;
    tags.emplace_back(CustomerId(result.customers[i]),
                      std::vector<std::pair<std::string, std::string>>{{"cluster", nlohmann::json(name).dump()},
                                                                       {"cluster_id", std::to_string(label)}});
  }
  context.Report("writing tags");
  TP_RETURN_IF_ERROR(sink->Write(tags));
  result.tagged = tags.size();
  return result;
}

std::string SegmentationJson(const Segmentation& seg, const std::vector<std::string>& features, std::uint64_t seed,
                             int restarts) {
  Json j;
  j["k"] = seg.k;
  if (!seg.tried_k.empty()) {
    Json tried = Json::array();
    for (size_t i = 0; i < seg.tried_k.size(); ++i) {
      tried.push_back({{"k", seg.tried_k[i]}, {"silhouette", seg.silhouettes[i]}});
    }
    j["k_selection"] = tried;
  }
  j["seed"] = seed;
  j["restarts"] = restarts;
  j["iterations"] = seg.iterations;
  j["inertia"] = seg.inertia;
  Json clusters = Json::array();
  for (const auto& s : seg.segments) {
    Json c, centroid, z;
    c["cluster"] = s.cluster;
    c["name"] = s.name;
    c["size"] = s.size;
    for (size_t f = 0; f < features.size(); ++f) {
      centroid[features[f]] = s.centroid[f];
      z[features[f]] = s.centroid_z[f];
    }
    c["centroid"] = centroid;
    c["centroid_z"] = z;
    clusters.push_back(c);
  }
  j["clusters"] = clusters;
  return j.dump();
}

std::string KMeansJobResult::ToJson() const {
  Json j;
  j["as_of"] = FormatTimestamp(as_of);
  j["rows"] = customers.size();
  j["features"] = features;
  j["log_features"] = log_features;
  Json seg = Json::parse(SegmentationJson(segmentation, features, seed, restarts));
  for (auto it = seg.begin(); it != seg.end(); ++it) j[it.key()] = std::move(it.value());
  j["tagged"] = tagged;
  j["tags"] = {"cluster", "cluster_id"};
  return j.dump();
}

}  // namespace touchpoint::insight
