// store/outbox_repository.h — the durable queue of outgoing deliveries (webhooks and e-mail) of
// the `outbox` module (outbox/outbox.h, docs/outbox.md).
//
// Life of a delivery:
//
//   Enqueue ──► pending ──Claim──► delivering ──Finish──► delivered
//                  ▲                 │    │
//                  │                 │    └──Finish──► failed ──(due again)──Claim──► delivering …
//                  │                 │                   └─(attempts exhausted)─► dead
//                  └── Retry (operator) ◄────────────────────────────────────────────┘
//
// A claim is a lease: a `delivering` row whose next_attempt_at passed (its dispatcher died during
// the attempt) is due again, and ReleaseClaims (at a dispatcher's start) makes every claim due at
// once. So a delivery is sent again only when its earlier attempt's outcome was never recorded.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/store/transaction.h>

namespace touchpoint::store {

enum class DeliveryKind { kWebhook, kEmail };
enum class DeliveryState { kPending, kDelivering, kDelivered, kFailed, kDead };
inline constexpr int kDeliveryStateCount = 5;

// "webhook", "email"; and back (nullopt for anything else).
inline std::string_view DeliveryKindName(DeliveryKind k) { return k == DeliveryKind::kEmail ? "email" : "webhook"; }
inline std::optional<DeliveryKind> ParseDeliveryKind(std::string_view s) {
  if (s == "webhook") return DeliveryKind::kWebhook;
  if (s == "email") return DeliveryKind::kEmail;
  return std::nullopt;
}
// "pending", "delivering", "delivered", "failed", "dead"; and back.
inline std::string_view DeliveryStateName(DeliveryState s) {
  switch (s) {
    case DeliveryState::kPending: return "pending";
    case DeliveryState::kDelivering: return "delivering";
    case DeliveryState::kDelivered: return "delivered";
    case DeliveryState::kFailed: return "failed";
    case DeliveryState::kDead: return "dead";
  }
  return "pending";
}
inline std::optional<DeliveryState> ParseDeliveryState(std::string_view s) {
  for (int i = 0; i < kDeliveryStateCount; ++i) {
    if (DeliveryStateName(static_cast<DeliveryState>(i)) == s) return static_cast<DeliveryState>(i);
  }
  return std::nullopt;
}

struct Delivery {
  std::int64_t id = 0;  // assigned by Enqueue, increasing
  DeliveryKind kind = DeliveryKind::kWebhook;
  // Webhook: the endpoint's name ([[webhooks]] name). E-mail: the envelope recipient address.
  std::string target;
  std::string event;            // what happened, e.g. "ticket.created" (a type name, no personal data)
  std::string payload;          // webhook: the JSON body; e-mail: the whole RFC 5322 message
  std::string idempotency_key;  // unique per delivery: X-Touchpoint-Delivery, the Message-ID's left part
  DeliveryState state = DeliveryState::kPending;
  int attempts = 0;             // attempts started (claims)
  // pending/failed: when it is due; delivering: when the claim expires; delivered/dead: unused.
  Millis next_attempt_at = 0;
  // The last failed attempt's reason ("HTTP 503", "timeout after 10 s", "SMTP 550 …"): never a
  // payload or an address. Empty after a success.
  std::string last_error;
  Millis created_at = 0;
  Millis delivered_at = 0;  // 0 until delivered
  friend bool operator==(const Delivery&, const Delivery&) = default;
};

// What one attempt came to (OutboxRepository::Finish).
struct DeliveryOutcome {
  std::int64_t id = 0;
  DeliveryState state = DeliveryState::kDelivered;  // delivered, failed, dead (or pending: released)
  Millis at = 0;                                    // when the attempt ended
  Millis next_attempt_at = 0;                       // failed: when to try again
  std::string error;                                // failed/dead: the reason (no personal data)
};

// The delivery log's filter (OutboxRepository::List). Empty fields match everything.
struct DeliveryQuery {
  std::optional<DeliveryState> state;
  std::optional<DeliveryKind> kind;
  std::string target;
  std::int64_t before_id = 0;  // > 0: only ids below it (the cursor of the next page)
  int limit = 100;
};

// Enqueue joins the caller's transaction; every other write is its own small transaction (on a
// store with an open transaction they fail with kFailedPrecondition). Claims are atomic against
// other connections and processes on the same database.
class OutboxRepository {
 public:
  virtual ~OutboxRepository() = default;

  // Adds `delivery` within `txn` as pending with 0 attempts, due at delivery.next_attempt_at
  // (its id, state, attempts, last_error and delivered_at are ignored); returns its id. A
  // delivery whose idempotency key exists already is not added again: its id is returned, so
  // emitting the same event twice (e.g. after a crash) sends it once. kInvalidArgument for an
  // empty idempotency key or target.
  virtual Result<std::int64_t> Enqueue(Transaction& txn, const Delivery& delivery) = 0;

  // Claims up to `limit` deliveries of `kind` (and `target` when not empty) that are due at
  // `now` — pending or failed with next_attempt_at ≤ now, or delivering with an expired claim —,
  // earliest due first: each becomes delivering with attempts + 1 and next_attempt_at =
  // claim_until. Returns them as claimed.
  virtual Result<std::vector<Delivery>> Claim(DeliveryKind kind, const std::string& target, Millis now,
                                              Millis claim_until, int limit) = 0;

  // Records outcomes of claimed deliveries in one transaction. An outcome whose delivery is no
  // longer delivering (claimed again after its claim expired, or retried) is skipped. An outcome
  // of state pending gives back a claim that was never attempted (attempts − 1).
  virtual Status Finish(std::span<const DeliveryOutcome> outcomes) = 0;

  // Makes every delivering row due at `now` (a dispatcher starting after its predecessor died:
  // nobody else can hold a claim). Returns how many.
  virtual Result<std::int64_t> ReleaseClaims(Millis now) = 0;

  // An operator's retry: the dead or failed delivery `id` (every dead one when id is 0) becomes
  // pending again with 0 attempts, due at `now`. Returns how many; kNotFound when `id` names no
  // dead or failed delivery.
  virtual Result<std::int64_t> Retry(std::int64_t id, Millis now) = 0;

  virtual Result<std::optional<Delivery>> Find(std::int64_t id) = 0;

  // The delivery log: matching deliveries, newest (highest id) first, at most query.limit.
  virtual Result<std::vector<Delivery>> List(const DeliveryQuery& query) = 0;

  // How many deliveries are in each state, indexed by DeliveryState.
  virtual Result<std::array<std::int64_t, kDeliveryStateCount>> CountByState() = 0;

  // The earliest next_attempt_at of the deliveries of `kind` (and `target` when not empty) that
  // are pending, failed or delivering; nullopt when there is none.
  virtual Result<std::optional<Millis>> NextDue(DeliveryKind kind, const std::string& target) = 0;

  // Deletes delivered deliveries delivered before `before`. Returns how many.
  virtual Result<std::int64_t> PruneDelivered(Millis before) = 0;
};

}  // namespace touchpoint::store
