// Runs the real `touchpoint` binary as a user would (shared by the CLI test files).
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "testing/pg.h"

namespace touchpoint::testing {

struct CmdRun {
  int code = -1;
  std::string out;  // stdout
};

// The store option for the data directory named by `--data DIR` in `args` (empty when none):
// with TP_TEST_STORE=postgres the commands run against that directory's PostgreSQL database.
inline std::string StoreOptionFor(const std::string& args) {
  if (!TestOnPostgres()) return "";
  size_t at = args.find("--data ");
  size_t len = 7;
  if (at == std::string::npos) {
    at = args.find("--data=");
    if (at == std::string::npos) return "";
  }
  const size_t begin = at + len;
  size_t end = args.find(' ', begin);
  if (end == std::string::npos) end = args.size();
  std::string dir = args.substr(begin, end - begin);
  if (dir.size() >= 2 && (dir.front() == '\'' || dir.front() == '"')) dir = dir.substr(1, dir.size() - 2);
  return "--store '" + StoreUrlForDir(dir) + "' ";
}

// Runs `cmd` through the shell: its exit code and stdout.
inline CmdRun Shell(const std::string& cmd) {
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

// Runs `touchpoint ARGS` through the shell; stderr is discarded unless redirected in args.
inline CmdRun Touchpoint(const std::string& args) {
  return Shell(std::string(TP_CLI_BINARY) + " " + StoreOptionFor(args) + args);
}

// The whole content of the file at `path` (what a command wrote; empty when there is none).
inline std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace touchpoint::testing
