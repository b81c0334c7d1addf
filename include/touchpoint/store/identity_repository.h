// store/identity_repository.h — the identity graph's tables: customers (and what they were merged
// into), identifiers, merges and the pairs never to merge again.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <touchpoint/core/ids.h>
#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/store/transaction.h>

namespace touchpoint::store {

struct IdentifierRecord {
  IdentifierId id;
  std::string kind;   // identity::KindName
  std::string value;  // normalised
  CustomerId customer;  // the customer this identifier was first seen with (never changes)
  bool blocked = false;  // shared identifier: no longer a merge key
  int joins = 0;         // conflicting customers joined through it
  Millis first_seen = 0;
  std::string first_message_id;
  // Written only (reads return 0): the lookup key to store instead of the adapter's own
  // IdentifierKey(kind, value) — encryption at rest stores the blind index here, because `value`
  // is then a ciphertext (privacy/encrypted_store.h). 0: the adapter computes it.
  std::int64_t lookup_key = 0;
  friend bool operator==(const IdentifierRecord&, const IdentifierRecord&) = default;
};

struct CustomerRecord {
  CustomerId id;
  CustomerId merged_into;  // invalid (0) while the customer is live
  Millis created_at = 0;
  friend bool operator==(const CustomerRecord&, const CustomerRecord&) = default;
};

struct MergeRecord {
  MergeId id;
  Millis at = 0;
  CustomerId winner;
  CustomerId loser;
  IdentifierId bridge;  // the identifier both sides carried
  std::string message_id;
  std::string reason;
  Millis undone_at = 0;  // 0 while in force
  friend bool operator==(const MergeRecord&, const MergeRecord&) = default;
};

using MergeBlock = std::pair<CustomerId, CustomerId>;  // a pair never to merge again

struct IdentityCounts {
  std::int64_t live_customers = 0;  // not merged away
  std::int64_t identifiers = 0;
  std::int64_t merges = 0;          // in force (not undone)
};

class IdentityRepository {
 public:
  virtual ~IdentityRepository() = default;

  // Insert or replace by id. A stored identifier's kind, value and first sighting never change.
  virtual Status PutCustomers(Transaction& txn, std::span<const CustomerRecord> customers) = 0;
  virtual Status PutIdentifiers(Transaction& txn, std::span<const IdentifierRecord> identifiers) = 0;
  virtual Status PutMerges(Transaction& txn, std::span<const MergeRecord> merges) = 0;
  // Adding a pair that is already there is not an error.
  virtual Status AddMergeBlocks(Transaction& txn, std::span<const MergeBlock> blocks) = 0;

  // Full scans, in id order, to rebuild the in-memory graph at start-up.
  virtual Status ScanIdentifiers(const std::function<void(IdentifierRecord&&)>& fn) = 0;
  virtual Status ScanCustomers(const std::function<void(const CustomerRecord&)>& fn) = 0;
  virtual Status ScanMerges(const std::function<void(MergeRecord&&)>& fn) = 0;
  virtual Status ScanMergeBlocks(const std::function<void(CustomerId, CustomerId)>& fn) = 0;

  // Point reads.
  virtual Result<std::optional<IdentifierRecord>> FindIdentifier(const std::string& kind,
                                                                 const std::string& value) = 0;
  // Identifiers of `kind` stored with `lookup_key` (IdentifierRecord::lookup_key), in id order:
  // candidates for the caller to check (a key may match more than one).
  virtual Result<std::vector<IdentifierRecord>> FindIdentifiersByKey(const std::string& kind,
                                                                     std::int64_t lookup_key) = 0;
  virtual Result<std::optional<CustomerRecord>> FindCustomer(CustomerId id) = 0;
  // Identifiers first seen with any of `customers`, in id order.
  virtual Result<std::vector<IdentifierRecord>> IdentifiersOf(std::span<const CustomerId> customers) = 0;
  // Customers whose merged_into is `id`, in id order.
  virtual Result<std::vector<CustomerId>> CustomersMergedInto(CustomerId id) = 0;
  // Merges whose winner or loser is one of `customers`, in id order.
  virtual Result<std::vector<MergeRecord>> MergesInvolving(std::span<const CustomerId> customers) = 0;
  // Identifiers that stopped being merge keys, in id order.
  virtual Result<std::vector<IdentifierRecord>> BlockedIdentifiers() = 0;
  virtual Result<IdentityCounts> Counts() = 0;
};

}  // namespace touchpoint::store
