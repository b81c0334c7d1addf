// store/dp_budget_repository.h — the differential-privacy budget of each data set and the ledger
// of what every release spent (privacy/dp.h). Epsilons are exact integers in micro-units
// (1 ε = 1,000,000). Kept in the store so that one budget holds for every process and node.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>

namespace touchpoint::store {

struct DpRelease {
  std::int64_t id = 0;          // assigned by Spend, increasing
  std::string dataset;          // e.g. "customers"
  std::string report;           // e.g. "segment-report", "rfm-report"
  std::int64_t epsilon_micros = 0;
  std::string actor;            // who released it: "cli", "api:analyst", …
  Millis released_at = 0;
  friend bool operator==(const DpRelease&, const DpRelease&) = default;
};

// Each method is its own small transaction; Spend is atomic against concurrent Spends of any
// process on the same database.
class DpBudgetRepository {
 public:
  virtual ~DpBudgetRepository() = default;
  // Sets `dataset`'s total budget (> 0; kInvalidArgument otherwise). A budget below what was
  // already spent is allowed: further releases are refused.
  virtual Status SetBudget(const std::string& dataset, std::int64_t epsilon_micros, Millis now) = 0;
  // The configured budget; nullopt when none was set.
  virtual Result<std::optional<std::int64_t>> Budget(const std::string& dataset) = 0;
  // The sum of the recorded releases' epsilons.
  virtual Result<std::int64_t> Spent(const std::string& dataset) = 0;
  // Records `release` (its id is ignored and assigned) when Spent + release.epsilon_micros stays
  // within the configured budget, or `default_budget_micros` when none is configured; returns
  // it with its id. kFailedPrecondition, recording nothing, when it would exceed the budget
  // (the message says spent, budget and the release's epsilon); kInvalidArgument for an
  // epsilon ≤ 0.
  virtual Result<DpRelease> Spend(const DpRelease& release, std::int64_t default_budget_micros) = 0;
  // `dataset`'s releases, oldest first.
  virtual Result<std::vector<DpRelease>> Releases(const std::string& dataset) = 0;
  // Every data set with a budget or a release, in name order (byte order).
  virtual Result<std::vector<std::string>> Datasets() = 0;
};

// "0.5" for 500000: the exact decimal of micro-units (for the repositories' messages).
inline std::string FormatEpsilonMicros(std::int64_t micros) {
  const bool negative = micros < 0;
  const std::uint64_t m = negative ? 0 - static_cast<std::uint64_t>(micros) : static_cast<std::uint64_t>(micros);
  std::string out = (negative ? "-" : "") + std::to_string(m / 1'000'000);
  std::string frac = std::to_string(1'000'000 + m % 1'000'000).substr(1);
  while (!frac.empty() && frac.back() == '0') frac.pop_back();
  if (!frac.empty()) out += "." + frac;
  return out;
}

// The refusal of Spend, worded once for every backend.
inline Status DpBudgetExceeded(const std::string& dataset, std::int64_t spent, std::int64_t budget,
                               std::int64_t wanted) {
  return Status::FailedPrecondition("differential privacy budget of data set '" + dataset + "' exhausted: spent " +
                                    FormatEpsilonMicros(spent) + " of " + FormatEpsilonMicros(budget) +
                                    ", this release needs " + FormatEpsilonMicros(wanted) +
                                    " (raise it with `touchpoint dp-budget --set`, or ask for a smaller epsilon)");
}

}  // namespace touchpoint::store
