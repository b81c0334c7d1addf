// cli/engine_options.h — the engine options every writing command uses (text analysis wired in).
#pragma once

#include <touchpoint/pipeline/engine.h>

namespace touchpoint::cli {

// with_text: run language/sentiment/intent/PII masking on every message.
pipeline::EngineOptions MakeEngineOptions(int max_customers_per_identifier, bool with_text);

}  // namespace touchpoint::cli
