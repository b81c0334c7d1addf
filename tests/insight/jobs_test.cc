#include <touchpoint/insight/jobs.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <touchpoint/insight/job_churn.h>
#include <touchpoint/insight/job_kmeans.h>
#include <touchpoint/insight/job_rfm.h>

#include "testing/matchers.h"

namespace touchpoint::insight {
namespace {

using nlohmann::json;
using ::touchpoint::testing::StatusIs;

Millis Day(int y, unsigned m, unsigned d) { return DaysFromCivil(y, m, d) * kMillisPerDay; }

constexpr std::int64_t kCustomers = 90;

// A year of a small shop: 90 customers. Every third one is loyal (buys often, and again in the
// last quarter), the others stopped buying by day 150; the even ones write to the service desk
// after buying; every customer is seen; customer 90 only browses and customer 89 only has a
// refund. The last ten days have hourly contacts with a daily rhythm.
Activity ShopActivity() {
  Activity a;
  const Millis start = Day(2025, 1, 1);
  const char* categories[] = {"shoes", "bags", "hats"};
  const char* intents[] = {"refund", "delivery_status", "other"};
  for (std::int64_t c = 1; c <= kCustomers; ++c) {
    a.seen.push_back({.customer = c, .first_seen = start + c * 3'600'000});
    if (c == 90) continue;
    if (c == 89) {
      a.orders.push_back({.customer = c, .at = start + 10 * kMillisPerDay, .total = -30, .categories = {}, .products = {}});
      a.order_ids.push_back("refund-89");
      continue;
    }
    const bool loyal = c % 3 == 0;
    const int orders = loyal ? 5 : 1 + static_cast<int>(c % 2);
    for (int k = 0; k < orders; ++k) {
      const std::int64_t day = loyal ? 150 + (c * 17 + k * 53) % 120 : (c * 17 + k * 53) % 150;
      const Millis at = start + day * kMillisPerDay + (c % 24) * 3'600'000;
      const size_t cat = static_cast<size_t>((c + k) % 3);
      a.orders.push_back({.customer = c,
                          .at = at,
                          .total = 20.0 + static_cast<double>((c * 37 + k * 11) % 300),
                          .categories = {categories[cat]},
                          .products = {"p" + std::to_string(cat), "p" + std::to_string((c + k) % 6)}});
      a.order_ids.push_back("o" + std::to_string(c) + "-" + std::to_string(k));
      if (c % 2 == 0) {
        a.messages.push_back({.customer = c,
                              .at = at + 2 * kMillisPerDay,
                              .from_customer = true,
                              .intent = intents[cat],
                              .sentiment_label = (c + k) % 3 == 0 ? "negative" : "neutral",
                              .sentiment_score = (c + k) % 3 == 0 ? -0.6 : 0.1});
      }
    }
    if (loyal) {
      const Millis at = start + (280 + c % 80) * kMillisPerDay;
      a.orders.push_back({.customer = c, .at = at, .total = 99, .categories = {"shoes"}, .products = {"p0"}});
      a.order_ids.push_back("late-" + std::to_string(c));
    }
  }
  // Hourly contacts over the last ten days (a daily rhythm for the forecast).
  for (int h = 0; h < 240; ++h) {
    const Millis at = start + 355 * kMillisPerDay + h * 3'600'000;
    const int n = 1 + (h % 24 >= 9 && h % 24 < 18 ? 3 : 0) + h % 2;
    for (int i = 0; i < n; ++i) {
      a.messages.push_back({.customer = 1 + (h * 7 + i) % 80,
                            .at = at + i * 60'000,
                            .from_customer = true,
                            .intent = "delivery_status",
                            .sentiment_label = "neutral",
                            .sentiment_score = 0});
    }
    a.messages.push_back({.customer = 2, .at = at, .from_customer = false, .intent = "", .sentiment_label = "",
                          .sentiment_score = 0});  // an agent's reply: no contact
  }
  for (const auto& o : a.orders) a.newest_event = std::max(a.newest_event, o.at);
  for (const auto& m : a.messages) a.newest_event = std::max(a.newest_event, m.at);
  return a;
}

class FakeSource : public ActivitySource {
 public:
  explicit FakeSource(Activity activity) : activity_(std::move(activity)) {}
  Result<Activity> Load(const ActivityRequest& request) override {
    requests.push_back(request);
    if (!fail.ok()) return fail;
    Activity a;
    a.newest_event = activity_.newest_event;
    if (request.orders) {
      a.orders = activity_.orders;
      if (!request.items) {
        for (auto& o : a.orders) {
          o.categories.clear();
          o.products.clear();
        }
      }
      if (request.order_ids) a.order_ids = activity_.order_ids;
    }
    if (request.messages) a.messages = activity_.messages;
    if (request.seen) a.seen = activity_.seen;
    return a;
  }
  std::vector<ActivityRequest> requests;
  Status fail;

 private:
  Activity activity_;
};

class FakeSink : public TagSink {
 public:
  Status Write(const CustomerTags& written) override {
    ++writes;
    if (!fail.ok()) return fail;
    for (const auto& [customer, values] : written) {
      for (const auto& [name, value] : values) tags[customer.value()][name] = json::parse(value);
    }
    return Status::Ok();
  }
  int writes = 0;
  Status fail;
  std::map<std::int64_t, std::map<std::string, json>> tags;  // customer → tag → value
};

class JobsTest : public ::testing::Test {
 protected:
  json Run(std::string_view name, std::string_view params) {
    auto r = RunJob(name, params, source_, sink_, context_);
    EXPECT_THAT(r, ::touchpoint::testing::IsOk()) << name;
    return r.ok() ? json::parse(*r) : json();
  }

  FakeSource source_{ShopActivity()};
  FakeSink sink_;
  JobContext context_;
};

TEST_F(JobsTest, TheRegistryNamesTheSevenJobs) {
  EXPECT_EQ(JobNames(), (std::vector<std::string>{"rfm", "ltv", "kmeans", "churn", "rules", "forecast", "staffing"}));
  for (const auto& name : JobNames()) EXPECT_OK(ValidateJob(name, name == "staffing" ? R"({"aht_seconds":180})" : "{}"));
  EXPECT_THAT(ValidateJob("nope", "{}"), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(RunJob("nope", "{}", source_, sink_, context_), StatusIs(StatusCode::kNotFound));
  EXPECT_TRUE(source_.requests.empty());
}

TEST_F(JobsTest, BadParametersAreRejectedNamingTheParameter) {
  const struct {
    const char* job;
    const char* params;
    const char* message;  // the error starts with this
  } cases[] = {
      {"rfm", R"({"silver":"x"})", "silver: expected a number"},
      {"rfm", R"({"colour":1})", "colour: unknown parameter"},
      {"rfm", R"([1])", "parameters: expected a JSON object"},
      {"rfm", R"({)", "parameters: not valid JSON"},
      {"rfm", R"({"as_of":"soon"})", "as_of: "},
      {"ltv", R"({"horizon_years":0})", "horizon_years: expected an integer in [1, 1000]"},
      {"kmeans", R"({"k":0})", "k: expected \"auto\" or an integer"},
      {"kmeans", R"({"k":"many"})", "k: expected \"auto\" or an integer"},
      {"kmeans", R"({"k_max":1})", "k_max: expected an integer in [2, 100]"},
      {"kmeans", R"({"features":["spend"]})", "features: 'spend' is not a store feature"},
      {"kmeans", R"({"features":["monetary"],"log_features":["contacts"]})", "log_features: 'contacts' is not one"},
      {"kmeans", R"({"features":"monetary"})", "features: expected an array of strings"},
      {"churn", R"({"model":"forest"})", "model: "},
      {"churn", R"({"folds":1})", "folds: expected an integer in [2, 100]"},
      {"churn", R"({"cutoff":"yesterday"})", "cutoff: "},
      {"churn", R"({"cutoff":20260101})", "cutoff: expected a date text"},
      {"rules", R"({"kind":"baskets"})", "kind must be products or category-intent, got 'baskets'"},
      {"rules", R"({"window_days":0})", "window_days: expected an integer in [1, 3650]"},
      {"forecast", R"({"season":1})", "season: expected an integer in [2, 100000]"},
      {"forecast", R"({"horizon":2.5})", "horizon: expected an integer"},
      {"staffing", R"({})", "aht_seconds: required"},
      {"staffing", R"({"aht_seconds":300,"shrinkage":1.5})", "staffing: shrinkage"},
      {"staffing", R"({"aht_seconds":300,"calls_per_hour":10})", "calls_per_hour: unknown parameter"},
  };
  for (const auto& c : cases) {
    Status s = ValidateJob(c.job, c.params);
    EXPECT_THAT(s, StatusIs(StatusCode::kInvalidArgument)) << c.job << " " << c.params;
    EXPECT_EQ(s.message().rfind(c.message, 0), 0u) << c.job << " " << c.params << ": " << s.message();
    auto run = RunJob(c.job, c.params, source_, sink_, context_);
    EXPECT_EQ(run.status(), s) << "RunJob checks the parameters as ValidateJob does";
  }
  EXPECT_TRUE(source_.requests.empty()) << "nothing is read for bad parameters";
  EXPECT_EQ(sink_.writes, 0);
  for (const char* empty : {"", "{}", "null", " "}) EXPECT_OK(ValidateJob("rfm", empty)) << "'" << empty << "'";
}

TEST_F(JobsTest, CliContextNamesFlagsAndTheDataDirectory) {
  JobContext cli;
  cli.source = "/data/shop";
  cli.param_style = ParamStyle::kCliFlag;
  KMeansJobParams p;
  p.features = {"monetary"};
  p.log_features = std::vector<std::string>{"contacts"};
  EXPECT_EQ(ValidateKMeansJobParams(p, cli).message(), "--log-features: 'contacts' is not one of the features");
  FakeSource empty{Activity{}};
  auto r = RunJob("rfm", "{}", empty, sink_, cli);
  EXPECT_THAT(r, StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(r.status().message(), "/data/shop: no orders ingested yet");
}

TEST_F(JobsTest, RfmTagsEveryPurchaserWithLayerScoreAndTier) {
  json r = Run("rfm", R"({"silver": 500, "gold": 900})");
  ASSERT_EQ(source_.requests.size(), 1u);
  EXPECT_TRUE(source_.requests[0].orders && source_.requests[0].order_ids);
  EXPECT_FALSE(source_.requests[0].messages) << "rfm reads orders only";
  EXPECT_EQ(r["customers"], 88) << "every customer with a purchase: not the browser, not the refund";
  EXPECT_EQ(r["tagged"], 88);
  EXPECT_EQ(r["tier_thresholds"]["silver"], 500.0);
  ASSERT_EQ(sink_.writes, 1) << "tags are written in one batch";
  ASSERT_EQ(sink_.tags.size(), 88u);
  EXPECT_FALSE(sink_.tags.count(89));
  EXPECT_FALSE(sink_.tags.count(90));
  std::int64_t per_layer = 0;
  for (const auto& layer : r["layers"]) per_layer += layer["customers"].get<std::int64_t>();
  EXPECT_EQ(per_layer, 88);
  const std::set<std::string> tiers = {"normal", "silver", "gold"};
  for (const auto& [customer, t] : sink_.tags) {
    const std::string score = t.at("rfm_score").get<std::string>();
    ASSERT_EQ(score.size(), 3u);
    for (char d : score) EXPECT_TRUE(d >= '1' && d <= '5') << score;
    EXPECT_TRUE(tiers.count(t.at("tier").get<std::string>()));
    EXPECT_FALSE(t.at("rfm_layer").get<std::string>().empty());
    EXPECT_EQ(t.at("rfm_as_of"), r["as_of"]);
  }
  Millis newest_purchase = 0;
  for (const auto& o : ShopActivity().orders) newest_purchase = std::max(newest_purchase, o.total > 0 ? o.at : 0);
  EXPECT_EQ(r["as_of"], FormatDate(newest_purchase + kMillisPerDay)) << "the day after the newest purchase";
}

TEST_F(JobsTest, LtvTagsCentsAndReportsTheRetentionModel) {
  json r = Run("ltv", R"({"margin": 0.5, "horizon_years": 3})");
  EXPECT_EQ(r["tags"], json::array({"ltv"}));
  EXPECT_EQ(r["model"]["margin"], 0.5);
  EXPECT_EQ(r["model"]["horizon_years"], 3);
  ASSERT_EQ(sink_.tags.size(), 88u);
  double total = 0;
  for (const auto& [customer, t] : sink_.tags) {
    const double ltv = t.at("ltv").get<double>();
    EXPECT_GE(ltv, 0);
    EXPECT_NEAR(ltv * 100, std::round(ltv * 100), 1e-6) << "rounded to cents";
    total += ltv;
  }
  EXPECT_NEAR(total, r["total_ltv"].get<double>(), 1.0);
}

TEST_F(JobsTest, KMeansTagsEveryLiveCustomerWithItsCluster) {
  json r = Run("kmeans", R"({"k": 3, "seed": 7})");
  EXPECT_EQ(r["k"], 3);
  EXPECT_EQ(r["rows"], kCustomers) << "browsers are customers too";
  EXPECT_EQ(r["tagged"], kCustomers);
  EXPECT_EQ(r["features"], json(KMeansDefaultFeatures()));
  std::map<int, std::string> names;
  for (const auto& c : r["clusters"]) names[c["cluster"].get<int>()] = c["name"].get<std::string>();
  ASSERT_EQ(names.size(), 3u);
  ASSERT_EQ(sink_.tags.size(), static_cast<size_t>(kCustomers));
  std::map<int, std::int64_t> sizes;
  for (const auto& [customer, t] : sink_.tags) {
    const int id = t.at("cluster_id").get<int>();
    ASSERT_TRUE(names.count(id));
    EXPECT_EQ(t.at("cluster"), names[id]);
    ++sizes[id];
  }
  for (const auto& c : r["clusters"]) EXPECT_EQ(c["size"], sizes[c["cluster"].get<int>()]);
  // Too many clusters for the customers: the job says so and writes nothing.
  FakeSink sink;
  auto big = RunJob("kmeans", R"({"k": 1000})", source_, sink, context_);
  EXPECT_THAT(big, StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(big.status().message(), "k = 1000 is larger than the 90 customers");
  EXPECT_EQ(sink.writes, 0);
}

TEST_F(JobsTest, ChurnTrainsOnTheCutoffAndScoresEveryLiveCustomer) {
  json r = Run("churn", "{}");
  const Millis newest = ShopActivity().newest_event;
  EXPECT_EQ(r["cutoff"], FormatDate(newest - kChurnLabelWindow)) << "the newest event's day minus 90 days";
  EXPECT_EQ(r["scored"], kCustomers);
  EXPECT_GT(r["churned"].get<int>(), 0);
  EXPECT_LT(r["churned"].get<int>(), r["training_customers"].get<int>());
  EXPECT_EQ(r["model"], "logistic");
  ASSERT_EQ(sink_.tags.size(), static_cast<size_t>(kCustomers));
  // Buyers of the last quarter are at lower risk than the customers who stopped buying.
  double recent = 0, lapsed = 0;
  int n_recent = 0, n_lapsed = 0;
  for (const auto& [customer, t] : sink_.tags) {
    const double risk = t.at("churn_risk").get<double>();
    EXPECT_GE(risk, 0);
    EXPECT_LE(risk, 1);
    EXPECT_EQ(t.at("churn_as_of"), FormatDate(newest + 1));
    if (customer >= 89) continue;
    (customer % 3 == 0 ? recent : lapsed) += risk;
    ++(customer % 3 == 0 ? n_recent : n_lapsed);
  }
  EXPECT_LT(recent / n_recent, lapsed / n_lapsed);

  FakeSink sink;
  auto late = RunJob("churn", R"({"cutoff": "2025-12-01"})", source_, sink, context_);
  EXPECT_THAT(late, StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(late.status().message().rfind("cutoff 2025-12-01: the label needs 90 days", 0), 0u) << late.status().message();
  EXPECT_EQ(sink.writes, 0);
}

TEST_F(JobsTest, RulesFindCategoryToIntentRulesAndWriteNoTags) {
  json r = Run("rules", R"({"kind": "category-intent", "min_support": 0.01, "min_confidence": 0.1, "limit": 5})");
  ASSERT_EQ(source_.requests.size(), 1u);
  EXPECT_TRUE(source_.requests[0].items && source_.requests[0].messages);
  EXPECT_EQ(r["window_days"], 30);
  ASSERT_GT(r["rules"].get<int>(), 0) << r.dump();
  EXPECT_LE(r["top_rules"].size(), 5u);
  EXPECT_EQ(r["top_rules"].size(), std::min<size_t>(5, r["rules"].get<size_t>()));
  for (const auto& rule : r["top_rules"]) {
    for (const auto& l : rule["lhs"]) EXPECT_EQ(l.get<std::string>().rfind("category:", 0), 0u) << rule;
    EXPECT_EQ(rule["rhs"][0].get<std::string>().rfind("intent:", 0), 0u) << rule;
    EXPECT_NE(rule["rhs"][0], "intent:other");
  }
  EXPECT_EQ(sink_.writes, 0);
  json p = Run("rules", R"({"min_support": 0.02})");
  EXPECT_EQ(p["kind"], "products");
  EXPECT_FALSE(p.contains("window_days"));
  EXPECT_GT(p["transactions"].get<int>(), 0);
}

TEST_F(JobsTest, ForecastAndStaffingPlanTheHoursAfterTheNewestContact) {
  json f = Run("forecast", R"({"season": 24, "horizon": 12, "since": "2025-12-22"})");
  ASSERT_EQ(source_.requests.size(), 1u);
  EXPECT_FALSE(source_.requests[0].orders) << "the contact volume needs messages only";
  EXPECT_EQ(f["hours"], 240);
  ASSERT_EQ(f["forecast"].size(), 12u);
  EXPECT_GT(f["forecast"][0]["time"].get<std::string>(), FormatTimestamp(ShopActivity().newest_event - 3'600'000));
  for (const auto& row : f["forecast"]) {
    EXPECT_LE(row["lower"].get<double>(), row["forecast"].get<double>());
    EXPECT_GE(row["upper"].get<double>(), row["forecast"].get<double>());
  }
  json s = Run("staffing", R"({"season": 24, "horizon": 6, "since": "2025-12-22", "aht_seconds": 600, "target_level": 0.9})");
  ASSERT_EQ(s["plans"].size(), 6u);
  EXPECT_EQ(s["plans"][0]["time"], f["forecast"][0]["time"]);
  for (const auto& plan : s["plans"]) EXPECT_GE(plan["scheduled_agents"].get<int>(), plan["agents"].get<int>());
  auto none = RunJob("forecast", R"({"season": 24, "since": "2030-01-01"})", source_, sink_, context_);
  EXPECT_EQ(none.status().message(), "no customer messages ingested since 2030-01-01T00:00:00.000Z");
  EXPECT_EQ(sink_.writes, 0);
}

TEST_F(JobsTest, ACancelledJobStopsWithoutWritingTags) {
  std::atomic<bool> cancel{true};
  context_.cancel = &cancel;
  std::vector<std::string> stages;
  context_.progress = [&stages](std::string_view stage) { stages.emplace_back(stage); };
  for (const char* job : {"rfm", "ltv", "kmeans", "churn"}) {
    auto r = RunJob(job, "{}", source_, sink_, context_);
    EXPECT_THAT(r, StatusIs(StatusCode::kUnavailable)) << job;
    EXPECT_EQ(r.status().message(), "job cancelled");
  }
  EXPECT_EQ(sink_.writes, 0);
  EXPECT_EQ(stages, std::vector<std::string>(4, "loading"));
}

TEST_F(JobsTest, SourceAndSinkFailuresComeBackUnchanged) {
  sink_.fail = Status::Unavailable("disk full");
  EXPECT_EQ(RunJob("kmeans", "{}", source_, sink_, context_).status(), sink_.fail);
  source_.fail = Status::Unavailable("store closed");
  EXPECT_EQ(RunJob("rfm", "{}", source_, sink_, context_).status(), source_.fail);
}

}  // namespace
}  // namespace touchpoint::insight
