// server/metrics_internal.h — the counters behind GET /metrics (Prometheus text format 0.0.4).
// Labels are route templates ("/v1/customers/{id}"), never raw paths. Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace touchpoint::server {

class Metrics {
 public:
  // Upper bounds of the latency histogram buckets, in seconds.
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1.0,  2.5};

  void RecordRequest(const std::string& method, const std::string& route, int status, double seconds);
  void AddEvents(std::int64_t accepted, std::int64_t rejected, std::int64_t duplicates);

  // The exposition text; `extra` (already formatted gauge lines) is appended.
  std::string Render(const std::string& extra) const;

  std::int64_t events_accepted() const { return accepted_.load(); }
  std::int64_t events_rejected() const { return rejected_.load(); }

 private:
  struct Histogram {
    std::array<std::uint64_t, kBuckets.size()> buckets{};  // non-cumulative counts
    std::uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> requests_;  // guarded by mu_
  std::map<std::string, Histogram> latency_;                                      // guarded by mu_
  std::atomic<std::int64_t> accepted_{0};
  std::atomic<std::int64_t> rejected_{0};
  std::atomic<std::int64_t> duplicates_{0};
};

}  // namespace touchpoint::server
