// store/change_feed.h — what changed in the identity and profile tables since a mark: the
// "catch-up read" that lets a follower node keep a warm in-memory copy of what readers need
// (customers, identifiers, merges, profiles) instead of querying the database for every lookup.
// Optional: Store::change_feed() is null for backends without it (only PostgreSQL has it; a
// single SQLite or memory store is read where it is written).
#pragma once

#include <cstdint>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/store/identity_repository.h>
#include <touchpoint/store/profile_repository.h>

namespace touchpoint::store {

struct Changes {
  std::int64_t mark = 0;  // pass to the next ChangesSince
  std::vector<CustomerRecord> customers;
  std::vector<IdentifierRecord> identifiers;
  std::vector<MergeRecord> merges;
  std::vector<ProfileRecord> profiles;
  // Original customers an erasure removed (store/erasure_repository.h): their customer rows,
  // identifiers, merges and profiles are gone, so no row above names them; a copy forgets them.
  std::vector<CustomerId> erased;
  std::int64_t profile_checkpoint = 0;
  Millis newest_event_at = 0;
};

class ChangeFeed {
 public:
  virtual ~ChangeFeed() = default;
  // Every row written by commits after `mark` (0: every row), read in one consistent snapshot,
  // with the mark that covers them. Rows changed several times come once, as they are now.
  // Erasures committed after `mark` come as the erased customer ids (rows deleted leave nothing
  // else to read).
  virtual Result<Changes> ChangesSince(std::int64_t mark) = 0;
};

}  // namespace touchpoint::store
