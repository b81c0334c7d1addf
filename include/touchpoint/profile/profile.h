// profile/profile.h — the customer 360: accumulators kept current as events arrive, and the
// features computed from them relative to an as-of time (their one definition:
// profile/features.h; rules over them: profile/segment.h).
//
// A Profile holds only order-independent accumulators (sums, counts, latest-by-time values), so
// folding two customers' profiles on a merge, or rebuilding one from its events after a split,
// gives the same result whatever the order of events.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/profile/features.h>

namespace touchpoint::profile {

// What one event contributes to a profile (the pipeline builds it from an ingested event).
// Views into the event it describes (valid during Apply): building one copies nothing.
struct Activity {
  enum class Kind { kIdentify, kOrder, kView, kMessage, kSurvey, kOther };
  Kind kind = Kind::kOther;
  Millis at = 0;
  std::string_view channel;
  std::span<const std::pair<std::string, std::string>> traits;  // name → JSON value
  double order_total = 0;
  double dwell_seconds = -1;
  bool inbound_message = false;  // a message the customer wrote
  bool has_sentiment = false;
  double sentiment = 0;
  std::string_view sentiment_label;
  std::string_view intent;
  int nps = -1;
  int csat = -1;
};

// Not thread-safe; the pipeline's writer owns profiles.
class Profile {
 public:
  static constexpr size_t kMaxOrdersKept = 1000;  // most recent purchases kept for windows

  // Folds one event in. An order counts as a purchase only if IsPurchase(order_total).
  void Apply(const Activity& a);
  // Folds another customer's profile into this one (merge).
  void Absorb(const Profile& other);
  // Sets a derived tag (rfm_layer, tier, churn_risk, …) written by analytics jobs.
  void SetTag(const std::string& name, const std::string& json_value);

  // The catalogue's features (profile/features.h) as of `as_of`; only those in `wanted` are
  // computed (the window scan and the channel scan only when a feature needs them).
  // Counters and first/last times cover everything folded in; the windows, recency_days,
  // tenure_days and first/last_order_at honour an as-of earlier than the newest activity (exact
  // unless the customer has more than kMaxOrdersKept purchases and as-of precedes the kept ones).
  Features ComputeFeatures(Millis as_of, FeatureMask wanted = ProfileFeatures()) const;
  // The features of FeaturesJson (FeatureInfo::in_profile_json) relative to `as_of`:
  // {"avg_csat":…, …, "views":…} (JSON text, keys in alphabetical order).
  std::string FeaturesJson(Millis as_of) const;
  // Traits (latest value of each) as a JSON object text.
  std::string TraitsJson() const;
  // Tags as a JSON object text.
  std::string TagsJson() const;
  // The JSON value text of one tag / trait, or nullptr when the profile has none by that name.
  // Valid until the profile changes.
  const std::string* FindTag(std::string_view name) const;
  const std::string* FindTrait(std::string_view name) const;

  // Storage form (JSON). Parse fails with kInternal on a corrupt record.
  std::string Serialize() const;
  static Result<Profile> Parse(std::string_view data);

  Millis first_seen() const { return first_seen_; }
  Millis last_seen() const { return last_seen_; }
  std::int64_t order_count() const { return order_count_; }
  double revenue() const { return revenue_; }
  std::int64_t messages() const { return messages_; }
  // (timestamp, total) of the most recent purchases, oldest first.
  const std::vector<std::pair<Millis, double>>& orders() const { return orders_; }

 private:
  void DropNonPurchases();

  struct Trait {
    std::string value;  // JSON
    Millis at = 0;
  };
  std::map<std::string, Trait, std::less<>> traits_;
  std::map<std::string, std::string, std::less<>> tags_;
  // Purchases only (IsPurchase): orders with a total ≤ 0 are events, not orders, here.
  std::vector<std::pair<Millis, double>> orders_;  // sorted by time
  std::int64_t order_count_ = 0;
  double revenue_ = 0;
  Millis first_order_at_ = 0;
  Millis last_order_at_ = 0;
  std::int64_t views_ = 0;
  double dwell_sum_ = 0;
  std::int64_t dwell_count_ = 0;
  std::int64_t messages_ = 0;
  Millis last_contact_at_ = 0;
  std::map<std::string, std::int64_t, std::less<>> channels_;
  double sentiment_sum_ = 0;
  std::int64_t sentiment_count_ = 0;
  std::int64_t negative_messages_ = 0;
  std::string last_intent_;
  Millis last_intent_at_ = 0;
  std::int64_t surveys_ = 0;
  double nps_sum_ = 0;
  std::int64_t nps_count_ = 0;
  double csat_sum_ = 0;
  std::int64_t csat_count_ = 0;
  Millis first_seen_ = 0;
  Millis last_seen_ = 0;
  std::int64_t events_ = 0;
};

}  // namespace touchpoint::profile
