// store/consent_repository.h — a customer's consent and preference decisions, append-only: each
// decision (personalisation intensity, marketing opt-in/opt-out per channel) is one record with
// its source, time and wording version; nothing is ever updated or deleted here (erasure of the
// person is the subject-rights job's). What the decisions *mean* — the current state of a person
// across merged customers, the defaults — is privacy/consent.h's: always ask privacy::Consent.
//
// The vocabulary (purposes, channels, values, sources) is fixed here as text so that every
// backend stores the same strings; privacy/consent.h parses them into enums.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/core/ids.h>
#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/store/transaction.h>

namespace touchpoint::store {

// Purposes.
inline constexpr std::string_view kConsentPersonalisation = "personalisation";
inline constexpr std::string_view kConsentMarketing = "marketing";
// Marketing channels, in display order.
inline constexpr std::array<std::string_view, 5> kConsentChannels = {"sms", "email", "push", "wechat", "phone"};
// Values: personalisation intensities (least first) and marketing decisions.
inline constexpr std::array<std::string_view, 4> kConsentIntensities = {"off", "low", "medium", "high"};
inline constexpr std::string_view kConsentOptIn = "opt_in";
inline constexpr std::string_view kConsentOptOut = "opt_out";
// Sources: a Segment identify call's traits, the HTTP API (staff or machines), the customer's own
// self-service token, the command line.
inline constexpr std::array<std::string_view, 4> kConsentSources = {"identify", "api", "customer", "cli"};

struct ConsentRecord {
  std::int64_t id = 0;          // assigned when stored, increasing in recording order
  CustomerId customer;          // whom it was recorded for (an identify: its anchor's original customer)
  std::string purpose;          // kConsentPersonalisation | kConsentMarketing
  std::string channel;          // marketing: one of kConsentChannels; personalisation: empty
  std::string value;            // personalisation: an intensity; marketing: opt_in | opt_out
  std::string source;           // one of kConsentSources
  std::string wording_version;  // the version of the text the person agreed to; may be empty
  Millis at = 0;                // when the decision was made (an identify: the event's time)
  // Who recorded it, pseudonymously: "message:<message id>" (identify), "key:<prefix>",
  // "user:<id>", "customer:<id>/token:<token id>", "cli:uid:<uid>". Never a name or contact.
  std::string actor;
  friend bool operator==(const ConsentRecord&, const ConsentRecord&) = default;
};

class ConsentRepository {
 public:
  virtual ~ConsentRepository() = default;
  // Appends `records` inside `txn` (the write path: an identify's consent traits commit with the
  // event that carried them). Ids are assigned at commit.
  virtual Status Add(Transaction& txn, std::span<const ConsentRecord> records) = 0;
  // Appends `records` in a transaction of their own (API, CLI) and returns them with their ids.
  // kFailedPrecondition on a read-only store.
  virtual Result<std::vector<ConsentRecord>> Record(std::span<const ConsentRecord> records) = 0;
  // Every record of any of `customers`, in id (recording) order.
  virtual Result<std::vector<ConsentRecord>> ForCustomers(std::span<const CustomerId> customers) = 0;
  // Every record, in id order (store migrate, exports).
  virtual Status Scan(const std::function<void(ConsentRecord&&)>& fn) = 0;
  virtual Result<std::int64_t> Count() = 0;
};

}  // namespace touchpoint::store
