// profile/profile.h — the customer 360: accumulators kept current as events arrive, and the
// features computed from them relative to an as-of time.
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
  static constexpr size_t kMaxOrdersKept = 1000;  // most recent orders kept for windows

  void Apply(const Activity& a);
  // Folds another customer's profile into this one (merge).
  void Absorb(const Profile& other);
  // Sets a derived tag (rfm_layer, tier, churn_risk, …) written by analytics jobs.
  void SetTag(const std::string& name, const std::string& json_value);

  // Features relative to `as_of`: {"orders_30d":…, …} (JSON text).
  std::string FeaturesJson(Millis as_of) const;
  // Traits (latest value of each) as a JSON object text.
  std::string TraitsJson() const;
  // Tags as a JSON object text.
  std::string TagsJson() const;

  // Storage form (JSON). Parse fails with kInternal on a corrupt record.
  std::string Serialize() const;
  static Result<Profile> Parse(std::string_view data);

  Millis first_seen() const { return first_seen_; }
  Millis last_seen() const { return last_seen_; }
  std::int64_t order_count() const { return order_count_; }
  double revenue() const { return revenue_; }
  std::int64_t messages() const { return messages_; }
  // (timestamp, total) of the most recent orders, oldest first.
  const std::vector<std::pair<Millis, double>>& orders() const { return orders_; }

 private:
  struct Trait {
    std::string value;  // JSON
    Millis at = 0;
  };
  std::map<std::string, Trait, std::less<>> traits_;
  std::map<std::string, std::string> tags_;
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
