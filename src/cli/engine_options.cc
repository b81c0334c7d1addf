#include "cli/engine_options.h"

namespace touchpoint::cli {

pipeline::EngineOptions MakeEngineOptions(int max_customers_per_identifier, bool with_text) {
  pipeline::EngineOptions o;
  o.max_customers_per_identifier = max_customers_per_identifier;
  (void)with_text;  // wired to the text module once it lands
  return o;
}

}  // namespace touchpoint::cli
