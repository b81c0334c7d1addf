#include "server/metrics_internal.h"

#include <cstdio>

namespace touchpoint::server {

void Metrics::RecordRequest(const std::string& method, const std::string& route, int status, double seconds) {
  std::scoped_lock lock(mu_);
  ++requests_[{route, method, status}];
  Histogram& h = latency_[route];
  size_t i = 0;
  while (i < kBuckets.size() && seconds > kBuckets[i]) ++i;
  if (i < kBuckets.size()) ++h.buckets[i];
  ++h.count;
  h.sum += seconds;
}

void Metrics::AddEvents(std::int64_t accepted, std::int64_t rejected, std::int64_t duplicates) {
  accepted_ += accepted;
  rejected_ += rejected;
  duplicates_ += duplicates;
}

std::string Metrics::Render(const std::string& extra) const {
  std::string out;
  char buf[64];
  out +=
      "# HELP touchpoint_http_requests_total HTTP requests by route template, method and status.\n"
      "# TYPE touchpoint_http_requests_total counter\n";
  std::scoped_lock lock(mu_);
  for (const auto& [k, n] : requests_) {
    const auto& [route, method, status] = k;
    out += "touchpoint_http_requests_total{route=\"" + route + "\",method=\"" + method + "\",status=\"" +
           std::to_string(status) + "\"} " + std::to_string(n) + "\n";
  }
  out +=
      "# HELP touchpoint_http_request_duration_seconds Time from a complete request to its response.\n"
      "# TYPE touchpoint_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : latency_) {
    std::uint64_t cumulative = 0;
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      cumulative += h.buckets[i];
      std::snprintf(buf, sizeof(buf), "%g", kBuckets[i]);
      out += "touchpoint_http_request_duration_seconds_bucket{route=\"" + route + "\",le=\"" + buf + "\"} " +
             std::to_string(cumulative) + "\n";
    }
    out += "touchpoint_http_request_duration_seconds_bucket{route=\"" + route + "\",le=\"+Inf\"} " +
           std::to_string(h.count) + "\n";
    std::snprintf(buf, sizeof(buf), "%.6f", h.sum);
    out += "touchpoint_http_request_duration_seconds_sum{route=\"" + route + "\"} " + buf + "\n";
    out += "touchpoint_http_request_duration_seconds_count{route=\"" + route + "\"} " + std::to_string(h.count) +
           "\n";
  }
  out +=
      "# HELP touchpoint_events_accepted_total Tracking events accepted (durable) over HTTP.\n"
      "# TYPE touchpoint_events_accepted_total counter\n"
      "touchpoint_events_accepted_total " + std::to_string(accepted_.load()) + "\n" +
      "# HELP touchpoint_events_rejected_total Tracking events rejected as malformed or too large.\n"
      "# TYPE touchpoint_events_rejected_total counter\n"
      "touchpoint_events_rejected_total " + std::to_string(rejected_.load()) + "\n" +
      "# HELP touchpoint_events_duplicate_total Accepted events whose messageId was already stored.\n"
      "# TYPE touchpoint_events_duplicate_total counter\n"
      "touchpoint_events_duplicate_total " + std::to_string(duplicates_.load()) + "\n";
  out += extra;
  return out;
}

}  // namespace touchpoint::server
