// cli/segment_json.h — the k-means part of the `segment kmeans` JSON summary, shared by the
// variant over a file and the one over the store (insight::SegmentationJson) so both report the
// same fields.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <touchpoint/insight/drivers.h>
#include <touchpoint/insight/job_kmeans.h>

namespace touchpoint::cli {

// Adds k, k_selection (when k was chosen), seed, restarts, iterations, inertia and clusters
// (name, size, centroid in original units and in z-scores, keyed by `features`).
inline void AddSegmentationJson(nlohmann::ordered_json& j, const insight::Segmentation& seg,
                                const std::vector<std::string>& features, std::uint64_t seed, int restarts) {
  nlohmann::ordered_json fields = nlohmann::ordered_json::parse(insight::SegmentationJson(seg, features, seed, restarts));
  for (auto it = fields.begin(); it != fields.end(); ++it) j[it.key()] = std::move(it.value());
}

}  // namespace touchpoint::cli
