#include <touchpoint/insight/staffing.h>

#include <cmath>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <touchpoint/ml/erlang.h>

#include "testing/matchers.h"

namespace touchpoint::insight {
namespace {

using ::testing::HasSubstr;
using ::touchpoint::testing::StatusIs;

StaffingRequest Request(double calls, double aht) {
  StaffingRequest r;
  r.calls_per_hour = calls;
  r.aht_seconds = aht;
  r.max_occupancy = 1;
  r.shrinkage = 0;
  return r;
}

TEST(StaffingTest, TextbookExample) {
  // 200 calls/h × 180 s = 10 Erlangs; 80 % answered in 20 s needs 14 agents.
  auto plan = PlanStaffing(Request(200, 180));
  ASSERT_OK(plan);
  EXPECT_EQ(plan->agents, 14);
  EXPECT_NEAR(plan->service_level, 0.8883, 1e-4);
  EXPECT_NEAR(plan->occupancy, 10.0 / 14.0, 1e-12);
  EXPECT_NEAR(plan->asa_seconds, ml::ErlangC(14, 10.0) * 180 / 4, 1e-9);
  EXPECT_LT(ml::ServiceLevel(13, 10.0, 180, 20), 0.8);  // minimal
}

TEST(StaffingTest, OccupancyCapAndShrinkage) {
  StaffingRequest r = Request(200, 180);
  r.max_occupancy = 0.6;  // 10 / 0.6 = 16.7 → 17 agents
  r.shrinkage = 0.3;      // 17 / 0.7 = 24.3 → 25 scheduled
  auto plan = PlanStaffing(r);
  ASSERT_OK(plan);
  EXPECT_EQ(plan->agents, 17);
  EXPECT_LE(plan->occupancy, 0.6);
  EXPECT_EQ(plan->scheduled_agents, 25);
}

TEST(StaffingTest, StableAtThousandsOfCallsPerHour) {
  for (double calls : {1000.0, 5000.0, 20000.0, 100000.0}) {
    auto plan = PlanStaffing(Request(calls, 300));
    ASSERT_OK(plan);
    double a = calls * 300 / 3600;
    EXPECT_GT(static_cast<double>(plan->agents), a);
    EXPECT_GE(plan->service_level, 0.8);
    EXPECT_TRUE(std::isfinite(plan->asa_seconds));
    // Minimal: one agent fewer misses the target.
    EXPECT_LT(ml::ServiceLevel(plan->agents - 1, a, 300, 20), 0.8) << calls;
  }
}

TEST(StaffingTest, ZeroCallsNeedNobody) {
  auto plan = PlanStaffing(Request(0, 180));
  ASSERT_OK(plan);
  EXPECT_EQ(plan->agents, 0);
  EXPECT_EQ(plan->scheduled_agents, 0);
  EXPECT_EQ(plan->service_level, 1.0);
}

TEST(StaffingTest, RejectsInvalidRequests) {
  struct Case {
    StaffingRequest r;
    std::string want;
  } cases[] = {
      {[] { auto r = Request(-1, 180); return r; }(), "calls"},
      {[] { auto r = Request(100, 0); return r; }(), "AHT"},
      {[] { auto r = Request(100, 180); r.target_level = 1.0; return r; }(), "target level"},
      {[] { auto r = Request(100, 180); r.max_occupancy = 0; return r; }(), "occupancy"},
      {[] { auto r = Request(100, 180); r.shrinkage = 1; return r; }(), "shrinkage"},
  };
  for (const auto& c : cases) {
    auto plan = PlanStaffing(c.r);
    EXPECT_THAT(plan, StatusIs(StatusCode::kInvalidArgument));
    EXPECT_THAT(plan.status().message(), HasSubstr(c.want));
  }
}

TEST(StaffingTest, JsonHasTheDocumentedFields) {
  auto plan = PlanStaffing(Request(200, 180));
  ASSERT_OK(plan);
  auto j = nlohmann::json::parse(StaffingPlanJson(*plan, "2024-01-01T09:00:00.000Z"));
  EXPECT_EQ(j["agents"], 14);
  EXPECT_EQ(j["time"], "2024-01-01T09:00:00.000Z");
  for (const char* k : {"service_level", "occupancy", "asa_seconds", "scheduled_agents"}) {
    EXPECT_TRUE(j.contains(k)) << k;
  }
}

TEST(StaffingTest, PlansEachForecastRow) {
  auto table = ml::ParseCsvTable(
      "time,forecast,lower,upper\n2024-01-01T09:00:00Z,200,150,250\n2024-01-01T10:00:00Z,-3,0,5\n",
      "f.csv");
  ASSERT_OK(table);
  auto plans = PlanStaffingForForecast(*table, Request(0, 180));
  ASSERT_OK(plans);
  ASSERT_EQ(plans->size(), 2u);
  EXPECT_EQ((*plans)[0].plan.agents, 14);
  EXPECT_EQ((*plans)[1].plan.agents, 0);
  auto bad = ml::ParseCsvTable("time,forecast\nx,abc\n", "f.csv");
  ASSERT_OK(bad);
  EXPECT_THAT(PlanStaffingForForecast(*bad, Request(0, 180)).status().message(),
              HasSubstr("f.csv:2: column 'forecast'"));
  auto missing = ml::ParseCsvTable("time,value\nx,1\n", "f.csv");
  ASSERT_OK(missing);
  EXPECT_THAT(PlanStaffingForForecast(*missing, Request(0, 180)).status().message(),
              HasSubstr("missing column 'forecast'"));
}

}  // namespace
}  // namespace touchpoint::insight
