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
  std::int64_t tickets = 3000;  // the demo desk's tickets (about); 0: no desk
  bool serve = true;            // false: build everything, print what to try, and exit
};

// Generates (once), ingests, builds the demo desk (once: cli/demo_desk.h), creates an admin and an
// ingest key, prints what to try, serves.
int RunDemo(const DemoArgs& args);

}  // namespace touchpoint::cli
