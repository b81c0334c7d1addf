// `touchpoint demo generate` wired into a bare CLI11 app (the lead owns the real `demo` command).
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <gtest/gtest.h>

#include "cli/commands.h"

namespace touchpoint::cli {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int RunDemo(std::vector<std::string> args, int* exit_code) {
  CLI::App app{"test"};
  CLI::App* demo = app.add_subcommand("demo", "demo");
  RegisterDemoGenerateCommand(*demo, exit_code);
  std::vector<const char*> argv = {"touchpoint", "demo", "generate"};
  for (const std::string& a : args) argv.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    return 2;
  }
  return 0;
}

TEST(DemoGenerateCommandTest, WritesTheRequestedFileDeterministically) {
  const std::string path_a = ::testing::TempDir() + "demo_cmd_a.ndjson";
  const std::string path_b = ::testing::TempDir() + "demo_cmd_b.ndjson";
  int exit_code = -1;
  ASSERT_EQ(RunDemo({"--customers", "30", "--events", "400", "--seed", "9", "--out", path_a},
                    &exit_code),
            0);
  EXPECT_EQ(exit_code, 0);
  exit_code = -1;
  ASSERT_EQ(RunDemo({"--customers", "30", "--events", "400", "--seed", "9", "-o", path_b},
                    &exit_code),
            0);
  EXPECT_EQ(exit_code, 0);
  const std::string a = ReadFile(path_a);
  int lines = 0;
  for (char c : a) lines += c == '\n';
  EXPECT_EQ(lines, 400);
  EXPECT_EQ(a, ReadFile(path_b));
  std::remove(path_a.c_str());
  std::remove(path_b.c_str());
}

TEST(DemoGenerateCommandTest, BadUsageIsAParseErrorOrExitCode2) {
  int exit_code = -1;
  EXPECT_EQ(RunDemo({"--customers", "0"}, &exit_code), 2);
  EXPECT_EQ(RunDemo({"--days", "0"}, &exit_code), 2);
  exit_code = -1;
  ASSERT_EQ(RunDemo({"--customers", "5", "--end-date", "2026-02-30", "--out",
                     ::testing::TempDir() + "demo_cmd_bad.ndjson"},
                    &exit_code),
            0);
  EXPECT_EQ(exit_code, 2);
  EXPECT_FALSE(std::ifstream(::testing::TempDir() + "demo_cmd_bad.ndjson").good())
      << "no output file is created for bad options";
}

TEST(DemoGenerateCommandTest, UnwritableOutputIsExitCode1) {
  int exit_code = -1;
  ASSERT_EQ(RunDemo({"--customers", "5", "--out", "/nonexistent-dir/x.ndjson"}, &exit_code), 0);
  EXPECT_EQ(exit_code, 1);
}

}  // namespace
}  // namespace touchpoint::cli
