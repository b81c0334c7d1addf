#include <touchpoint/profile/profile.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "testing/matchers.h"

namespace touchpoint::profile {
namespace {

constexpr Millis kDay = kMillisPerDay;
constexpr Millis kT0 = 1'700'000'000'000;

Profile Rich() {
  Profile p;
  Activity id;
  id.kind = Activity::Kind::kIdentify;
  id.at = kT0;
  static const std::vector<std::pair<std::string, std::string>> traits = {
      {"name", "\"李雷 \\\"Lei\\\"\""}, {"note", "\"tab\\tand\\nnewline\""}, {"vip", "true"}};
  id.traits = traits;  // Activity holds views
  p.Apply(id);
  for (int i = 0; i < 30; ++i) {
    Activity o;
    o.kind = Activity::Kind::kOrder;
    o.at = kT0 + i * kDay;
    o.channel = i % 3 ? "app" : "mini-program";
    o.order_total = 0.1 + 0.2 * i;  // values with no short exact decimal form
    p.Apply(o);
  }
  Activity m;
  m.kind = Activity::Kind::kMessage;
  m.at = kT0 + 40 * kDay;
  m.channel = "chat";
  m.inbound_message = true;
  m.has_sentiment = true;
  m.sentiment = -0.123456789012345;
  m.sentiment_label = "negative";
  m.intent = "refund";
  p.Apply(m);
  Activity s;
  s.kind = Activity::Kind::kSurvey;
  s.at = kT0 + 41 * kDay;
  s.nps = 3;
  s.csat = 2;
  p.Apply(s);
  p.SetTag("rfm_layer", "\"important_value\"");
  p.SetTag("ltv", "1234.5");
  return p;
}

TEST(ProfileTest, StorageFormRoundTripsExactly) {
  const Profile p = Rich();
  const std::string stored = p.Serialize();
  ASSERT_TRUE(nlohmann::json::accept(stored)) << stored;
  auto back = Profile::Parse(stored);
  ASSERT_OK(back);
  EXPECT_EQ(back->Serialize(), stored);
  const Millis as_of = kT0 + 50 * kDay;
  EXPECT_EQ(back->FeaturesJson(as_of), p.FeaturesJson(as_of));
  EXPECT_EQ(back->TraitsJson(), p.TraitsJson());
  EXPECT_EQ(back->TagsJson(), p.TagsJson());
  auto traits = nlohmann::json::parse(back->TraitsJson());
  EXPECT_EQ(traits["name"], "李雷 \"Lei\"");
  EXPECT_EQ(traits["note"], "tab\tand\nnewline");
}

TEST(ProfileTest, RevenueSurvivesStorageToTheLastBit) {
  const Profile p = Rich();
  auto back = Profile::Parse(p.Serialize());
  ASSERT_OK(back);
  EXPECT_EQ(back->revenue(), p.revenue());  // exact, not near: shortest round-trip digits
}

TEST(ProfileTest, AbsorbIsOrderIndependent) {
  Profile a = Rich();
  Profile b;
  Activity o;
  o.kind = Activity::Kind::kOrder;
  o.at = kT0 + 5 * kDay;
  o.order_total = 99;
  b.Apply(o);
  Profile ab = a;
  ab.Absorb(b);
  Profile ba = b;
  ba.Absorb(a);
  const Millis as_of = kT0 + 50 * kDay;
  EXPECT_EQ(ab.FeaturesJson(as_of), ba.FeaturesJson(as_of));
  EXPECT_EQ(ab.revenue(), a.revenue() + 99);
}

TEST(ProfileTest, CorruptStorageIsAnErrorNotACrash) {
  const std::string stored = Rich().Serialize();
  for (size_t cut : {size_t{0}, size_t{1}, stored.size() / 2, stored.size() - 1}) {
    EXPECT_FALSE(Profile::Parse(stored.substr(0, cut)).ok()) << cut;
  }
  EXPECT_FALSE(Profile::Parse(R"({"t":{},"o":[],"a":[1,2],"c":{},"i":""})").ok());
}


TEST(ProfileTest, FeaturesMatchTheDocumentForm) {
  // The features are written by hand; nlohmann re-dumping them must give the same bytes (key
  // order, number and null forms), and the windows must count what the definitions say.
  const Profile p = Rich();
  for (Millis as_of : {kT0 + 29 * kDay, kT0 + 45 * kDay, kT0 + 400 * kDay}) {
    const std::string text = p.FeaturesJson(as_of);
    const auto doc = nlohmann::json::parse(text);
    EXPECT_EQ(doc.dump(), text);
    EXPECT_EQ(doc.size(), 26u);
  }
  const auto f = nlohmann::json::parse(p.FeaturesJson(kT0 + 45 * kDay));
  // Orders on days 0..29: within 30 days of day 45 are days 16..29.
  EXPECT_EQ(f["orders_30d"], 14);
  EXPECT_EQ(f["orders_90d"], 30);
  EXPECT_EQ(f["orders_total"], 30);
  EXPECT_EQ(f["recency_days"], 16);
  EXPECT_TRUE(f["avg_order_value"].is_number_float());
  EXPECT_EQ(f["preferred_channel"], "app");
  const auto empty = nlohmann::json::parse(Profile().FeaturesJson(kT0));
  EXPECT_TRUE(empty["avg_order_value"].is_null());
  EXPECT_TRUE(empty["first_seen_at"].is_null());
  EXPECT_EQ(empty["revenue_total"].dump(), "0.0");
}

}  // namespace
}  // namespace touchpoint::profile
