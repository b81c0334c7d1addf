#include "cli/commands.h"

namespace touchpoint::cli {

void RegisterTextCommands(CLI::App& /*app*/, int* /*exit_code*/) {}

}  // namespace touchpoint::cli
