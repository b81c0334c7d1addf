// How often each messageId is stored, from one pass over the event log (the log has no
// message-id index; kill -9 tests check every acknowledged id against this).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include <touchpoint/core/result.h>
#include <touchpoint/store/store.h>

namespace touchpoint::testing {

inline Result<std::unordered_map<std::string, std::int64_t>> MessageIdCounts(store::Store& store) {
  std::unordered_map<std::string, std::int64_t> counts;
  Status s = store.Get<store::EventLog>().ScanFrom(1, [&](store::EventRecord&& e) {
    ++counts[e.message_id];
    return true;
  });
  if (!s.ok()) return s;
  return counts;
}

// The count of one id in `counts` (0 when absent).
inline std::int64_t CountOf(const std::unordered_map<std::string, std::int64_t>& counts, const std::string& id) {
  auto it = counts.find(id);
  return it == counts.end() ? 0 : it->second;
}

}  // namespace touchpoint::testing
