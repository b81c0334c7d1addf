// store/suppression_repository.h — the erasure suppression list: identifiers of erased people,
// kept only as blind-index values (privacy/blind_index.h: a keyed 64-bit hash of kind and
// normalised value), so that events arriving later for them are dropped at ingest instead of
// re-creating the person. The store never sees the identifier itself.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/store/transaction.h>

namespace touchpoint::store {

struct SuppressionRecord {
  std::int64_t value = 0;  // privacy::BlindIndexValue::value
  int key_version = 1;     // the master key version it was computed under
  Millis added_at = 0;
  friend bool operator==(const SuppressionRecord&, const SuppressionRecord&) = default;
};

class SuppressionRepository {
 public:
  virtual ~SuppressionRepository() = default;
  // Adds entries; one already there (same value and key_version) is kept as it was (its first
  // added_at), not an error.
  virtual Status Add(Transaction& txn, std::span<const SuppressionRecord> entries) = 0;
  // Every entry, ordered by (value, key_version).
  virtual Status Scan(const std::function<void(const SuppressionRecord&)>& fn) = 0;
  virtual Result<std::int64_t> Count() = 0;
};

}  // namespace touchpoint::store
