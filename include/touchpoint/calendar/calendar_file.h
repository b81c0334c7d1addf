// calendar/calendar_file.h — calendars as files (JSON, TOML, the holiday-cn format) and the
// built-in calendars.
//
// A calendar file (docs/service-desk.md, "Business calendars", has a complete example):
//   name, zone (IANA), week {mon…sun: ["09:00-12:00", "13:30-18:00"]},
//   holidays [{date | from+to, name}], makeup_days [{date, name, hours?}], holiday_years [..]
// The same keys in TOML ([week], [[holidays]], [[makeup_days]]). A holiday-cn file
// {"year":2026,"days":[{"name":…,"date":"YYYY-MM-DD","isOffDay":true|false}]} is a holiday list
// for one year: isOffDay false is a make-up working day.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/calendar/calendar.h>
#include <touchpoint/core/result.h>

namespace touchpoint::calendar {

// One year's holidays and make-up days (a holiday-cn file).
struct HolidayList {
  int year = 0;
  std::vector<Holiday> holidays;
  std::vector<MakeupDay> makeup_days;
};

// What a file holds: a whole calendar, or a holiday list to lay over one.
struct CalendarDocument {
  std::optional<CalendarSpec> calendar;
  std::optional<HolidayList> holiday_list;
};

enum class FileFormat { kJson, kToml };

// Parses a calendar file or a holiday-cn file. A calendar without `name` gets default_name;
// holiday_years defaults to the years its holidays and make-up days fall in. kInvalidArgument
// naming the field ("week.mon[1]", "holidays[3].date", "days[2].isOffDay"); the spec is also
// checked with Validate (the zone is checked when the calendar is built).
Result<CalendarDocument> ParseCalendarDocument(std::string_view text, FileFormat format,
                                               std::string_view default_name);
// Reads `path` (".toml" is TOML, anything else JSON); the default name is the file's stem.
// kNotFound when the file cannot be read.
Result<CalendarDocument> ReadCalendarFile(const std::string& path);

// Replaces the spec's holidays and make-up days of list.year with the list's. A list without
// any day (holiday-cn publishes empty placeholders before the State Council's notice) removes
// the year from list_years; otherwise the year is added.
void ApplyHolidayList(const HolidayList& list, CalendarSpec* spec);

// The canonical JSON file of a spec (holidays of consecutive dates with one name as from/to).
std::string CalendarToJson(const CalendarSpec& spec);

// The built-in calendars: "cn" (Asia/Shanghai, Monday–Friday 09:00–18:00, the State Council's
// holidays and make-up working days of 2024–2026).
std::vector<std::string> BuiltinCalendarNames();
std::optional<CalendarSpec> FindBuiltinCalendar(std::string_view name);

}  // namespace touchpoint::calendar
