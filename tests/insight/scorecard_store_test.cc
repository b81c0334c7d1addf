// Scorecards over the desk's KPIs (insight/scorecard_store.h): the KPI figures of a period become
// the scorecard's (units converted: hours, minutes, working days on the calendar), the working
// days of a month on the cn calendar, figures supplied from a CSV win, unassigned tickets have no
// card, a missing gate figure keeps an agent below basic, and bad parameters are named.
#include <touchpoint/insight/scorecard_store.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <touchpoint/calendar/calendar_file.h>

#include "testing/matchers.h"

namespace touchpoint::insight {
namespace {

using ::testing::HasSubstr;

calendar::Calendar Cn() {
  auto spec = calendar::FindBuiltinCalendar("cn");
  EXPECT_TRUE(spec);
  auto built = calendar::Calendar::Build(*spec);
  EXPECT_TRUE(built.ok());
  return std::move(*built);
}

KpiValue Mean(double mean, std::int64_t n) {
  KpiValue v;
  v.count = n;
  v.mean = mean;
  return v;
}
KpiValue Share(double value, std::int64_t n) {
  KpiValue v;
  v.count = n;
  v.value = value;
  return v;
}

TEST(ScorecardStoreTest, KpiFiguresBecomeTheCardsWithTheCalendarsWorkingDays) {
  const calendar::Calendar cal = Cn();
  auto q = ParseScorecardQuery("", "", "2026-11", "", "", cal.zone());
  ASSERT_OK(q.status());
  EXPECT_EQ(FormatTimestamp(q->from), "2026-10-31T16:00:00.000Z");  // midnight in Shanghai
  EXPECT_EQ(FormatTimestamp(q->to), "2026-11-30T16:00:00.000Z");
  // The working day's length on cn, from the calendar itself (a Monday).
  std::int64_t workday = 0;
  for (const auto& p : cal.WorkingIntervals(*calendar::ParseDate("2026-11-02"))) workday += p.to - p.from;
  ASSERT_GT(workday, 0);

  KpiReport kpis;
  KpiRow a;  // agent 7: every desk figure on target
  a.group = "7";
  a.metrics["csat"] = Share(0.95, 20);
  a.metrics["csat_mean"] = Share(4.6, 20);
  a.metrics["frt"] = Mean(3600, 400);                                 // 1 h
  a.metrics["art"] = Mean(2.0 * static_cast<double>(workday), 380);   // 2 working days
  a.metrics["aht"] = Mean(600, 400);                                  // 10 min
  a.metrics["resolution_rate"] = Share(0.96, 462);                    // 22 a working day
  KpiRow b = a;  // agent 8: the same, but first responses in 4 h
  b.group = "8";
  b.metrics["frt"] = Mean(4 * 3600.0, 400);
  KpiRow none = a;  // unassigned tickets: nobody's card
  none.group = "(none)";
  kpis.rows = {b, a, none};

  ExtraFigures extra;
  extra["7"]["script_compliance"] = MetricValue{0.99, 300};
  extra["8"]["script_compliance"] = MetricValue{0.99, 300};
  extra["8"]["tickets_per_working_day"] = MetricValue{30, 21};  // a supplied figure wins
  auto report = ScorecardsFromKpis(DefaultScorecard(), *q, kpis, &cal, extra);
  ASSERT_OK(report.status());
  EXPECT_DOUBLE_EQ(report->working_days, 21);  // November 2026: 30 days, 9 weekend days, no holiday
  ASSERT_EQ(report->rows.size(), 2u);
  const ScorecardRow& best = report->rows[0];
  EXPECT_EQ(best.group, "7");  // best first
  EXPECT_EQ(best.tickets, 462);
  ASSERT_TRUE(best.card.total);
  // Innovation has no figures: the other three dimensions, all at 100, make the total.
  EXPECT_DOUBLE_EQ(*best.card.total, 100);
  EXPECT_EQ(best.card.level, "expert");
  const auto& efficiency = best.card.dimensions[1];
  ASSERT_EQ(efficiency.name, "efficiency");
  EXPECT_DOUBLE_EQ(*efficiency.metrics[0].value, 1.0);  // first_response_hours
  EXPECT_DOUBLE_EQ(*efficiency.metrics[1].value, 2.0);  // plan_delivery_working_days
  const auto& resources = best.card.dimensions[2];
  EXPECT_DOUBLE_EQ(*resources.metrics[0].value, 10.0);  // handling_minutes
  EXPECT_DOUBLE_EQ(*resources.metrics[1].value, 22.0);  // tickets_per_working_day = 462 / 21
  EXPECT_EQ(resources.metrics[1].samples, 462);
  EXPECT_FALSE(best.card.dimensions[3].score);  // innovation: no data, not 0

  const ScorecardRow& other = report->rows[1];
  EXPECT_EQ(other.group, "8");
  EXPECT_DOUBLE_EQ(*other.card.dimensions[2].metrics[1].value, 30.0);
  // First response 4 h against 2 h: efficiency (1/2 + 1)/2 = 75 → total (30·100 + 25·75 + 20·100)/75.
  EXPECT_NEAR(*other.card.total, (30 * 100 + 25 * 75 + 20 * 100) / 75.0, 1e-9);
  EXPECT_EQ(other.card.level, "expert");

  // Without the script-compliance figure nobody reaches basic, and the card says why.
  report = ScorecardsFromKpis(DefaultScorecard(), *q, kpis, &cal, {});
  ASSERT_OK(report.status());
  EXPECT_EQ(report->rows[0].card.level, "");
  EXPECT_THAT(report->rows[0].card.unmet_gates, ::testing::Contains(std::string("script_compliance (no data)")));
  const std::string json = ScorecardReportJson(*report);
  EXPECT_THAT(json, HasSubstr(R"("agent":"7")"));
  EXPECT_THAT(json, HasSubstr(R"("level":null)"));
  EXPECT_THAT(json, ::testing::Not(HasSubstr("NaN")));
  EXPECT_THAT(ScorecardReportTable(*report), HasSubstr("scorecards by agent, 2026-11 (21 working days)"));

  // One agent only.
  q->who = "8";
  report = ScorecardsFromKpis(DefaultScorecard(), *q, kpis, &cal, extra);
  ASSERT_EQ(report->rows.size(), 1u);
  EXPECT_EQ(report->rows[0].group, "8");
}

TEST(ScorecardStoreTest, BadParametersAndFiguresAreNamed) {
  const calendar::TimeZone utc = calendar::TimeZone::Fixed("UTC", 0);
  EXPECT_THAT(ParseScorecardQuery("desk", "", "2026-11", "", "", utc).status().message(),
              HasSubstr("by: unknown \"desk\"; valid: agent, team"));
  EXPECT_THAT(ParseScorecardQuery("", "", "", "", "", utc).status().message(), HasSubstr("period: required"));
  EXPECT_THAT(ParseScorecardQuery("", "", "2026-13", "", "", utc).status().message(),
              HasSubstr("is not a month"));
  EXPECT_THAT(ParseScorecardQuery("", "", "2026-11", "2026-11-01", "", utc).status().message(),
              HasSubstr("not both"));
  auto q = ParseScorecardQuery("team", "cards", "", "2026-11-01", "2026-11-15", utc);
  ASSERT_OK(q.status());
  EXPECT_EQ(q->period, "2026-11-01..2026-11-15");
  EXPECT_EQ(ScorecardKpiQuery(*q).by, "team");

  const auto dir = std::filesystem::temp_directory_path() / ("tp_figures_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "f.csv").string();
  {
    std::ofstream f(path);
    f << "agent,metric,value,samples\n7,script_compliance,0.97,120\n8,knowledge_articles_per_month,abc\n";
  }
  auto bad = ReadExtraFigures(path);
  EXPECT_THAT(bad.status().message(), HasSubstr(path + ":3: value \"abc\" is not a number"));
  {
    std::ofstream f(path);
    f << "agent,metric,value,samples\n7,script_compliance,0.97,120\n8,knowledge_articles_per_month,3\n";
  }
  auto good = ReadExtraFigures(path);
  ASSERT_OK(good.status());
  EXPECT_DOUBLE_EQ((*good)["7"]["script_compliance"].value, 0.97);
  EXPECT_EQ((*good)["7"]["script_compliance"].samples, 120);
  EXPECT_DOUBLE_EQ((*good)["8"]["knowledge_articles_per_month"].value, 3);
  EXPECT_EQ(ReadExtraFigures((dir / "absent.csv").string()).status().code(), StatusCode::kNotFound);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace touchpoint::insight
