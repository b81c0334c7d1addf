// `touchpoint calendar …`: list, show, import, due, minutes, days (docs/service-desk.md,
// "Business calendars"). Imported calendars live in DATA/calendars/NAME.json (the canonical JSON
// form); an imported calendar named like a built-in one replaces it.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <touchpoint/calendar/calendar.h>
#include <touchpoint/calendar/calendar_file.h>

#include "cli/cli_util.h"
#include "cli/commands.h"

namespace touchpoint::cli {

namespace {

namespace fs = std::filesystem;
using calendar::Calendar;
using calendar::CalendarSpec;

fs::path CalendarsDir(const std::string& data_dir) { return fs::path(data_dir) / "calendars"; }

bool LooksLikeFile(const std::string& arg) {
  auto ends = [&](const char* ext) {
    const std::string e(ext);
    return arg.size() > e.size() && arg.compare(arg.size() - e.size(), e.size(), e) == 0;
  };
  return arg.find('/') != std::string::npos || ends(".json") || ends(".toml");
}

// A calendar by name: imported (DATA/calendars/NAME.json) before built-in. nullopt when neither.
Result<std::optional<CalendarSpec>> FindNamed(const std::string& name, const std::string& data_dir) {
  const fs::path path = CalendarsDir(data_dir) / (name + ".json");
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) {
    TP_ASSIGN_OR_RETURN(calendar::CalendarDocument doc, calendar::ReadCalendarFile(path.string()));
    if (!doc.calendar) return Status::InvalidArgument(path.string() + ": not a calendar file");
    return std::optional<CalendarSpec>(std::move(*doc.calendar));
  }
  return calendar::FindBuiltinCalendar(name);
}

// CALENDAR: a built-in or imported name, or a JSON/TOML file (a holiday-cn file is laid over cn).
Result<CalendarSpec> ResolveSpec(const std::string& arg, const std::string& data_dir) {
  std::error_code ec;
  if (LooksLikeFile(arg)) {
    if (!fs::is_regular_file(arg, ec)) return Status::InvalidArgument("calendar file " + arg + " does not exist");
    auto doc = calendar::ReadCalendarFile(arg);
    if (!doc.ok()) return Status::InvalidArgument(doc.status().message());
    if (doc->calendar) return std::move(*doc->calendar);
    TP_ASSIGN_OR_RETURN(std::optional<CalendarSpec> cn, FindNamed("cn", data_dir));
    calendar::ApplyHolidayList(*doc->holiday_list, &*cn);
    return std::move(*cn);
  }
  TP_ASSIGN_OR_RETURN(std::optional<CalendarSpec> spec, FindNamed(arg, data_dir));
  if (!spec) {
    std::string names;
    for (const std::string& n : calendar::BuiltinCalendarNames()) names += (names.empty() ? "" : ", ") + n;
    return Status::InvalidArgument("unknown calendar \"" + arg + "\": not built in (" + names + "), not imported into " +
                                   CalendarsDir(data_dir).string() + ", and not a file");
  }
  return std::move(*spec);
}


}  // namespace

Result<Calendar> ResolveCalendar(const std::string& arg, const std::string& data_dir) {
  TP_ASSIGN_OR_RETURN(CalendarSpec spec, ResolveSpec(arg, data_dir));
  auto cal = Calendar::Build(std::move(spec));
  if (!cal.ok()) return cal.status().WithContext("calendar " + arg);
  return cal;
}

namespace {

Result<std::vector<calendar::Pause>> ParsePauses(const std::vector<std::string>& args) {
  std::vector<calendar::Pause> out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string field = "--pause " + args[i];
    const size_t slash = args[i].find('/');
    if (slash == std::string::npos) {
      return Status::InvalidArgument(field + ": expected FROM/TO (two ISO 8601 instants)");
    }
    TP_ASSIGN_OR_RETURN(calendar::UnixSeconds from, calendar::ParseInstant(args[i].substr(0, slash), "--pause FROM"));
    TP_ASSIGN_OR_RETURN(calendar::UnixSeconds to, calendar::ParseInstant(args[i].substr(slash + 1), "--pause TO"));
    if (to < from) return Status::InvalidArgument(field + ": TO is before FROM");
    out.push_back({from, to});
  }
  return out;
}

std::string Years(const std::vector<int>& years) {
  std::string s;
  for (int y : years) s += (s.empty() ? "" : ", ") + std::to_string(y);
  return s.empty() ? "none" : s;
}

void NoteMissingLists(const Calendar& cal, const std::vector<int>& years) {
  for (int y : years) {
    std::fprintf(stderr,
                 "touchpoint: note: calendar %s has no holiday list for %d: that year counts as plain weeks "
                 "(weekly hours only)\n",
                 cal.spec().name.c_str(), y);
  }
}

// Runs fn; a failure prints "touchpoint: error: …" and exits 2 (bad calendar, instant or number),
// or 1 when the data directory cannot be written (kUnavailable).
void Run(int* exit_code, const std::function<Status()>& fn) {
  const Status s = fn();
  if (s.ok()) {
    *exit_code = kExitOk;
    return;
  }
  std::fprintf(stderr, "touchpoint: error: %s\n", s.message().c_str());
  *exit_code = s.code() == StatusCode::kUnavailable ? kExitUnavailable : kExitUsage;
}

Status WriteFileAtomically(const fs::path& path, const std::string& text) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) return Status::Unavailable("cannot create " + path.parent_path().string() + ": " + ec.message());
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) return Status::Unavailable("cannot write " + tmp.string());
  }
  fs::rename(tmp, path, ec);
  if (ec) return Status::Unavailable("cannot rename " + tmp.string() + ": " + ec.message());
  return Status::Ok();
}

struct Args {
  std::string data = DefaultDataDir();
  std::string calendar;
  std::string a, b, c;  // positional arguments after CALENDAR
  std::string name;
  std::vector<std::string> pauses;
};

}  // namespace

void RegisterCalendarCommands(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<Args>();
  CLI::App* cal = app.add_subcommand(
      "calendar", "Business calendars (working hours, holidays, make-up days) and business-time arithmetic");
  cal->require_subcommand(1);
  const char* kCalendarHelp = "a built-in (cn) or imported calendar name, or a JSON/TOML calendar file";

  CLI::App* list = cal->add_subcommand("list", "List the built-in and imported calendars");
  list->add_option("--data", args->data, "Data directory (imported calendars are in DATA/calendars)");
  list->callback([=] {
    Run(exit_code, [&]() -> Status {
      std::vector<std::pair<std::string, std::string>> rows;  // name, where
      std::error_code ec;
      const fs::path dir = CalendarsDir(args->data);
      std::vector<std::string> imported;
      if (fs::is_directory(dir, ec)) {
        for (const auto& e : fs::directory_iterator(dir, ec)) {
          if (e.path().extension() == ".json") imported.push_back(e.path().stem().string());
        }
      }
      std::sort(imported.begin(), imported.end());
      for (const std::string& n : calendar::BuiltinCalendarNames()) {
        if (std::find(imported.begin(), imported.end(), n) == imported.end()) rows.push_back({n, "built-in"});
      }
      for (const std::string& n : imported) {
        const bool replaces = calendar::FindBuiltinCalendar(n).has_value();
        rows.push_back({n, (dir / (n + ".json")).string() + (replaces ? " (replaces the built-in)" : "")});
      }
      for (const auto& [name, where] : rows) {
        TP_ASSIGN_OR_RETURN(std::optional<CalendarSpec> spec, FindNamed(name, args->data));
        std::printf("%-12s %-20s holiday lists: %-20s %s\n", name.c_str(), spec->zone.c_str(),
                    Years(spec->list_years).c_str(), where.c_str());
      }
      return Status::Ok();
    });
  });

  CLI::App* show = cal->add_subcommand("show", "Print a calendar as its canonical JSON file");
  show->add_option("CALENDAR", args->calendar, kCalendarHelp)->required();
  show->add_option("--data", args->data, "Data directory (imported calendars are in DATA/calendars)");
  show->callback([=] {
    Run(exit_code, [&]() -> Status {
      TP_ASSIGN_OR_RETURN(Calendar c, ResolveCalendar(args->calendar, args->data));
      std::fputs(calendar::CalendarToJson(c.spec()).c_str(), stdout);
      return Status::Ok();
    });
  });

  CLI::App* import = cal->add_subcommand(
      "import", "Import a calendar file (JSON/TOML) as NAME, or lay a holiday-cn year file over calendar NAME (default cn)");
  import->add_option("FILE", args->a, "a calendar file (.json, .toml) or a holiday-cn file (YEAR.json)")->required();
  import->add_option("--name", args->name,
                     "the calendar's name (default: the file's `name`, else its stem; for a holiday-cn file: cn)");
  import->add_option("--data", args->data, "Data directory (calendars are kept in DATA/calendars)");
  import->callback([=] {
    auto doc = calendar::ReadCalendarFile(args->a);
    if (!doc.ok()) {
      *exit_code = FailFile(doc.status());
      return;
    }
    Run(exit_code, [&]() -> Status {
      CalendarSpec spec;
      std::string what;
      if (doc->calendar) {
        spec = std::move(*doc->calendar);
        if (!args->name.empty()) spec.name = args->name;
        what = "calendar " + spec.name;
      } else {
        const calendar::HolidayList& l = *doc->holiday_list;
        const std::string target = args->name.empty() ? "cn" : args->name;
        TP_ASSIGN_OR_RETURN(std::optional<CalendarSpec> base, FindNamed(target, args->data));
        if (!base) return Status::InvalidArgument("--name: no calendar \"" + target + "\" to lay the holiday list over");
        spec = std::move(*base);
        spec.name = target;
        calendar::ApplyHolidayList(l, &spec);
        what = "the " + std::to_string(l.year) + " holiday list (" + std::to_string(l.holidays.size()) +
               " days off, " + std::to_string(l.makeup_days.size()) + " make-up days) into calendar " + target;
        if (l.holidays.empty() && l.makeup_days.empty()) {
          std::fprintf(stderr, "touchpoint: note: the %d list is empty: %d now counts as plain weeks\n", l.year, l.year);
        }
      }
      TP_RETURN_IF_ERROR(calendar::Validate(spec));
      auto built = Calendar::Build(spec);  // checks the zone
      if (!built.ok()) return built.status();
      const fs::path path = CalendarsDir(args->data) / (spec.name + ".json");
      TP_RETURN_IF_ERROR(WriteFileAtomically(path, calendar::CalendarToJson(spec)));
      std::printf("imported %s (zone %s, holiday lists: %s) into %s\n", what.c_str(), spec.zone.c_str(),
                  Years(spec.list_years).c_str(), path.string().c_str());
      return Status::Ok();
    });
  });

  CLI::App* due = cal->add_subcommand("due", "The instant (UTC) at which MINUTES business minutes after START are up");
  due->add_option("CALENDAR", args->calendar, kCalendarHelp)->required();
  due->add_option("START", args->a, "ISO 8601 instant with offset or Z")->required();
  due->add_option("MINUTES", args->b, "business minutes, may be decimal (90.5)")->required();
  due->add_option("--pause", args->pauses, "FROM/TO: the clock stands still in [FROM, TO) (repeatable)");
  due->add_option("--data", args->data, "Data directory (imported calendars are in DATA/calendars)");
  due->callback([=] {
    Run(exit_code, [&]() -> Status {
      TP_ASSIGN_OR_RETURN(Calendar c, ResolveCalendar(args->calendar, args->data));
      TP_ASSIGN_OR_RETURN(calendar::UnixSeconds start, calendar::ParseInstant(args->a, "START"));
      TP_ASSIGN_OR_RETURN(std::int64_t seconds, calendar::ParseMinutes(args->b));
      TP_ASSIGN_OR_RETURN(std::vector<calendar::Pause> pauses, ParsePauses(args->pauses));
      TP_ASSIGN_OR_RETURN(calendar::UnixSeconds at, c.Due(start, seconds, pauses));
      NoteMissingLists(c, c.YearsWithoutList(start, at));
      std::printf("%s\n", calendar::FormatInstant(at).c_str());
      return Status::Ok();
    });
  });

  CLI::App* minutes = cal->add_subcommand("minutes", "Business minutes between FROM and TO (decimal)");
  minutes->add_option("CALENDAR", args->calendar, kCalendarHelp)->required();
  minutes->add_option("FROM", args->a, "ISO 8601 instant with offset or Z")->required();
  minutes->add_option("TO", args->b, "ISO 8601 instant with offset or Z, not before FROM")->required();
  minutes->add_option("--pause", args->pauses, "FROM/TO: the clock stands still in [FROM, TO) (repeatable)");
  minutes->add_option("--data", args->data, "Data directory (imported calendars are in DATA/calendars)");
  minutes->callback([=] {
    Run(exit_code, [&]() -> Status {
      TP_ASSIGN_OR_RETURN(Calendar c, ResolveCalendar(args->calendar, args->data));
      TP_ASSIGN_OR_RETURN(calendar::UnixSeconds from, calendar::ParseInstant(args->a, "FROM"));
      TP_ASSIGN_OR_RETURN(calendar::UnixSeconds to, calendar::ParseInstant(args->b, "TO"));
      TP_ASSIGN_OR_RETURN(std::vector<calendar::Pause> pauses, ParsePauses(args->pauses));
      TP_ASSIGN_OR_RETURN(std::int64_t seconds, c.BusinessSeconds(from, to, pauses));
      NoteMissingLists(c, c.YearsWithoutList(from, to));
      std::printf("%s\n", calendar::FormatMinutes(seconds).c_str());
      return Status::Ok();
    });
  });

  CLI::App* days = cal->add_subcommand("days", "The date N working days after DATE (DATE itself never counts)");
  days->add_option("CALENDAR", args->calendar, kCalendarHelp)->required();
  days->add_option("DATE", args->a, "YYYY-MM-DD (a date of the calendar's zone)")->required();
  days->add_option("N", args->b, "working days, 0 or more")->required();
  days->add_option("--data", args->data, "Data directory (imported calendars are in DATA/calendars)");
  days->callback([=] {
    Run(exit_code, [&]() -> Status {
      TP_ASSIGN_OR_RETURN(Calendar c, ResolveCalendar(args->calendar, args->data));
      TP_ASSIGN_OR_RETURN(calendar::Date date, calendar::ParseDate(args->a, "DATE"));
      int n = -1;
      const std::string& t = args->b;
      if (!t.empty() && t.size() <= 6 && t.find_first_not_of("0123456789") == std::string::npos) n = std::stoi(t);
      if (n < 0) return Status::InvalidArgument("N: \"" + t + "\" is not a whole number of working days (0 or more)");
      TP_ASSIGN_OR_RETURN(calendar::Date result, c.WorkingDaysAfter(date, n));
      std::vector<int> missing;
      for (int y = calendar::YearOf(date); y <= calendar::YearOf(result); ++y) {
        if (!c.HasHolidayList(y)) missing.push_back(y);
      }
      NoteMissingLists(c, missing);
      std::printf("%s\n", calendar::FormatDate(result).c_str());
      return Status::Ok();
    });
  });
}

}  // namespace touchpoint::cli
