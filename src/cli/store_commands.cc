#include "cli/commands.h"

namespace touchpoint::cli {

void RegisterStoreCommands(CLI::App& /*app*/, int* /*exit_code*/) {}

}  // namespace touchpoint::cli
