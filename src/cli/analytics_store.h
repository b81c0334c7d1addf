// cli/analytics_store.h — analytics over the ingested store, with results written back to
// customer profiles as tags.
#pragma once

#include <string>

#include <touchpoint/core/time.h>

namespace touchpoint::cli {

std::string DefaultDataDir();  // cli_util.h

// RFM layers, tiers and lifetime value over the orders in `data_dir`; writes `rfm_layer`,
// `rfm_score`, `rfm_headline`, `tier` and `ltv` onto each customer's profile and prints the same
// CSV as `segment rfm --orders` (to `out`, or stdout). Returns the exit code.
int RunRfmOverStore(const std::string& data_dir, Millis as_of, double silver, double gold, const std::string& out);

}  // namespace touchpoint::cli
