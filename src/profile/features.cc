#include <touchpoint/profile/features.h>

#include <algorithm>
#include <array>

namespace touchpoint::profile {
namespace {

using T = FeatureType;
using F = FeatureId;

// name, type, nullable, on_profile, in_profile_json, depends_on_as_of, rule, analytics imputation.
// docs/analytics.md ("Customer features: one definition") repeats this table: keep them together.
constexpr std::array<FeatureInfo, kFeatureCount> kCatalogue = {{
    {F::kAvgCsat, "avg_csat", T::kNumber, true, true, true, false,
     "mean CSAT score of the surveys that carry one, 2 decimals; null without", ""},
    {F::kAvgDwellSeconds, "avg_dwell_seconds", T::kNumber, true, true, true, false,
     "mean dwell time in seconds of the views that report one, 2 decimals; null without", ""},
    {F::kAvgNps, "avg_nps", T::kNumber, true, true, true, false,
     "mean NPS score (0-10) of the surveys that carry one, 2 decimals; null without", ""},
    {F::kAvgOrderValue, "avg_order_value", T::kNumber, true, true, true, false,
     "revenue_total / orders_total (mean purchase total), 2 decimals; null without purchases", "0"},
    {F::kAvgSentiment, "avg_sentiment", T::kNumber, true, true, true, false,
     "mean sentiment score (-1..1) of the contacts that carry a sentiment, 2 decimals; null without",
     "0 (neutral)"},
    {F::kContacts, "contacts", T::kInteger, false, false, false, false,
     "messages the customer wrote (inbound, author customer)", ""},
    {F::kContacts90d, "contacts_90d", T::kInteger, false, false, false, true,
     "contacts in the 90-day window", ""},
    {F::kEvents, "events", T::kInteger, false, true, true, false,
     "events folded into the profile, of every kind", ""},
    {F::kFirstOrderAt, "first_order_at", T::kTimestamp, true, true, true, false,
     "time of the first purchase; null without one at or before as-of", ""},
    {F::kFirstSeenAt, "first_seen_at", T::kTimestamp, true, true, true, false,
     "time of the first event of any kind; null without events", ""},
    {F::kFrequency, "frequency", T::kInteger, false, true, false, false,
     "purchases (the same value as orders_total)", ""},
    {F::kLastContactAt, "last_contact_at", T::kTimestamp, true, true, true, false,
     "time of the newest message in either direction (customer or agent); null without messages", ""},
    {F::kLastIntent, "last_intent", T::kString, true, true, true, false,
     "intent of the newest contact that has one; null without", ""},
    {F::kLastOrderAt, "last_order_at", T::kTimestamp, true, true, true, false,
     "time of the newest purchase at or before as-of; null without", ""},
    {F::kLastSeenAt, "last_seen_at", T::kTimestamp, true, true, true, false,
     "time of the newest event of any kind; null without events", ""},
    {F::kMessages, "messages", T::kInteger, false, true, true, false,
     "messages in either direction (customer or agent)", ""},
    {F::kMonetary, "monetary", T::kNumber, false, true, false, false,
     "sum of all purchase totals, 2 decimals (the same value as revenue_total)", ""},
    {F::kMonetary365d, "monetary_365d", T::kNumber, false, true, false, true,
     "sum of the purchase totals in the 365-day window, 2 decimals (the same value as revenue_365d)", ""},
    {F::kNegativeMessages, "negative_messages", T::kInteger, false, true, true, false,
     "contacts whose sentiment is negative", ""},
    {F::kNegativeShare, "negative_share", T::kNumber, true, true, false, false,
     "negative_messages / contacts that carry a sentiment, 2 decimals; null without", "0"},
    {F::kOrders30d, "orders_30d", T::kInteger, false, true, true, true,
     "purchases in the 30-day window", ""},
    {F::kOrders365d, "orders_365d", T::kInteger, false, true, true, true,
     "purchases in the 365-day window", ""},
    {F::kOrders90d, "orders_90d", T::kInteger, false, true, true, true,
     "purchases in the 90-day window", ""},
    {F::kOrdersTotal, "orders_total", T::kInteger, false, true, true, false,
     "purchases (orders with a total > 0)", ""},
    {F::kPreferredChannel, "preferred_channel", T::kString, true, true, true, false,
     "channel of the most events (identify calls excluded; a tie goes to the alphabetically first); "
     "null without",
     ""},
    {F::kRecencyDays, "recency_days", T::kInteger, true, true, true, true,
     "whole days since the newest purchase at or before as-of; null without a purchase",
     "tenure_days (whole days since the first activity)"},
    {F::kRevenue30d, "revenue_30d", T::kNumber, false, true, true, true,
     "sum of the purchase totals in the 30-day window, 2 decimals", ""},
    {F::kRevenue365d, "revenue_365d", T::kNumber, false, true, true, true,
     "sum of the purchase totals in the 365-day window, 2 decimals", ""},
    {F::kRevenue90d, "revenue_90d", T::kNumber, false, true, true, true,
     "sum of the purchase totals in the 90-day window, 2 decimals", ""},
    {F::kRevenueTotal, "revenue_total", T::kNumber, false, true, true, false,
     "sum of all purchase totals, 2 decimals", ""},
    {F::kSurveys, "surveys", T::kInteger, false, true, true, false, "survey responses", ""},
    {F::kTenureDays, "tenure_days", T::kInteger, true, true, false, true,
     "whole days since first_seen_at; null without events at or before as-of", ""},
    {F::kViews, "views", T::kInteger, false, true, true, false, "page and product views", ""},
}};

constexpr bool CatalogueInIdOrder() {
  for (size_t i = 0; i < kCatalogue.size(); ++i) {
    if (static_cast<size_t>(kCatalogue[i].id) != i) return false;
  }
  for (size_t i = 1; i < kCatalogue.size(); ++i) {
    if (!(kCatalogue[i - 1].name < kCatalogue[i].name)) return false;
  }
  return true;
}
static_assert(CatalogueInIdOrder(), "kCatalogue must list every FeatureId once, in order, by name");

constexpr FeatureMask ComputeProfileMask() {
  FeatureMask m = 0;
  for (const auto& f : kCatalogue) {
    if (f.on_profile) m |= FeatureBit(f.id);
  }
  return m;
}

FeatureValue Number(double v) { return {FeatureValue::Kind::kNumber, v, {}}; }
FeatureValue Integer(std::int64_t v) { return Number(static_cast<double>(v)); }
FeatureValue Optional(const std::optional<double>& v) { return v ? Number(*v) : FeatureValue{}; }
FeatureValue Optional(const std::optional<std::int64_t>& v) { return v ? Integer(*v) : FeatureValue{}; }
FeatureValue Time(Millis t) { return t == 0 ? FeatureValue{} : Integer(t); }
FeatureValue Text(std::string_view s) {
  return s.empty() ? FeatureValue{} : FeatureValue{FeatureValue::Kind::kString, 0, s};
}

}  // namespace

std::string_view FeatureTypePhrase(FeatureType type) {
  switch (type) {
    case FeatureType::kNumber: return "a number";
    case FeatureType::kInteger: return "an integer";
    case FeatureType::kString: return "a string";
    case FeatureType::kTimestamp: return "a timestamp";
  }
  return "a value";
}

std::span<const FeatureInfo> FeatureCatalogue() { return kCatalogue; }

const FeatureInfo& Describe(FeatureId id) { return kCatalogue[static_cast<size_t>(id)]; }

const FeatureInfo* FindFeature(std::string_view name) {
  auto it = std::lower_bound(kCatalogue.begin(), kCatalogue.end(), name,
                             [](const FeatureInfo& f, std::string_view n) { return f.name < n; });
  return it != kCatalogue.end() && it->name == name ? &*it : nullptr;
}

FeatureMask ProfileFeatures() {
  static constexpr FeatureMask kMask = ComputeProfileMask();
  return kMask;
}

FeatureValue Features::Get(FeatureId id) const {
  switch (id) {
    case F::kAvgCsat: return Optional(avg_csat);
    case F::kAvgDwellSeconds: return Optional(avg_dwell_seconds);
    case F::kAvgNps: return Optional(avg_nps);
    case F::kAvgOrderValue: return Optional(avg_order_value);
    case F::kAvgSentiment: return Optional(avg_sentiment);
    case F::kEvents: return Integer(events);
    case F::kFirstOrderAt: return Time(first_order_at);
    case F::kFirstSeenAt: return Time(first_seen_at);
    case F::kFrequency: return Integer(orders_total);
    case F::kLastContactAt: return Time(last_contact_at);
    case F::kLastIntent: return Text(last_intent);
    case F::kLastOrderAt: return Time(last_order_at);
    case F::kLastSeenAt: return Time(last_seen_at);
    case F::kMessages: return Integer(messages);
    case F::kMonetary: return Number(revenue_total);
    case F::kMonetary365d: return Number(revenue_365d);
    case F::kNegativeMessages: return Integer(negative_messages);
    case F::kNegativeShare: return Optional(negative_share);
    case F::kOrders30d: return Integer(orders_30d);
    case F::kOrders365d: return Integer(orders_365d);
    case F::kOrders90d: return Integer(orders_90d);
    case F::kOrdersTotal: return Integer(orders_total);
    case F::kPreferredChannel: return Text(preferred_channel);
    case F::kRecencyDays: return Optional(recency_days);
    case F::kRevenue30d: return Number(revenue_30d);
    case F::kRevenue365d: return Number(revenue_365d);
    case F::kRevenue90d: return Number(revenue_90d);
    case F::kRevenueTotal: return Number(revenue_total);
    case F::kSurveys: return Integer(surveys);
    case F::kTenureDays: return Optional(tenure_days);
    case F::kViews: return Integer(views);
    case F::kContacts:
    case F::kContacts90d:
    case F::kCount: break;
  }
  return {};
}

}  // namespace touchpoint::profile
