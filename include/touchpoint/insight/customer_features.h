// insight/customer_features.h — per-customer features and derived data sets built from order
// and service-message activity, for analytics over the store: k-means segments, churn training
// labels, hourly contact volume and "bought category X, then asked about Y" baskets.
//
// Inputs are plain structs (the caller copies them out of the store), so this module does not
// depend on the pipeline. Pure functions; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/core/time.h>
#include <touchpoint/insight/forecast_job.h>
#include <touchpoint/ml/stats.h>
#include <touchpoint/ml/tabular.h>

namespace touchpoint::insight {

inline constexpr Millis kMillisPerHour = 3'600'000;

struct ActivityOrder {
  std::int64_t customer = 0;
  Millis at = 0;
  double total = 0;                     // order total; ≤ 0 (refunds, free orders) is not a purchase
  std::vector<std::string> categories;  // product categories of the order's items (may repeat)
  std::vector<std::string> products;    // product ids of the order's items (may repeat)
};

// A customer known to exist since `first_seen` (any event, browsing included).
struct ActivitySeen {
  std::int64_t customer = 0;
  Millis first_seen = 0;
};

struct ActivityMessage {
  std::int64_t customer = 0;
  Millis at = 0;
  bool from_customer = false;  // inbound and written by the customer (a contact)
  std::string intent;          // "" when not analysed
  std::string sentiment_label;  // "negative" | "neutral" | "positive" | ""
  double sentiment_score = 0;   // in [-1, 1]
};

// The feature columns, in matrix column order. Each name is a feature of the one catalogue,
// profile/features.h (docs/analytics.md, "Customer features: one definition"), with its rule:
// what a purchase is (total > 0), the 90-day window, whole days, rounding to 2 decimals. The
// as-of of these rules is AsOfBefore(cutoff): the activity strictly before the cut-off.
//   recency_days    whole days since the last purchase; imputed without a purchase (the profile
//                   shows null): tenure_days
//   tenure_days     whole days since the first activity (an order of any total, a contact, or
//                   with `seen` any event: then it is the profile's first_seen_at)
//   frequency       purchases
//   monetary        sum of purchase totals, 2 decimals
//   avg_order_value mean purchase total, 2 decimals; imputed 0 without purchases
//   orders_90d      purchases in the 90-day window
//   contacts        messages from the customer (inbound, author customer; analytics only)
//   contacts_90d    of them in the 90-day window (analytics only)
//   negative_share  negative contacts / contacts that carry a sentiment, 2 decimals; imputed 0
//   avg_sentiment   mean sentiment score of the contacts that carry one, 2 decimals; imputed 0
enum CustomerFeature : size_t {
  kRecencyDays,
  kTenureDays,
  kFrequency,
  kMonetary,
  kAvgOrderValue,
  kOrders90d,
  kContacts,
  kContacts90d,
  kNegativeShare,
  kAvgSentiment,
  kCustomerFeatureCount
};
const std::vector<std::string>& CustomerFeatureNames();

struct CustomerFeatureTable {
  Millis as_of = 0;                     // the exclusive cut-off
  std::vector<std::int64_t> customers;  // ascending; one row each
  ml::Matrix values;                    // customers.size() x kCustomerFeatureCount
};

// Features from the activity strictly before `cutoff` (as of profile::AsOfBefore(cutoff)); every
// customer with at least one order (any total) or contact before the cut-off gets a row, and so
// does every customer of `seen` first seen before it (browsing only: zero purchases and
// contacts, recency = tenure). Activity at or after the cut-off is ignored. The table's as_of is
// `cutoff`.
CustomerFeatureTable BuildCustomerFeatures(const std::vector<ActivityOrder>& orders,
                                           const std::vector<ActivityMessage>& messages,
                                           Millis cutoff, const std::vector<ActivitySeen>& seen = {});

// The table as text cells for the churn model (insight/churn.h): column "customer" (the id),
// the feature columns, and with `labels` a column "churned" ("1" / "0"). Numbers are rounded
// to 4 decimals (so that reasons read "avg_sentiment=-0.25", not a float's 17 digits). `source` names the origin in error messages.
inline constexpr std::string_view kCustomerIdColumn = "customer";
inline constexpr std::string_view kChurnedColumn = "churned";
ml::RawTable CustomerFeatureRawTable(const CustomerFeatureTable& table, const std::vector<int>* labels,
                                     std::string source);

// Churn label per customer of `customers`: 1 when the customer makes no purchase
// (profile::IsPurchase: total > 0) in [cutoff, cutoff + window), else 0.
std::vector<int> NoPurchaseLabels(const std::vector<std::int64_t>& customers,
                                  const std::vector<ActivityOrder>& orders, Millis cutoff,
                                  Millis window = 90 * kMillisPerDay);

// Contacts (messages from customers) per UTC hour, zero-filled from the hour of the first
// contact to the hour of the last, at or after `since` (0 = all). Empty without contacts.
std::vector<SeriesPoint> HourlyContactVolume(const std::vector<ActivityMessage>& messages,
                                             Millis since = 0);

// Item prefixes of the category → intent baskets.
inline constexpr std::string_view kCategoryItemPrefix = "category:";
inline constexpr std::string_view kIntentItemPrefix = "intent:";

// One transaction per purchase: the distinct categories of the order, as "category:<name>",
// plus the distinct intents of the same customer's contacts in (order time, order time +
// window], as "intent:<name>" (contacts without an intent or with intent "other" add nothing).
// Orders without categories are left out; orders with no contact afterwards are kept (they are
// the "did not ask" transactions that make confidence a rate).
std::vector<std::vector<std::string>> CategoryIntentBaskets(const std::vector<ActivityOrder>& orders,
                                                            const std::vector<ActivityMessage>& messages,
                                                            Millis window = 30 * kMillisPerDay);

// True when every lhs item is a "category:" item and the rhs is an "intent:" item.
bool IsCategoryToIntentRule(const std::vector<std::string_view>& lhs, std::string_view rhs);

// One transaction per purchase (total > 0) with at least one product: its distinct product ids.
std::vector<std::vector<std::string>> ProductBaskets(const std::vector<ActivityOrder>& orders);

}  // namespace touchpoint::insight
