// store/profile_repository.h — stored profile accumulators (one row per original customer) and
// the checkpoint that says which events they reflect (docs/architecture.md, "Profile checkpoints").
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include <touchpoint/core/ids.h>
#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/store/transaction.h>

namespace touchpoint::store {

struct ProfileRecord {
  CustomerId customer;
  std::string data;  // profile state (profile module's storage form)
  Millis updated_at = 0;
  friend bool operator==(const ProfileRecord&, const ProfileRecord&) = default;
};

class ProfileRepository {
 public:
  virtual ~ProfileRepository() = default;

  // Insert or replace by customer.
  virtual Status Put(Transaction& txn, std::span<const ProfileRecord> profiles) = 0;
  // Records that the stored profiles reflect every event up to and including `seq`; after a
  // restart only later events are replayed into profiles.
  virtual Status SetCheckpoint(Transaction& txn, std::int64_t seq) = 0;

  // In customer order.
  virtual Status Scan(const std::function<void(ProfileRecord&&)>& fn) = 0;
  virtual Result<std::optional<ProfileRecord>> Find(CustomerId customer) = 0;
  // The seq of the last event the stored profiles reflect (0: none).
  virtual Result<std::int64_t> Checkpoint() = 0;
};

}  // namespace touchpoint::store
