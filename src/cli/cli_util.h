// cli/cli_util.h — small helpers shared by the command files.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <string>

#include <touchpoint/core/result.h>
#include <touchpoint/core/status.h>

namespace touchpoint::cli {

// Exit codes of every command (see commands.h).
inline constexpr int kExitOk = 0;
inline constexpr int kExitUnavailable = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitPartial = 3;
inline constexpr int kExitNotFound = 4;

// Prints "touchpoint: <message>" on stderr and returns the exit code for the status.
inline int Fail(const Status& s) {
  std::fprintf(stderr, "touchpoint: %s\n", s.message().c_str());
  switch (s.code()) {
    case StatusCode::kNotFound: return kExitNotFound;
    case StatusCode::kInvalidArgument: return kExitUsage;
    default: return kExitUnavailable;
  }
}

// The output format of a report command (funnel, journey, scorecard): `given`, else a table on a
// terminal and JSON otherwise. kInvalidArgument for anything but json or table.
inline Result<std::string> ReportFormat(const std::string& given) {
  std::string f = given;
  if (f.empty()) f = isatty(STDOUT_FILENO) != 0 ? "table" : "json";
  if (f != "json" && f != "table") {
    return Status::InvalidArgument("format: unknown format \"" + f + "\"; valid: json, table");
  }
  return f;
}

// For commands over files (text, analytics, prediction): a file that cannot be found, read or
// written is exit 1 (an environment problem), anything else the input's fault is exit 2.
inline int FileExitCode(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk: return kExitOk;
    case StatusCode::kNotFound:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kPermissionDenied:
    case StatusCode::kUnavailable: return kExitUnavailable;
    default: return kExitUsage;
  }
}

// Prints "touchpoint: error: <message>" on stderr and returns FileExitCode.
inline int FailFile(const Status& s) {
  std::fprintf(stderr, "touchpoint: error: %s\n", s.message().c_str());
  return FileExitCode(s);
}

// The data directory: --data, else $TOUCHPOINT_DATA, else ./touchpoint-data.
std::string DefaultDataDir();

}  // namespace touchpoint::cli
