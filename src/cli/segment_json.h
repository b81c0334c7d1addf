// cli/segment_json.h — the k-means part of the `segment kmeans` JSON summary, shared by the
// variant over a file and the one over the store so both report the same fields.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <touchpoint/insight/drivers.h>

namespace touchpoint::cli {

// Adds k, k_selection (when k was chosen), seed, restarts, iterations, inertia and clusters
// (name, size, centroid in original units and in z-scores, keyed by `features`).
inline void AddSegmentationJson(nlohmann::ordered_json& j, const insight::Segmentation& seg,
                                const std::vector<std::string>& features, std::uint64_t seed, int restarts) {
  using Json = nlohmann::ordered_json;
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
}

}  // namespace touchpoint::cli
