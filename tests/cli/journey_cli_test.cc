// `touchpoint journey` end to end over ingested events, messages and surveys: who enters each
// stage, dwell to the next stage, drop-off, satisfaction from surveys (tagged with a touchpoint or
// counted for the current stage), the negative share of the customers' own messages, the score,
// worst first; a merged customer counted once; a configured journey ([[journeys]]); bad input named.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
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
                  const std::string& props = "{}") {
  return R"({"type":"track","userId":")" + user + R"(","event":")" + event + R"(","messageId":")" + id +
         R"(","timestamp":")" + at + R"(","properties":)" + props + "}\n";
}

const json* Stage(const json& j, const std::string& name) {
  for (const json& s : j["stages"]) {
    if (s["stage"] == name) return &s;
  }
  return nullptr;
}

TEST(JourneyCliTest, StagesDwellDropOffSatisfactionSentimentWorstFirst) {
  ::touchpoint::testing::TempDir tmp;
  const std::string data = tmp.File("data");
  {
    std::ofstream f(tmp.File("events.ndjson"));
    // alice: view → order 2 h later → a negative message → a delivery survey of 1 (CSAT).
    // bob: view → order 4 h later → a survey without a touchpoint, CSAT 5 (counts for "order").
    // carol: view only (drops off). dave: view, then — as "dave2", merged into dave by an e-mail —
    // an order 1 h later: one person.
    f << Track("alice", "view", "2026-03-02T01:00:00Z", "a1")
      << Track("alice", "order", "2026-03-02T03:00:00Z", "a2")
      << Track("alice", "Message Received", "2026-03-02T05:00:00Z", "a3",
               R"({"text":"This is terrible, the worst service, I am very angry and disappointed"})")
      << Track("alice", "Survey Answered", "2026-03-05T01:00:00Z", "a4", R"({"csat":1,"touchpoint":"delivery"})")
      << Track("bob", "view", "2026-03-03T01:00:00Z", "b1") << Track("bob", "order", "2026-03-03T05:00:00Z", "b2")
      << Track("bob", "Survey Answered", "2026-03-03T06:00:00Z", "b3", R"({"csat":5})")
      << Track("carol", "view", "2026-03-04T01:00:00Z", "c1")
      << R"({"type":"identify","userId":"dave","messageId":"d0","timestamp":"2026-03-04T00:00:00Z","traits":{"email":"dave@example.com"}})"
      << "\n"
      << Track("dave", "view", "2026-03-04T01:00:00Z", "d1")
      << R"({"type":"identify","userId":"dave2","messageId":"d2","timestamp":"2026-03-04T01:30:00Z","traits":{"email":"dave@example.com"}})"
      << "\n"
      << Track("dave2", "order", "2026-03-04T02:00:00Z", "d3");
  }
  ASSERT_EQ(Touchpoint("ingest --data " + data + " " + tmp.File("events.ndjson") + " 2>/dev/null").code, 0);

  const std::string stages = "\"browse=view;order=order;delivery=Order Delivered;service=Message Received\"";
  auto run = Touchpoint("journey --data " + data + " --name shop --stages " + stages + " --format json");
  ASSERT_EQ(run.code, 0) << run.out;
  json j = json::parse(run.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << run.out;
  EXPECT_EQ(j["journey"], "shop");
  EXPECT_EQ(j["people"], 4) << run.out;  // dave and dave2 are one person
  const json* browse = Stage(j, "browse");
  const json* order = Stage(j, "order");
  const json* delivery = Stage(j, "delivery");
  const json* service = Stage(j, "service");
  ASSERT_TRUE(browse && order && delivery && service) << run.out;
  EXPECT_EQ((*browse)["volume"], 4);
  EXPECT_DOUBLE_EQ((*browse)["drop_off"].get<double>(), 0.25);  // carol
  // Dwell browse → order: 2 h (alice), 4 h (bob), 1 h (dave): median 2 h.
  EXPECT_DOUBLE_EQ((*browse)["dwell_seconds"]["median"].get<double>(), 7200);
  EXPECT_EQ((*order)["volume"], 3);
  // bob's untagged CSAT 5 counts for his current stage, order: satisfaction 1.
  EXPECT_EQ((*order)["answers"], 1);
  EXPECT_DOUBLE_EQ((*order)["satisfaction"].get<double>(), 1.0);
  // alice's CSAT 1 is tagged delivery: satisfaction 0 there, though nobody entered the stage.
  EXPECT_EQ((*delivery)["volume"], 0);
  EXPECT_EQ((*delivery)["answers"], 1);
  EXPECT_DOUBLE_EQ((*delivery)["satisfaction"].get<double>(), 0.0);
  // alice's angry message: in the service stage its own event entered.
  EXPECT_EQ((*service)["messages"], 1);
  EXPECT_DOUBLE_EQ((*service)["negative_share"].get<double>(), 1.0);
  // Worst first: delivery and service score 0, browse and order above.
  ASSERT_GE(j["stages"].size(), 4u);
  EXPECT_DOUBLE_EQ(j["stages"][0]["score"].get<double>(), 0.0);
  EXPECT_GT((*order)["score"].get<double>(), 50.0);

  // A range that leaves out bob and later: only alice's first day.
  run = Touchpoint("journey --data " + data + " --stages " + stages +
                   " --from 2026-03-02 --to 2026-03-03 --format json");
  ASSERT_EQ(run.code, 0) << run.out;
  EXPECT_EQ(json::parse(run.out)["people"], 1);

  // A configured journey (on PostgreSQL the data directory holds only this file).
  std::filesystem::create_directories(data);
  {
    std::ofstream cfg(data + "/touchpoint.toml", std::ios::app);
    cfg << "\n[[journeys]]\nname = \"short\"\nstages = [ { name = \"look\", events = [\"view\"] },"
           " { name = \"buy\", events = [\"order\"], target_dwell_hours = 1 } ]\n";
  }
  run = Touchpoint("journey --data " + data + " --name short --format json");
  ASSERT_EQ(run.code, 0) << run.out;
  j = json::parse(run.out);
  EXPECT_EQ(j["journey"], "short");
  ASSERT_EQ(j["stages"].size(), 2u);
  auto table = Touchpoint("journey --data " + data + " --name short --format table");
  ASSERT_EQ(table.code, 0);
  EXPECT_THAT(table.out, HasSubstr("journey short (4 people; worst touchpoint first)"));
  EXPECT_THAT(table.out, HasSubstr("DROP-OFF"));

  auto bad = Touchpoint("journey --data " + data + " --name nope 2>&1");
  EXPECT_EQ(bad.code, 4);
  EXPECT_THAT(bad.out, HasSubstr("no journey named \"nope\"; known: short, purchase"));
  bad = Touchpoint("journey --data " + data + " --stages \"only=view\" 2>&1");
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.out, HasSubstr("at least two"));
  bad = Touchpoint("journey --data " + data + " --stages \"a=view;b=view\" 2>&1");
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.out, HasSubstr("\"view\" is also in stage a"));
  bad = Touchpoint("journey --data " + data + " --stages \"a=view;b=order\" --targets c=3 2>&1");
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.out, HasSubstr("targets:"));
}

}  // namespace
}  // namespace touchpoint
