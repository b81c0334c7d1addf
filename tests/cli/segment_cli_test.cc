// End-to-end tests of `touchpoint segment define|list|count|export` over an ingested data
// directory (the real binary, as a user runs it).
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"
#include "pipeline/test_dir.h"

namespace touchpoint {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::touchpoint::testing::CmdRun;
using ::touchpoint::testing::Touchpoint;

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

class SegmentCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string events = tmp_.File("events.ndjson");
    std::ofstream(events)
        << R"({"type":"identify","userId":"u1","messageId":"m1","timestamp":"2024-06-01T09:00:00Z","traits":{"name":"Ann Lee","city":"Shanghai"}}
{"type":"track","event":"Order Completed","userId":"u1","messageId":"m2","timestamp":"2024-06-01T10:00:00Z","properties":{"order_id":"o1","total":300},"context":{"channel":"app"}}
{"type":"track","event":"Order Completed","userId":"u2","messageId":"m3","timestamp":"2024-06-02T10:00:00Z","properties":{"order_id":"o2","total":40},"context":{"channel":"web"}}
{"type":"track","event":"Order Completed","userId":"u3","messageId":"m4","timestamp":"2024-06-03T10:00:00Z","properties":{"order_id":"o3","total":900},"context":{"channel":"app"}}
)";
    ASSERT_EQ(Touchpoint("ingest --data " + Data() + " " + events + " >/dev/null 2>&1").code, 0);
  }
  std::string Data() const { return tmp_.File("data"); }

  ::touchpoint::testing::TempDir tmp_;
};

TEST_F(SegmentCliTest, DefineListCountAndExport) {
  CmdRun r = Touchpoint(
      "segment define big 'monetary >= 100 and traits.city is not null or monetary > 500' "
      "--description 'big spenders' --data " +
      Data());
  ASSERT_EQ(r.code, 0) << r.out;
  json defined = json::parse(r.out);
  EXPECT_EQ(defined["name"], "big");
  EXPECT_EQ(defined["count"], 2);
  EXPECT_EQ(defined["created"], true);
  EXPECT_EQ(defined["description"], "big spenders");

  r = Touchpoint("segment define app 'preferred_channel = \"app\"' --data " + Data());
  ASSERT_EQ(r.code, 0) << r.out;

  r = Touchpoint("segment list --data " + Data());
  ASSERT_EQ(r.code, 0);
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(json::parse(lines[0])["name"], "app");
  EXPECT_EQ(json::parse(lines[1])["name"], "big");
  EXPECT_FALSE(json::parse(lines[1]).contains("count")) << "without --counts the profiles are not read";

  r = Touchpoint("segment list --counts --data " + Data());
  ASSERT_EQ(r.code, 0);
  lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(json::parse(lines[0])["count"], 2);

  r = Touchpoint("segment count big --data " + Data());
  ASSERT_EQ(r.code, 0);
  EXPECT_EQ(json::parse(r.out)["count"], 2);
  r = Touchpoint("segment count --rule 'monetary < 100' --data " + Data());
  ASSERT_EQ(r.code, 0);
  EXPECT_EQ(json::parse(r.out)["count"], 1);
  EXPECT_EQ(json::parse(r.out)["rule"], "monetary < 100");

  r = Touchpoint("segment export big --data " + Data() + " 2>/dev/null");
  ASSERT_EQ(r.code, 0);
  lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[0], "customer_id,monetary,traits.city");
  EXPECT_THAT(lines[1], HasSubstr(",300,Shanghai"));
  EXPECT_THAT(lines[2], HasSubstr(",900,"));

  const std::string out = tmp_.File("big.ndjson");
  r = Touchpoint("segment export big --format ndjson --out " + out + " --data " + Data() + " 2>/dev/null");
  ASSERT_EQ(r.code, 0);
  std::ifstream in(out);
  std::stringstream content;
  content << in.rdbuf();
  lines = Lines(content.str());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(json::parse(lines[0])["traits.city"], "Shanghai");
  EXPECT_EQ(json::parse(lines[0])["features"]["orders_total"], 1);
}

TEST_F(SegmentCliTest, ErrorsHaveTheirExitCodes) {
  CmdRun r = Touchpoint("segment define bad 'monetary_365d >=' --data " + Data() + " 2>&1");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.out, HasSubstr("column 17: "));
  EXPECT_EQ(Touchpoint("segment define 'Bad Name' 'events > 1' --data " + Data() + " 2>/dev/null").code, 2);
  EXPECT_EQ(Touchpoint("segment count nope --data " + Data() + " 2>/dev/null").code, 4);
  EXPECT_EQ(Touchpoint("segment export nope --data " + Data() + " 2>/dev/null").code, 4);
  EXPECT_EQ(Touchpoint("segment count --data " + Data() + " 2>/dev/null").code, 2) << "a name or --rule";
  EXPECT_EQ(Touchpoint("segment export big --format xml --data " + Data() + " 2>/dev/null").code, 2);
  r = Touchpoint("segment list --data " + Data());
  EXPECT_EQ(r.code, 0);
  EXPECT_TRUE(r.out.empty()) << "nothing was saved: " << r.out;
}

TEST_F(SegmentCliTest, TheAnalyticsSubcommandsStayUnderSegment) {
  CmdRun r = Touchpoint("segment --help");
  EXPECT_EQ(r.code, 0);
  for (const char* sub : {"rfm", "ltv", "kmeans", "define", "list", "count", "export"}) {
    EXPECT_THAT(r.out, HasSubstr(sub)) << sub;
  }
}

}  // namespace
}  // namespace touchpoint
