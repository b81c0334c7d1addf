// cli/rule_json.h — one association rule as an NDJSON line, shared by `rules mine` over a file
// and over the store (insight::AppendRuleJson) so both print exactly the same format.
#pragma once

#include <string>
#include <vector>

#include <touchpoint/insight/job_rules.h>
#include <touchpoint/ml/association.h>

namespace touchpoint::cli {

// Appends {"lhs":[…],"rhs":[…],"support":…,"confidence":…,"lift":…,"count":…}\n; `quoted` holds
// each item's name already JSON-escaped (index = item id). Numbers use the shortest text that
// reads back as the same double.
inline void AppendRuleJson(std::string& out, const ml::AssociationRule& r, const std::vector<std::string>& quoted) {
  insight::AppendRuleJson(out, r, quoted);
}

}  // namespace touchpoint::cli
