// privacy/consent.h — consent and preferences: THE one consent check. Every component that uses
// personal data for personalisation or outreach (recommendations, outreach, the bot's
// personalisation) asks privacy::Consent — never the consent records, never a trait — so that no
// later component can forget consent or read it differently.
//
// What a person decided: `personalisation` with an intensity (off < low < medium < high) and
// `marketing` opted in or out per channel (sms, email, push, wechat, phone). Each decision is an
// append-only store::ConsentRecord with its source (identify traits, API, the customer's own
// token, CLI), time and wording version.
//
// The rule (docs/security.md, "Consent and preferences"):
//   * Consent belongs to the person: a live customer's consents are read from the records of the
//     live customer AND every customer merged into it (identity merges never copy or move them).
//   * Per personalisation, and per marketing channel, the decision that counts is the one with
//     the latest decision time (`at`: an identify's event time, the request's or command's time);
//     equal times: the one recorded last (higher id). A late-arriving old identify therefore never
//     overrides a newer decision.
//   * No decision: marketing is NOT allowed on that channel (opt-in only); personalisation is the
//     configured default ([privacy] personalisation_default, "low" unless set).
//
// Thread-safe: one store call at a time (a mutex); give it a store connection of its own.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <touchpoint/core/ids.h>
#include <touchpoint/core/result.h>
#include <touchpoint/core/thread_annotations.h>
#include <touchpoint/core/time.h>
#include <touchpoint/store/consent_repository.h>
#include <touchpoint/store/store.h>

namespace touchpoint::privacy {

class AuditLog;

enum class Purpose { kPersonalisation, kMarketing };
enum class Intensity { kOff, kLow, kMedium, kHigh };  // ordered: a higher level allows the lower ones
enum class Channel { kSms, kEmail, kPush, kWechat, kPhone };
enum class ConsentSource { kIdentify, kApi, kCustomer, kCli };

inline constexpr std::array<Channel, 5> kAllChannels = {Channel::kSms, Channel::kEmail, Channel::kPush,
                                                        Channel::kWechat, Channel::kPhone};

// "off", "low", "medium", "high"; kInvalidArgument naming the valid values otherwise.
Result<Intensity> ParseIntensity(std::string_view name);
std::string_view IntensityName(Intensity intensity);
// "sms", "email", "push", "wechat", "phone".
Result<Channel> ParseChannel(std::string_view name);
std::string_view ChannelName(Channel channel);
std::string_view ConsentSourceName(ConsentSource source);  // "identify", "api", "customer", "cli"

struct ConsentPolicy {
  Intensity default_personalisation = Intensity::kLow;  // [privacy] personalisation_default
};

// What one request, command or identify asks to record.
struct ConsentChange {
  std::optional<Intensity> personalisation;
  std::vector<std::pair<Channel, bool>> marketing;  // true: opt in; false: opt out
  std::string wording_version;                      // may be empty
  bool empty() const { return !personalisation.has_value() && marketing.empty(); }
};

// Parses {"personalisation":"low","marketing":{"email":true,"sms":false},"wording_version":"v3"}
// (every member optional, but at least one decision; "opt_in"/"opt_out" are accepted for true/
// false). kInvalidArgument naming the bad member otherwise.
Result<ConsentChange> ParseConsentChangeJson(std::string_view json);

// The records a change becomes, for `customer`, decided at `at`, recorded by `actor`.
std::vector<store::ConsentRecord> ConsentRecordsFor(CustomerId customer, const ConsentChange& change,
                                                    ConsentSource source, Millis at, std::string_view actor);

// A person's consents after the rule above.
struct ConsentState {
  Intensity personalisation = Intensity::kLow;
  std::optional<store::ConsentRecord> personalisation_decision;  // nullopt: the configured default
  std::array<std::optional<store::ConsentRecord>, 5> marketing;  // per channel (kAllChannels order)

  bool AllowsPersonalisation(Intensity level) const { return level != Intensity::kOff && personalisation >= level; }
  bool AllowsMarketing(Channel channel) const;
  // {"personalisation":{"intensity":"low","default":true,…},"marketing":{"email":{"opt_in":false,…},…}}
  std::string ToJson() const;
};

// Applies the rule to `history` (records of every customer of one person, any order).
ConsentState DecideConsent(std::span<const store::ConsentRecord> history, const ConsentPolicy& policy);

// Records as JSON objects (the history answers of the API and the CLI).
std::string ConsentHistoryJson(std::span<const store::ConsentRecord> history);

// Who a customer is now: the live customer followed by every customer merged into it (the
// engine's identity graph in the server, the store's in the CLI). kNotFound for no such customer.
using PersonResolver = std::function<Result<std::vector<CustomerId>>(CustomerId customer)>;

class Consent {
 public:
  // `store` must outlive this and not be used by anything else meanwhile; `resolve` and `clock`
  // likewise.
  Consent(store::Store& store, PersonResolver resolve, ConsentPolicy policy, const Clock& clock);
  Consent(const Consent&) = delete;
  Consent& operator=(const Consent&) = delete;

  // Whether personal data may be used to personalise for `customer` at `level`
  // (Purpose::kPersonalisation; kOff is never allowed: nothing to ask for). Purpose::kMarketing
  // has channels: kInvalidArgument — ask AllowsMarketing. Fails as the store does.
  Result<bool> Allows(CustomerId customer, Purpose purpose, Intensity level);
  // Whether marketing may reach `customer` on `channel`: only after an opt-in that is not
  // followed by an opt-out.
  Result<bool> AllowsMarketing(CustomerId customer, Channel channel);
  // The person's state and their whole history (every merged customer's records, id order).
  Result<ConsentState> Current(CustomerId customer);
  Result<std::vector<store::ConsentRecord>> History(CustomerId customer);

  struct Changed {
    CustomerId live;                             // the person's live customer
    std::vector<store::ConsentRecord> records;   // as stored (with ids)
    Status audited;                              // not OK: recorded, but an audit entry failed
  };
  // Records `change` for `customer` (resolved to the live customer first) now, by `actor`, and
  // audits each record in `audit` ("consent.change" on "customer:<live id>"; nullptr: not
  // audited — the caller says why). kInvalidArgument for an empty change.
  Result<Changed> Change(CustomerId customer, const ConsentChange& change, ConsentSource source,
                         std::string_view actor, AuditLog* audit);

  const ConsentPolicy& policy() const { return policy_; }

 private:
  // The person `customer` belongs to, its live customer first; kNotFound when none. REQUIRES: mu_
  Result<std::vector<CustomerId>> PersonLocked(CustomerId customer);

  std::mutex mu_;
  store::ConsentRepository& repo_;  // used under mu_
  PersonResolver resolve_;
  ConsentPolicy policy_;
  const Clock& clock_;
};

// The audit entry of one stored consent record (also used for identify's records after commit).
Status AuditConsentRecord(AuditLog& audit, std::string_view actor, const store::ConsentRecord& record);

}  // namespace touchpoint::privacy
