// identity/identity_graph.h — one person, one profile.
//
// Every identifier (user id, phone, e-mail, device, …) belongs to the customer it was first seen
// with (its "original" customer, which never changes). Customers merge into one another when an
// event carries identifiers of both; merged customers form a forest (merged_into) and the live
// customer of anything is the root of its tree. Undoing a merge cuts one edge of the forest, so
// a split restores exactly the customers that were joined, with everything merged into them.
//
// Shared identifiers: a merge is "conflicting" when both sides already hold different values of
// the same person-level kind (two user ids, two phones): one device used by two logged-in people.
// An identifier that would join more than `max_customers` customers through conflicting merges
// is blocked: it stops being a merge key, the merges it caused are undone, and it is reported.
//
// Not thread-safe: the pipeline's single writer thread owns the graph.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <touchpoint/core/ids.h>
#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/identity/identifier.h>
#include <touchpoint/store/identity_repository.h>

namespace touchpoint::identity {

struct GraphOptions {
  int max_customers_per_identifier = 5;  // K of the issue: more and the identifier is shared
};

// What one call changed, to be persisted by the caller in the same transaction as the events
// and applied to profiles.
struct GraphChanges {
  std::vector<store::IdentifierRecord> identifiers;
  std::vector<store::CustomerRecord> customers;
  std::vector<store::MergeRecord> merges;
  std::vector<std::pair<CustomerId, CustomerId>> merge_blocks;
  // (winner, loser): the loser's profile is folded into the winner's.
  std::vector<std::pair<CustomerId, CustomerId>> profile_merges;
  // Live customers whose profiles must be rebuilt from their events (after a split).
  std::vector<CustomerId> rebuild;
  std::vector<std::string> blocked;  // "device:kiosk-1" — identifiers that became shared
  void Clear() { *this = GraphChanges(); }
};

struct Resolution {
  CustomerId customer;         // live customer the event belongs to now
  CustomerId anchor_original;  // original customer of the event's anchor identifier (stored)
};

class IdentityGraph {
 public:
  explicit IdentityGraph(GraphOptions options = {});
  IdentityGraph(const IdentityGraph&) = delete;
  IdentityGraph& operator=(const IdentityGraph&) = delete;

  // Rebuilds the graph from the store (at start-up).
  Status Load(store::IdentityRepository& store);

  // Resolves one event's identifiers (normalised; the first is the anchor) to a customer,
  // creating, joining and merging as needed. `explicit_link` (alias) merges without the
  // shared-identifier check. REQUIRES: ids is not empty.
  Resolution Resolve(const std::vector<Identifier>& ids, bool explicit_link, Millis at,
                     std::string_view message_id, GraphChanges* changes);

  // Hints that `ids` will be resolved soon: starts loading their index slots into the cache (a
  // bulk load resolves events back to back; each lookup is otherwise a cache miss or two).
  void Prefetch(const std::vector<Identifier>& ids) const;

  // The live customer of a customer id (itself when not merged). Unknown ids map to themselves.
  CustomerId Find(CustomerId c) const;
  // The live customer of an identifier, if known.
  std::optional<CustomerId> Lookup(const Identifier& id) const;

  // Undoes a merge: the loser (with everything merged into it) becomes a customer of its own
  // again and the pair is never merged automatically again. kNotFound for an unknown merge,
  // kFailedPrecondition when it was undone already.
  Status Split(MergeId merge, Millis at, GraphChanges* changes);

  // Forgets `customers` (original ids: a person and everything merged into it) for a
  // subject-rights erasure: their identifiers (no longer found), the merges and merge blocks
  // naming them; they are never live again and their ids are not reused. The caller removes
  // the stored rows (store::ErasureRepository) in the same commit.
  void Erase(std::span<const CustomerId> customers);

  struct MemberIdentifier {
    Identifier identifier;
    bool blocked = false;
    IdentifierId id;
    Millis first_seen = 0;
    std::string first_message_id;
    CustomerId original;
    int joins = 0;
  };
  // The identifiers of a live customer, in the order they were first seen.
  std::vector<MemberIdentifier> IdentifiersOf(CustomerId root) const;
  // Merges (in force or undone) that involve any of the given customers, oldest first.
  std::vector<store::MergeRecord> MergesOf(const std::vector<CustomerId>& customers) const;
  // Identifiers that became shared (no longer merge keys).
  std::vector<MemberIdentifier> SharedIdentifiers() const;

  // Original customer ids whose live customer is `root` (the root included).
  std::vector<CustomerId> Members(CustomerId root) const;
  // Whether any customer was merged into `root` (false: Members would be just {root}).
  bool HasMerged(CustomerId root) const;

  std::int64_t live_customers() const { return live_customers_; }
  std::int64_t identifier_count() const { return static_cast<std::int64_t>(ids_.size()) - absent_identifiers_; }

 private:
  struct Node {
    IdentifierId id;
    IdentifierKind kind;
    std::string value;
    CustomerId customer;  // original
    bool blocked = false;
    int joins = 0;
    Millis first_seen = 0;
    std::string first_message_id;
  };

  static std::uint64_t HashOf(IdentifierKind kind, std::string_view value);
  // Looks up an identifier without allocating; safe concurrently with other lookups.
  const size_t* FindNode(IdentifierKind kind, std::string_view value) const;
  CustomerId NewCustomer(Millis at, GraphChanges* changes);
  void AddIdentifier(const Identifier& id, CustomerId customer, Millis at,
                     std::string_view message_id, GraphChanges* changes);
  bool Conflicts(CustomerId a, CustomerId b) const;
  bool ConflictsWithNew(CustomerId root, const std::vector<const Identifier*>& fresh) const;
  bool MergeBlocked(CustomerId a, CustomerId b) const;
  void Merge(CustomerId winner, CustomerId loser, size_t bridge, Millis at,
             std::string_view message_id, std::string reason, GraphChanges* changes);
  void Block(size_t node, Millis at, GraphChanges* changes);
  void UndoMerge(size_t merge_index, Millis at, bool add_block, GraphChanges* changes);
  void RebuildMembers();
  void EmitNode(size_t node, GraphChanges* changes) const;
  void EmitCustomer(CustomerId c, GraphChanges* changes) const;

  GraphOptions options_;
  std::vector<Node> ids_;                          // index = id - 1
  // Open-addressing index: a 64-bit hash of (kind, value) → position in ids_, the key verified
  // against ids_ on a hash match. Replaces an unordered_map<string, size_t> whose node walks
  // were about a sixth of the writer thread's time (perf, 1 M demo events). Lookups are const
  // and allocation-free, so concurrent readers are safe; only the writer inserts.
  struct IndexSlot {
    std::uint64_t hash = 0;
    size_t idx = kEmptySlot;
  };
  static constexpr size_t kEmptySlot = static_cast<size_t>(-1);
  std::vector<IndexSlot> index_;
  size_t index_size_ = 0;
  void IndexInsert(size_t idx);
  std::vector<std::int64_t> parent_;               // index = customer id; 0 = live root
  std::unordered_map<std::int64_t, std::vector<std::int64_t>> children_;  // customer → merged into it
  std::vector<Millis> created_;                    // index = customer id
  std::unordered_map<std::int64_t, std::vector<size_t>> members_;  // live root → identifier nodes
  std::vector<store::MergeRecord> merges_;         // index = merge id - 1
  std::vector<std::pair<CustomerId, CustomerId>> blocks_;
  std::int64_t live_customers_ = 0;
  // Customer ids that are not customers: erased ones, and gaps in the stored ids (an erasure
  // deleted their rows). Never live.
  std::unordered_set<std::int64_t> absent_;
  std::int64_t absent_identifiers_ = 0;  // erased identifier nodes (and gaps in the stored ids)
};

}  // namespace touchpoint::identity
