#include <touchpoint/profile/segment.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace touchpoint::profile {
namespace {

using ::touchpoint::testing::StatusIs;

constexpr Millis kDay = kMillisPerDay;
const Millis kAsOf = *ParseTimestamp("2024-07-01T00:00:00Z");

// A high-value app customer: 25,000 spent in the last year, tags as the analytics jobs write
// them (strings and numbers), traits as ingest stores them (JSON texts).
Profile Customer() {
  Profile p;
  static const std::vector<std::pair<std::string, std::string>> traits = {
      {"city", "\"上海\""},
      {"vip", "true"},
      {"age", "34"},
      {"nickname", "\"Lei \\\"the\\\" great\""},
      {"note", "\"tab\\tand\\nnewline\""},
      {"emoji", "\"\\ud83d\\ude00\""},
      {"first name", "\"Lei\""},
      {"address", "{\"zip\":\"200000\"}"},
  };
  Activity id;
  id.kind = Activity::Kind::kIdentify;
  id.at = kAsOf - 500 * kDay;
  id.traits = traits;
  p.Apply(id);
  const std::vector<std::pair<int, double>> orders = {{400, 999}, {200, 10000}, {100, 9000}, {20, 6000}};
  for (const auto& [days_ago, total] : orders) {
    Activity o;
    o.kind = Activity::Kind::kOrder;
    o.at = kAsOf - days_ago * kDay;
    o.order_total = total;
    o.channel = days_ago == 400 ? "web" : "app";
    p.Apply(o);
  }
  p.SetTag("rfm_layer", "\"important_value\"");
  p.SetTag("rfm_score", "\"555\"");
  p.SetTag("tier", "\"gold\"");
  p.SetTag("churn_risk", "0.73");
  p.SetTag("cluster_id", "2");
  p.SetTag("ltv", "1234.5");
  p.SetTag("in", "\"keyword-named\"");
  p.SetTag("flag", "false");
  p.SetTag("nothing", "null");
  return p;
}

struct ValidCase {
  std::string rule;
  std::string canonical;
  bool matches;
};

TEST(SegmentTest, ValidRulesCompileToCanonicalTextAndMatch) {
  const std::vector<ValidCase> cases = {
      // The examples of the issue.
      {R"(monetary_365d >= 20000 and preferred_channel = "app")",
       R"(monetary_365d >= 20000 and preferred_channel = "app")", true},
      {R"(rfm_layer in ("important_value", "potential") and churn_risk > 0.6)",
       R"(tags.rfm_layer in ("important_value", "potential") and tags.churn_risk > 0.6)", true},
      {R"(monetary_365d >= 25001)", R"(monetary_365d >= 25001)", false},
      // Keywords in any case; spacing free.
      {R"(monetary_365d>=20000 AND preferred_channel="app" Or NOT tier="gold")",
       R"(monetary_365d >= 20000 and preferred_channel = "app" or not tags.tier = "gold")", true},
      {R"(tier IN ("gold") And churn_risk Is Not Null)",
       R"(tags.tier in ("gold") and tags.churn_risk is not null)", true},
      // Precedence: and binds tighter than or; not tighter than and.
      {R"(tier = "gold" or tier = "silver" and churn_risk < 0.1)",
       R"(tags.tier = "gold" or tags.tier = "silver" and tags.churn_risk < 0.1)", true},
      {R"((tier = "gold" or tier = "silver") and churn_risk < 0.1)",
       R"((tags.tier = "gold" or tags.tier = "silver") and tags.churn_risk < 0.1)", false},
      {R"(not tier = "silver" and churn_risk > 0.5)", R"(not tags.tier = "silver" and tags.churn_risk > 0.5)",
       true},
      {R"(not (tier = "silver" or churn_risk > 0.5))",
       R"(not (tags.tier = "silver" or tags.churn_risk > 0.5))", false},
      {R"(((tier = "gold")))", R"(tags.tier = "gold")", true},
      {R"(orders_total = 4 and (orders_30d = 1 and (orders_90d = 1)))",
       R"(orders_total = 4 and orders_30d = 1 and orders_90d = 1)", true},
      {R"(not not tier = "gold")", R"(not not tags.tier = "gold")", true},
      // Every comparison operator, on a feature, an integer, a tag.
      {"orders_365d = 3", "orders_365d = 3", true},
      {"orders_365d != 3", "orders_365d != 3", false},
      {"recency_days < 21", "recency_days < 21", true},
      {"recency_days <= 19", "recency_days <= 19", false},
      {"frequency > 3.5", "frequency > 3.5", true},
      {"revenue_total >= 25999", "revenue_total >= 25999", true},
      {"ltv > 1e3", "tags.ltv > 1000", true},
      {"ltv < -5", "tags.ltv < -5", false},
      {"churn_risk >= 0.730", "tags.churn_risk >= 0.73", true},
      // in / not in: numbers, strings.
      {"cluster_id in (1, 2, 3)", "tags.cluster_id in (1, 2, 3)", true},
      {"cluster_id not in (1, 3)", "tags.cluster_id not in (1, 3)", true},
      {"cluster_id not in (2)", "tags.cluster_id not in (2)", false},
      {R"(preferred_channel in ("web", "app"))", R"(preferred_channel in ("web", "app"))", true},
      // Tags are typed by their JSON value: rfm_score is a string, cluster_id a number.
      {R"(rfm_score = "555")", R"(tags.rfm_score = "555")", true},
      {"rfm_score = 555", "tags.rfm_score = 555", false},
      {"rfm_score != 555", "tags.rfm_score != 555", false},
      {R"(cluster_id = "2")", R"(tags.cluster_id = "2")", false},
      {"cluster_id = 2", "tags.cluster_id = 2", true},
      {"flag = false", "tags.flag = false", true},
      {"flag != true", "tags.flag != true", true},
      {R"(tier < "h" and tier > "ga")", R"(tags.tier < "h" and tags.tier > "ga")", true},
      // Explicit tags and traits; a keyword or any text as a name after the dot.
      {R"(tags.in = "keyword-named")", R"(tags.in = "keyword-named")", true},
      {R"(traits.city = "上海")", R"(traits.city = "上海")", true},
      {"traits.vip = true", "traits.vip = true", true},
      {"traits.age >= 30 and traits.age < 40", "traits.age >= 30 and traits.age < 40", true},
      {R"(traits."first name" = "Lei")", R"(traits."first name" = "Lei")", true},
      {R"(tags.monetary_365d is null)", R"(tags.monetary_365d is null)", true},  // a tag, not the feature
      // Escapes in strings, in the rule and in the stored JSON.
      {R"(traits.nickname = "Lei \"the\" great")", R"(traits.nickname = "Lei \"the\" great")", true},
      {R"(traits.note = "tab\tand\nnewline")", R"(traits.note = "tab\tand\nnewline")", true},
      {R"(traits.city = "\u4e0a\u6d77")", R"(traits.city = "上海")", true},
      {R"(traits.emoji = "\ud83d\ude00")", R"(traits.emoji = "😀")", true},
      {R"(traits.nickname != "a\/b\\c\b\f\r")", R"(traits.nickname != "a/b\\c\b\f\r")", true},
      // Timestamps compare with date-time strings.
      {R"(last_order_at >= "2024-06-01")", R"(last_order_at >= "2024-06-01T00:00:00.000Z")", true},
      {R"(first_seen_at > "2023-03-01T08:00:00+08:00")", R"(first_seen_at > "2023-03-01T00:00:00.000Z")",
       false},
  };
  const Profile p = Customer();
  for (const ValidCase& c : cases) {
    auto s = Segment::Compile(c.rule);
    ASSERT_OK(s) << c.rule;
    EXPECT_EQ(s->text(), c.canonical) << c.rule;
    EXPECT_EQ(s->Matches(p, kAsOf), c.matches) << c.rule;
    auto again = Segment::Compile(s->text());
    ASSERT_OK(again) << s->text();
    EXPECT_EQ(again->text(), s->text()) << "canonical text is stable";
    EXPECT_EQ(again->Matches(p, kAsOf), c.matches) << s->text();
  }
}

TEST(SegmentTest, NullAndMissingMakeComparisonsUnknown) {
  // avg_nps: null (no survey). tags.absent: missing. tags.nothing: a JSON null. traits.address: an object.
  const std::vector<std::pair<std::string, bool>> cases = {
      {"avg_nps is null", true},
      {"avg_nps is not null", false},
      {"avg_nps > 5", false},
      {"avg_nps <= 5", false},
      {"avg_nps != 5", false},
      {"not avg_nps > 5", false},  // not unknown = unknown
      {"avg_nps in (1, 2)", false},
      {"avg_nps not in (1, 2)", false},
      {"avg_nps > 5 or orders_total = 4", true},  // unknown or true = true
      {"avg_nps > 5 and orders_total = 4", false},
      {"not (avg_nps > 5 and orders_total = 5)", true},  // unknown and false = false
      {"absent is null", true},
      {"tags.absent is null", true},
      {"traits.absent is not null", false},
      {R"(absent = "x")", false},
      {R"(absent != "x")", false},
      {"nothing is null", true},
      {"nothing = 0", false},
      {"traits.address is null", false},
      {R"(traits.address = "x")", false},
      {R"(traits.address != "x")", false},
      {"last_intent is null", true},
      {R"(last_intent != "refund")", false},
      {"recency_days is not null and tenure_days = 500", true},
      {R"(cluster_id in ("2", 9))", false},  // no match, and "2" cannot compare with a number: unknown
      {R"(cluster_id not in ("2", 9))", false},
  };
  const Profile p = Customer();
  for (const auto& [rule, want] : cases) {
    auto s = Segment::Compile(rule);
    ASSERT_OK(s) << rule;
    EXPECT_EQ(s->Matches(p, kAsOf), want) << rule;
  }
}

TEST(SegmentTest, FeaturesAreComputedAsOfTheGivenTime) {
  const Profile p = Customer();
  auto s = Segment::Compile("monetary_365d >= 20000 and recency_days <= 30");
  ASSERT_OK(s);
  EXPECT_TRUE(s->Matches(p, kAsOf));
  EXPECT_FALSE(s->Matches(p, kAsOf + 20 * kDay)) << "recency 40 days";
  EXPECT_FALSE(s->Matches(p, kAsOf + 300 * kDay)) << "the 10,000 order left the 365-day window";
  EXPECT_FALSE(s->Matches(Profile(), kAsOf));
  EXPECT_TRUE(s->depends_on_as_of());
  auto tags_only = Segment::Compile(R"(tier = "gold")");
  ASSERT_OK(tags_only);
  EXPECT_FALSE(tags_only->depends_on_as_of());
  EXPECT_EQ(tags_only->features(), 0u);
}

TEST(SegmentTest, ReportsTheFieldsItReads) {
  auto s = Segment::Compile(
      R"(rfm_layer in ("important_value") and churn_risk > 0.6 or monetary_365d > 1 and traits."first name" is null and churn_risk < 0.9)");
  ASSERT_OK(s);
  std::vector<std::string> fields;
  for (const SegmentField& f : s->fields()) fields.push_back(f.ToString());
  EXPECT_EQ(fields, (std::vector<std::string>{"monetary_365d", "tags.churn_risk", "tags.rfm_layer",
                                              "traits.\"first name\""}));
  EXPECT_EQ(s->fields()[0].source, SegmentField::Source::kFeature);
  EXPECT_EQ(s->fields()[0].feature, FeatureId::kMonetary365d);
  EXPECT_EQ(s->fields()[3].source, SegmentField::Source::kTrait);
  EXPECT_EQ(s->fields()[3].name, "first name");
  EXPECT_EQ(s->features(), FeatureBit(FeatureId::kMonetary365d));
}

TEST(SegmentTest, CopiesShareTheCompiledRule) {
  auto s = Segment::Compile(R"(tier = "gold")");
  ASSERT_OK(s);
  const Segment copy = *s;
  EXPECT_EQ(copy.text(), s->text());
  EXPECT_TRUE(copy.Matches(Customer(), kAsOf));
}

struct ErrorCase {
  std::string rule;
  std::string message;
};

TEST(SegmentTest, ErrorsPointAtTheColumn) {
  const std::vector<ErrorCase> cases = {
      {"", "column 1: the rule is empty"},
      {"   ", "column 1: the rule is empty"},
      // Values.
      {"monetary_365d >=", "column 17: expected a value after '>='"},
      {"monetary_365d >= and", "column 18: expected a value after '>=', found 'and'"},
      {"tier in ()", "column 10: expected a value after '(', found ')'"},
      {R"(tier in ("a",))", "column 14: expected a value after ',', found ')'"},
      {"tier = null",
       "column 8: a comparison with null is never true; write 'tier is null' or 'tier is not null'"},
      {R"(tier in ("a", null))",
       "column 15: a comparison with null is never true; write 'tier is null' or 'tier is not null'"},
      {"tier < true", "column 8: true can only be compared with = or !="},
      // Fields and operators.
      {"= 5", "column 1: expected a field name, found '='"},
      {"and = 5", "column 1: expected a field name, found 'and'"},
      {R"("tier" = 5)", R"(column 1: expected a field name, found "tier")"},
      {"not", "column 4: expected a field name, found the end of the rule"},
      {R"(tier "gold")",
       R"(column 6: expected an operator (= != < <= > >= in, not in, is null, is not null) after 'tier', found "gold")"},
      {"tags.tier",
       "column 10: expected an operator (= != < <= > >= in, not in, is null, is not null) after "
       "'tags.tier', found the end of the rule"},
      {"tags. = 5", "column 7: expected a tag name after 'tags.', found '='"},
      {"traits.5 = 5", "column 8: expected a trait name after 'traits.', found '5'"},
      {R"(tier not like "a")", "column 10: expected 'in' after 'not', found 'like'"},
      {R"(tier in "a")", R"(column 9: expected '(' after 'in', found "a")"},
      {R"(tier in ("a" "b"))", R"(column 14: expected ',' or ')' in the list after 'in', found "b")"},
      {R"(tier not in ("a"; "b"))", "column 17: unexpected character ';'"},
      {R"(tier is "a")", R"(column 9: expected 'null' after 'is', found "a")"},
      {"tier is not 5", "column 13: expected 'null' after 'is not', found '5'"},
      {R"(tier = "gold" tier = "x")", "column 15: expected 'and', 'or' or the end of the rule, found 'tier'"},
      {R"(tier = "gold"))", "column 14: expected 'and', 'or' or the end of the rule, found ')'"},
      {R"((tier = "gold")",
       "column 15: expected ')' to close the '(' at column 1, found the end of the rule"},
      {R"(tier = "a" and (b = 1 or (c = 2) d = 3))",
       "column 34: expected ')' to close the '(' at column 16, found 'd'"},
      {"contacts_90d > 3",
       "column 1: field contacts_90d is computed only by the analytics jobs (insight), not on the profile; "
       "write tags.contacts_90d for a tag of that name"},
      // Lexing: strings, escapes, numbers, characters.
      {R"(tier = "gold)", R"(column 8: unterminated string (no closing '"'))"},
      {R"(tier = "a\qb")", R"(column 10: invalid escape '\q' in a string)"},
      {R"(tier = "a\é")", R"(column 10: invalid escape '\é' in a string)"},
      {R"(tier = "\u12")", R"(column 9: invalid \u escape (expected 4 hex digits))"},
      {R"(tier = "\ud800x")", R"(column 9: invalid \u escape (a high surrogate without a low one))"},
      {R"(tier = "\udc00")", R"(column 9: invalid \u escape (a low surrogate without a high one))"},
      {"tier = 12abc", "column 8: malformed number '12abc'"},
      {"tier = 1.2.3", "column 8: malformed number '1.2.3'"},
      {"tier = 1e", "column 8: malformed number '1e'"},
      {"tier = -", "column 8: unexpected character '-'"},
      {"tier = 1e999", "column 8: number out of range '1e999'"},
      {"tier # 5", "column 6: unexpected character '#'"},
      {R"(tier == "a")", "column 6: unexpected '==' (write '=')"},
      {R"(tier <> "a")", "column 6: unexpected '<>' (write '!=')"},
      {"tier = 'gold'", "column 8: unexpected \"'\": strings are written in double quotes"},
      {R"(traits.城市 = "上海" and x # 1)",
       "column 24: unexpected character '#'"},  // columns count characters
      // Types of catalogue features, checked at compile time.
      {R"(monetary_365d >= "abc")", R"(column 18: field monetary_365d is a number; "abc" is a string)"},
      {R"(preferred_channel = 5)", "column 21: field preferred_channel is a string; 5 is a number"},
      {"orders_total = true", "column 16: field orders_total is an integer; true is a boolean"},
      {R"(preferred_channel in ("app", 5))", "column 30: field preferred_channel is a string; 5 is a number"},
      {R"(last_order_at > "yesterday")",
       R"(column 17: field last_order_at is a timestamp; "yesterday" is not a date-time (write e.g. "2024-03-01" or "2024-03-01T08:30:00Z"))"},
      {"last_order_at > 5",
       R"(column 17: field last_order_at is a timestamp; 5 is a number (write a date-time as a string, e.g. "2024-03-01" or "2024-03-01T08:30:00Z"))"},
  };
  for (const ErrorCase& c : cases) {
    auto s = Segment::Compile(c.rule);
    ASSERT_FALSE(s.ok()) << c.rule;
    EXPECT_THAT(s, StatusIs(StatusCode::kInvalidArgument)) << c.rule;
    EXPECT_EQ(s.status().message(), c.message) << c.rule;
  }
}

// Seeded mutations of valid rules: every result is a segment whose canonical text compiles to
// itself and selects the same profiles, or an error that points inside the rule.
TEST(SegmentTest, MutatedRulesCompileConsistentlyOrFailWithAColumn) {
  const std::vector<std::string> seeds = {
      R"(monetary_365d >= 20000 and preferred_channel = "app")",
      R"(rfm_layer in ("important_value", "potential") and churn_risk > 0.6)",
      R"(not (tier = "gold" or traits.vip = true) and last_order_at >= "2024-06-01" or avg_nps is not null)",
      R"(traits.nickname = "Lei "the" great" and cluster_id not in (1, -2.5e1))",
  };
  const std::string alphabet = R"(()\",.=!<>-+e0123456789 aAnNoOtTiIsSl_u)" "\xe4\xb8\x8a";
  const Profile p = Customer();
  std::uint64_t state = 12345;
  auto next = [&state] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<size_t>(state >> 33);
  };
  int compiled = 0, failed = 0;
  for (int round = 0; round < 4000; ++round) {
    std::string rule = seeds[next() % seeds.size()];
    for (size_t edits = 1 + next() % 3; edits > 0; --edits) {
      const size_t at = next() % (rule.size() + 1);
      const char c = alphabet[next() % alphabet.size()];
      switch (next() % 3) {
        case 0: rule.insert(at, 1, c); break;
        case 1: if (at < rule.size()) rule.erase(at, 1); break;
        default: if (at < rule.size()) rule[at] = c; break;
      }
    }
    auto s = Segment::Compile(rule);
    if (s.ok()) {
      ++compiled;
      auto again = Segment::Compile(s->text());
      ASSERT_OK(again) << rule << " -> " << s->text();
      EXPECT_EQ(again->text(), s->text()) << rule;
      EXPECT_EQ(again->Matches(p, kAsOf), s->Matches(p, kAsOf)) << rule;
    } else {
      ++failed;
      const std::string& m = s.status().message();
      ASSERT_EQ(m.rfind("column ", 0), 0u) << rule << ": " << m;
      EXPECT_LE(std::stoul(m.substr(7)), rule.size() + 1) << rule << ": " << m;
    }
  }
  EXPECT_GT(compiled, 100);
  EXPECT_GT(failed, 100);
}

TEST(SegmentTest, DeepNestingIsAnErrorNotACrash) {
  const std::string deep = std::string(100, '(') + "tier = 1" + std::string(100, ')');
  auto s = Segment::Compile(deep);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "column 66: the rule nests too deeply (more than 64 levels)");
  std::string nots;
  for (int i = 0; i < 100; ++i) nots += "not ";
  EXPECT_FALSE(Segment::Compile(nots + "tier = 1").ok());
  const std::string ok = std::string(60, '(') + "tier = 1" + std::string(60, ')');
  EXPECT_OK(Segment::Compile(ok));
}

}  // namespace
}  // namespace touchpoint::profile
