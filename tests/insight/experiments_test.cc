// Experiments as stored objects (insight/experiments.h) over a memory store with a fake clock:
// creation refuses bad input naming the field, the life cycle has no re-start after a stop,
// assignment is the stored salt's and logs each unit's first exposure only while running, and
// results join hand-made KPI facts whose figures are known: per-ticket and per-customer outcomes
// (after the exposure; the pre-period for CUPED before it), the statistics equal to
// AnalyzeExperiment's on the sums computed by hand, "not enough data" below the minimum, and the
// sample-ratio mismatch judged on the exposures.
#include <touchpoint/insight/experiments.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <touchpoint/insight/experiment_assignment.h>
#include <touchpoint/insight/experiment_stats.h>
#include <touchpoint/insight/report_html.h>
#include <touchpoint/store/kpi_repository.h>
#include <touchpoint/store/memory.h>

#include "testing/matchers.h"

namespace touchpoint::insight {
namespace {

using ::testing::HasSubstr;
using ::touchpoint::testing::StatusIs;
using json = nlohmann::json;

constexpr Millis kT0 = 1'772'413'200'000;
constexpr Millis kHour = 3'600'000;
constexpr Millis kDay = 86'400'000;

class FakeClock final : public Clock {
 public:
  Millis Now() const override { return now.load(); }
  std::atomic<Millis> now{kT0};
};

ExperimentSpec Spec(std::string name = "routing", std::string unit = "ticket") {
  ExperimentSpec s;
  s.name = std::move(name);
  s.unit = std::move(unit);
  s.variants = {{"control", 50}, {"skills", 50}};
  s.metrics = {{"art", ""}, {"resolution_rate", "increase"}};
  return s;
}

class ExperimentsTest : public ::testing::Test {
 protected:
  ExperimentsTest() : store_(store::memory::Open()), ex_(*store_, clock_, Experiments::Options{.min_units = 2}) {}

  // A ticket's facts: created at `created`, solved (resolution span of `art` business seconds) or not.
  void Ticket(std::int64_t number, std::int64_t customer, Millis created, std::int64_t art, bool solved = true) {
    store::KpiTicketRecord t;
    t.ticket = number;
    t.customer = CustomerId(customer);
    t.created_at = created;
    t.status = solved ? "solved" : "open";
    t.channel = "email";
    t.first_solved_at = solved ? created + art * 1000 : 0;
    t.solved_at = t.first_solved_at;
    t.measured_at = created;
    std::vector<store::KpiSpanRecord> spans;
    if (solved) {
      spans.push_back({number, "resolution", 0, created, created + art * 1000, "created", "solved", art, art, 0, -1});
    }
    auto txn = store_->Begin();
    ASSERT_OK(txn);
    ASSERT_OK(store_->Get<store::KpiRepository>().PutTicket(**txn, t, spans));
    ASSERT_OK((*txn)->Commit());
  }
  void Expose(std::int64_t id, std::int64_t unit, const std::string& variant, Millis at) {
    ASSERT_OK(store_->Get<store::ExperimentRepository>().Expose({id, std::to_string(unit), variant, at}));
  }
  std::int64_t Running(ExperimentSpec spec) {
    auto e = ex_.Create(spec, "test");
    EXPECT_OK(e);
    if (!e.ok()) return 0;
    EXPECT_OK(ex_.Start(e->id));
    return e->id;
  }

  FakeClock clock_;
  std::unique_ptr<store::Store> store_;
  Experiments ex_;
};

TEST_F(ExperimentsTest, CreateRefusesBadInputNamingTheField) {
  auto bad = [&](auto edit, const char* field) {
    ExperimentSpec s = Spec();
    edit(s);
    auto r = ex_.Create(s, "test");
    EXPECT_THAT(r, StatusIs(StatusCode::kInvalidArgument)) << field;
    if (!r.ok()) {
      EXPECT_THAT(r.status().message(), HasSubstr(field));
    }
  };
  bad([](ExperimentSpec& s) { s.variants = {{"control", 1}}; }, "variants: at least two");
  bad([](ExperimentSpec& s) { s.variants[1].weight = 0; }, "variants: the weight of \"skills\" must be above 0");
  bad([](ExperimentSpec& s) { s.variants[1].weight = -3; }, "variants: the weight");
  bad([](ExperimentSpec& s) { s.variants[1].name = "control"; }, "variants: \"control\" appears twice");
  bad([](ExperimentSpec& s) { s.variants[1].name = "a,b"; }, "variants: name");
  bad([](ExperimentSpec& s) { s.metrics = {{"nps", ""}}; }, "metrics: unknown metric \"nps\"; valid: csat");
  bad([](ExperimentSpec& s) { s.metrics = {}; }, "metrics: name at least one");
  bad([](ExperimentSpec& s) { s.metrics[0].direction = "up"; }, "metrics: direction of art");
  bad([](ExperimentSpec& s) { s.unit = "session"; }, "unit: \"session\"");
  bad([](ExperimentSpec& s) { s.coverage = 0; }, "coverage:");
  bad([](ExperimentSpec& s) { s.coverage = 1.5; }, "coverage:");
  bad([](ExperimentSpec& s) { s.alpha = 0.7; }, "alpha:");
  bad([](ExperimentSpec& s) { s.name = "12"; }, "name:");
  bad([](ExperimentSpec& s) { s.name = ""; }, "name:");
  bad([](ExperimentSpec& s) { s.correction = "bonferroni"; }, "correction:");
  bad([](ExperimentSpec& s) { s.pre_period_days = 400; }, "pre_period_days:");

  auto made = ex_.Create(Spec(), "key:tp_ab12");
  ASSERT_OK(made);
  EXPECT_EQ(made->status, "draft");
  EXPECT_EQ(made->salt.size(), 32u);
  EXPECT_EQ(made->metrics[0].direction, "decrease");  // art's default
  EXPECT_EQ(made->created_by, "key:tp_ab12");
  EXPECT_EQ(made->created_at, kT0);
  auto dup = ex_.Create(Spec(), "test");
  EXPECT_THAT(dup, StatusIs(StatusCode::kAlreadyExists));
  EXPECT_THAT(dup.status().message(), HasSubstr("name: an experiment named routing exists"));
  auto other = ex_.Create(Spec("other"), "test");
  ASSERT_OK(other);
  EXPECT_NE(other->salt, made->salt);  // random per experiment
  auto by_name = ex_.Find("routing");
  ASSERT_OK(by_name);
  EXPECT_EQ(by_name->id, made->id);
  auto by_id = ex_.Find(std::to_string(other->id));
  ASSERT_OK(by_id);
  EXPECT_EQ(by_id->name, "other");
  EXPECT_THAT(ex_.Find("nope"), StatusIs(StatusCode::kNotFound));
}

TEST_F(ExperimentsTest, ParsesTheJsonBodyAndTheShortForms) {
  auto s = ParseExperimentSpec(
      R"({"name":"bot","unit":"customer","variants":"control:2,script_b:1","metrics":["csat",{"metric":"frt"}],)"
      R"("pre_period_days":14,"sequential":5000,"alpha":0.1,"coverage":0.5,"correction":"bh"})");
  ASSERT_OK(s);
  ASSERT_EQ(s->variants.size(), 2u);
  EXPECT_EQ(s->variants[0], (store::ExperimentVariant{"control", 2}));
  EXPECT_EQ(s->variants[1], (store::ExperimentVariant{"script_b", 1}));
  EXPECT_EQ(s->metrics[1].metric, "frt");
  EXPECT_EQ(s->pre_period_days, 14);
  EXPECT_EQ(s->sequential_tuning, 5000);
  EXPECT_EQ(s->correction, "bh");
  EXPECT_THAT(ParseExperimentSpec(R"({"name":"x","colour":"red"})"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseExperimentSpec(R"({"alpha":"high"})").status().message(), HasSubstr("alpha: must be a number"));
  EXPECT_THAT(ParseExperimentSpec("[1").status().message(), HasSubstr("body: not a JSON object"));
  EXPECT_THAT(ParseVariants("a:x").status().message(), HasSubstr("variants: the weight of \"a\" is not a number"));
  auto metrics = ParseMetrics("art:decrease, csat");
  ASSERT_OK(metrics);
  EXPECT_EQ((*metrics)[1], (store::ExperimentMetric{"csat", ""}));
}

TEST_F(ExperimentsTest, LifeCycleHasNoRestartAfterStop) {
  auto e = ex_.Create(Spec(), "test");
  ASSERT_OK(e);
  EXPECT_THAT(ex_.Stop(e->id), StatusIs(StatusCode::kFailedPrecondition));
  clock_.now = kT0 + kHour;
  auto started = ex_.Start(e->id);
  ASSERT_OK(started);
  EXPECT_EQ(started->status, "running");
  EXPECT_EQ(started->started_at, kT0 + kHour);
  EXPECT_THAT(ex_.Start(e->id), StatusIs(StatusCode::kFailedPrecondition));
  clock_.now = kT0 + 2 * kHour;
  auto stopped = ex_.Stop(e->id);
  ASSERT_OK(stopped);
  EXPECT_EQ(stopped->stopped_at, kT0 + 2 * kHour);
  auto again = ex_.Start(e->id);
  EXPECT_THAT(again, StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(again.status().message(), HasSubstr("cannot run again"));
  EXPECT_THAT(ex_.Start(e->id + 9), StatusIs(StatusCode::kNotFound));
}

TEST_F(ExperimentsTest, AssignmentIsTheSaltsAndLogsTheFirstExposureWhileRunning) {
  ExperimentSpec spec = Spec();
  spec.variants = {{"control", 1}, {"skills", 1}, {"bot_first", 2}};
  spec.coverage = 0.5;
  auto e = ex_.Create(spec, "test");
  ASSERT_OK(e);
  auto draft = ex_.Assign(e->id, "1001");
  ASSERT_OK(draft);
  EXPECT_FALSE(draft->in_experiment);
  EXPECT_EQ(draft->reason, "not running (draft)");
  ASSERT_OK(ex_.Start(e->id));
  EXPECT_THAT(ex_.Assign(e->id, "abc"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ex_.Assign(e->id, "0"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ex_.Assign(e->id + 5, "1"), StatusIs(StatusCode::kNotFound));

  const std::vector<double> weights = {1, 1, 2};
  int in = 0, out = 0;
  for (int unit = 1; unit <= 400; ++unit) {
    clock_.now = kT0 + unit;
    const std::string u = std::to_string(unit);
    auto a = ex_.Assign(e->id, u);
    ASSERT_OK(a);
    const auto want = AssignVariant(e->salt, u, weights, 0.5);
    ASSERT_EQ(a->in_experiment, want.has_value()) << u;
    if (!want) {
      EXPECT_EQ(a->reason, "outside coverage");
      ++out;
      continue;
    }
    ++in;
    EXPECT_EQ(a->variant, spec.variants[*want].name);
    EXPECT_TRUE(a->first_exposure);
    EXPECT_EQ(a->exposed_at, kT0 + unit);
    clock_.now = kT0 + 10 * kDay;
    auto again = ex_.Assign(e->id, u);  // the first exposure stays
    ASSERT_OK(again);
    EXPECT_EQ(again->variant, a->variant);
    EXPECT_FALSE(again->first_exposure);
    EXPECT_EQ(again->exposed_at, kT0 + unit);
  }
  EXPECT_GT(in, 150);
  EXPECT_GT(out, 150);
  int stored = 0;
  ASSERT_OK(store_->Get<store::ExperimentRepository>().ScanExposures(e->id, [&](store::ExposureRecord&&) { ++stored; }));
  EXPECT_EQ(stored, in);
  ASSERT_OK(ex_.Stop(e->id));
  auto stopped = ex_.Assign(e->id, "1");
  ASSERT_OK(stopped);
  EXPECT_FALSE(stopped->in_experiment);
  EXPECT_EQ(stopped->reason, "not running (stopped)");
}

TEST_F(ExperimentsTest, TicketOutcomesJoinTheStoredFactsAndMatchTheStatistics) {
  const std::int64_t id = Running(Spec());
  // Control: resolution 100, 200, 300, 400 s and one unsolved; skills: 150, 250, 350, 450 s.
  const std::int64_t art[] = {100, 200, 300, 400, 150, 250, 350, 450};
  for (int i = 0; i < 8; ++i) {
    Ticket(i + 1, 500 + i, kT0 + i * kHour, art[i]);
    Expose(id, i + 1, i < 4 ? "control" : "skills", kT0 + i * kHour);
  }
  Ticket(9, 600, kT0, 0, /*solved=*/false);
  Expose(id, 9, "control", kT0);
  Ticket(10, 601, kT0, 120);  // never exposed: not in the results
  auto r = ex_.Results(id);
  ASSERT_OK(r);
  EXPECT_EQ(r->exposures[0], (std::pair<std::string, std::int64_t>{"control", 5}));
  EXPECT_EQ(r->exposures[1], (std::pair<std::string, std::int64_t>{"skills", 4}));
  ASSERT_EQ(r->metrics.size(), 2u);

  const ExperimentMetricResult& m = r->metrics[0];
  EXPECT_EQ(m.metric, "art");
  EXPECT_EQ(m.kind, "mean");
  EXPECT_TRUE(m.enough_data);
  ASSERT_EQ(m.arms.size(), 2u);
  EXPECT_EQ(m.arms[0].units, 4);  // the unsolved ticket has no resolution time
  EXPECT_DOUBLE_EQ(*m.arms[0].mean, 250);
  EXPECT_DOUBLE_EQ(*m.arms[1].mean, 300);
  EXPECT_NEAR(*m.arms[1].lift, 0.2, 1e-12);
  // The same as the statistics on the sums by hand.
  const std::vector<ArmSummary> arms = {{"control", 4, 1000, 300'000}, {"skills", 4, 1200, 410'000}};
  AnalysisOptions ao;
  ao.min_units = 2;
  auto want = AnalyzeExperiment(arms, ao);
  ASSERT_OK(want);
  EXPECT_NEAR(*m.arms[1].p_value, want->variants[1].p_value, 1e-12);
  EXPECT_NEAR(*m.arms[1].ci_low, want->variants[1].ci_low, 1e-12);
  EXPECT_NEAR(*m.arms[1].ci_high, want->variants[1].ci_high, 1e-12);
  EXPECT_EQ(m.arms[1].verdict, "inconclusive");

  const ExperimentMetricResult& rate = r->metrics[1];
  EXPECT_EQ(rate.kind, "proportion");
  EXPECT_EQ(rate.arms[0].units, 5);
  EXPECT_DOUBLE_EQ(*rate.arms[0].mean, 0.8);
  EXPECT_DOUBLE_EQ(*rate.arms[1].mean, 1.0);
  // Holm over the two comparisons: the smaller p doubled, the larger not below it.
  ASSERT_TRUE(m.arms[1].p_adjusted && rate.arms[1].p_value);
  const double p1 = *m.arms[1].p_value, p2 = *rate.arms[1].p_value;
  EXPECT_NEAR(*m.arms[1].p_adjusted, p1 <= p2 ? std::min(1.0, 2 * p1) : std::min(1.0, std::max(p1, 2 * p2)), 1e-12);

  auto j = json::parse(ExperimentResultsJson(*r));
  EXPECT_EQ(j["metrics"][0]["status"], "ok");
  EXPECT_EQ(j["metrics"][0]["variants"][1]["variant"], "skills");
  EXPECT_FALSE(j["metrics"][0]["variants"][0].contains("p_value"));
  EXPECT_FALSE(j["experiment"].contains("salt"));
  EXPECT_THAT(ExperimentResultsTable(*r), HasSubstr("skills"));

  // The HTML report: the exposures, then a chart per metric, and a row per metric and arm.
  const HtmlReport html = ExperimentHtmlReport(*r, {{"data", "DIR"}}, kT0);
  ASSERT_EQ(html.charts.size(), 3u);
  EXPECT_THAT(html.charts[1].title, HasSubstr("art — lift vs control"));
  EXPECT_THAT(html.charts[1].option_json, HasSubstr("\"scatter\""));
  ASSERT_EQ(html.tables.size(), 1u);
  EXPECT_EQ(html.tables[0].rows.size(), 4u);
  EXPECT_EQ(html.tables[0].rows[1][4], "0.2");  // art's lift for skills
  auto page = RenderHtml(html, "var echarts={};");
  ASSERT_OK(page);
  EXPECT_THAT(*page, HasSubstr("Touchpoint experiment routing"));
}

TEST_F(ExperimentsTest, AClearDifferenceIsBetterInTheMetricsDirection) {
  const std::int64_t id = Running(Spec());
  // 40 tickets an arm: control resolves in 1000 ± 10 s, skills in 500 ± 10 s.
  for (int i = 0; i < 80; ++i) {
    const bool control = i % 2 == 0;
    Ticket(i + 1, 100 + i, kT0 + i, (control ? 1000 : 500) + (i % 7) * 3);
    Expose(id, i + 1, control ? "control" : "skills", kT0 + i);
  }
  auto r = ex_.Results(id);
  ASSERT_OK(r);
  EXPECT_EQ(r->metrics[0].arms[1].verdict, "better");  // art fell, and decrease is better
  EXPECT_LT(*r->metrics[0].arms[1].p_adjusted, 1e-6);
  EXPECT_EQ(r->metrics[1].arms[1].verdict, "inconclusive");  // every ticket resolved in both
  EXPECT_TRUE(r->warnings.empty());
}

TEST_F(ExperimentsTest, ArmsBelowTheMinimumAreNotEnoughData) {
  Experiments strict(*store_, clock_);  // the default minimum: 30 units
  auto e = strict.Create(Spec(), "test");
  ASSERT_OK(e);
  ASSERT_OK(strict.Start(e->id));
  for (int i = 0; i < 40; ++i) {
    Ticket(i + 1, 100 + i, kT0 + i, 100 + i);
    Expose(e->id, i + 1, i < 35 ? "control" : "skills", kT0 + i);
  }
  auto r = strict.Results(e->id);
  ASSERT_OK(r);
  const ExperimentMetricResult& m = r->metrics[0];
  EXPECT_FALSE(m.enough_data);
  EXPECT_EQ(m.arms[1].units, 5);
  EXPECT_FALSE(m.arms[1].p_value.has_value());
  EXPECT_FALSE(m.arms[1].lift.has_value());
  EXPECT_EQ(m.arms[1].verdict, "not enough data");
  auto j = json::parse(ExperimentResultsJson(*r));
  EXPECT_EQ(j["metrics"][0]["status"], "not enough data");
  EXPECT_FALSE(j["metrics"][0]["variants"][1].contains("p_value"));
  EXPECT_TRUE(j["metrics"][0]["variants"][1].contains("mean"));
  // 35 vs 5 exposures against 50/50: a sample-ratio mismatch.
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_THAT(r->warnings[0], HasSubstr("sample ratio mismatch"));

  // No exposures at all: empty arms, no NaN in JSON.
  auto empty = ex_.Create(Spec("empty"), "test");
  ASSERT_OK(empty);
  auto none = ex_.Results(empty->id);
  ASSERT_OK(none);
  EXPECT_FALSE(none->metrics[0].enough_data);
  EXPECT_NO_THROW(json::parse(ExperimentResultsJson(*none)));
  EXPECT_TRUE(none->warnings.empty());
}

TEST_F(ExperimentsTest, CustomerOutcomesAreTheMeanAfterExposureWithThePrePeriodForCuped) {
  ExperimentSpec spec = Spec("outreach", "customer");
  spec.metrics = {{"art", ""}};
  spec.pre_period_days = 7;
  clock_.now = kT0 - 30 * kDay;
  const std::int64_t id = Running(spec);
  clock_.now = kT0 + 30 * kDay;
  // Customer 1 (control): before exposure 1000 s (3 days before: the pre-period) and 5000 s
  // (10 days before: outside it); after, 100 and 300 s → 200.
  Ticket(1, 1, kT0 - 10 * kDay, 5000);
  Ticket(2, 1, kT0 - 3 * kDay, 1000);
  Ticket(3, 1, kT0 + kHour, 100);
  Ticket(4, 1, kT0 + 2 * kHour, 300);
  Expose(id, 1, "control", kT0);
  // Customer 2 (control): after, 400 s; no pre-period ticket (0).
  Ticket(5, 2, kT0 + kHour, 400);
  Expose(id, 2, "control", kT0);
  // Customers 3 and 4 (skills): 150 and 250 s after; pre-periods 600 and 200 s.
  Ticket(6, 3, kT0 - kDay, 600);
  Ticket(7, 3, kT0 + kHour, 150);
  Ticket(8, 4, kT0 - kDay, 200);
  Ticket(9, 4, kT0 + kHour, 250);
  Expose(id, 3, "skills", kT0);
  Expose(id, 4, "skills", kT0);
  // Customer 5 (skills): no ticket after exposure: no outcome.
  Ticket(10, 5, kT0 - kDay, 999);
  Expose(id, 5, "skills", kT0);
  auto r = ex_.Results(id);
  ASSERT_OK(r);
  const ExperimentMetricResult& m = r->metrics[0];
  EXPECT_TRUE(m.cuped);
  EXPECT_EQ(m.arms[0].units, 2);
  EXPECT_DOUBLE_EQ(*m.arms[0].mean, 300);  // (200 + 400) / 2
  EXPECT_EQ(m.arms[1].units, 2);
  EXPECT_DOUBLE_EQ(*m.arms[1].mean, 200);  // (150 + 250) / 2
  // The statistics of the same outcomes and pre-period values by hand.
  ArmSummary c{"control", 2, 600, 200.0 * 200 + 400.0 * 400, true, 1000, 1000.0 * 1000, 200.0 * 1000};
  ArmSummary t{"skills", 2, 400, 150.0 * 150 + 250.0 * 250, true, 800, 600.0 * 600 + 200.0 * 200,
               150.0 * 600 + 250.0 * 200};
  AnalysisOptions ao;
  ao.min_units = 2;
  auto want = AnalyzeExperiment(std::vector<ArmSummary>{c, t}, ao);
  ASSERT_OK(want);
  ASSERT_TRUE(m.theta.has_value());
  EXPECT_NEAR(*m.theta, *want->theta, 1e-12);
  ASSERT_TRUE(m.arms[1].p_value.has_value());
  EXPECT_NEAR(*m.arms[1].p_value, want->variants[1].p_value, 1e-12);
  EXPECT_NEAR(*m.arms[1].lift, want->variants[1].lift, 1e-12);
}

}  // namespace
}  // namespace touchpoint::insight
