#include "cli/commands.h"

namespace touchpoint::cli {

void RegisterAnalyticsCommands(CLI::App& /*app*/, int* /*exit_code*/) {}

}  // namespace touchpoint::cli
