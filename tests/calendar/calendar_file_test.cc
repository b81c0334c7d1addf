#include <touchpoint/calendar/calendar_file.h>

#include <string>

#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace touchpoint::calendar {
namespace {

using ::touchpoint::testing::StatusIs;

Date D(const char* text) { return ParseDate(text).value(); }
UnixSeconds T(const char* iso) { return ParseInstant(iso).value(); }

constexpr const char* kJson = R"({
  "name": "support-sh",
  "zone": "Asia/Shanghai",
  "week": {"mon": ["09:00-12:00", "13:30-18:00"], "tue": ["09:00-12:00", "13:30-18:00"],
           "wed": ["09:00-12:00", "13:30-18:00"], "thu": ["09:00-12:00", "13:30-18:00"],
           "fri": ["09:00-12:00", "13:30-17:00"], "sat": [], "sun": []},
  "holidays": [{"date": "2026-01-01", "name": "元旦"}, {"from": "2026-02-15", "to": "2026-02-23", "name": "春节"},
               "2026-10-01"],
  "makeup_days": [{"date": "2026-02-14", "name": "春节"}, {"date": "2026-02-28", "hours": ["10:00-15:00"]}]
})";

constexpr const char* kToml = R"(
name = "support-sh"
zone = "Asia/Shanghai"

[week]
mon = ["09:00-12:00", "13:30-18:00"]
tue = ["09:00-12:00", "13:30-18:00"]
wed = ["09:00-12:00", "13:30-18:00"]
thu = ["09:00-12:00", "13:30-18:00"]
fri = ["09:00-12:00", "13:30-17:00"]

[[holidays]]
date = "2026-01-01"
name = "元旦"

[[holidays]]
from = 2026-02-15
to = 2026-02-23
name = "春节"

[[holidays]]
date = "2026-10-01"

[[makeup_days]]
date = "2026-02-14"
name = "春节"

[[makeup_days]]
date = "2026-02-28"
hours = ["10:00-15:00"]
)";

TEST(CalendarFileTest, JsonAndTomlSayTheSame) {
  auto json = ParseCalendarDocument(kJson, FileFormat::kJson, "x");
  ASSERT_OK(json);
  auto toml = ParseCalendarDocument(kToml, FileFormat::kToml, "x");
  ASSERT_OK(toml);
  ASSERT_TRUE(json->calendar && toml->calendar);
  EXPECT_EQ(CalendarToJson(*json->calendar), CalendarToJson(*toml->calendar));
  const CalendarSpec& spec = *json->calendar;
  EXPECT_EQ(spec.name, "support-sh");
  EXPECT_EQ(spec.holidays.size(), 11u);
  EXPECT_EQ(spec.list_years, std::vector<int>{2026});
  ASSERT_EQ(spec.week[0].size(), 2u);
  EXPECT_EQ(spec.week[4][1], (WorkInterval{13 * 3600 + 1800, 17 * 3600}));

  auto cal = Calendar::Build(*json->calendar);
  ASSERT_OK(cal);
  // The make-up Saturday 02-28 works 10:00–15:00 (its own hours).
  const auto hours = cal->WorkingIntervals(D("2026-02-28"));
  ASSERT_EQ(hours.size(), 1u);
  EXPECT_EQ(hours[0].from, T("2026-02-28T10:00:00+08:00"));
  EXPECT_EQ(hours[0].to, T("2026-02-28T15:00:00+08:00"));
  // 02-14 uses the weekday hours (Monday's: two intervals).
  EXPECT_EQ(cal->WorkingIntervals(D("2026-02-14")).size(), 2u);
}

TEST(CalendarFileTest, CanonicalJsonRoundTrips) {
  const CalendarSpec cn = *FindBuiltinCalendar("cn");
  const std::string json = CalendarToJson(cn);
  EXPECT_NE(json.find(R"({"from":"2026-02-15","to":"2026-02-23","name":"春节"})"), std::string::npos) << json;
  auto back = ParseCalendarDocument(json, FileFormat::kJson, "other");
  ASSERT_OK(back);
  ASSERT_TRUE(back->calendar);
  EXPECT_EQ(CalendarToJson(*back->calendar), json);
  EXPECT_EQ(back->calendar->list_years, (std::vector<int>{2024, 2025, 2026}));
}

TEST(CalendarFileTest, ErrorsNameTheField) {
  struct Case {
    const char* text;
    FileFormat format;
    const char* field;
  } cases[] = {
      {R"({"zone":"Asia/Shanghai","week":{"mon":["09:00-12:00","11:00-13:00"]}})", FileFormat::kJson,
       "week.mon[1]: 11:00-13:00 overlaps 09:00-12:00"},
      {R"({"zone":"Asia/Shanghai","week":{"mon":["9-18"]}})", FileFormat::kJson, "week.mon[0]"},
      {R"({"zone":"Asia/Shanghai","week":{"mon":["18:00-09:00"]}})", FileFormat::kJson, "week.mon[0]"},
      {R"({"zone":"Asia/Shanghai","week":{"monday":["09:00-18:00"]}})", FileFormat::kJson, "week.monday"},
      {R"({"zone":"Asia/Shanghai","week":{}})", FileFormat::kJson, "week: no working hours"},
      {R"({"week":{"mon":["09:00-18:00"]}})", FileFormat::kJson, "zone: missing"},
      {R"({"zone":"Asia/Shanghai","week":{"mon":["09:00-18:00"]},"holidays":[{"date":"2026-02-30"}]})",
       FileFormat::kJson, "holidays[0].date: malformed date"},
      {R"({"zone":"Asia/Shanghai","week":{"mon":["09:00-18:00"]},"holidays":["2026-02-14"],"makeup_days":["2026-02-14"]})",
       FileFormat::kJson, "makeup_days[0].date"},
      {R"({"zone":"Asia/Shanghai","week":{"mon":["09:00-18:00"]},"makeup_days":[{"date":"2026-02-14","hours":["09:00-13:00","12:00-14:00"]}]})",
       FileFormat::kJson, "makeup_days[0].hours[1]"},
      {R"({"zone":"Asia/Shanghai","week":{"mon":["09:00-18:00"]},"holidayz":[]})", FileFormat::kJson, "holidayz"},
      {R"({"year":2026,"days":[{"name":"a","date":"2026-01-01","isOffDay":true},{"name":"b","date":"2026/01/02","isOffDay":true}]})",
       FileFormat::kJson, "days[1].date: malformed date"},
      {R"({"year":2026,"days":[{"name":"a","date":"2026-01-01","isOffDay":"yes"}]})", FileFormat::kJson,
       "days[0].isOffDay"},
      {"zone = \"Asia/Shanghai\"\n[week]\nmon = [\"09:00-12:00\", \"10:00-11:00\"]\n", FileFormat::kToml, "week.mon[1]"},
      {"zone = \"Asia/Shanghai\"\n[week\n", FileFormat::kToml, "TOML line 2"},
      {"{not json", FileFormat::kJson, "JSON"},
  };
  for (const Case& c : cases) {
    auto r = ParseCalendarDocument(c.text, c.format, "x");
    ASSERT_THAT(r, StatusIs(StatusCode::kInvalidArgument)) << c.text;
    EXPECT_NE(r.status().message().find(c.field), std::string::npos) << r.status().message();
  }
  // The zone is checked when the calendar is built.
  auto doc = ParseCalendarDocument(R"({"zone":"Mars/Olympus","week":{"mon":["09:00-18:00"]}})", FileFormat::kJson, "x");
  ASSERT_OK(doc);
  auto cal = Calendar::Build(*doc->calendar);
  ASSERT_THAT(cal, StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(cal.status().message().rfind("zone: unknown time zone \"Mars/Olympus\"", 0), 0u) << cal.status().message();
}

TEST(HolidayCnTest, ReplacesTheBuiltInListForItsYear) {
  // A (shortened) 2026 list: only New Year and one make-up Sunday.
  auto doc = ParseCalendarDocument(R"({"$schema":"x","year":2026,"papers":[],"days":[
      {"name":"元旦","date":"2026-01-01","isOffDay":true},
      {"name":"元旦","date":"2026-01-02","isOffDay":true},
      {"name":"元旦","date":"2026-01-04","isOffDay":false}]})",
                                   FileFormat::kJson, "x");
  ASSERT_OK(doc);
  ASSERT_TRUE(doc->holiday_list);
  CalendarSpec cn = *FindBuiltinCalendar("cn");
  ApplyHolidayList(*doc->holiday_list, &cn);
  const Calendar c = Calendar::Build(cn).value();
  EXPECT_FALSE(c.IsWorkingDay(D("2026-01-02")));
  EXPECT_TRUE(c.IsWorkingDay(D("2026-01-04")));
  EXPECT_TRUE(c.IsWorkingDay(D("2026-02-16")));   // no longer a Spring Festival holiday
  EXPECT_FALSE(c.IsWorkingDay(D("2026-02-14")));  // no longer a make-up day: a plain Saturday
  EXPECT_FALSE(c.IsWorkingDay(D("2025-10-08")));  // other years keep the built-in list
  EXPECT_TRUE(c.HasHolidayList(2026));
}

TEST(HolidayCnTest, AddsAYearAndAnEmptyPlaceholderIsNoList) {
  CalendarSpec cn = *FindBuiltinCalendar("cn");
  auto doc = ParseCalendarDocument(R"({"year":2027,"days":[{"name":"元旦","date":"2027-01-01","isOffDay":true}]})",
                                   FileFormat::kJson, "x");
  ASSERT_OK(doc);
  ApplyHolidayList(*doc->holiday_list, &cn);
  EXPECT_EQ(cn.list_years, (std::vector<int>{2024, 2025, 2026, 2027}));
  EXPECT_FALSE(Calendar::Build(cn).value().IsWorkingDay(D("2027-01-01")));
  auto empty = ParseCalendarDocument(R"({"year":2027,"days":[]})", FileFormat::kJson, "x");
  ASSERT_OK(empty);
  ApplyHolidayList(*empty->holiday_list, &cn);
  EXPECT_EQ(cn.list_years, (std::vector<int>{2024, 2025, 2026}));
  EXPECT_TRUE(Calendar::Build(cn).value().IsWorkingDay(D("2027-01-01")));
}

TEST(HolidayCnTest, TheBuiltInCnEqualsTheStateCouncilListsInHolidayCnForm) {
  // The three years as holiday-cn files would carry them, laid over an empty Mon–Fri calendar.
  CalendarSpec plain = *FindBuiltinCalendar("cn");
  plain.holidays.clear();
  plain.makeup_days.clear();
  plain.list_years.clear();
  const CalendarSpec cn = *FindBuiltinCalendar("cn");
  for (int year : {2024, 2025, 2026}) {
    HolidayList list{year, {}, {}};
    for (const Holiday& h : cn.holidays) {
      if (YearOf(h.date) == year) list.holidays.push_back(h);
    }
    for (const MakeupDay& m : cn.makeup_days) {
      if (YearOf(m.date) == year) list.makeup_days.push_back(m);
    }
    ApplyHolidayList(list, &plain);
  }
  EXPECT_EQ(CalendarToJson(plain), CalendarToJson(cn));
}

}  // namespace
}  // namespace touchpoint::calendar
