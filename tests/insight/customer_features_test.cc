#include <touchpoint/insight/customer_features.h>

#include <algorithm>
#include <set>

#include <gtest/gtest.h>

namespace touchpoint::insight {
namespace {

Millis Day(int y, unsigned m, unsigned d) { return DaysFromCivil(y, m, d) * kMillisPerDay; }

ActivityOrder Order(std::int64_t c, Millis at, double total, std::vector<std::string> categories = {},
                    std::vector<std::string> products = {}) {
  return {.customer = c, .at = at, .total = total, .categories = std::move(categories), .products = std::move(products)};
}

ActivityMessage Contact(std::int64_t c, Millis at, std::string intent, std::string label, double score) {
  return {.customer = c, .at = at, .from_customer = true, .intent = std::move(intent),
          .sentiment_label = std::move(label), .sentiment_score = score};
}

TEST(CustomerFeaturesTest, FeaturesFollowTheDocumentedDefinitions) {
  const Millis as_of = Day(2024, 7, 1);
  std::vector<ActivityOrder> orders = {
      Order(7, Day(2024, 1, 1), 100), Order(7, Day(2024, 6, 1), 300),
      Order(7, Day(2024, 6, 21), -50),   // refund: not a purchase, still activity
      Order(7, Day(2024, 7, 1), 999),    // at as-of: ignored
      Order(9, Day(2023, 12, 2), 0),     // free order only: no purchase
  };
  std::vector<ActivityMessage> messages = {
      Contact(7, Day(2024, 6, 2), "refund", "negative", -0.8),
      Contact(7, Day(2024, 2, 1), "invoice", "neutral", 0.2),
      Contact(11, Day(2024, 6, 30), "delivery_status", "negative", -0.5),
  };
  ActivityMessage agent = Contact(12, Day(2024, 6, 1), "", "positive", 1);
  agent.from_customer = false;  // an agent reply is no contact and no customer row
  messages.push_back(agent);

  const CustomerFeatureTable t = BuildCustomerFeatures(orders, messages, as_of);
  ASSERT_EQ(t.customers, (std::vector<std::int64_t>{7, 9, 11}));
  ASSERT_EQ(t.values.cols, CustomerFeatureNames().size());
  const double* a = t.values.row(0);
  EXPECT_DOUBLE_EQ(a[kRecencyDays], 30);  // last purchase 2024-06-01
  EXPECT_DOUBLE_EQ(a[kTenureDays], 182);  // first activity 2024-01-01
  EXPECT_DOUBLE_EQ(a[kFrequency], 2);
  EXPECT_DOUBLE_EQ(a[kMonetary], 400);
  EXPECT_DOUBLE_EQ(a[kAvgOrderValue], 200);
  EXPECT_DOUBLE_EQ(a[kOrders90d], 1);
  EXPECT_DOUBLE_EQ(a[kContacts], 2);
  EXPECT_DOUBLE_EQ(a[kContacts90d], 1);
  EXPECT_DOUBLE_EQ(a[kNegativeShare], 0.5);
  EXPECT_NEAR(a[kAvgSentiment], -0.3, 1e-12);
  const double* b = t.values.row(1);  // never purchased: recency counts from the first activity
  EXPECT_DOUBLE_EQ(b[kFrequency], 0);
  EXPECT_DOUBLE_EQ(b[kRecencyDays], b[kTenureDays]);
  EXPECT_DOUBLE_EQ(b[kTenureDays], 212);
  EXPECT_DOUBLE_EQ(b[kAvgOrderValue], 0);
  EXPECT_DOUBLE_EQ(b[kContacts], 0);
  const double* c = t.values.row(2);
  EXPECT_DOUBLE_EQ(c[kRecencyDays], 1);
  EXPECT_DOUBLE_EQ(c[kNegativeShare], 1);
}

TEST(CustomerFeaturesTest, CustomersSeenOnlyBrowsingGetRowsAndEarlierFirstActivity) {
  const Millis as_of = Day(2024, 7, 1);
  const std::vector<ActivityOrder> orders = {Order(7, Day(2024, 6, 1), 100)};
  const std::vector<ActivitySeen> seen = {
      {.customer = 7, .first_seen = Day(2024, 3, 3)},   // browsed before buying: tenure from then
      {.customer = 20, .first_seen = Day(2024, 6, 21)},  // browse-only
      {.customer = 21, .first_seen = Day(2024, 7, 1)},   // first seen at as-of: not yet a customer
  };
  const CustomerFeatureTable t = BuildCustomerFeatures(orders, {}, as_of, seen);
  ASSERT_EQ(t.customers, (std::vector<std::int64_t>{7, 20}));
  EXPECT_DOUBLE_EQ(t.values.row(0)[kRecencyDays], 30);
  EXPECT_DOUBLE_EQ(t.values.row(0)[kTenureDays], 120);
  const double* b = t.values.row(1);
  EXPECT_DOUBLE_EQ(b[kRecencyDays], 10);
  EXPECT_DOUBLE_EQ(b[kTenureDays], 10);
  EXPECT_DOUBLE_EQ(b[kFrequency], 0);
  EXPECT_DOUBLE_EQ(b[kContacts], 0);
}

TEST(CustomerFeaturesTest, LabelIsNoPurchaseInTheWindowAfterTheCutoff) {
  const Millis cutoff = Day(2024, 3, 1);
  std::vector<ActivityOrder> orders = {
      Order(1, cutoff, 10),                           // at the cut-off: inside the window
      Order(2, cutoff + 90 * kMillisPerDay, 10),      // day 90: outside
      Order(3, cutoff + 10 * kMillisPerDay, -10),     // a refund is no purchase
      Order(4, cutoff + 89 * kMillisPerDay, 10),
      Order(5, cutoff - 1, 10),                       // before the cut-off only
  };
  EXPECT_EQ(NoPurchaseLabels({1, 2, 3, 4, 5}, orders, cutoff), (std::vector<int>{0, 1, 1, 0, 1}));
}

TEST(CustomerFeaturesTest, HourlyContactVolumeIsZeroFilled) {
  const Millis h0 = Day(2024, 3, 1);
  std::vector<ActivityMessage> m = {
      Contact(1, h0 + 5 * kMillisPerHour + 10, "", "", 0), Contact(2, h0 + 59 * 60'000, "", "", 0),
      Contact(1, h0 + 2 * kMillisPerHour, "", "", 0), Contact(3, h0 + 5 * kMillisPerHour + 3'599'999, "", "", 0)};
  ActivityMessage reply = m[0];
  reply.from_customer = false;
  m.push_back(reply);
  auto s = HourlyContactVolume(m);
  ASSERT_EQ(s.size(), 6u);
  std::vector<double> v;
  for (const auto& p : s) v.push_back(p.value);
  EXPECT_EQ(v, (std::vector<double>{1, 0, 1, 0, 0, 2}));
  EXPECT_EQ(s[0].time, h0);
  EXPECT_EQ(s[5].time, h0 + 5 * kMillisPerHour);
  EXPECT_EQ(HourlyContactVolume(m, h0 + kMillisPerHour).size(), 4u);
  EXPECT_TRUE(HourlyContactVolume({}).empty());
}

TEST(CustomerFeaturesTest, CategoryIntentBasketsTakeContactsWithinTheWindowAfterTheOrder) {
  const Millis t = Day(2024, 3, 1);
  std::vector<ActivityOrder> orders = {
      Order(1, t, 100, {"phones", "audio", "phones"}),
      Order(2, t, 50, {"beauty"}),
      Order(3, t, 50, {}),               // no categories: no transaction
      Order(1, t + kMillisPerDay, -100, {"phones"}),  // refund: no transaction
  };
  std::vector<ActivityMessage> m = {
      Contact(1, t - 1, "invoice", "", 0),                        // before the order
      Contact(1, t + kMillisPerHour, "refund", "", 0),
      Contact(1, t + 2 * kMillisPerHour, "refund", "", 0),        // counted once
      Contact(1, t + 30 * kMillisPerDay, "late_delivery", "", 0),  // day 30: inside
      Contact(1, t + 30 * kMillisPerDay + 1, "cancel_order", "", 0),
      Contact(1, t + 3 * kMillisPerHour, "other", "", 0),         // not an inquiry intent
      Contact(2, t - kMillisPerDay, "refund", "", 0),
  };
  auto baskets = CategoryIntentBaskets(orders, m);
  ASSERT_EQ(baskets.size(), 2u);
  EXPECT_EQ(std::set<std::string>(baskets[0].begin(), baskets[0].end()),
            (std::set<std::string>{"category:phones", "category:audio", "intent:refund", "intent:late_delivery"}));
  EXPECT_EQ(baskets[0].size(), 4u);
  EXPECT_EQ(baskets[1], (std::vector<std::string>{"category:beauty"}));
  EXPECT_TRUE(IsCategoryToIntentRule({"category:phones", "category:audio"}, "intent:refund"));
  EXPECT_FALSE(IsCategoryToIntentRule({"category:phones", "intent:refund"}, "intent:invoice"));
  EXPECT_FALSE(IsCategoryToIntentRule({"intent:refund"}, "category:phones"));
  EXPECT_FALSE(IsCategoryToIntentRule({"category:phones"}, "category:audio"));
}

TEST(CustomerFeaturesTest, ProductBasketsAreDistinctProductsOfPurchases) {
  std::vector<ActivityOrder> orders = {Order(1, 0, 10, {}, {"p1", "p2", "p1"}), Order(2, 0, 10, {}, {}),
                                       Order(3, 0, -5, {}, {"p3"})};
  EXPECT_EQ(ProductBaskets(orders), (std::vector<std::vector<std::string>>{{"p1", "p2"}}));
}

}  // namespace
}  // namespace touchpoint::insight

namespace touchpoint::insight {
namespace {

TEST(CustomerFeaturesTest, RawTableCarriesIdFeaturesAndLabel) {
  std::vector<ActivityOrder> orders = {Order(5, 0, 12.5), Order(6, 0, 1)};
  const CustomerFeatureTable t = BuildCustomerFeatures(orders, {}, 10 * kMillisPerDay);
  const std::vector<int> labels = {1, 0};
  ml::RawTable raw = CustomerFeatureRawTable(t, &labels, "store");
  ASSERT_EQ(raw.columns.size(), kCustomerFeatureCount + 2);
  EXPECT_EQ(raw.columns.front(), "customer");
  EXPECT_EQ(raw.columns.back(), "churned");
  ASSERT_EQ(raw.rows.size(), 2u);
  EXPECT_EQ(raw.rows[0][0], "5");
  EXPECT_EQ(raw.rows[0][1 + kMonetary], "12.5");
  EXPECT_EQ(raw.rows[0][1 + kRecencyDays], "10");
  EXPECT_EQ(raw.rows[0].back(), "1");
  EXPECT_EQ(raw.rows[1].back(), "0");
  EXPECT_EQ(CustomerFeatureRawTable(t, nullptr, "store").columns.size(), kCustomerFeatureCount + 1);
}

}  // namespace
}  // namespace touchpoint::insight

#include <touchpoint/profile/profile.h>

namespace touchpoint::insight {
namespace {

// One person's activity seen by both consumers: the analytics matrix and the profile (GET
// /v1/customers, segments) give every shared name the same value, imputations aside.
TEST(CustomerFeaturesTest, SameNamesGiveTheProfilesValues) {
  const Millis t0 = Day(2024, 1, 1) + 3 * kMillisPerHour + 17;  // not on a day boundary
  struct Step {
    Millis at;
    double total;  // >= 0: an order of this total; < 0: a contact
    const char* label;
    double score;
  };
  const std::vector<Step> steps = {
      {t0, 120.5, "", 0},  {t0 + 40 * kMillisPerDay, 0, "", 0},  // a free order: activity only
      {t0 + 100 * kMillisPerDay, 99.99, "", 0},
      {t0 + 150 * kMillisPerDay + 5, -1, "negative", -0.7},
      {t0 + 151 * kMillisPerDay, -1, "positive", 0.35},
      {t0 + 152 * kMillisPerDay, -1, "", 0},  // not analysed
      {t0 + 160 * kMillisPerDay + 999, 33.333, "", 0},
  };
  const Millis cutoff = t0 + 200 * kMillisPerDay + 12345;  // exclusive; the profile's as-of is cutoff - 1 ms
  profile::Profile p;
  std::vector<ActivityOrder> orders;
  std::vector<ActivityMessage> messages;
  for (const Step& s : steps) {
    profile::Activity a;
    a.at = s.at;
    if (s.total >= 0) {
      a.kind = profile::Activity::Kind::kOrder;
      a.order_total = s.total;
      orders.push_back(Order(1, s.at, s.total));
    } else {
      a.kind = profile::Activity::Kind::kMessage;
      a.inbound_message = true;
      a.has_sentiment = *s.label != '\0';
      a.sentiment_label = s.label;
      a.sentiment = s.score;
      messages.push_back(Contact(1, s.at, "", s.label, s.score));
    }
    p.Apply(a);
  }
  const std::vector<ActivitySeen> seen = {{.customer = 1, .first_seen = p.first_seen()}};
  const CustomerFeatureTable t = BuildCustomerFeatures(orders, messages, cutoff, seen);
  ASSERT_EQ(t.customers.size(), 1u);
  const profile::Features f = p.ComputeFeatures(profile::AsOfBefore(cutoff));
  const double* row = t.values.row(0);
  const auto& names = CustomerFeatureNames();
  for (size_t c = 0; c < names.size(); ++c) {
    const profile::FeatureInfo* info = profile::FindFeature(names[c]);
    ASSERT_NE(info, nullptr) << names[c] << " is not a catalogue feature";
    if (!info->on_profile) continue;  // contacts, contacts_90d: analytics only
    const profile::FeatureValue v = f.Get(info->id);
    ASSERT_EQ(v.kind, profile::FeatureValue::Kind::kNumber) << names[c];
    EXPECT_EQ(row[c], v.number) << names[c];
  }
  EXPECT_EQ(row[kFrequency], 3);
  EXPECT_EQ(row[kMonetary], 253.82);
  EXPECT_EQ(row[kRecencyDays], 40);  // 40 d 11.3 s before the cut-off
  EXPECT_EQ(row[kContacts], 3);
  EXPECT_EQ(row[kNegativeShare], 0.5);

  // Without a purchase the profile's recency is null; the matrix imputes tenure_days.
  const CustomerFeatureTable none = BuildCustomerFeatures({}, messages, cutoff, seen);
  const profile::Features g = profile::Profile().ComputeFeatures(profile::AsOfBefore(cutoff));
  EXPECT_FALSE(g.recency_days.has_value());
  EXPECT_EQ(none.values.row(0)[kRecencyDays], none.values.row(0)[kTenureDays]);
  EXPECT_EQ(none.values.row(0)[kAvgOrderValue], 0);
}

}  // namespace
}  // namespace touchpoint::insight
