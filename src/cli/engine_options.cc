#include "cli/engine_options.h"

#include <cstdio>
#include <cstdlib>

namespace touchpoint::cli {

pipeline::EngineOptions MakeEngineOptions(int max_customers_per_identifier, bool with_text) {
  auto o = pipeline::DefaultEngineOptions(max_customers_per_identifier, with_text);
  if (!o.ok()) {
    std::fprintf(stderr, "touchpoint: text analysis unavailable (%s); messages are stored without it\n",
                 o.status().message().c_str());
    return *pipeline::DefaultEngineOptions(max_customers_per_identifier, false);
  }
  return std::move(*o);
}

}  // namespace touchpoint::cli
