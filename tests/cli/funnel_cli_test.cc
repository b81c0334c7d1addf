// `touchpoint funnel` end to end over ingested events: who reaches each step within the window,
// conversions and drop-offs, the breakdown by a property of the first step, strict mode broken by
// an event in between, and bad parameters named (exit 2).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"
#include "pipeline/test_dir.h"

namespace touchpoint {
namespace {

using ::testing::HasSubstr;
using ::touchpoint::testing::Touchpoint;
using json = nlohmann::json;

std::string Track(const std::string& user, const std::string& event, const std::string& at, const std::string& id,
                  const std::string& source = "app") {
  return R"({"type":"track","userId":")" + user + R"(","event":")" + event + R"(","messageId":")" + id +
         R"(","timestamp":")" + at + R"(","properties":{"source":")" + source + "\"}}\n";
}

TEST(FunnelCliTest, StepsConversionsBreakdownAndStrictMode) {
  ::touchpoint::testing::TempDir tmp;
  const std::string data = tmp.File("data");
  {
    std::ofstream f(tmp.File("events.ndjson"));
    // alice: view → cart → (search) → order within a day; bob: view → cart; carol: view, then
    // cart 20 days later (outside the 14-day window); dave (web): view → order, no cart.
    f << Track("alice", "view", "2026-03-02T01:00:00Z", "a1") << Track("alice", "cart", "2026-03-02T01:10:00Z", "a2")
      << Track("alice", "search", "2026-03-02T01:20:00Z", "a3") << Track("alice", "order", "2026-03-02T02:10:00Z", "a4")
      << Track("bob", "view", "2026-03-03T01:00:00Z", "b1") << Track("bob", "cart", "2026-03-03T03:00:00Z", "b2")
      << Track("carol", "view", "2026-03-01T01:00:00Z", "c1") << Track("carol", "cart", "2026-03-21T01:00:00Z", "c2")
      << Track("dave", "view", "2026-03-04T01:00:00Z", "d1", "web") << Track("dave", "order", "2026-03-04T02:00:00Z", "d2", "web");
  }
  ASSERT_EQ(Touchpoint("ingest --data " + data + " " + tmp.File("events.ndjson") + " 2>/dev/null").code, 0);

  auto run = Touchpoint("funnel --data " + data + " --steps view,cart,order --format json");
  ASSERT_EQ(run.code, 0) << run.out;
  json j = json::parse(run.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << run.out;
  const json& steps = j["groups"][0]["steps"];
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0]["count"], 4);  // everyone viewed
  EXPECT_EQ(steps[1]["count"], 2);  // alice and bob; carol too late, dave never
  EXPECT_EQ(steps[2]["count"], 1);  // alice
  EXPECT_EQ(steps[1]["drop_off"], 2);
  EXPECT_DOUBLE_EQ(steps[2]["conversion_from_previous"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(steps[2]["conversion_from_first"].get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(j["groups"][0]["seconds_to_convert"]["median"].get<double>(), 4200);  // 01:00 → 02:10

  run = Touchpoint("funnel --data " + data + " --steps view,order --by source --format json");
  ASSERT_EQ(run.code, 0) << run.out;
  j = json::parse(run.out);
  ASSERT_EQ(j["groups"].size(), 3u) << run.out;  // all, app, web
  for (const json& g : j["groups"]) {
    if (g["breakdown"] == "web") {
      EXPECT_EQ(g["steps"][1]["count"], 1);
    }
    if (g["breakdown"] == "app") {
      EXPECT_EQ(g["steps"][0]["count"], 3);
    }
  }

  // Strict: alice's search between cart and order breaks her sequence; the wider window lets
  // carol's late cart count in ordered mode.
  run = Touchpoint("funnel --data " + data + " --steps cart,order --mode strict --format json");
  ASSERT_EQ(run.code, 0) << run.out;
  EXPECT_EQ(json::parse(run.out)["groups"][0]["steps"][1]["count"], 0);
  run = Touchpoint("funnel --data " + data + " --steps view,cart --window 30 --format json");
  EXPECT_EQ(json::parse(run.out)["groups"][0]["steps"][1]["count"], 3);

  auto table = Touchpoint("funnel --data " + data + " --steps view,cart,order --format table");
  ASSERT_EQ(table.code, 0);
  EXPECT_THAT(table.out, HasSubstr("funnel (ordered, window 14 days)"));
  EXPECT_THAT(table.out, HasSubstr("50.0%"));

  auto bad = Touchpoint("funnel --data " + data + " --steps view 2>&1");
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.out, HasSubstr("steps: name at least two event names"));
  bad = Touchpoint("funnel --data " + data + " --steps view,cart --mode loose 2>&1");
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.out, HasSubstr("valid: ordered, strict, any"));
  bad = Touchpoint("funnel --data " + data + " --steps view,cart --window -3 2>&1");
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.out, HasSubstr("window:"));
}

}  // namespace
}  // namespace touchpoint
