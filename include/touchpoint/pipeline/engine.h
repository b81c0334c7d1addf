// pipeline/engine.h — the write path and the live view of customers.
//
// The Engine owns the in-memory state (de-duplication set, identity graph, profiles) and one
// writer thread. Callers parse events on their own threads and Submit() them; the writer
// resolves identities, updates profiles and commits everything a group of submissions changed
// in one store transaction (group commit). Submit returns once its events are durable.
//
// Thread safety: every public method is safe to call from any thread.
#pragma once

#include <functional>
#include <future>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/identity/identity_graph.h>
#include <touchpoint/pipeline/customer_view.h>
#include <touchpoint/ingest/event.h>
#include <touchpoint/profile/profile_source.h>
#include <touchpoint/store/activity_repository.h>
#include <touchpoint/store/consent_repository.h>
#include <touchpoint/store/erasure_repository.h>
#include <touchpoint/store/store.h>
#include <touchpoint/store/suppression_repository.h>

namespace touchpoint::pipeline {

struct EngineOptions {
  int max_customers_per_identifier = 5;
  // Fills language, sentiment, intent and masked text of a message (text module); may be empty.
  std::function<void(ingest::MessagePayload&)> analyze_message;
  size_t max_batch_events = 50'000;    // events per transaction at most
  size_t min_batch_events = 0;         // > 0: wait up to max_linger_ms to gather this many (bulk)
  int max_linger_ms = 200;
  size_t max_queued_events = 200'000;  // SubmitAsync blocks above this (back-pressure)
  // Changed profiles are written at most this often (and at Stop); a restart replays the
  // events committed since (see docs/architecture.md, "Profile checkpoints"). 0: with every
  // commit, so that readers of the store (StoreCustomerView: followers of several nodes) have
  // nothing to replay.
  int profile_checkpoint_ms = 5000;
  // Time of identity splits and erasures; null: the system clock. Must outlive the engine.
  const Clock* clock = nullptr;
  // The suppression key of an identifier (privacy::BlindIndexer::Of(kind name, normalised
  // value): value and key version; added_at is ignored). Events carrying an identifier on the
  // suppression list are dropped and counted (SubmitResult::suppressed); erasures put the
  // person's identifiers on it. Empty (no master key): no check, and Erase is refused.
  std::function<store::SuppressionRecord(std::string_view kind, std::string_view value)> suppression_key;
  // The identifier's suppression values under the older master key versions the key file still
  // holds (entries made before a rotation keep their version: privacy/key_rotation.h); checked
  // too. Empty: only suppression_key's.
  std::function<std::vector<std::int64_t>(std::string_view kind, std::string_view value)> older_suppression_keys;
};

// A subject-rights erasure (Engine::Erase).
struct ErasureRequest {
  std::string ref;  // "kind:value" (normalised as at ingest) or a decimal customer id
  // Optional: destroys the person's data keys (crypto-shredding) with the ids erased; called
  // inside the erasure's transaction, before its commit: a failure rolls the erasure back.
  std::function<Status(std::span<const CustomerId>)> shred;
};

// What an erasure did.
struct ErasureResult {
  CustomerId customer;               // the live customer the reference resolved to
  std::vector<CustomerId> members;   // every original customer erased (customer included), ascending
  std::vector<std::string> identifier_kinds;  // kind of each identifier erased ("phone", …), never values
  std::vector<store::SuppressionRecord> suppressed;  // the entries added to the suppression list
  store::ErasureCounts counts;       // records removed from the store, per kind
  Millis at = 0;                     // when (the engine's clock)
};

// One event as committed, for the post-commit hook. Views into the engine's commit: valid only
// during the OnCommitted call that receives it.
struct CommittedEvent {
  std::int64_t seq = 0;  // its place in the event log
  CustomerId customer;   // the live customer it was resolved to when committed
  CustomerId original;   // the original customer of its anchor identifier (what records store)
  Millis timestamp = 0;
  store::EventKind kind = store::EventKind::kTrack;
  std::string_view message_id;
  std::string_view name;
  // At most one of these is set (the store's records of the event).
  const store::OrderRecord* order = nullptr;
  const store::MessageRecord* message = nullptr;  // with its text analysis
  const store::SurveyRecord* survey = nullptr;
  // For messages: the folded text that text analysis produced (empty without analysis).
  std::string_view normalized_text;
  // For messages: the lifetime revenue of `customer` when the event was committed.
  double customer_revenue = 0;
  // For identify calls: the consent decisions its traits carried, committed with it (ids are not
  // known here: 0). Consumers that act on consent still ask privacy::Consent.
  std::span<const store::ConsentRecord> consents;
};

// A consumer of committed events (the service desk, measurement, outreach). Subscribe before
// events flow; see Engine::Subscribe for the delivery contract.
class CommitObserver {
 public:
  virtual ~CommitObserver() = default;
  virtual void OnCommitted(std::span<const CommittedEvent> events) = 0;
  // Called on the hook thread after the last OnCommitted when the engine stops (flush here).
  virtual void OnStop() {}
};

struct SubmitResult {
  std::int64_t accepted = 0;
  std::int64_t duplicates = 0;
  std::int64_t suppressed = 0;  // dropped: an identifier is on the suppression list (erased person)
};

// Options with the text module wired in: language, sentiment, intent and PII masking of every
// message. kFailedPrecondition when text data is missing.
Result<EngineOptions> DefaultEngineOptions(int max_customers_per_identifier, bool with_text);

struct EngineStats {
  std::int64_t events = 0;
  std::int64_t customers = 0;
  std::int64_t identifiers = 0;
  std::int64_t messages = 0;
  std::int64_t surveys = 0;
  std::int64_t orders = 0;
  std::int64_t merges = 0;
  std::int64_t shared_identifiers = 0;
  std::int64_t suppressed_events = 0;  // dropped since start-up: identifiers of erased people
  std::int64_t suppression_entries = 0;
};

class Engine : public CustomerView, public profile::ProfileSource {
 public:
  // Loads state from `store` and starts the writer. The engine owns the store (and so the
  // backend's writer lock, released when the engine is destroyed).
  static Result<std::unique_ptr<Engine>> Open(std::unique_ptr<store::Store> store,
                                              EngineOptions options);

  // The post-commit hook. `observer` receives every batch of events committed from now on, in
  // commit order, after they are durable and after their submitters were answered, on the
  // engine's hook thread (`tp-hook`; one thread, so calls never overlap). A slow observer
  // delays later hook calls, not commits, until two commits wait for it; then the write path
  // waits too (back-pressure, bounded memory). Delivery is at most once: events committed just
  // before a crash may never reach observers. Shared because both the engine and the
  // composition root that wires it keep it. Call before submitting events.
  void Subscribe(std::shared_ptr<CommitObserver> observer);

  ~Engine() override;  // calls Stop()
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Runs text analysis on message events, then queues them. The future is ready once the events
  // are durable (or failed: kUnavailable when the store failed; the engine then refuses writes).
  std::future<Result<SubmitResult>> SubmitAsync(std::vector<ingest::Event> events);
  Result<SubmitResult> Submit(std::vector<ingest::Event> events) { return SubmitAsync(std::move(events)).get(); }

  // The live view of a customer (CustomerView): collected under a shared lock, so a reader
  // waits at most one slice of the writer's work.
  Result<CustomerData> Find(std::string_view ref) const override;
  Result<Millis> NewestEventAt() const override { return newest_event_at(); }
  // Undoes a merge: the two customers' profiles are re-folded from their members (durable when OK).
  Status Split(MergeId merge);
  // Erases the person `request.ref` resolves to — the live customer and every customer merged
  // into it — from memory and the store, and puts their identifiers on the suppression list,
  // in order with submitted events (the single writer) and in one transaction (durable when
  // OK; after a crash either all of it or none). Events already queued behind it that carry
  // their identifiers are dropped. kNotFound for an unknown person, kInvalidArgument for a
  // malformed reference, kFailedPrecondition without a suppression key (no master key).
  Result<ErasureResult> Erase(const ErasureRequest& request);

  // Identifiers that stopped being merge keys, as a JSON array.
  std::string SharedIdentifiersJson() const;

  // Every stored order with the live customer it belongs to now (for analytics over the store).
  struct OrderItem {
    std::string product_id;
    std::string category;
    double price = 0;
    double quantity = 0;
  };
  struct OrderRow {
    CustomerId customer;
    std::string order_id;
    Millis at = 0;
    double total = 0;
    std::string channel;
    std::vector<OrderItem> items;  // filled only when Orders(true)
  };
  // `from`: scan another connection's repository (a read-only store of the same database), so
  // that commits are not held up by the scan; null: the engine's own store, between commits.
  Result<std::vector<OrderRow>> Orders(bool with_items = false, store::ActivityRepository* from = nullptr);

  // Every stored message (without its text) with the live customer it belongs to now.
  struct MessageRow {
    CustomerId customer;
    Millis at = 0;
    std::string conversation_id;
    std::string channel;
    std::string author;     // customer | agent | bot
    bool inbound = false;   // direction "in"
    std::string intent;
    std::string sentiment_label;
    double sentiment_score = 0;
  };
  Result<std::vector<MessageRow>> Messages(store::ActivityRepository* from = nullptr);

  // Every live customer with the time of its first event (any kind: browsing included), in
  // ascending id order; for analytics that must cover customers without orders or messages.
  struct CustomerRow {
    CustomerId customer;
    Millis first_seen = 0;
  };
  std::vector<CustomerRow> Customers() const;

  // Writes derived tags (name → JSON value, e.g. "rfm_layer" → "\"important_value\"") onto
  // live customers' profiles, durably. Unknown or merged-away customers are skipped.
  Status SetTags(const std::vector<std::pair<CustomerId, std::vector<std::pair<std::string, std::string>>>>& tags);

  EngineStats Stats() const;
  Millis newest_event_at() const;

  // Drains queued work, commits and stops the writer. Idempotent.
  void Stop();

  // For a command about to exit: stops the engine, closes its store properly (the store's own
  // shutdown work included), and leaves the in-memory state — graph, profiles, de-duplication
  // table — to the process's exit instead of freeing it piece by piece (~0.1 s for a million
  // events; the same trade clang makes with -disable-free). Sanitizer builds free it as usual.
  static void CloseForExit(std::unique_ptr<Engine> engine);

 private:
  struct Impl;
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;

  // ---- profile::ProfileSource: the live customers' profiles (saved segments evaluate rules
  // over them). Callbacks run under the state lock held shared, so they delay the writer: keep
  // them short. ForEach lists the live customers a slice of the profile table at a time, then
  // folds them in slices of 2,048, releasing the lock between slices, so the writer waits at
  // most one slice (~10 ms at 1 M customers). A customer without merged members is passed
  // without a copy.
 public:
  void ForEach(const std::function<void(CustomerId, const profile::Profile&)>& fn) const override;
  bool With(CustomerId customer, const std::function<void(const profile::Profile&)>& fn) const override;
  std::vector<CustomerId> MergedInto(CustomerId customer) const override;
  // The newest event's time (newest_event_at()).
  Millis as_of() const override;
};

}  // namespace touchpoint::pipeline
