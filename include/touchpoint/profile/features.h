// profile/features.h — the one definition of each customer feature: the catalogue (name, type,
// one-line rule), the rules the features share (what a purchase is, the as-of instant, windows,
// whole days, rounding) and the typed features of a profile at an as-of time.
//
// Every consumer uses these names and rules: GET /v1/customers (Profile::FeaturesJson), segments
// (profile/segment.h) and the analytics jobs (insight/customer_features.h: k-means, churn), so a
// name means the same thing everywhere. docs/analytics.md ("Customer features: one definition")
// lists every feature with its exact rule. Pure functions and plain data; thread-compatible.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include <touchpoint/core/time.h>

namespace touchpoint::profile {

// ---- The shared rules ------------------------------------------------------------------------

// As-of. Features describe the activity at or before the instant `as_of` (milliseconds,
// inclusive). A caller with an exclusive cut-off C ("activity strictly before C", as the analytics
// jobs take it) uses AsOfBefore(C): both then see the same activity and the same durations.
constexpr Millis AsOfBefore(Millis cutoff) { return cutoff - 1; }

// A purchase is an order whose total is > 0. A free order (0) or a refund (< 0) is activity (an
// event, a channel use), never a purchase: it counts in no order or revenue feature.
constexpr bool IsPurchase(double order_total) { return order_total > 0; }

// The N-day window ending at as-of: (as_of − N days, as_of]. Windows of 30, 90 and 365 days.
inline constexpr int kWindowDays[] = {30, 90, 365};
constexpr bool InWindow(Millis t, Millis as_of, int days) {
  return t <= as_of && as_of - t < static_cast<Millis>(days) * kMillisPerDay;
}

// Whole days from `t` to as-of, counting the as-of millisecond itself:
// ⌊(as_of + 1 ms − t) / 24 h⌋ (a purchase exactly 30 days before as-of, or 30 days before an
// exclusive cut-off, is 30 days ago). 0 when t is after as_of.
constexpr std::int64_t WholeDaysSince(Millis t, Millis as_of) {
  return t > as_of ? 0 : (as_of + 1 - t) / kMillisPerDay;
}

// Money and means are rounded to 2 decimals, half away from zero (what the profile shows is what
// a segment compares and what the analytics use).
inline double Round2(double v) { return std::round(v * 100.0) / 100.0; }

// The mean of n samples rounded to 2 decimals; nullopt (null) without samples.
inline std::optional<double> Mean2(double sum, std::int64_t n) {
  if (n == 0) return std::nullopt;
  return Round2(sum / static_cast<double>(n));
}

// A contact is a message the customer wrote (inbound, author "customer"). It carries a sentiment
// when text analysis labelled it (label not empty); "negative" is the negative label.
constexpr bool HasSentiment(std::string_view sentiment_label) { return !sentiment_label.empty(); }
constexpr bool IsNegativeSentiment(std::string_view sentiment_label) { return sentiment_label == "negative"; }

// ---- The catalogue ---------------------------------------------------------------------------

// Alphabetical, the order of GET /v1/customers' "features" object.
enum class FeatureId : std::uint8_t {
  kAvgCsat,
  kAvgDwellSeconds,
  kAvgNps,
  kAvgOrderValue,
  kAvgSentiment,
  kContacts,
  kContacts90d,
  kEvents,
  kFirstOrderAt,
  kFirstSeenAt,
  kFrequency,
  kLastContactAt,
  kLastIntent,
  kLastOrderAt,
  kLastSeenAt,
  kMessages,
  kMonetary,
  kMonetary365d,
  kNegativeMessages,
  kNegativeShare,
  kOrders30d,
  kOrders365d,
  kOrders90d,
  kOrdersTotal,
  kPreferredChannel,
  kRecencyDays,
  kRevenue30d,
  kRevenue365d,
  kRevenue90d,
  kRevenueTotal,
  kSurveys,
  kTenureDays,
  kViews,
  kCount
};
inline constexpr size_t kFeatureCount = static_cast<size_t>(FeatureId::kCount);

enum class FeatureType : std::uint8_t {
  kNumber,   // a real number (money and means: rounded to 2 decimals)
  kInteger,  // a count or a number of whole days
  kString,
  kTimestamp,  // an instant; JSON: "2024-03-01T08:30:00.000Z"
};
// "a number", "an integer", "a string", "a timestamp".
std::string_view FeatureTypePhrase(FeatureType type);

struct FeatureInfo {
  FeatureId id;
  std::string_view name;
  FeatureType type;
  bool nullable;          // null when the rule has nothing to measure (e.g. a mean without samples)
  bool on_profile;        // computed from a Profile (GET, segments); else analytics jobs only
  bool in_profile_json;   // one of the keys of Profile::FeaturesJson
  bool depends_on_as_of;  // changes with as-of alone, without new activity (windows, days since)
  std::string_view rule;  // the one-line definition
  std::string_view analytics_imputation;  // how the analytics matrices replace null ("" = never null there)
};

// Every feature, in FeatureId order.
std::span<const FeatureInfo> FeatureCatalogue();
const FeatureInfo& Describe(FeatureId id);
// nullptr when `name` is not a catalogue feature.
const FeatureInfo* FindFeature(std::string_view name);

// A set of features, one bit per FeatureId.
using FeatureMask = std::uint64_t;
static_assert(kFeatureCount <= 64);
constexpr FeatureMask FeatureBit(FeatureId id) { return FeatureMask{1} << static_cast<unsigned>(id); }
// Every feature computed from a Profile.
FeatureMask ProfileFeatures();

// One feature's value, for generic consumers (segments). Integers and timestamps (epoch
// milliseconds) are numbers; strings are views into the Profile the features were computed from.
struct FeatureValue {
  enum class Kind : std::uint8_t { kNull, kNumber, kString };
  Kind kind = Kind::kNull;
  double number = 0;
  std::string_view text;
};

// The features of one profile at one as-of (Profile::ComputeFeatures). Only the features asked
// for are set; the others keep these defaults. Nullable features: std::nullopt, a timestamp of
// 0 or an empty string view mean null. String views point into the Profile: valid while it is
// alive and unchanged. Analytics-only features (contacts, contacts_90d) are not here.
struct Features {
  std::int64_t events = 0;
  std::int64_t messages = 0;
  std::int64_t negative_messages = 0;
  std::int64_t surveys = 0;
  std::int64_t views = 0;
  std::int64_t orders_total = 0;  // also `frequency`
  std::int64_t orders_30d = 0;
  std::int64_t orders_90d = 0;
  std::int64_t orders_365d = 0;
  double revenue_total = 0;  // also `monetary`
  double revenue_30d = 0;
  double revenue_90d = 0;
  double revenue_365d = 0;  // also `monetary_365d`
  std::optional<double> avg_order_value;
  std::optional<double> avg_sentiment;
  std::optional<double> negative_share;
  std::optional<double> avg_dwell_seconds;
  std::optional<double> avg_nps;
  std::optional<double> avg_csat;
  std::optional<std::int64_t> recency_days;
  std::optional<std::int64_t> tenure_days;
  Millis first_seen_at = 0;
  Millis last_seen_at = 0;
  Millis first_order_at = 0;
  Millis last_order_at = 0;
  Millis last_contact_at = 0;
  std::string_view preferred_channel;
  std::string_view last_intent;

  // The value of a profile feature (an analytics-only one is null).
  FeatureValue Get(FeatureId id) const;
};

}  // namespace touchpoint::profile
