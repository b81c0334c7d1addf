// profile/profile_source.h — a read view of live customers' profiles, for consumers that
// evaluate rules over every customer (saved segments: insight/segment_index.h) without knowing
// who keeps the profiles. The pipeline's Engine implements it over its in-memory state.
#pragma once

#include <functional>
#include <vector>

#include <touchpoint/core/ids.h>
#include <touchpoint/core/time.h>
#include <touchpoint/profile/profile.h>

namespace touchpoint::profile {

// A customer is *live* when it was not merged into another; its profile is the fold of its
// members' accumulators (itself and every customer merged into it), as GET /v1/customers shows
// it. Only customers with at least one accumulator (an event or a tag) are visited.
//
// Implementations are safe to call from any number of threads. The callbacks run while the
// implementation holds its own read lock: they must be quick, must not block on the writer of
// the profiles, and must not call back into the source. The Profile reference is valid only
// during the callback.
class ProfileSource {
 public:
  virtual ~ProfileSource() = default;

  // Calls `fn` once for every live customer, in ascending id order. Not a snapshot: customers
  // created meanwhile may be missed and profiles may change between calls, but a customer is
  // never visited twice and never after it was merged away.
  virtual void ForEach(const std::function<void(CustomerId, const Profile&)>& fn) const = 0;

  // Calls `fn` with the profile of `customer` and returns true when it is live; false (and `fn`
  // is not called) when it is unknown or merged away.
  virtual bool With(CustomerId customer, const std::function<void(const Profile&)>& fn) const = 0;

  // The customers merged into the live `customer`, directly or through others (not itself);
  // empty when none, or when `customer` is not live.
  virtual std::vector<CustomerId> MergedInto(CustomerId customer) const = 0;

  // The as-of time to evaluate features at: the newest event's time (0 before any event).
  virtual Millis as_of() const = 0;
};

}  // namespace touchpoint::profile
