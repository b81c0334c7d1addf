#include <touchpoint/calendar/calendar.h>

#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <touchpoint/calendar/calendar_file.h>

#include "testing/matchers.h"

namespace touchpoint::calendar {
namespace {

using ::touchpoint::testing::StatusIs;

UnixSeconds T(const char* iso) { return ParseInstant(iso).value(); }
Date D(const char* text) { return ParseDate(text).value(); }

const Calendar& Cn() {
  static const Calendar* cn = new Calendar(Calendar::Build(*FindBuiltinCalendar("cn")).value());
  return *cn;
}

CalendarSpec Weekdays(const char* zone, std::vector<WorkInterval> hours) {
  CalendarSpec spec;
  spec.name = "test";
  spec.zone = zone;
  for (size_t d = 0; d < 5; ++d) spec.week[d] = hours;
  return spec;
}

constexpr int H(int h, int m = 0) { return h * 3600 + m * 60; }

Calendar Build(CalendarSpec spec) {
  auto c = Calendar::Build(std::move(spec), BuildOptions{2020, 2030});
  EXPECT_OK(c);
  return std::move(c).value();
}

std::string Due(const Calendar& c, const char* start, const char* minutes, std::vector<Pause> pauses = {}) {
  auto r = c.Due(T(start), ParseMinutes(minutes).value(), pauses);
  if (!r.ok()) return "error: " + r.status().message();
  return FormatInstant(*r);
}

std::string Minutes(const Calendar& c, const char* from, const char* to, std::vector<Pause> pauses = {}) {
  auto r = c.BusinessSeconds(T(from), T(to), pauses);
  if (!r.ok()) return "error: " + r.status().message();
  return FormatMinutes(*r);
}

// ---- formatting and parsing ----

TEST(CalendarFormatTest, MinutesHaveAtMostFourDecimalsAndNoTrailingZeros) {
  EXPECT_EQ(FormatMinutes(5400), "90");
  EXPECT_EQ(FormatMinutes(5430), "90.5");
  EXPECT_EQ(FormatMinutes(1), "0.0167");
  EXPECT_EQ(FormatMinutes(2), "0.0333");
  EXPECT_EQ(FormatMinutes(15), "0.25");
  EXPECT_EQ(FormatMinutes(0), "0");
  EXPECT_EQ(FormatMinutes(59), "0.9833");
}

TEST(CalendarFormatTest, DecimalMinutesBecomeWholeSeconds) {
  EXPECT_EQ(ParseMinutes("90").value(), 5400);
  EXPECT_EQ(ParseMinutes("90.5").value(), 5430);
  EXPECT_EQ(ParseMinutes("0.01").value(), 0);  // 0.6 s truncated
  EXPECT_EQ(ParseMinutes(".5").value(), 30);
  EXPECT_EQ(ParseMinutes("1.999").value(), 119);
  for (const char* bad : {"", "-1", "1e3", "1.", "abc", "1.2.3", "90 min"}) {
    EXPECT_THAT(ParseMinutes(bad), StatusIs(StatusCode::kInvalidArgument)) << bad;
  }
}

TEST(CalendarFormatTest, InstantsNeedAnOffsetAndLoseFractions) {
  EXPECT_EQ(FormatInstant(T("2026-02-13T09:00:00.999+08:00")), "2026-02-13T01:00:00Z");
  EXPECT_EQ(FormatInstant(T("2026-02-14T02:00:00Z")), "2026-02-14T02:00:00Z");
  EXPECT_EQ(FormatInstant(T("2026-02-13T20:30:00-05:30")), "2026-02-14T02:00:00Z");
  for (const char* bad : {"2026-02-13T09:00:00", "2026-02-13", "1760000000", "2026-02-30T09:00:00Z", "tomorrow"}) {
    auto r = ParseInstant(bad, "start");
    EXPECT_THAT(r, StatusIs(StatusCode::kInvalidArgument)) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find("start"), std::string::npos);
    }
  }
}

TEST(CalendarFormatTest, DatesAreStrict) {
  EXPECT_EQ(FormatDate(D("2024-02-29")), "2024-02-29");
  EXPECT_EQ(WeekdayOf(D("2026-02-14")), 5);  // Saturday
  for (const char* bad : {"2025-02-29", "2026-13-01", "2026-1-1", "20260101", "2026-01-01T00:00"}) {
    EXPECT_THAT(ParseDate(bad), StatusIs(StatusCode::kInvalidArgument)) << bad;
  }
}

// ---- the cn lists ----

TEST(CnCalendarTest, CarriesTheStateCouncilListsOf2024To2026) {
  struct Year {
    int year;
    std::vector<const char*> off;
    std::vector<const char*> makeup;
  } years[] = {
      {2024,
       {"01-01", "02-10", "02-11", "02-12", "02-13", "02-14", "02-15", "02-16", "02-17", "04-04", "04-05", "04-06",
        "05-01", "05-02", "05-03", "05-04", "05-05", "06-10", "09-15", "09-16", "09-17", "10-01", "10-02", "10-03",
        "10-04", "10-05", "10-06", "10-07"},
       {"02-04", "02-18", "04-07", "04-28", "05-11", "09-14", "09-29", "10-12"}},
      {2025,
       {"01-01", "01-28", "01-29", "01-30", "01-31", "02-01", "02-02", "02-03", "02-04", "04-04", "04-05", "04-06",
        "05-01", "05-02", "05-03", "05-04", "05-05", "05-31", "06-01", "06-02", "10-01", "10-02", "10-03", "10-04",
        "10-05", "10-06", "10-07", "10-08"},
       {"01-26", "02-08", "04-27", "09-28", "10-11"}},
      {2026,
       {"01-01", "01-02", "01-03", "02-15", "02-16", "02-17", "02-18", "02-19", "02-20", "02-21", "02-22", "02-23",
        "04-04", "04-05", "04-06", "05-01", "05-02", "05-03", "05-04", "05-05", "06-19", "06-20", "06-21", "09-25",
        "09-26", "09-27", "10-01", "10-02", "10-03", "10-04", "10-05", "10-06", "10-07"},
       {"01-04", "02-14", "02-28", "05-09", "09-20", "10-10"}},
  };
  const CalendarSpec spec = *FindBuiltinCalendar("cn");
  EXPECT_EQ(spec.zone, "Asia/Shanghai");
  EXPECT_EQ(spec.holidays.size(), 28u + 28u + 33u);
  EXPECT_EQ(spec.makeup_days.size(), 8u + 5u + 6u);
  for (const Year& y : years) {
    std::vector<std::string> off, makeup;
    for (const char* md : y.off) off.push_back(std::to_string(y.year) + "-" + md);
    for (const char* md : y.makeup) makeup.push_back(std::to_string(y.year) + "-" + md);
    for (const auto& d : off) EXPECT_FALSE(Cn().IsWorkingDay(D(d.c_str()))) << d;
    for (const auto& d : makeup) {
      EXPECT_TRUE(Cn().IsWorkingDay(D(d.c_str()))) << d;
      EXPECT_GE(WeekdayOf(D(d.c_str())), 5) << d << " is a make-up day, so a weekend day";
    }
    // Every other day of the year is a working day exactly when it is Monday–Friday.
    for (Date d = D((std::to_string(y.year) + "-01-01").c_str()); YearOf(d) == y.year; d.days++) {
      const std::string s = FormatDate(d);
      const bool listed_off = std::find(off.begin(), off.end(), s) != off.end();
      const bool listed_makeup = std::find(makeup.begin(), makeup.end(), s) != makeup.end();
      if (!listed_off && !listed_makeup) {
        EXPECT_EQ(Cn().IsWorkingDay(d), WeekdayOf(d) < 5) << s;
      }
    }
    EXPECT_TRUE(Cn().HasHolidayList(y.year));
  }
  EXPECT_FALSE(Cn().HasHolidayList(2027));
  EXPECT_FALSE(Cn().HasHolidayList(2023));
}

TEST(CnCalendarTest, YearsWithoutAListArePlainWeeksAndAreReported) {
  EXPECT_TRUE(Cn().IsWorkingDay(D("2027-01-01")));  // a Friday; no notice for 2027 in the built-in list
  EXPECT_FALSE(Cn().IsWorkingDay(D("2027-01-02")));
  EXPECT_EQ(Due(Cn(), "2026-12-31T17:30:00+08:00", "60"), "2027-01-01T01:30:00Z");
  EXPECT_EQ(Cn().YearsWithoutList(T("2026-12-31T17:30:00+08:00"), T("2027-01-01T01:30:00Z")), std::vector<int>{2027});
  EXPECT_TRUE(Cn().YearsWithoutList(T("2026-01-05T09:00:00+08:00"), T("2026-12-31T09:00:00+08:00")).empty());
}

// ---- Due on cn ----

TEST(CnDueTest, ExactRules) {
  struct Case {
    const char* start;
    const char* minutes;
    const char* due;
    const char* why;
  } cases[] = {
      {"2026-02-13T17:00:00+08:00", "120", "2026-02-14T02:00:00Z", "Friday's last hour, then the make-up Saturday"},
      {"2026-02-14T17:00:00+08:00", "120", "2026-02-24T02:00:00Z", "the Spring Festival 02-15…02-23 is skipped"},
      {"2026-03-02T09:00:00+08:00", "540", "2026-03-02T10:00:00Z", "ends exactly at closing: that closing time"},
      {"2026-03-02T09:00:00+08:00", "541", "2026-03-03T01:01:00Z", "one minute more: the next morning"},
      {"2026-03-01T03:00:00+08:00", "0", "2026-02-28T19:00:00Z", "zero minutes: the start itself, even on Sunday"},
      {"2026-03-01T12:00:00+08:00", "30", "2026-03-02T01:30:00Z", "a Sunday start counts from Monday's opening"},
      {"2026-03-06T19:00:00+08:00", "60", "2026-03-09T02:00:00Z", "after Friday's close"},
      {"2026-03-02T07:00:00+08:00", "60", "2026-03-02T02:00:00Z", "before the opening"},
      {"2026-03-02T09:00:00+08:00", "90.5", "2026-03-02T02:30:30Z", "decimal minutes, to the second"},
      {"2026-03-02T09:00:00.900+08:00", "1", "2026-03-02T01:01:00Z", "input fractions of a second truncated"},
      {"2025-12-31T17:00:00+08:00", "120", "2026-01-04T02:00:00Z", "year boundary: 01-01…01-03 off, Sunday 01-04 works"},
      {"2024-12-31T17:00:00+08:00", "120", "2025-01-02T02:00:00Z", "year boundary 2024→2025"},
      {"2025-09-30T17:00:00+08:00", "60", "2025-09-30T10:00:00Z", "the last hour of the day ends at its close"},
      {"2025-09-30T17:30:00+08:00", "60", "2025-10-09T01:30:00Z", "National Day 10-01…10-08 of 2025"},
      {"2026-02-13T09:00:00+08:00", "1440", "2026-02-24T07:00:00Z", "24 business hours over the Spring Festival"},
  };
  for (const Case& c : cases) EXPECT_EQ(Due(Cn(), c.start, c.minutes), c.due) << c.why;
}

TEST(CnDueTest, LunchBreaks) {
  const Calendar c = Build(Weekdays("Asia/Shanghai", {{H(9), H(12)}, {H(13, 30), H(18)}}));
  EXPECT_EQ(Due(c, "2026-03-02T11:00:00+08:00", "90"), "2026-03-02T06:00:00Z");   // 14:00 local
  EXPECT_EQ(Due(c, "2026-03-02T11:00:00+08:00", "60"), "2026-03-02T04:00:00Z");   // 12:00: closing time
  EXPECT_EQ(Due(c, "2026-03-02T12:30:00+08:00", "10"), "2026-03-02T05:40:00Z");   // from 13:30
  EXPECT_EQ(Due(c, "2026-03-02T17:30:00+08:00", "60"), "2026-03-03T01:30:00Z");   // next morning 09:30
  EXPECT_EQ(Minutes(c, "2026-03-02T11:00:00+08:00", "2026-03-02T14:00:00+08:00"), "90");
  EXPECT_EQ(Minutes(c, "2026-03-02T00:00:00+08:00", "2026-03-03T00:00:00+08:00"), "450");
}

// ---- pauses ----

TEST(PauseTest, PauseAcrossANightCountsOnlyItsWorkingHours) {
  // Monday 09:00 + 10 h; paused Monday 17:00 → Tuesday 10:00 (1 h + 1 h of working time).
  const std::vector<Pause> p = {{T("2026-03-02T17:00:00+08:00"), T("2026-03-03T10:00:00+08:00")}};
  EXPECT_EQ(Due(Cn(), "2026-03-02T09:00:00+08:00", "600", p), "2026-03-03T04:00:00Z");  // Tuesday 12:00
  EXPECT_EQ(Minutes(Cn(), "2026-03-02T09:00:00+08:00", "2026-03-03T12:00:00+08:00", p), "600");
}

TEST(PauseTest, PauseAcrossAHolidayWeekend) {
  // Thursday 2026-09-24 09:00 + 18 h; Mid-Autumn 09-25…09-27; paused Thu 17:00 → Mon 10:00.
  const std::vector<Pause> p = {{T("2026-09-24T17:00:00+08:00"), T("2026-09-28T10:00:00+08:00")}};
  EXPECT_EQ(Due(Cn(), "2026-09-24T09:00:00+08:00", "1080"), "2026-09-28T10:00:00Z");
  EXPECT_EQ(Due(Cn(), "2026-09-24T09:00:00+08:00", "1080", p), "2026-09-29T03:00:00Z");
}

TEST(PauseTest, OverlappingPausesCountTheirUnionAndAreClippedToTheSpan) {
  const std::vector<Pause> p = {
      {T("2026-03-02T10:00:00+08:00"), T("2026-03-02T12:00:00+08:00")},
      {T("2026-03-02T11:00:00+08:00"), T("2026-03-02T13:00:00+08:00")},
      {T("2026-03-02T08:00:00+08:00"), T("2026-03-02T09:30:00+08:00")},  // starts before FROM
      {T("2026-03-02T17:30:00+08:00"), T("2026-03-02T20:00:00+08:00")},  // ends after TO
  };
  // 9 h − (09:00–09:30) − (10:00–13:00) − (17:30–18:00) = 5 h
  EXPECT_EQ(Minutes(Cn(), "2026-03-02T09:00:00+08:00", "2026-03-02T18:00:00+08:00", p), "300");
  // From 09:15: 09:15–09:30 paused too, and 17:30 is the end of the span, so the last pause adds nothing.
  EXPECT_EQ(Minutes(Cn(), "2026-03-02T09:15:00+08:00", "2026-03-02T17:30:00+08:00", p), "300");
  // Due: 09:30–10:00 (30), 13:00–17:30 (270) → 300 minutes end exactly at 17:30, where a pause starts.
  EXPECT_EQ(Due(Cn(), "2026-03-02T09:00:00+08:00", "300", p), "2026-03-02T09:30:00Z");
  // Pauses given in any order, one inside another.
  const std::vector<Pause> q = {{T("2026-03-02T11:00:00+08:00"), T("2026-03-02T11:30:00+08:00")},
                                {T("2026-03-02T10:00:00+08:00"), T("2026-03-02T12:00:00+08:00")}};
  EXPECT_EQ(Due(Cn(), "2026-03-02T09:00:00+08:00", "360", q), "2026-03-02T09:00:00Z");  // 17:00 local
  // A pause before the start changes nothing.
  const std::vector<Pause> before = {{T("2026-02-27T09:00:00+08:00"), T("2026-03-02T09:00:00+08:00")}};
  EXPECT_EQ(Due(Cn(), "2026-03-02T09:00:00+08:00", "60", before), "2026-03-02T02:00:00Z");
}

TEST(PauseTest, BadSpansAreErrors) {
  const std::vector<Pause> backwards = {{T("2026-03-02T12:00:00+08:00"), T("2026-03-02T10:00:00+08:00")}};
  EXPECT_THAT(Cn().Due(T("2026-03-02T09:00:00+08:00"), 60, backwards), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(Cn().BusinessSeconds(T("2026-03-03T09:00:00+08:00"), T("2026-03-02T09:00:00+08:00")),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(Cn().Due(T("2026-03-02T09:00:00+08:00"), -1), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(Minutes(Cn(), "2026-03-02T10:00:00+08:00", "2026-03-02T10:00:00+08:00"), "0");
}

// ---- daylight saving ----

TEST(DstTest, EuropeBerlin) {
  const Calendar c = Build(Weekdays("Europe/Berlin", {{H(9), H(17)}}));
  // Spring forward on Sunday 2026-03-29: Friday 16:00 CET + 2 h → Monday 10:00 CEST.
  EXPECT_EQ(Due(c, "2026-03-27T16:00:00+01:00", "120"), "2026-03-30T08:00:00Z");
  EXPECT_EQ(Minutes(c, "2026-03-27T15:00:00Z", "2026-03-30T08:00:00Z"), "120");
  // Fall back on Sunday 2026-10-25: Friday 16:00 CEST + 2 h → Monday 10:00 CET.
  EXPECT_EQ(Due(c, "2026-10-23T16:00:00+02:00", "120"), "2026-10-26T09:00:00Z");
  // Opening hours follow the zone: 09:00 is 08:00Z in winter, 07:00Z in summer.
  EXPECT_EQ(c.WorkingIntervals(D("2026-03-27"))[0].from, T("2026-03-27T08:00:00Z"));
  EXPECT_EQ(c.WorkingIntervals(D("2026-03-30"))[0].from, T("2026-03-30T07:00:00Z"));
  // Around the clock: the spring Sunday has 23 hours, the autumn one 25.
  CalendarSpec all = Weekdays("Europe/Berlin", {{0, H(24)}});
  all.week[5] = all.week[6] = {{0, H(24)}};
  const Calendar always = Build(all);
  EXPECT_EQ(Minutes(always, "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00"), "1380");
  EXPECT_EQ(Minutes(always, "2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00"), "1500");
  EXPECT_EQ(Due(always, "2026-03-29T01:30:00+01:00", "60"), "2026-03-29T01:30:00Z");  // 03:30 CEST
}

TEST(DstTest, AmericaNewYork) {
  const Calendar c = Build(Weekdays("America/New_York", {{H(9), H(17)}}));
  EXPECT_EQ(Due(c, "2026-03-06T16:00:00-05:00", "120"), "2026-03-09T14:00:00Z");  // Monday 10:00 EDT
  EXPECT_EQ(Due(c, "2026-10-30T16:00:00-04:00", "120"), "2026-11-02T15:00:00Z");  // Monday 10:00 EST
  EXPECT_EQ(Minutes(c, "2026-03-06T09:00:00-05:00", "2026-03-09T17:00:00-04:00"), "960");
  // After the zone file's last explicit transition (2037) the POSIX rule takes over.
  EXPECT_EQ(c.zone().OffsetAt(T("2045-07-01T12:00:00Z")), -4 * 3600);
  EXPECT_EQ(c.zone().OffsetAt(T("2045-12-01T12:00:00Z")), -5 * 3600);
  EXPECT_EQ(c.zone().OffsetAt(T("2045-03-12T06:59:59Z")), -5 * 3600);  // 2nd Sunday of March, 02:00 EST
  EXPECT_EQ(c.zone().OffsetAt(T("2045-03-12T07:00:00Z")), -4 * 3600);
}

// ---- working days ----

TEST(WorkingDaysTest, CountsStrictlyAfterTheDate) {
  struct Case {
    const char* date;
    int n;
    const char* want;
  } cases[] = {
      {"2026-02-13", 0, "2026-02-13"}, {"2026-02-15", 0, "2026-02-15"}, {"2026-02-13", 1, "2026-02-14"},
      {"2026-02-14", 1, "2026-02-24"}, {"2026-09-30", 3, "2026-10-10"}, {"2026-03-06", 1, "2026-03-09"},
      {"2025-12-31", 1, "2026-01-04"}, {"2026-12-31", 1, "2027-01-01"}, {"2026-03-02", 5, "2026-03-09"},
  };
  for (const Case& c : cases) {
    auto r = Cn().WorkingDaysAfter(D(c.date), c.n);
    ASSERT_OK(r);
    EXPECT_EQ(FormatDate(*r), c.want) << c.date << " + " << c.n;
  }
  EXPECT_THAT(Cn().WorkingDaysAfter(D("2026-03-02"), -1), StatusIs(StatusCode::kInvalidArgument));
}

TEST(WorkingDaysTest, ComplaintFeedbackIsDueAtTheCloseOfTheThirdWorkingDay) {
  // A complaint on Wednesday 2026-09-30: 10-01…10-07 off, Thu 10-08, Fri 10-09, Sat 10-10 (make-up).
  auto r = Cn().CloseOfWorkingDayAfter(T("2026-09-30T15:00:00+08:00"), 3);
  ASSERT_OK(r);
  EXPECT_EQ(FormatInstant(*r), "2026-10-10T10:00:00Z");
  // Late on a Friday evening in Shanghai (15:30Z): the count starts after Friday.
  r = Cn().CloseOfWorkingDayAfter(T("2026-03-06T23:30:00+08:00"), 3);
  ASSERT_OK(r);
  EXPECT_EQ(FormatInstant(*r), "2026-03-11T10:00:00Z");
}

// ---- properties ----

// An independent reference: steps minute by minute, asking the spec (not the compiled tables)
// whether each minute is working time.
class Reference {
 public:
  Reference(const CalendarSpec& spec, const TimeZone& zone) : spec_(spec), zone_(zone) {}
  bool Working(UnixSeconds t) const {
    const UnixSeconds local = t + zone_.OffsetAt(t);
    const Date day{local >= 0 ? local / 86400 : (local - 86399) / 86400};
    const int sec = static_cast<int>(local - day.days * 86400);
    const std::vector<WorkInterval>* hours = &spec_.week[static_cast<size_t>(WeekdayOf(day))];
    bool holiday = false;
    for (const Holiday& h : spec_.holidays) holiday = holiday || h.date == day;
    for (const MakeupDay& m : spec_.makeup_days) {
      if (m.date == day) {
        holiday = false;
        if (!m.hours.empty()) hours = &m.hours;
        else if (hours->empty()) hours = &spec_.week[0];
      }
    }
    if (holiday) return false;
    for (const WorkInterval& iv : *hours) {
      if (sec >= iv.open && sec < iv.close) return true;
    }
    return false;
  }
  static bool Paused(UnixSeconds t, const std::vector<Pause>& pauses) {
    for (const Pause& p : pauses) {
      if (t >= p.from && t < p.to) return true;
    }
    return false;
  }
  UnixSeconds Due(UnixSeconds start, std::int64_t minutes, const std::vector<Pause>& pauses) const {
    if (minutes == 0) return start;
    UnixSeconds t = start;
    for (;;) {
      if (Working(t) && !Paused(t, pauses) && --minutes == 0) return t + 60;
      t += 60;
    }
  }
  std::int64_t Minutes(UnixSeconds from, UnixSeconds to, const std::vector<Pause>& pauses) const {
    std::int64_t n = 0;
    for (UnixSeconds t = from; t < to; t += 60) n += Working(t) && !Paused(t, pauses);
    return n;
  }

 private:
  const CalendarSpec& spec_;
  const TimeZone& zone_;
};

struct PropertyCase {
  const char* label;
  CalendarSpec spec;
};

std::vector<PropertyCase> PropertyCalendars() {
  CalendarSpec lunch = *FindBuiltinCalendar("cn");
  for (size_t d = 0; d < 5; ++d) lunch.week[d] = {{H(9), H(12)}, {H(13, 30), H(18)}};
  lunch.makeup_days[1].hours = {{H(10), H(15)}};
  CalendarSpec berlin = Weekdays("Europe/Berlin", {{H(8), H(12)}, {H(13), H(17, 30)}});
  berlin.week[5] = {{H(10), H(14)}};
  berlin.holidays = {{D("2026-04-03"), "Karfreitag"}, {D("2026-04-06"), "Ostermontag"}, {D("2026-12-25"), ""}};
  CalendarSpec ny = Weekdays("America/New_York", {{0, H(2, 30)}, {H(9), H(17)}, {H(22), H(24)}});
  return {{"cn", *FindBuiltinCalendar("cn")}, {"cn-lunch", lunch}, {"berlin", berlin}, {"new-york", ny}};
}

TEST(CalendarPropertyTest, DueMatchesAMinuteByMinuteReference) {
  std::mt19937_64 rng(20261207);
  for (const PropertyCase& pc : PropertyCalendars()) {
    const Calendar c = Build(pc.spec);
    const Reference ref(c.spec(), c.zone());
    const UnixSeconds lo = T("2025-12-20T00:00:00Z"), hi = T("2026-12-31T00:00:00Z");
    for (int i = 0; i < 40; ++i) {
      const UnixSeconds start = lo + static_cast<UnixSeconds>(rng() % static_cast<std::uint64_t>((hi - lo) / 60)) * 60;
      const std::int64_t minutes = static_cast<std::int64_t>(rng() % 1500);
      std::vector<Pause> pauses;
      for (int k = static_cast<int>(rng() % 4); k > 0; --k) {
        const UnixSeconds a = start + static_cast<UnixSeconds>(rng() % 4000) * 60 - 600 * 60;
        pauses.push_back({a, a + static_cast<UnixSeconds>(rng() % 1500) * 60});
      }
      auto due = c.Due(start, minutes * 60, pauses);
      ASSERT_OK(due);
      EXPECT_EQ(FormatInstant(*due), FormatInstant(ref.Due(start, minutes, pauses)))
          << pc.label << " start " << FormatInstant(start) << " + " << minutes << " min, " << pauses.size() << " pauses";
      const UnixSeconds to = start + static_cast<UnixSeconds>(rng() % 6000) * 60;
      auto secs = c.BusinessSeconds(start, to, pauses);
      ASSERT_OK(secs);
      EXPECT_EQ(*secs, ref.Minutes(start, to, pauses) * 60) << pc.label << " " << FormatInstant(start) << " → "
                                                            << FormatInstant(to);
    }
  }
}

TEST(CalendarPropertyTest, DueComposesAndMinutesInvertsDue) {
  std::mt19937_64 rng(7);
  for (const PropertyCase& pc : PropertyCalendars()) {
    const Calendar c = Build(pc.spec);
    const UnixSeconds lo = T("2024-01-01T00:00:00Z"), hi = T("2027-06-30T00:00:00Z");
    for (int i = 0; i < 3000; ++i) {
      const UnixSeconds start = lo + static_cast<UnixSeconds>(rng() % static_cast<std::uint64_t>(hi - lo));
      const std::int64_t a = static_cast<std::int64_t>(rng() % (3 * 86400));
      const std::int64_t b = static_cast<std::int64_t>(rng() % (3 * 86400));
      const UnixSeconds due_ab = c.Due(start, a + b).value();
      const UnixSeconds due_a = c.Due(start, a).value();
      ASSERT_EQ(due_ab, c.Due(due_a, b).value())
          << pc.label << " start " << FormatInstant(start) << " a " << a << " b " << b;
      ASSERT_EQ(c.BusinessSeconds(start, due_ab).value(), a + b) << pc.label << " " << FormatInstant(start);
    }
  }
}

// ---- range ----

TEST(CalendarRangeTest, InstantsOutsideTheCoveredYearsAreErrors) {
  EXPECT_THAT(Cn().Due(T("1999-06-01T09:00:00+08:00"), 60), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(Cn().Due(T("2099-12-31T17:00:00+08:00"), 120 * 60), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_OK(Cn().Due(T("2099-12-31T09:00:00+08:00"), 60 * 60));
}

}  // namespace
}  // namespace touchpoint::calendar
