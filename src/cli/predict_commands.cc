#include "cli/commands.h"

namespace touchpoint::cli {

void RegisterPredictCommands(CLI::App& /*app*/, int* /*exit_code*/) {}

}  // namespace touchpoint::cli
