#include "cli/commands.h"

namespace touchpoint::cli {

void RegisterDemoGenerateCommand(CLI::App& /*demo*/, int* /*exit_code*/) {}

}  // namespace touchpoint::cli
