// ml/association.h — exact frequent itemsets (Eclat: depth-first tid-list intersection) and
// association rules with a single-item right-hand side.
//
// Definitions (N = number of transactions, count(X) = transactions containing every item of X):
//   support(X -> y)    = count(X ∪ {y}) / N
//   confidence(X -> y) = count(X ∪ {y}) / count(X)
//   lift(X -> y)       = confidence / (count({y}) / N)
// Thresholds are compared on counts: an itemset is frequent when count >= min_support * N, a
// rule is kept when count(rule) >= min_confidence * count(lhs); both comparisons forgive a
// relative 1e-12 so that a value exactly at the threshold (e.g. 0.6 * 5) is kept despite
// binary rounding. Rules have at least two items in total (|lhs| >= 1).
//
// All functions are pure and thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <touchpoint/core/result.h>

namespace touchpoint::ml {

struct AssociationOptions {
  double min_support = 0.01;    // in (0, 1]
  double min_confidence = 0.5;  // in [0, 1]
  size_t max_len = 0;           // longest itemset (lhs + rhs); 0 = no limit
};

struct FrequentItemset {
  std::vector<std::uint32_t> items;  // ascending item ids
  std::int64_t count = 0;
};

struct AssociationRule {
  std::vector<std::uint32_t> lhs;  // ascending item ids
  std::uint32_t rhs = 0;
  std::int64_t count = 0;      // transactions containing lhs and rhs
  std::int64_t lhs_count = 0;  // transactions containing lhs
  std::int64_t rhs_count = 0;  // transactions containing rhs
  double support = 0;
  double confidence = 0;
  double lift = 0;
};

struct AssociationResult {
  std::int64_t transactions = 0;
  std::int64_t items = 0;  // distinct items seen in any transaction
  std::int64_t min_count = 0;  // the support threshold as a transaction count
  std::vector<FrequentItemset> itemsets;  // every frequent itemset, any length >= 1
  std::vector<AssociationRule> rules;     // sorted: lift, confidence, count desc; then ids asc
};

// Mines frequent itemsets and rules. Item ids must be < num_items; an item repeated within a
// transaction counts once. Fails with kInvalidArgument for thresholds out of range or an id
// >= num_items.
Result<AssociationResult> MineAssociationRules(
    const std::vector<std::vector<std::uint32_t>>& transactions, std::uint32_t num_items,
    const AssociationOptions& options);

// Items named by strings. Ids are assigned in ascending byte order of the names, so the
// deterministic tie-break of the rule order (ids ascending) is alphabetical.
struct NamedBaskets {
  std::vector<std::string> names;                       // id -> name
  std::vector<std::vector<std::uint32_t>> transactions;  // item ids
};
NamedBaskets EncodeBaskets(const std::vector<std::vector<std::string>>& baskets);

enum class BasketFormat {
  kBasket,  // one transaction per line, items separated by commas (CSV quoting), no header
  kLong,    // CSV with a header; one (transaction, item) pair per row
};

struct BasketCsvOptions {
  BasketFormat format = BasketFormat::kBasket;
  std::string transaction_column = "transaction";  // kLong only
  std::string item_column = "item";                // kLong only
};

// Reads baskets from a CSV file (.gz allowed). Empty items are ignored; in basket format an
// empty line is skipped. In long format transactions keep the order of first appearance.
// Fails with kNotFound when the file cannot be opened, kInvalidArgument for a malformed
// record or a missing column ("FILE:LINE: ...").
Result<std::vector<std::vector<std::string>>> ReadBasketsCsv(const std::string& path,
                                                             const BasketCsvOptions& options);

}  // namespace touchpoint::ml
