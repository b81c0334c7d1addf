// insight/store_scan_internal.h — what the reports over the stored data (funnel_store.cc,
// journey_store.cc) share: time bounds as the user writes them, merged customers resolved to the
// person they became, summaries as JSON and aligned tables. Private to insight.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include <touchpoint/core/ids.h>
#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/insight/kpi_stats.h>
#include <touchpoint/store/identity_repository.h>

namespace touchpoint::insight::internal {

// An ISO 8601 date-time, or a date (UTC midnight); "" → 0 (no bound). kInvalidArgument naming
// `name` and showing both forms.
Result<Millis> ParseTimeBound(std::string_view name, std::string_view text);

// A customer's person: the customer it was merged into, followed to the end of the chain (at
// most 64 hops), each id looked up once. Not thread-safe.
class PersonRoots {
 public:
  explicit PersonRoots(store::IdentityRepository& identity) : identity_(identity) {}
  Result<std::int64_t> Of(CustomerId id);

 private:
  store::IdentityRepository& identity_;
  std::unordered_map<std::int64_t, std::int64_t> root_;
};

// {"count":…,"mean":…,"median":…,"p90":…}: a summary without values has only its count.
nlohmann::json SummaryJson(const DurationSummary& d);

// Rows of cells as aligned columns (two spaces apart), one line each; the first row is the header.
std::string AlignedTable(const std::vector<std::vector<std::string>>& rows);

}  // namespace touchpoint::insight::internal
