// Runs the real `touchpoint` binary as a user would (shared by the CLI test files).
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace touchpoint::testing {

struct CmdRun {
  int code = -1;
  std::string out;  // stdout
};

// Runs `touchpoint ARGS` through the shell; stderr is discarded unless redirected in args.
inline CmdRun Touchpoint(const std::string& args) {
  const std::string cmd = std::string(TP_CLI_BINARY) + " " + args;
  CmdRun r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace touchpoint::testing
