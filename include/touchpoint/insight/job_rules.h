// insight/job_rules.h — the `rules` job: association rules over the stored orders, either
// product baskets ("bought X, also bought Y") or category → intent baskets ("bought in category
// X, then asked about Y", insight/customer_features.h). Writes no tags. Thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/insight/jobs.h>
#include <touchpoint/ml/association.h>

namespace touchpoint::insight {

struct RulesJobParams {
  std::string kind = "products";  // products | category-intent
  double min_support = 0;         // ml::AssociationOptions ranges
  double min_confidence = 0;
  size_t max_len = 0;             // 0 = no limit
  int window_days = 30;           // category-intent: contacts this long after the order
  size_t limit = 100;             // rules listed in ToJson (the best first); the CLI prints all
};

// {"kind", "min_support", "min_confidence", "max_len", "window_days" (>= 1), "limit" (>= 0)};
// also checks the kind.
Result<RulesJobParams> ParseRulesJobParams(std::string_view json);

// kInvalidArgument naming the kind parameter for a kind other than the two.
Status ValidateRulesJobParams(const RulesJobParams& params, const JobContext& context);

struct RulesJobResult {
  RulesJobParams params;
  ml::AssociationResult mined;
  std::vector<std::string> names;  // item id → name
  std::vector<size_t> kept;        // indices into mined.rules (category-intent: category → intent only)
  // The kept rules, one JSON object a line (AppendRuleJson), as `rules mine` prints them.
  std::string Ndjson() const;
  // {"kind","window_days" (category-intent),"transactions","items","min_count",
  //  "frequent_itemsets","rules","rules_before_filter" (category-intent),"top_rules":[…]}
  std::string ToJson() const;
};

// Appends {"lhs":[…],"rhs":[…],"support":…,"confidence":…,"lift":…,"count":…}\n; `quoted`
// holds each item's name already JSON-escaped (index = item id). Numbers use the shortest text
// that reads back as the same double. Shared with `rules mine` over a basket file.
void AppendRuleJson(std::string& out, const ml::AssociationRule& rule, const std::vector<std::string>& quoted);

// kInvalidArgument "SOURCE: no orders with products ingested yet" without baskets, or the
// miner's errors.
ActivityRequest RulesActivityRequest(const RulesJobParams& params);
Result<RulesJobResult> RunRulesJob(const RulesJobParams& params, ActivitySource& source, const JobContext& context);
Result<RulesJobResult> RunRulesJob(const RulesJobParams& params, const Activity& activity, const JobContext& context);

}  // namespace touchpoint::insight
