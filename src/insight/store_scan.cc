#include <algorithm>

#include "insight/store_scan_internal.h"

namespace touchpoint::insight::internal {

Result<Millis> ParseTimeBound(std::string_view name, std::string_view text) {
  if (text.empty()) return Millis{0};
  auto t = ParseTimestamp(text);
  if (!t.ok() && text.size() == 10) t = ParseTimestamp(std::string(text) + "T00:00:00Z");
  if (!t.ok()) {
    return Status::InvalidArgument(std::string(name) + ": \"" + std::string(text) +
                                   "\" is not an ISO 8601 date-time or date (2026-11-02 or 2026-11-02T08:00:00Z)");
  }
  return *t;
}

Result<std::int64_t> PersonRoots::Of(CustomerId id) {
  auto it = root_.find(id.value());
  if (it != root_.end()) return it->second;
  CustomerId at = id;
  for (int hops = 0; hops < 64; ++hops) {
    TP_ASSIGN_OR_RETURN(auto c, identity_.FindCustomer(at));
    if (!c || !c->merged_into.valid()) break;
    at = c->merged_into;
  }
  root_.emplace(id.value(), at.value());
  return at.value();
}

nlohmann::json SummaryJson(const DurationSummary& d) {
  nlohmann::json s = {{"count", d.count}};
  if (d.mean) s["mean"] = *d.mean;
  if (d.median) s["median"] = *d.median;
  if (d.p90) s["p90"] = *d.p90;
  return s;
}

std::string AlignedTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& r : rows) {
    if (width.size() < r.size()) width.resize(r.size(), 0);
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  std::string out;
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) {
      out += r[i];
      if (i + 1 < r.size()) out += std::string(width[i] - r[i].size() + 2, ' ');
    }
    out += "\n";
  }
  return out;
}

}  // namespace touchpoint::insight::internal
