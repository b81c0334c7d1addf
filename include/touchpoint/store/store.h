// store/store.h — the storage contract. Modules above talk to this interface only; adapters
// (store/sqlite today, store/postgres later) are the only code that sees a database library.
//
// The write path is batch-oriented: the pipeline collects everything one group commit changes
// in a WriteBatch and calls Apply() once, which is atomic and durable when it returns OK.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <touchpoint/core/ids.h>
#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>

namespace touchpoint::store {

// 128-bit hash of a Segment messageId: the de-duplication key.
struct MessageHash {
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;
  friend bool operator==(const MessageHash&, const MessageHash&) = default;
};

enum class EventKind : int { kIdentify = 1, kTrack = 2, kPage = 3, kAlias = 4 };

struct EventRecord {
  std::int64_t seq = 0;  // assigned by the store (insertion order)
  MessageHash hash;
  std::string message_id;
  CustomerId customer;  // original customer of the event's anchor identifier
  Millis timestamp = 0;
  EventKind kind = EventKind::kTrack;
  std::string name;  // track event name or page name
  std::string body;  // the normalised event as JSON (replayed on identity splits)
};

struct IdentifierRecord {
  IdentifierId id;
  std::string kind;   // identity::KindName
  std::string value;  // normalised
  CustomerId customer;  // the customer this identifier was first seen with (never changes)
  bool blocked = false;  // shared identifier: no longer a merge key
  int joins = 0;         // conflicting customers joined through it
  Millis first_seen = 0;
  std::string first_message_id;
};

struct CustomerRecord {
  CustomerId id;
  CustomerId merged_into;  // invalid (0) while the customer is live
  Millis created_at = 0;
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
};

struct ProfileRecord {
  CustomerId customer;
  std::string data;  // profile state as JSON (profile module's format)
  Millis updated_at = 0;
};

struct OrderRecord {
  std::string order_id;
  CustomerId customer;
  Millis timestamp = 0;
  double total = 0;
  std::string currency;
  std::string channel;
  std::string items_json;
};

struct MessageRecord {
  std::string message_id;
  CustomerId customer;
  Millis timestamp = 0;
  std::string conversation_id;
  std::string channel;
  std::string author;  // customer | agent | bot
  std::string direction;  // in | out
  std::string text;
  std::string language;
  std::string sentiment_label;
  double sentiment_score = 0;
  std::string intent;
  std::string masked_text;
};

struct SurveyRecord {
  std::string message_id;
  CustomerId customer;
  Millis timestamp = 0;
  int nps = -1;   // -1 when not answered
  int csat = -1;  // -1 when not answered
  std::string comment;
  std::string touchpoint;
};

struct EscalationRecord {
  Millis at = 0;
  CustomerId customer;
  std::string conversation_id;
  std::string message_id;
  std::string rule;
  std::string action;
  std::string reason;
};

struct ApiKeyRecord {
  std::int64_t id = 0;
  std::string role;
  std::string key_hash;  // hex of a keyed hash; the key itself is never stored
  std::string prefix;    // first characters, to recognise a key in `keys list`
  Millis created_at = 0;
  Millis revoked_at = 0;  // 0 while valid
};

// An adapter's ahead-of-time encoding of a batch (see Store::Prepare); opaque above the store.
struct PreparedBatch {
  virtual ~PreparedBatch() = default;
};

// Everything one group commit writes. Upserts replace by primary key.
struct WriteBatch {
  std::vector<EventRecord> events;
  std::vector<IdentifierRecord> identifiers;  // insert or replace
  std::vector<CustomerRecord> customers;      // insert or replace
  std::vector<MergeRecord> merges;            // insert or replace
  std::vector<ProfileRecord> profiles;        // insert or replace
  std::vector<CustomerId> deleted_profiles;   // erasure (the engine keeps one per original customer)
  std::vector<OrderRecord> orders;
  std::vector<MessageRecord> messages;
  std::vector<SurveyRecord> surveys;
  std::vector<EscalationRecord> escalations;
  std::vector<std::pair<CustomerId, CustomerId>> merge_blocks;  // pairs never to merge again
  Millis newest_event_at = 0;  // raises the stored high-water mark when larger
  // Profile checkpoint: true when the stored profiles, with this batch's, reflect every event up
  // to and including this batch's last event. The store then records that event's seq (see
  // ProfileCheckpoint); after a restart only later events are replayed into profiles.
  bool profile_checkpoint = false;
  // Set by Store::Prepare; `events` must not change after it (Apply then ignores a stale one).
  std::unique_ptr<PreparedBatch> prepared;
  bool empty() const {
    return events.empty() && identifiers.empty() && customers.empty() && merges.empty() &&
           profiles.empty() && deleted_profiles.empty() && orders.empty() && messages.empty() &&
           surveys.empty() && escalations.empty() && merge_blocks.empty() && !profile_checkpoint;
  }
};

struct StoreStats {
  std::int64_t events = 0;
  std::int64_t customers = 0;  // live (not merged away)
  std::int64_t identifiers = 0;
  std::int64_t messages = 0;
  std::int64_t surveys = 0;
  std::int64_t orders = 0;
  std::int64_t merges = 0;
  std::int64_t escalations = 0;
};

// A Store is used by one writer thread at a time; read methods may be called concurrently
// from other threads only on a store opened read-only (each opens its own connection).
class Store {
 public:
  virtual ~Store() = default;

  // Applies the batch in one transaction; durable when OK. kUnavailable when the database is
  // busy or the disk is full; the batch is then not applied at all.
  virtual Status Apply(WriteBatch& batch) = 0;
  // Optional CPU-heavy encoding of `batch` on the calling thread, so that Apply — on a committer
  // thread — only writes (the SQLite adapter compresses the event chunks here). May run while
  // another batch's Apply runs on another thread; Prepare calls themselves are not concurrent.
  virtual void Prepare(WriteBatch& /*batch*/) {}
  // Optional housekeeping between commits, on the thread that calls Apply: folds what the store
  // has logged into its main file (the SQLite adapter: a passive WAL checkpoint), so that closing
  // has less left to do. Never needed for durability.
  virtual void FoldLog() {}

  // Full scans used to rebuild in-memory state at start-up.
  virtual Status ScanMessageHashes(const std::function<void(const MessageHash&)>& fn) = 0;
  virtual Status ScanIdentifiers(const std::function<void(IdentifierRecord&&)>& fn) = 0;
  virtual Status ScanCustomers(const std::function<void(const CustomerRecord&)>& fn) = 0;
  virtual Status ScanMerges(const std::function<void(MergeRecord&&)>& fn) = 0;
  virtual Status ScanMergeBlocks(const std::function<void(CustomerId, CustomerId)>& fn) = 0;
  virtual Status ScanProfiles(const std::function<void(ProfileRecord&&)>& fn) = 0;
  // Orders in insertion order (customer = original customer of the event's anchor).
  virtual Status ScanOrders(const std::function<void(OrderRecord&&)>& fn) = 0;
  // Messages in insertion order (customer = original customer of the event's anchor).
  virtual Status ScanMessages(const std::function<void(MessageRecord&&)>& fn) = 0;
  // Events in insertion order; `fn` returns false to stop.
  virtual Status ScanEvents(const std::function<bool(EventRecord&&)>& fn) = 0;
  // Events with seq >= from_seq, in insertion order; `fn` returns false to stop.
  virtual Status ScanEventsFrom(std::int64_t from_seq, const std::function<bool(EventRecord&&)>& fn) = 0;
  // The seq of the last event the stored profiles reflect (0: none); set by a batch with
  // profile_checkpoint.
  virtual Result<std::int64_t> ProfileCheckpoint() = 0;

  // Point reads for read-only commands.
  virtual Result<std::optional<IdentifierRecord>> FindIdentifier(const std::string& kind,
                                                                 const std::string& value) = 0;
  virtual Result<std::optional<CustomerRecord>> FindCustomer(CustomerId id) = 0;
  virtual Result<std::optional<ProfileRecord>> FindProfile(CustomerId id) = 0;
  virtual Result<std::vector<IdentifierRecord>> IdentifiersOf(
      const std::vector<CustomerId>& customers) = 0;
  virtual Result<std::vector<CustomerId>> CustomersMergedInto(CustomerId id) = 0;
  virtual Result<std::vector<MergeRecord>> MergesInvolving(
      const std::vector<CustomerId>& customers) = 0;
  virtual Result<std::optional<MergeRecord>> FindMerge(MergeId id) = 0;
  virtual Result<std::vector<IdentifierRecord>> BlockedIdentifiers() = 0;
  virtual Result<std::vector<MessageRecord>> MessagesOf(CustomerId id, int limit) = 0;
  virtual Result<StoreStats> Stats() = 0;
  // Time of the newest event ever stored (0 when none): features are relative to it.
  virtual Result<Millis> NewestEventAt() = 0;

  // API keys.
  virtual Result<ApiKeyRecord> CreateKey(const std::string& role, const std::string& key_hash,
                                         const std::string& prefix, Millis now) = 0;
  virtual Result<std::vector<ApiKeyRecord>> ListKeys() = 0;
  virtual Result<std::optional<ApiKeyRecord>> FindKeyByHash(const std::string& key_hash) = 0;
  // kNotFound when no such key (by id or prefix).
  virtual Status RevokeKey(const std::string& id_or_prefix, Millis now) = 0;

  // Schema version after migrations.
  virtual int schema_version() const = 0;
};

}  // namespace touchpoint::store
