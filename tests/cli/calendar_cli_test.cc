// `touchpoint calendar …` as an operator runs it: the issue's commands, outputs and exit codes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "cli/cli_runner.h"

namespace touchpoint {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::touchpoint::testing::Slurp;
using ::touchpoint::testing::Touchpoint;

class CalendarCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = std::filesystem::temp_directory_path() / ("tp_calendar_cli_" + std::to_string(rd()));
    std::filesystem::create_directories(dir_);
    // The data directory through the environment rather than --data: these commands open no
    // store, so the PostgreSQL run of this binary need not create a database per test.
    setenv("TOUCHPOINT_DATA", (dir_ / "data").c_str(), 1);
  }
  void TearDown() override {
    unsetenv("TOUCHPOINT_DATA");
    std::filesystem::remove_all(dir_);
  }
  std::string File(const std::string& name, const std::string& content) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << content;
    return path;
  }
  // stdout and stderr together
  testing::CmdRun Both(const std::string& args) { return Touchpoint(args + " 2>&1"); }
  std::filesystem::path dir_;
};

TEST_F(CalendarCliTest, DueMinutesAndDaysOnTheBuiltInCn) {
  auto r = Touchpoint("calendar due cn 2026-02-13T17:00:00+08:00 120");
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "2026-02-14T02:00:00Z\n");  // the make-up Saturday before the Spring Festival
  r = Touchpoint("calendar due cn 2026-03-02T09:00:00+08:00 540");
  EXPECT_EQ(r.out, "2026-03-02T10:00:00Z\n");  // ends at closing time: that closing time
  r = Touchpoint("calendar due cn 2026-03-02T09:00:00+08:00 600 --pause 2026-03-02T17:00:00+08:00/2026-03-03T10:00:00+08:00");
  EXPECT_EQ(r.out, "2026-03-03T04:00:00Z\n");
  r = Touchpoint("calendar minutes cn 2026-03-02T09:00:00+08:00 2026-03-02T10:30:30+08:00");
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "90.5\n");
  r = Touchpoint("calendar minutes cn 2026-03-02T09:00:00Z 2026-03-02T09:00:01Z");
  EXPECT_EQ(r.out, "0.0167\n");
  r = Touchpoint("calendar minutes cn 2026-02-13T01:00:00Z 2026-02-24T10:00:00Z");
  EXPECT_EQ(r.out, "1620\n");  // Fri, the make-up Sat and Tue 02-24: three days of 540
  r = Touchpoint("calendar days cn 2026-09-30 3");
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "2026-10-10\n");
  r = Touchpoint("calendar days cn 2026-09-30 0");
  EXPECT_EQ(r.out, "2026-09-30\n");
}

TEST_F(CalendarCliTest, YearsWithoutAListAreNotedOnStderr) {
  auto r = Touchpoint("calendar due cn 2026-12-31T17:30:00+08:00 60 2>" + (dir_ / "err").string());
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "2027-01-01T01:30:00Z\n");
  EXPECT_THAT(Slurp((dir_ / "err").string()), HasSubstr("no holiday list for 2027"));
  r = Both("calendar due cn 2026-03-02T09:00:00+08:00 60");
  EXPECT_THAT(r.out, Not(HasSubstr("holiday list")));
}

TEST_F(CalendarCliTest, BadInputExitsTwoWithAClearMessage) {
  struct Case {
    std::string args;
    std::string message;
  } cases[] = {
      {"calendar due cn 2026-03-02T09:00:00 60", "START"},
      {"calendar due cn yesterday 60", "START"},
      {"calendar due cn 2026-03-02T09:00:00Z -5", ""},
      {"calendar due cn 2026-03-02T09:00:00Z ninety", "minutes"},
      {"calendar due nowhere 2026-03-02T09:00:00Z 60", "unknown calendar \"nowhere\""},
      {"calendar minutes cn 2026-03-03T09:00:00Z 2026-03-02T09:00:00Z", "after"},
      {"calendar due cn 2026-03-02T09:00:00Z 60 --pause 2026-03-02T10:00:00Z", "FROM/TO"},
      {"calendar days cn 2026-02-30 3", "DATE: malformed date"},
      {"calendar days cn 2026-03-02 three", "N:"},
      {"calendar due " + File("overlap.json", R"({"zone":"Asia/Shanghai","week":{"mon":["09:00-12:00","11:00-13:00"]}})") +
           " 2026-03-02T09:00:00Z 60",
       "week.mon[1]"},
      {"calendar due " + File("zone.toml", "zone = \"Mars/Base\"\n[week]\nmon = [\"09:00-18:00\"]\n") +
           " 2026-03-02T09:00:00Z 60",
       "zone: unknown time zone \"Mars/Base\""},
      {"calendar show " + File("date.json", R"({"zone":"UTC","week":{"mon":["09:00-18:00"]},"holidays":["2026-1-1"]})"),
       "holidays[0]: malformed date"},
      {"calendar due missing.json 2026-03-02T09:00:00Z 60", "does not exist"},
  };
  for (const Case& c : cases) {
    auto r = Both(c.args);
    EXPECT_EQ(r.code, 2) << c.args << "\n" << r.out;
    EXPECT_THAT(r.out, HasSubstr(c.message)) << c.args;
  }
}

TEST_F(CalendarCliTest, ImportsCalendarsAndHolidayCnYears) {
  const std::string toml = File("support-sh.toml", R"(zone = "Asia/Shanghai"
[week]
mon = ["09:00-12:00", "13:30-18:00"]
tue = ["09:00-12:00", "13:30-18:00"]
wed = ["09:00-12:00", "13:30-18:00"]
thu = ["09:00-12:00", "13:30-18:00"]
fri = ["09:00-12:00", "13:30-18:00"]
[[holidays]]
from = "2026-02-16"
to = "2026-02-20"
name = "春节"
)");
  auto r = Touchpoint("calendar import " + toml);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("imported calendar support-sh"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "data" / "calendars" / "support-sh.json"));
  r = Touchpoint("calendar due support-sh 2026-03-02T11:00:00+08:00 90");
  EXPECT_EQ(r.out, "2026-03-02T06:00:00Z\n");  // lunch 12:00–13:30 skipped
  r = Touchpoint("calendar list");
  EXPECT_THAT(r.out, HasSubstr("cn"));
  EXPECT_THAT(r.out, HasSubstr("support-sh"));
  r = Touchpoint("calendar show support-sh");
  EXPECT_THAT(r.out, HasSubstr(R"({"from":"2026-02-16","to":"2026-02-20","name":"春节"})"));

  // A holiday-cn file for 2027 lays its list over cn; the note about 2027 goes away.
  const std::string year = File("2027.json", R"({"year":2027,"papers":[],"days":[
      {"name":"元旦","date":"2027-01-01","isOffDay":true}]})");
  r = Touchpoint("calendar due " + year + " 2026-12-31T17:30:00+08:00 60");  // used directly as CALENDAR
  EXPECT_EQ(r.out, "2027-01-04T01:30:00Z\n");
  r = Touchpoint("calendar import " + year);
  ASSERT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("holiday list (1 days off, 0 make-up days) into calendar cn"));
  r = Both("calendar due cn 2026-12-31T17:30:00+08:00 60");
  EXPECT_EQ(r.out, "2027-01-04T01:30:00Z\n");
  r = Touchpoint("calendar list");
  EXPECT_THAT(r.out, HasSubstr("replaces the built-in"));
  // A bad file is not imported.
  r = Both("calendar import " + File("bad.json", R"({"zone":"Nowhere/Land","week":{"mon":["09:00-18:00"]}})"));
  EXPECT_EQ(r.code, 2);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "data" / "calendars" / "bad.json"));
  r = Both("calendar import " + (dir_ / "absent.json").string());
  EXPECT_EQ(r.code, 1);
  // A data directory that cannot be written (here: a file) is exit 1, as for other commands.
  const std::string not_a_dir = File("not-a-dir", "x");
  r = Both("calendar import " + toml + " --data '" + not_a_dir + "'");
  EXPECT_EQ(r.code, 1) << r.out;
}

// Every command that takes a calendar finds the imported ones: `desk steps --calendar` as
// `calendar due` does. (desk steps opens the data directory's store: SQLite here, as no --data
// is given, also in the PostgreSQL run.)
TEST_F(CalendarCliTest, DeskStepsCountsOnAnImportedCalendar) {
  const std::string toml = File("support-sh.toml", R"(zone = "Asia/Shanghai"
[week]
mon = ["09:00-18:00"]
)");
  ASSERT_EQ(Touchpoint("calendar import " + toml).code, 0);
  auto r = Both("desk steps --calendar support-sh");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("0 tickets")) << r.out;
  r = Both("desk steps --calendar no-such-calendar");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("unknown calendar \"no-such-calendar\"")) << r.out;
}

}  // namespace
}  // namespace touchpoint
