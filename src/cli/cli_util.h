// cli/cli_util.h — small helpers shared by the command files.
#pragma once

#include <cstdio>
#include <string>

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

// The data directory: --data, else $TOUCHPOINT_DATA, else ./touchpoint-data.
std::string DefaultDataDir();

}  // namespace touchpoint::cli
