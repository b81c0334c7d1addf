// `touchpoint demo generate`: writes the deterministic demo data set (docs/demo-data.md).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include <touchpoint/demo/generator.h>

#include "cli/commands.h"

namespace touchpoint::cli {
namespace {

struct DemoGenerateArgs {
  demo::GenerateOptions options;
  std::string out = "-";
};

int RunDemoGenerate(const DemoGenerateArgs& args) {
  if (Status valid = demo::ValidateOptions(args.options); !valid.ok()) {
    std::cerr << "demo generate: " << valid.ToString() << "\n";
    return 2;
  }
  std::ofstream file;
  std::ostream* out = &std::cout;
  if (!args.out.empty() && args.out != "-") {
    file.open(args.out, std::ios::binary | std::ios::trunc);
    if (!file) {
      std::cerr << "demo generate: cannot open '" << args.out << "' for writing\n";
      return 1;
    }
    out = &file;
  }
  Result<demo::GenerateStats> stats = demo::Generate(args.options, *out);
  if (!stats.ok()) {
    std::cerr << "demo generate: " << stats.status().ToString() << "\n";
    return stats.status().code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  if (file.is_open()) {
    file.close();
    if (!file) {
      std::cerr << "demo generate: cannot finish writing '" << args.out << "'\n";
      return 1;
    }
  }
  nlohmann::json summary = {{"out", args.out},
                            {"seed", args.options.seed},
                            {"events", stats->events},
                            {"customers", stats->customers},
                            {"orders", stats->orders},
                            {"messages", stats->messages},
                            {"surveys", stats->surveys}};
  std::cerr << summary.dump() << "\n";
  return 0;
}

}  // namespace

void RegisterDemoGenerateCommand(CLI::App& demo, int* exit_code) {
  auto args = std::make_shared<DemoGenerateArgs>();
  CLI::App* cmd = demo.add_subcommand(
      "generate", "Write a deterministic, bilingual demo data set (Segment NDJSON)");
  cmd->add_option("--customers", args->options.customers, "Number of persons")
      ->check(CLI::Range(int64_t{1}, int64_t{10'000'000}))
      ->capture_default_str();
  cmd->add_option("--events", args->options.events, "Number of lines (0 = 50 x customers)")
      ->check(CLI::Range(int64_t{0}, int64_t{2'000'000'000}))
      ->capture_default_str();
  cmd->add_option("--seed", args->options.seed, "Seed: same arguments give identical bytes")
      ->capture_default_str();
  cmd->add_option("--end-date", args->options.end_date, "Exclusive end of the window (UTC)")
      ->capture_default_str();
  cmd->add_option("--days", args->options.days, "Window length in days")
      ->check(CLI::Range(1, 3660))
      ->capture_default_str();
  cmd->add_option("--out,-o", args->out, "Output file, - for stdout")->capture_default_str();
  cmd->callback([args, exit_code] { *exit_code = RunDemoGenerate(*args); });
}

}  // namespace touchpoint::cli
