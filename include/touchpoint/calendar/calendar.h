// calendar/calendar.h — business calendars and business-time arithmetic.
//
// The calendar module owns working hours per weekday, public holidays, make-up working days
// (调休) and the arithmetic over them: when is a target of N business minutes due, how many
// business minutes lie between two instants, which date is N working days after another. It does
// not own SLA policies, tickets or where calendars are stored (service, cli).
//
// Rules (docs/service-desk.md, "Business calendars"):
//  - working intervals are [open, close) in the calendar's zone; a day is a working day when it
//    has working hours: its weekday has hours and it is not a listed holiday, or it is a listed
//    make-up day (with its own hours, else its weekday's, else the first Monday–Friday hours);
//  - Due(start, s) for s > 0 is the instant at which s business seconds have elapsed since start;
//    when that happens exactly at a closing time the answer is that closing time; Due(start, 0)
//    is start; a start outside working hours counts from the next opening;
//  - pauses are wall-clock spans during which the clock stands still; they may overlap (their
//    union counts) and are clipped to the span measured;
//  - WorkingDaysAfter(d, n) counts working days strictly after d; n = 0 gives d.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/calendar/time_zone.h>
#include <touchpoint/core/result.h>

namespace touchpoint::calendar {

// A civil date (the calendar's local date), as days since 1970-01-01.
struct Date {
  std::int64_t days = 0;
  auto operator<=>(const Date&) const = default;
};

// "2026-02-14" → Date. kInvalidArgument (naming `field`) when malformed or impossible.
Result<Date> ParseDate(std::string_view text, std::string_view field = "date");
std::string FormatDate(Date date);
// The civil year of a date.
int YearOf(Date date);
// 0 = Monday … 6 = Sunday.
int WeekdayOf(Date date);

// An ISO 8601 instant with an offset or Z ("2026-02-13T09:00:00+08:00", "2026-02-14T02:00:00Z");
// fractions of a second are truncated. kInvalidArgument naming `field` otherwise.
Result<UnixSeconds> ParseInstant(std::string_view text, std::string_view field = "instant");
// "2026-02-14T02:00:00Z"
std::string FormatInstant(UnixSeconds t);

// A decimal number of minutes ("90", "90.5", "0.25") → whole seconds (fractions truncated).
// kInvalidArgument when not a non-negative decimal.
Result<std::int64_t> ParseMinutes(std::string_view text);
// Seconds → minutes as a decimal with at most 4 decimals and no trailing zeros ("90", "90.5").
std::string FormatMinutes(std::int64_t seconds);

// Working hours [open, close) in seconds after local midnight; 0 <= open < close <= 86400.
struct WorkInterval {
  int open = 0;
  int close = 0;
  bool operator==(const WorkInterval&) const = default;
};

// "09:00-12:00" (also "09:00–12:00", "13:30-24:00") → WorkInterval, kInvalidArgument naming field.
Result<WorkInterval> ParseWorkInterval(std::string_view text, std::string_view field);
std::string FormatWorkInterval(const WorkInterval& interval);

struct Holiday {
  Date date;
  std::string name;
};

struct MakeupDay {
  Date date;
  std::string name;
  std::vector<WorkInterval> hours;  // empty: the weekday hours (see the rules above)
};

// What a calendar file says. Validate() checks it; Calendar::Build compiles it.
struct CalendarSpec {
  std::string name;
  std::string zone;                               // IANA name
  std::array<std::vector<WorkInterval>, 7> week;  // [0] = Monday … [6] = Sunday
  std::vector<Holiday> holidays;
  std::vector<MakeupDay> makeup_days;
  std::vector<int> list_years;  // years the holiday lists cover, ascending
};

// OK, or kInvalidArgument naming the field: overlapping or empty intervals ("week.mon[1]"),
// a week without hours, a date listed both as holiday and make-up day, a bad name.
Status Validate(const CalendarSpec& spec);

// A pause of the clock: the wall-clock span [from, to).
struct Pause {
  UnixSeconds from = 0;
  UnixSeconds to = 0;
};

struct BuildOptions {
  int first_year = 2000;  // the arithmetic covers these years (local dates) and fails outside
  int last_year = 2099;
};

// A compiled calendar: every working interval of the covered years in UTC seconds with the
// running sum of business seconds, so each question is a few binary searches. Immutable; safe to
// share between threads. Move-only (the tables are large).
class Calendar {
 public:
  // Validates the spec, loads its zone (TimeZone::Load) and compiles it.
  // kInvalidArgument naming the field (see Validate; "zone" for an unknown zone).
  static Result<Calendar> Build(CalendarSpec spec, const BuildOptions& options = {});
  // The same with an already loaded zone (spec.zone is only a label then).
  static Result<Calendar> Build(CalendarSpec spec, TimeZone zone, const BuildOptions& options = {});

  Calendar(Calendar&&) noexcept = default;
  Calendar& operator=(Calendar&&) noexcept = default;
  Calendar(const Calendar&) = delete;
  Calendar& operator=(const Calendar&) = delete;

  const CalendarSpec& spec() const { return spec_; }
  const TimeZone& zone() const { return zone_; }

  // The instant at which `business_seconds` business seconds have elapsed since `start`, not
  // counting pauses (see the rules above). kInvalidArgument when business_seconds < 0, a pause
  // ends before it starts, or the answer lies outside the covered years.
  Result<UnixSeconds> Due(UnixSeconds start, std::int64_t business_seconds,
                          std::span<const Pause> pauses = {}) const;
  // Business seconds in [from, to) minus the union of the pauses. kInvalidArgument when from > to,
  // a pause ends before it starts, or an instant lies outside the covered years.
  Result<std::int64_t> BusinessSeconds(UnixSeconds from, UnixSeconds to,
                                       std::span<const Pause> pauses = {}) const;
  // The n-th working day strictly after `date` (n = 0: date). kInvalidArgument when n < 0 or the
  // answer lies outside the covered years.
  Result<Date> WorkingDaysAfter(Date date, int n) const;
  // The close of the n-th working day after the local date of `t` (the complaint loop's
  // "3 working days"): the end of that day's last working interval. n = 0 means t's own day,
  // which must then be a working day.
  Result<UnixSeconds> CloseOfWorkingDayAfter(UnixSeconds t, int n) const;

  bool IsWorkingDay(Date date) const;
  // The working intervals of a local date in UTC seconds (empty outside the covered years).
  std::vector<Pause> WorkingIntervals(Date date) const;
  Date LocalDate(UnixSeconds t) const;
  // Whether the holiday lists cover `year` (spec().list_years). A calendar with lists for no year
  // at all (a plain weekly schedule) answers true for every year: nothing is missing there.
  bool HasHolidayList(int year) const;
  // The years in [from, to] (local dates of the two instants) that HasHolidayList says are not
  // covered, ascending.
  std::vector<int> YearsWithoutList(UnixSeconds from, UnixSeconds to) const;

 private:
  Calendar() = default;
  std::int64_t Position(UnixSeconds t) const;  // business seconds before t since the range start
  UnixSeconds InstantAt(std::int64_t position) const;  // earliest instant at that position
  Status CheckRange(UnixSeconds t, std::string_view what) const;

  CalendarSpec spec_;
  TimeZone zone_ = TimeZone::Fixed("UTC", 0);
  Date first_day_;                          // first covered local date
  int first_year_ = 0, last_year_ = 0;      // the covered years
  std::vector<std::uint32_t> day_index_;    // day d's intervals: [day_index_[d], day_index_[d+1])
  std::vector<UnixSeconds> starts_;         // interval i opens (UTC), ascending
  std::vector<UnixSeconds> ends_;           // interval i closes
  std::vector<std::int64_t> cum_end_;       // business seconds up to the close of interval i
  UnixSeconds range_begin_ = 0;             // first covered instant (local midnight of first_day_)
  UnixSeconds range_end_ = 0;               // end of the last covered local date
};

}  // namespace touchpoint::calendar
