// `touchpoint demo` builds a living service desk, and the README tour's desk lines run as written
// on it: agents, thousands of tickets, breaches, complaints with their tasks, repeat inquiries,
// and the refund approval as the slowest step.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli/cli_runner.h"
#include "pipeline/test_dir.h"

namespace touchpoint {
namespace {

using ::testing::HasSubstr;
using ::touchpoint::testing::Touchpoint;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The first whitespace-separated field of a line.
std::string Field(const std::string& line, size_t n) {
  std::istringstream in(line);
  std::string f;
  for (size_t i = 0; i <= n && (in >> f); ++i) {
  }
  return f;
}

testing::CmdRun RunIn(const std::string& data, const std::string& args) {
  return Touchpoint(args + " --data " + data + " 2>&1");
}

// One test, one demo (it takes a while: a year of desk history), every check on it: each ctest
// entry is its own process, so separate tests would build the demo once each.
TEST(DemoDeskTest, TheDemoBuildsALivingDeskAndTheTourRunsOnIt) {
  // The demo is the embedded default's (`make demo`); on PostgreSQL the same year of history takes
  // 2–3× as long, and the desk's PostgreSQL side is covered by the contract suite and the server's
  // desk tests there.
  if (testing::TestOnPostgres()) GTEST_SKIP() << "the demo runs on the embedded default";
  testing::TempDir dir;
  const std::string data = dir.File("data");
  auto run = [&](const std::string& args) { return RunIn(data, args); };

  const testing::CmdRun demo = Touchpoint("demo --data " + data + " --customers 300 --no-serve 2>&1");
  ASSERT_EQ(demo.code, 0) << demo.out;
  EXPECT_THAT(demo.out, HasSubstr("demo: the service desk: "));
  EXPECT_THAT(demo.out, HasSubstr("--breaching"));
  EXPECT_THAT(demo.out, HasSubstr("touchpoint desk steps --data"));

  {
    SCOPED_TRACE("at least 25 agents in teams, with skills and states");
    auto r = run("desk agents");
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_GE(Lines(r.out).size(), 26u) << r.out;  // a header and at least 25 agents
    EXPECT_THAT(r.out, HasSubstr("refund"));
    EXPECT_THAT(r.out, HasSubstr("credit_card"));
    EXPECT_THAT(r.out, HasSubstr("online"));
    EXPECT_THAT(r.out, HasSubstr("offline"));
  }
  {
    SCOPED_TRACE("at least 2,000 tickets; complaints with their two tasks");
    auto r = run("ticket list --limit 100000");
    ASSERT_EQ(r.code, 0) << r.out;
    const auto lines = Lines(r.out);
    EXPECT_GE(lines.size(), 2001u);  // a header and at least 2,000 tickets
    std::string complaint;
    size_t complaints = 0;
    std::set<std::string> statuses;
    for (size_t i = 1; i < lines.size(); ++i) {
      statuses.insert(Field(lines[i], 1));
      if (Field(lines[i], 3) == "complaint") {
        ++complaints;
        if (complaint.empty()) complaint = Field(lines[i], 0);
      }
    }
    EXPECT_GE(complaints, 20u);
    // Closed, solved and still open work: a desk that lives, not a finished archive.
    EXPECT_GE(statuses.size(), 4u);
    EXPECT_TRUE(statuses.count("closed"));
    ASSERT_FALSE(complaint.empty());
    auto show = run("ticket show --history " + complaint);
    ASSERT_EQ(show.code, 0) << show.out;
    // The complaint loop's two tasks, spawned by the SLA service on the ticket's own history.
    EXPECT_THAT(show.out, HasSubstr("complaint_loop"));
    EXPECT_THAT(show.out, HasSubstr("followup due"));
    EXPECT_THAT(show.out, HasSubstr("feedback due"));
  }
  {
    SCOPED_TRACE("some tickets breach their SLA");
    auto r = run("ticket list --breaching");
    ASSERT_EQ(r.code, 0) << r.out;
    const auto lines = Lines(r.out);
    ASSERT_GE(lines.size(), 2u) << r.out;  // a header and at least one breaching ticket
    auto show = run("ticket show --history " + Field(lines[1], 0));
    ASSERT_EQ(show.code, 0) << show.out;
    EXPECT_THAT(show.out, HasSubstr(" breach"));  // "first_response breach", fired by the timer
    EXPECT_THAT(show.out, HasSubstr("sla:"));
  }
  {
    SCOPED_TRACE("repeat inquiries");
    auto r = run("desk repeats");
    ASSERT_EQ(r.code, 0) << r.out;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(r.out, m, std::regex(R"((\d+) contacts, (\d+) repeats)"))) << r.out;
    EXPECT_GE(std::stoll(m[2].str()), 50) << r.out;
  }
  {
    SCOPED_TRACE("the refund approval is the slowest step");
    auto r = run("desk steps");
    ASSERT_EQ(r.code, 0) << r.out;
    std::string first_status, first_queue;
    for (const std::string& line : Lines(r.out)) {
      if (Field(line, 0) == "status" && first_status.empty()) first_status = Field(line, 1);
      if (Field(line, 0) == "queue" && first_queue.empty()) first_queue = Field(line, 1);
    }
    // Slowest first (by median): the pause for finance's approval, in its own queue.
    EXPECT_EQ(first_status, "pending_third_party") << r.out;
    EXPECT_EQ(first_queue, "refund_approval") << r.out;
  }
  {
    SCOPED_TRACE("the routing of the ticket the demo names explains itself");
    std::smatch m;
    ASSERT_TRUE(std::regex_search(demo.out, m, std::regex(R"(desk routing --data \S+ (TP-\d+))"))) << demo.out;
    auto r = run("desk routing " + m[1].str());
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_THAT(r.out, HasSubstr("chosen"));
    // A rule above least_loaded chose: the demo names such a ticket.
    EXPECT_TRUE(r.out.find("by dedicated_advisor") != std::string::npos ||
                r.out.find("by continuity") != std::string::npos ||
                r.out.find("by senior_for_vulnerable") != std::string::npos)
        << r.out;
    EXPECT_THAT(r.out, HasSubstr("no skill"));
  }
  {
    SCOPED_TRACE("a second run keeps the desk");
    auto before = run("ticket list --limit 3");
    auto again = Touchpoint("demo --data " + data + " --customers 300 --no-serve 2>&1");
    ASSERT_EQ(again.code, 0) << again.out;
    EXPECT_THAT(again.out, HasSubstr("the service desk has tickets already"));
    EXPECT_EQ(run("ticket list --limit 3").out, before.out);
  }
}

}  // namespace
}  // namespace touchpoint
