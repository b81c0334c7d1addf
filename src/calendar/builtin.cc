// The built-in calendars. cn: the State Council's notices on the arrangement of public holidays
// for 2024, 2025 and 2026 (国务院办公厅关于…部分节假日安排的通知), checked against the public
// holiday-cn data set: both agree date for date.
#include <touchpoint/calendar/calendar_file.h>

namespace touchpoint::calendar {
namespace {

struct Range {
  const char* from;
  const char* to;
  const char* name;
};

struct Makeup {
  const char* date;
  const char* name;
};

constexpr Range kCnHolidays[] = {
    // 2024
    {"2024-01-01", "2024-01-01", "元旦"},
    {"2024-02-10", "2024-02-17", "春节"},
    {"2024-04-04", "2024-04-06", "清明节"},
    {"2024-05-01", "2024-05-05", "劳动节"},
    {"2024-06-10", "2024-06-10", "端午节"},
    {"2024-09-15", "2024-09-17", "中秋节"},
    {"2024-10-01", "2024-10-07", "国庆节"},
    // 2025
    {"2025-01-01", "2025-01-01", "元旦"},
    {"2025-01-28", "2025-02-04", "春节"},
    {"2025-04-04", "2025-04-06", "清明节"},
    {"2025-05-01", "2025-05-05", "劳动节"},
    {"2025-05-31", "2025-06-02", "端午节"},
    {"2025-10-01", "2025-10-08", "国庆节、中秋节"},
    // 2026
    {"2026-01-01", "2026-01-03", "元旦"},
    {"2026-02-15", "2026-02-23", "春节"},
    {"2026-04-04", "2026-04-06", "清明节"},
    {"2026-05-01", "2026-05-05", "劳动节"},
    {"2026-06-19", "2026-06-21", "端午节"},
    {"2026-09-25", "2026-09-27", "中秋节"},
    {"2026-10-01", "2026-10-07", "国庆节"},
};

constexpr Makeup kCnMakeupDays[] = {
    // 2024
    {"2024-02-04", "春节"}, {"2024-02-18", "春节"}, {"2024-04-07", "清明节"}, {"2024-04-28", "劳动节"},
    {"2024-05-11", "劳动节"}, {"2024-09-14", "中秋节"}, {"2024-09-29", "国庆节"}, {"2024-10-12", "国庆节"},
    // 2025
    {"2025-01-26", "春节"}, {"2025-02-08", "春节"}, {"2025-04-27", "劳动节"}, {"2025-09-28", "国庆节、中秋节"},
    {"2025-10-11", "国庆节、中秋节"},
    // 2026
    {"2026-01-04", "元旦"}, {"2026-02-14", "春节"}, {"2026-02-28", "春节"}, {"2026-05-09", "劳动节"},
    {"2026-09-20", "国庆节"}, {"2026-10-10", "国庆节"},
};

Date D(const char* text) { return ParseDate(text).value(); }

CalendarSpec Cn() {
  CalendarSpec spec;
  spec.name = "cn";
  spec.zone = "Asia/Shanghai";
  for (size_t d = 0; d < 5; ++d) spec.week[d] = {WorkInterval{9 * 3600, 18 * 3600}};
  for (const Range& r : kCnHolidays) {
    for (Date d = D(r.from); d <= D(r.to); d.days++) spec.holidays.push_back({d, r.name});
  }
  for (const Makeup& m : kCnMakeupDays) spec.makeup_days.push_back({D(m.date), m.name, {}});
  spec.list_years = {2024, 2025, 2026};
  return spec;
}

}  // namespace

std::vector<std::string> BuiltinCalendarNames() { return {"cn"}; }

std::optional<CalendarSpec> FindBuiltinCalendar(std::string_view name) {
  if (name == "cn") return Cn();
  return std::nullopt;
}

}  // namespace touchpoint::calendar
