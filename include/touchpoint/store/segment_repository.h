// store/segment_repository.h — saved segments: a name and a rule in the profile module's rule
// language (docs/analytics.md, "Segments"). Membership is computed, not stored.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>

namespace touchpoint::store {

struct SegmentRecord {
  std::string name;  // unique
  std::string rule;
  std::string description;
  Millis created_at = 0;
  Millis updated_at = 0;
  friend bool operator==(const SegmentRecord&, const SegmentRecord&) = default;
};

// Each method is its own small transaction.
class SegmentRepository {
 public:
  virtual ~SegmentRepository() = default;
  // Inserts or replaces by name (created_at of an existing segment is kept).
  virtual Status Put(const SegmentRecord& segment) = 0;
  // kNotFound when there is no such segment.
  virtual Status Delete(const std::string& name) = 0;
  virtual Result<std::optional<SegmentRecord>> Find(const std::string& name) = 0;
  // In name order.
  virtual Result<std::vector<SegmentRecord>> List() = 0;
};

}  // namespace touchpoint::store
