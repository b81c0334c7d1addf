#pragma once

#include <cstdint>
#include <string>

#include "cli/cli_util.h"

namespace touchpoint::cli {

struct DemoArgs {
  std::string data_dir = DefaultDataDir();
  std::string listen = "127.0.0.1:8080";
  std::int64_t customers = 2000;
  std::int64_t events = 0;
  std::uint64_t seed = 42;
};

// Generates (once), ingests, creates an admin and an ingest key, prints what to try, serves.
int RunDemo(const DemoArgs& args);

}  // namespace touchpoint::cli
