#include <touchpoint/profile/features.h>

#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <touchpoint/profile/profile.h>

#include "testing/matchers.h"

namespace touchpoint::profile {
namespace {

constexpr Millis kDay = kMillisPerDay;
constexpr Millis kT0 = 1'700'000'000'000;

Activity Order(Millis at, double total, std::string_view channel = "app") {
  Activity a;
  a.kind = Activity::Kind::kOrder;
  a.at = at;
  a.order_total = total;
  a.channel = channel;
  return a;
}

Activity Contact(Millis at, std::string_view label, double score) {
  Activity a;
  a.kind = Activity::Kind::kMessage;
  a.at = at;
  a.channel = "chat";
  a.inbound_message = true;
  a.has_sentiment = !label.empty();
  a.sentiment_label = label;
  a.sentiment = score;
  return a;
}

TEST(FeatureCatalogueTest, NamesAreUniqueAndFoundByName) {
  std::set<std::string_view> names;
  for (const FeatureInfo& f : FeatureCatalogue()) {
    EXPECT_TRUE(names.insert(f.name).second) << f.name;
    ASSERT_NE(FindFeature(f.name), nullptr) << f.name;
    EXPECT_EQ(FindFeature(f.name)->id, f.id);
    EXPECT_EQ(&Describe(f.id), &f);
    EXPECT_FALSE(f.rule.empty()) << f.name;
    if (!f.analytics_imputation.empty()) {
      EXPECT_TRUE(f.nullable) << f.name << ": only a null is imputed";
    }
  }
  EXPECT_EQ(names.size(), kFeatureCount);
  EXPECT_EQ(FindFeature("rfm_layer"), nullptr);  // a tag, not a feature
  EXPECT_EQ(FindFeature(""), nullptr);
  EXPECT_EQ(FindFeature("monetary_365d")->type, FeatureType::kNumber);
}

TEST(FeatureCatalogueTest, ProfileJsonHasExactlyTheCataloguesJsonFeatures) {
  Profile p;
  p.Apply(Order(kT0, 10));
  const auto doc = nlohmann::json::parse(p.FeaturesJson(kT0));
  std::set<std::string> in_json, in_catalogue;
  for (const auto& [key, value] : doc.items()) in_json.insert(key);
  for (const FeatureInfo& f : FeatureCatalogue()) {
    if (f.in_profile_json) {
      in_catalogue.insert(std::string(f.name));
      EXPECT_TRUE(f.on_profile) << f.name;
    }
  }
  EXPECT_EQ(in_json, in_catalogue);
}

TEST(FeatureRulesTest, WindowsEndAtAsOfInclusive) {
  const Millis as_of = kT0 + 100 * kDay;
  EXPECT_TRUE(InWindow(as_of, as_of, 30));
  EXPECT_FALSE(InWindow(as_of + 1, as_of, 30));  // after as-of
  EXPECT_TRUE(InWindow(as_of - 30 * kDay + 1, as_of, 30));
  EXPECT_FALSE(InWindow(as_of - 30 * kDay, as_of, 30));  // exactly 30 days before: outside
  EXPECT_EQ(WholeDaysSince(as_of, as_of), 0);
  EXPECT_EQ(WholeDaysSince(as_of - 30 * kDay, as_of), 30);
  EXPECT_EQ(WholeDaysSince(as_of - 30 * kDay + 2, as_of), 29);
  EXPECT_EQ(WholeDaysSince(as_of + kDay, as_of), 0);
  // An exclusive cut-off C is as-of C - 1 ms: a purchase exactly 30 days before C is 30 days ago.
  const Millis cutoff = kT0 + 100 * kDay;
  EXPECT_EQ(WholeDaysSince(cutoff - 30 * kDay, AsOfBefore(cutoff)), 30);
  EXPECT_FALSE(InWindow(cutoff, AsOfBefore(cutoff), 90));
  EXPECT_TRUE(InWindow(cutoff - 90 * kDay, AsOfBefore(cutoff), 90));
  EXPECT_TRUE(IsPurchase(0.01));
  EXPECT_FALSE(IsPurchase(0));
  EXPECT_FALSE(IsPurchase(-5));
  EXPECT_EQ(Round2(2.675000001), 2.68);
  EXPECT_FALSE(Mean2(5, 0).has_value());
  EXPECT_EQ(*Mean2(1, 3), 0.33);
}

TEST(ProfileFeaturesTest, FreeOrdersAndRefundsAreEventsNotPurchases) {
  Profile p;
  p.Apply(Order(kT0, 100));
  p.Apply(Order(kT0 + kDay, 0, "web"));        // free order
  p.Apply(Order(kT0 + 2 * kDay, -40, "web"));  // refund
  const Features f = p.ComputeFeatures(kT0 + 10 * kDay);
  EXPECT_EQ(f.events, 3);
  EXPECT_EQ(f.orders_total, 1);
  EXPECT_EQ(f.orders_30d, 1);
  EXPECT_EQ(f.revenue_total, 100);
  EXPECT_EQ(*f.avg_order_value, 100);
  EXPECT_EQ(f.last_order_at, kT0);
  EXPECT_EQ(*f.recency_days, 10);
  EXPECT_EQ(f.preferred_channel, "web");  // channel use counts every event
  EXPECT_EQ(p.order_count(), 1);
  EXPECT_EQ(p.orders().size(), 1u);
}

TEST(ProfileFeaturesTest, NullsWithoutSamplesAndAliasesShareTheirValue) {
  Profile browse;
  Activity view;
  view.kind = Activity::Kind::kView;
  view.at = kT0;
  browse.Apply(view);
  const Features b = browse.ComputeFeatures(kT0 + 5 * kDay);
  EXPECT_FALSE(b.recency_days.has_value())
      << "no purchase: null on the profile (analytics impute tenure_days)";
  EXPECT_EQ(*b.tenure_days, 5);
  EXPECT_FALSE(b.avg_order_value.has_value());
  EXPECT_FALSE(b.avg_sentiment.has_value());
  EXPECT_FALSE(b.negative_share.has_value());
  EXPECT_EQ(b.Get(FeatureId::kRecencyDays).kind, FeatureValue::Kind::kNull);
  EXPECT_EQ(b.Get(FeatureId::kLastOrderAt).kind, FeatureValue::Kind::kNull);
  EXPECT_EQ(b.Get(FeatureId::kPreferredChannel).kind, FeatureValue::Kind::kNull);
  EXPECT_EQ(b.Get(FeatureId::kContacts).kind, FeatureValue::Kind::kNull);  // analytics only
  EXPECT_FALSE(Profile().ComputeFeatures(kT0).tenure_days.has_value());

  Profile p;
  p.Apply(Order(kT0 - 400 * kDay, 1000));
  p.Apply(Order(kT0 - 100 * kDay, 20.004));
  p.Apply(Order(kT0 - 10 * kDay, 30));
  p.Apply(Contact(kT0 - 5 * kDay, "negative", -0.5));
  p.Apply(Contact(kT0 - 4 * kDay, "positive", 0.6));
  p.Apply(Contact(kT0 - 3 * kDay, "", 0));  // not analysed: in no sentiment feature
  const Features f = p.ComputeFeatures(kT0);
  EXPECT_EQ(f.Get(FeatureId::kFrequency).number, 3);
  EXPECT_EQ(f.Get(FeatureId::kOrdersTotal).number, 3);
  EXPECT_EQ(f.Get(FeatureId::kMonetary).number, 1050);
  EXPECT_EQ(f.Get(FeatureId::kRevenueTotal).number, 1050);
  EXPECT_EQ(f.Get(FeatureId::kMonetary365d).number, 50);
  EXPECT_EQ(f.Get(FeatureId::kRevenue365d).number, 50);
  EXPECT_EQ(f.orders_90d, 1);
  EXPECT_EQ(*f.negative_share, 0.5);
  EXPECT_EQ(*f.avg_sentiment, 0.05);
  EXPECT_EQ(*f.recency_days, 10);
  EXPECT_EQ(f.Get(FeatureId::kLastOrderAt).number, static_cast<double>(kT0 - 10 * kDay));
}

TEST(ProfileFeaturesTest, AnEarlierAsOfSeesOnlyThePurchasesUpToIt) {
  Profile p;
  p.Apply(Order(kT0, 10));
  p.Apply(Order(kT0 + 50 * kDay, 20));
  const Features f = p.ComputeFeatures(kT0 + 20 * kDay);
  EXPECT_EQ(f.last_order_at, kT0);
  EXPECT_EQ(*f.recency_days, 20);
  EXPECT_EQ(f.orders_30d, 1);
  EXPECT_EQ(f.revenue_30d, 10);
  const Features before = p.ComputeFeatures(kT0 - 1);
  EXPECT_FALSE(before.recency_days.has_value());
  EXPECT_EQ(before.first_order_at, 0);
  EXPECT_FALSE(before.tenure_days.has_value());
}

TEST(ProfileFeaturesTest, OnlyTheWantedScansRun) {
  Profile p;
  p.Apply(Order(kT0, 10));
  const Features some = p.ComputeFeatures(kT0, FeatureBit(FeatureId::kEvents));
  EXPECT_EQ(some.events, 1);
  EXPECT_EQ(some.orders_30d, 0) << "window not asked for: left at its default";
  EXPECT_TRUE(some.preferred_channel.empty());
  const Features windows = p.ComputeFeatures(kT0, FeatureBit(FeatureId::kMonetary365d));
  EXPECT_EQ(windows.revenue_365d, 10);
  EXPECT_EQ(windows.Get(FeatureId::kMonetary365d).number, 10);
}

TEST(ProfileFeaturesTest, JsonShowsTheTypedValues) {
  Profile p;
  p.Apply(Order(kT0 - 3 * kDay, 10.005));
  p.Apply(Contact(kT0 - kDay, "negative", -0.25));
  const Millis as_of = kT0;
  const Features f = p.ComputeFeatures(as_of);
  const auto doc = nlohmann::json::parse(p.FeaturesJson(as_of));
  for (const FeatureInfo& info : FeatureCatalogue()) {
    if (!info.in_profile_json) continue;
    const FeatureValue v = f.Get(info.id);
    const auto& j = doc.at(std::string(info.name));
    switch (v.kind) {
      case FeatureValue::Kind::kNull: EXPECT_TRUE(j.is_null()) << info.name; break;
      case FeatureValue::Kind::kString: EXPECT_EQ(j, std::string(v.text)) << info.name; break;
      case FeatureValue::Kind::kNumber:
        if (info.type == FeatureType::kTimestamp) {
          EXPECT_EQ(j, FormatTimestamp(static_cast<Millis>(v.number))) << info.name;
        } else {
          EXPECT_EQ(j.get<double>(), v.number) << info.name;
        }
        break;
    }
  }
}

TEST(ProfileFeaturesTest, StoredRecordsThatCountedFreeOrdersReadAsPurchasesOnly) {
  // A record as written before purchases were defined: a free order among the orders.
  const std::string old_record =
      R"({"t":{},"o":[[1700000000000,0],[1700086400000,50]],"a":[2,50,1700000000000,1700086400000,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1700000000000,1700086400000,2],"c":{"app":2},"i":""})";
  auto old = Profile::Parse(old_record);
  ASSERT_OK(old);
  Profile now;
  now.Apply(Order(1700000000000, 0));
  now.Apply(Order(1700086400000, 50));
  EXPECT_EQ(old->Serialize(), now.Serialize());
  EXPECT_EQ(old->order_count(), 1);
  EXPECT_EQ(old->ComputeFeatures(1700086400000).first_order_at, 1700086400000);
  auto again = Profile::Parse(old->Serialize());
  ASSERT_OK(again);
  EXPECT_EQ(again->Serialize(), now.Serialize());
}

}  // namespace
}  // namespace touchpoint::profile
