// outbox/outbox.h — durable outgoing deliveries: signed webhooks and SMTP e-mail (docs/outbox.md).
//
// A caller enqueues a delivery in the store, inside its own store::Transaction when it wants the
// delivery to commit (or roll back) with its other changes; a dispatcher sends it later:
//
//   desk change ──► txn { ticket rows …; outbox row (pending) } ──commit──► dispatcher
//                                                                             │ claim (delivering)
//                              endpoint "crm" worker(s) ◄────────────────────┤ endpoint "sms" worker(s)
//                              POST + HMAC signature                          │ e-mail worker(s): SMTP
//                              2xx → delivered; else failed, retried          ▼
//                              with backoff; after max_attempts → dead    outcomes recorded in batches
//
// Guarantee: at least once, with the same X-Touchpoint-Delivery id (e-mail: the same Message-ID)
// on every attempt. A delivery is sent again only when the outcome of an earlier attempt was not
// recorded as delivered: the receiver answered other than 2xx, did not answer within the timeout
// (it might have received it), or the process died between sending and recording (the claim is
// released at the next start, and the delivery is sent again). Receivers de-duplicate by the id.
//
// Isolation: each endpoint has its own workers, so a slow or failing endpoint holds up only its
// own deliveries (bounded by its timeout and concurrency); callers never wait for a send.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/thread_annotations.h>
#include <touchpoint/core/time.h>
#include <touchpoint/store/outbox_repository.h>
#include <touchpoint/store/store.h>

namespace touchpoint::outbox {

// One [[webhooks]] entry of the configuration.
struct WebhookEndpoint {
  std::string name;    // unique; deliveries name it (store::Delivery::target)
  std::string url;     // http:// or https:// (https verified against the system's trust store)
  std::string secret;  // the HMAC key of X-Touchpoint-Signature (≥ 16 bytes)
  // Event types sent here: exact ("ticket.created"), a prefix wildcard ("ticket.*") or "*".
  // Empty: every event.
  std::vector<std::string> events;
  int timeout_ms = 10'000;  // a whole attempt (connect, send, answer); then it counts as failed
  int concurrency = 2;      // attempts in flight at once to this endpoint
};

// [email]: the SMTP relay e-mail goes through.
struct SmtpOptions {
  std::string host;  // empty: no e-mail
  int port = 25;
  // "none" (plain SMTP, loopback relays), "starttls" (required: refuses a relay without it) or
  // "tls" (implicit TLS, port 465).
  std::string tls = "starttls";
  std::string username;  // empty: no AUTH
  std::string password;
  std::string from;               // envelope sender and From: address, e.g. "service@example.com"
  std::string from_name;          // optional display name of From:
  std::string message_id_domain;  // the right part of Message-IDs; empty: from's domain
  int timeout_ms = 30'000;
  int concurrency = 2;
};

// When a failed attempt is tried again: attempt n (1-based) failing waits
// min(max_backoff, initial_backoff · 2^(n-1)), less a random share of up to `jitter` of it;
// a delivery whose max_attempts-th attempt fails is dead (dead-lettered).
struct RetryPolicy {
  int max_attempts = 12;
  Millis initial_backoff = 30'000;
  Millis max_backoff = 3'600'000;
  double jitter = 0.2;  // 0 … 1
};

struct OutboxOptions {
  std::vector<WebhookEndpoint> webhooks;
  SmtpOptions smtp;
  RetryPolicy retry;
  const Clock* clock = nullptr;  // nullptr: the system clock; must outlive the outbox
  std::uint64_t seed = 0;        // of the jitter; 0: random
  int claim_batch = 16;          // deliveries claimed per endpoint at once
  // The background dispatcher re-reads the store at least this often (deliveries enqueued by
  // other processes, due retries); an Enqueue through this object wakes it at once.
  Millis poll_interval = 1'000;
  // Delivered rows older than this are deleted by the dispatcher (0: kept).
  Millis keep_delivered = 7 * kMillisPerDay;
};

// Something that happened, for the webhooks that subscribe to its type.
struct Event {
  std::string id;         // unique event id; empty: a random one. Delivery ids derive from it.
  std::string type;       // e.g. "ticket.created", "sla.breached"
  Millis occurred_at = 0;  // 0: now
  std::string data_json;  // a JSON object: the body's "data" ("{}" when empty)
};

// An e-mail to one recipient (text/plain, UTF-8).
struct Email {
  std::string to;       // address
  std::string to_name;  // optional display name
  std::string subject;
  std::string text;
  std::string in_reply_to;  // optional Message-ID ("<…>") this answers, for threading
  std::string key;          // idempotency key; empty: a random one
};

struct EnqueuedEmail {
  std::int64_t id = 0;
  std::string message_id;  // "<key@domain>", for the desk's threading
};

// What the process did since start (metrics), and what the store holds.
struct OutboxStats {
  std::array<std::int64_t, store::kDeliveryStateCount> by_state{};  // rows in the store per state
  std::int64_t attempts = 0;   // attempts made by this process
  std::int64_t delivered = 0;
  std::int64_t failed = 0;     // attempts that failed and will be retried
  std::int64_t dead = 0;
};

class Outbox {
 public:
  // `store`: the dispatcher's own connection (claims, outcomes, the log); it must outlive the
  // outbox and is used only under the outbox's lock. kInvalidArgument for a bad option (names
  // it: duplicate or empty endpoint name, URL not http(s), secret shorter than 16 bytes, …).
  static Result<std::unique_ptr<Outbox>> Create(store::Store& store, OutboxOptions options);
  ~Outbox();  // Stop()s a started dispatcher (a composition root failing half-way never has to)
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // Enqueues one webhook delivery of `event` per endpoint whose filter matches its type, inside
  // `txn` of `caller_store` (which must be open on the same database as the outbox's store);
  // nothing is sent unless that transaction commits. Returns the delivery ids (none when no
  // endpoint subscribes). Each delivery's id is "<event id>.<endpoint>", so enqueueing the same
  // event twice sends it once.
  Result<std::vector<std::int64_t>> EnqueueEvent(store::Store& caller_store, store::Transaction& txn,
                                                 const Event& event);
  // The same in a transaction of its own on the outbox's store.
  Result<std::vector<std::int64_t>> EnqueueEvent(const Event& event);
  // Enqueues `event` for the one endpoint named `endpoint` only, whatever its event filter (a
  // message meant for that receiver alone: the desk's replies to a channel's gateway). Returns
  // the delivery id; kNotFound when no endpoint has that name.
  Result<std::int64_t> EnqueueEventTo(store::Store& caller_store, store::Transaction& txn, const Event& event,
                                      const std::string& endpoint);

  // Enqueues `email` (composed now as an RFC 5322 message: Date, Message-ID, MIME UTF-8) inside
  // `txn`. kFailedPrecondition when no SMTP relay is configured; kInvalidArgument for an address
  // that is not one (or has CR/LF).
  Result<EnqueuedEmail> EnqueueEmail(store::Store& caller_store, store::Transaction& txn, const Email& email);
  Result<EnqueuedEmail> EnqueueEmail(const Email& email);

  // Starts the background dispatcher (releasing claims a dead predecessor left; one dispatcher
  // per database). kFailedPrecondition when already started.
  Status Start();
  // Stops taking new work, lets attempts in flight finish (each bounded by its timeout), records
  // their outcomes and joins every thread. Idempotent.
  void Stop();

  // Without Start(): attempts every delivery due now (by the options' clock) on the calling
  // thread, endpoint by endpoint, and records the outcomes. Returns how many were attempted.
  // For tests with a fake clock and for `touchpoint outbox flush`.
  Result<int> RunDue();

  // Wakes the dispatcher (something was enqueued by another connection of this process).
  void Notify();

  // The delivery log (store::OutboxRepository::List), and an operator's retry.
  Result<std::vector<store::Delivery>> List(const store::DeliveryQuery& query);
  Result<std::int64_t> Retry(std::int64_t id);

  Result<OutboxStats> Stats();

  // When the failing attempt number `attempt` (1-based) of a delivery is tried again, or
  // nullopt when it was the last (dead). Uses the jitter's random source.
  std::optional<Millis> NextAttemptAt(int attempt, Millis now);

  const OutboxOptions& options() const { return options_; }

  class Lane;

 private:
  Outbox(store::Store& store, OutboxOptions options);
  Millis Now() const;
  // EnqueueEvent (only == nullptr: endpoints by filter) and EnqueueEventTo (only: that one).
  Result<std::vector<std::int64_t>> EnqueueWebhooks(store::Store& caller_store, store::Transaction& txn,
                                                    const Event& event, const std::string* only);
  void DispatchLoop();
  Status FlushOutcomes();

  store::Store& store_;
  OutboxOptions options_;
  std::mutex store_mu_;  // serialises every use of store_
  std::mutex mu_;
  std::condition_variable wake_;
  bool started_ TP_GUARDED_BY(mu_) = false;
  bool stopping_ TP_GUARDED_BY(mu_) = false;
  bool notified_ TP_GUARDED_BY(mu_) = false;
  std::vector<store::DeliveryOutcome> outcomes_ TP_GUARDED_BY(mu_);  // to record
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::thread dispatcher_;
  std::mutex rng_mu_;
  std::uint64_t rng_state_ TP_GUARDED_BY(rng_mu_) = 0;
  std::atomic<std::int64_t> attempts_{0}, delivered_{0}, failed_{0}, dead_{0};
  Millis last_prune_ = 0;
};

// The RFC 5322 message of `email` as EnqueueEmail composes it (exposed for tests).
Result<std::string> ComposeEmail(const SmtpOptions& smtp, const Email& email, const std::string& message_id,
                                 Millis date);

// Whether `type` matches one of `filters` (empty: everything; "*"; "ticket.*"; exact).
bool EventMatches(const std::vector<std::string>& filters, const std::string& type);

}  // namespace touchpoint::outbox
