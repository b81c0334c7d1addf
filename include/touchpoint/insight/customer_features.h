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

// The feature columns, in matrix column order:
//   recency_days    days from the last purchase to as-of; without a purchase, days from the
//                   customer's first activity (order, contact, or with `seen` any event) to as-of
//   tenure_days     days from the first activity to as-of
//   frequency       purchases (orders with total > 0)
//   monetary        sum of purchase totals
//   avg_order_value monetary / frequency (0 without purchases)
//   orders_90d      purchases in the 90 days before as-of
//   contacts        messages from the customer (inbound, author customer)
//   contacts_90d    of them in the 90 days before as-of
//   negative_share  share of contacts whose sentiment is "negative" (0 without contacts)
//   avg_sentiment   mean sentiment score of the contacts (0 without contacts)
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
  Millis as_of = 0;
  std::vector<std::int64_t> customers;  // ascending; one row each
  ml::Matrix values;                    // customers.size() x kCustomerFeatureCount
};

// Features as of `as_of` from the activity strictly before it; every customer with at least one
// order (any total) or contact before as-of gets a row, and so does every customer of `seen`
// first seen before as-of (browsing only: zero purchases and contacts, recency = tenure).
// Activity at or after as-of is ignored.
CustomerFeatureTable BuildCustomerFeatures(const std::vector<ActivityOrder>& orders,
                                           const std::vector<ActivityMessage>& messages,
                                           Millis as_of, const std::vector<ActivitySeen>& seen = {});

// The table as text cells for the churn model (insight/churn.h): column "customer" (the id),
// the feature columns, and with `labels` a column "churned" ("1" / "0"). Numbers are rounded
// to 4 decimals (so that reasons read "recency_days=27.2373"). `source` names the origin in error messages.
inline constexpr std::string_view kCustomerIdColumn = "customer";
inline constexpr std::string_view kChurnedColumn = "churned";
ml::RawTable CustomerFeatureRawTable(const CustomerFeatureTable& table, const std::vector<int>* labels,
                                     std::string source);

// Churn label per customer of `customers`: 1 when the customer makes no purchase (order with
// total > 0) in [cutoff, cutoff + window), else 0.
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
