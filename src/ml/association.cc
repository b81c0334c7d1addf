#include <touchpoint/ml/association.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>

#include <touchpoint/core/status.h>
#include <utility>

#include <touchpoint/core/csv.h>
#include <touchpoint/core/strings.h>

namespace touchpoint::ml {
namespace {

constexpr double kSlack = 1e-12;

struct VectorHash {
  size_t operator()(const std::vector<std::uint32_t>& v) const {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (std::uint32_t x : v) {
      h ^= x + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
      h *= 0x100000001b3ull;
    }
    return static_cast<size_t>(h);
  }
};

// Depth-first Eclat over tid lists.
class Miner {
 public:
  Miner(std::int64_t min_count, size_t max_len, std::vector<FrequentItemset>* out)
      : min_count_(min_count), max_len_(max_len), out_(out) {}

  struct Node {
    std::uint32_t item;
    std::vector<std::uint32_t> tids;
  };

  void Grow(std::vector<std::uint32_t>* prefix, std::vector<Node>& nodes) {
    for (size_t i = 0; i < nodes.size(); ++i) {
      prefix->push_back(nodes[i].item);
      FrequentItemset set;
      set.items = *prefix;
      std::sort(set.items.begin(), set.items.end());
      set.count = static_cast<std::int64_t>(nodes[i].tids.size());
      out_->push_back(std::move(set));
      if (max_len_ == 0 || prefix->size() < max_len_) {
        std::vector<Node> children;
        for (size_t j = i + 1; j < nodes.size(); ++j) {
          Node child{nodes[j].item, {}};
          Intersect(nodes[i].tids, nodes[j].tids, &child.tids);
          if (static_cast<std::int64_t>(child.tids.size()) >= min_count_) {
            children.push_back(std::move(child));
          }
        }
        if (!children.empty()) Grow(prefix, children);
      }
      prefix->pop_back();
    }
  }

 private:
  void Intersect(const std::vector<std::uint32_t>& a, const std::vector<std::uint32_t>& b,
                 std::vector<std::uint32_t>* out) const {
    out->reserve(std::min(a.size(), b.size()));
    // Give up early when the intersection can no longer reach min_count.
    size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
      if (a[i] < b[j]) {
        ++i;
      } else if (b[j] < a[i]) {
        ++j;
      } else {
        out->push_back(a[i]);
        ++i;
        ++j;
      }
      const size_t left = std::min(a.size() - i, b.size() - j);
      if (static_cast<std::int64_t>(out->size() + left) < min_count_) {
        out->clear();
        return;
      }
    }
  }

  std::int64_t min_count_;
  size_t max_len_;
  std::vector<FrequentItemset>* out_;
};

}  // namespace

Result<AssociationResult> MineAssociationRules(
    const std::vector<std::vector<std::uint32_t>>& transactions, std::uint32_t num_items,
    const AssociationOptions& options) {
  if (!(options.min_support > 0.0 && options.min_support <= 1.0)) {
    return Status::InvalidArgument("min-support must be in (0, 1]");
  }
  if (!(options.min_confidence >= 0.0 && options.min_confidence <= 1.0)) {
    return Status::InvalidArgument("min-confidence must be in [0, 1]");
  }
  AssociationResult result;
  const auto n = static_cast<std::int64_t>(transactions.size());
  result.transactions = n;
  const double want = options.min_support * static_cast<double>(n);
  result.min_count = std::max<std::int64_t>(
      1, static_cast<std::int64_t>(std::ceil(want * (1.0 - kSlack))));

  // Vertical layout: one ascending tid list per item (duplicates inside a basket dropped).
  std::vector<std::vector<std::uint32_t>> tids(num_items);
  for (size_t t = 0; t < transactions.size(); ++t) {
    for (std::uint32_t item : transactions[t]) {
      if (item >= num_items) {
        return Status::InvalidArgument("item id " + std::to_string(item) + " >= num_items");
      }
      auto& list = tids[item];
      if (list.empty() || list.back() != t) list.push_back(static_cast<std::uint32_t>(t));
    }
  }
  std::vector<Miner::Node> roots;
  for (std::uint32_t item = 0; item < num_items; ++item) {
    if (!tids[item].empty()) ++result.items;
    if (static_cast<std::int64_t>(tids[item].size()) >= result.min_count) {
      roots.push_back({item, std::move(tids[item])});
    }
  }
  // Rarest items first keeps the tid lists of deep prefixes short.
  std::stable_sort(roots.begin(), roots.end(), [](const Miner::Node& a, const Miner::Node& b) {
    return a.tids.size() < b.tids.size();
  });
  if (n == 0) return result;
  Miner miner(result.min_count, options.max_len, &result.itemsets);
  std::vector<std::uint32_t> prefix;
  miner.Grow(&prefix, roots);
  std::sort(result.itemsets.begin(), result.itemsets.end(),
            [](const FrequentItemset& a, const FrequentItemset& b) {
              if (a.items.size() != b.items.size()) return a.items.size() < b.items.size();
              return a.items < b.items;
            });

  // Count lookup for left-hand sides: open addressing over indexes into result.itemsets.
  const VectorHash hasher;
  size_t slots = 16;
  while (slots < result.itemsets.size() * 2) slots <<= 1;
  std::vector<std::uint32_t> table(slots, 0);  // itemset index + 1; 0 = empty
  const size_t mask = slots - 1;
  for (size_t i = 0; i < result.itemsets.size(); ++i) {
    size_t h = hasher(result.itemsets[i].items) & mask;
    while (table[h] != 0) h = (h + 1) & mask;
    table[h] = static_cast<std::uint32_t>(i + 1);
  }
  auto count_of = [&](const std::vector<std::uint32_t>& items) -> std::int64_t {
    for (size_t h = hasher(items) & mask;; h = (h + 1) & mask) {
      TP_CHECK(table[h] != 0, "subset of a frequent itemset is missing");
      const auto& set = result.itemsets[table[h] - 1];
      if (set.items == items) return set.count;
    }
  };
  std::vector<std::int64_t> item_count(num_items, 0);
  for (const auto& set : result.itemsets) {
    if (set.items.size() == 1) item_count[set.items[0]] = set.count;
  }
  const double dn = static_cast<double>(n);
  std::vector<std::uint32_t> lhs;
  for (const auto& set : result.itemsets) {
    if (set.items.size() < 2) continue;
    for (size_t r = 0; r < set.items.size(); ++r) {
      lhs.clear();
      for (size_t k = 0; k < set.items.size(); ++k) {
        if (k != r) lhs.push_back(set.items[k]);
      }
      const std::int64_t lhs_count = count_of(lhs);  // subsets of frequent sets are frequent
      const double need = options.min_confidence * static_cast<double>(lhs_count);
      if (static_cast<double>(set.count) < need * (1.0 - kSlack)) continue;
      AssociationRule rule;
      rule.lhs = lhs;
      rule.rhs = set.items[r];
      rule.count = set.count;
      rule.lhs_count = lhs_count;
      rule.rhs_count = item_count[rule.rhs];
      rule.support = static_cast<double>(set.count) / dn;
      rule.confidence = static_cast<double>(set.count) / static_cast<double>(lhs_count);
      rule.lift = rule.confidence / (static_cast<double>(rule.rhs_count) / dn);
      result.rules.push_back(std::move(rule));
    }
  }
  std::sort(result.rules.begin(), result.rules.end(),
            [](const AssociationRule& a, const AssociationRule& b) {
              if (a.lift != b.lift) return a.lift > b.lift;
              if (a.confidence != b.confidence) return a.confidence > b.confidence;
              if (a.count != b.count) return a.count > b.count;
              if (a.lhs.size() != b.lhs.size()) return a.lhs.size() < b.lhs.size();
              if (a.lhs != b.lhs) return a.lhs < b.lhs;
              return a.rhs < b.rhs;
            });
  return result;
}

NamedBaskets EncodeBaskets(const std::vector<std::vector<std::string>>& baskets) {
  NamedBaskets out;
  std::map<std::string, std::uint32_t> ids;
  for (const auto& basket : baskets) {
    for (const auto& item : basket) ids.emplace(item, 0);
  }
  out.names.reserve(ids.size());
  for (auto& [name, id] : ids) {
    id = static_cast<std::uint32_t>(out.names.size());
    out.names.push_back(name);
  }
  out.transactions.reserve(baskets.size());
  for (const auto& basket : baskets) {
    std::vector<std::uint32_t> t;
    t.reserve(basket.size());
    for (const auto& item : basket) t.push_back(ids.at(item));
    std::sort(t.begin(), t.end());
    t.erase(std::unique(t.begin(), t.end()), t.end());
    out.transactions.push_back(std::move(t));
  }
  return out;
}

Result<std::vector<std::vector<std::string>>> ReadBasketsCsv(const std::string& path,
                                                             const BasketCsvOptions& options) {
  TP_ASSIGN_OR_RETURN(auto reader, CsvReader::Open(path));
  std::vector<std::vector<std::string>> baskets;
  std::vector<std::string> fields;
  if (options.format == BasketFormat::kBasket) {
    for (;;) {
      TP_ASSIGN_OR_RETURN(bool more, reader->Next(&fields));
      if (!more) break;
      std::vector<std::string> basket;
      for (const auto& f : fields) {
        std::string_view item = TrimView(f, kAsciiBlank);
        if (!item.empty()) basket.emplace_back(item);
      }
      if (!basket.empty()) baskets.push_back(std::move(basket));
    }
    return baskets;
  }
  TP_ASSIGN_OR_RETURN(bool has_header, reader->Next(&fields));
  if (!has_header) return Status::InvalidArgument(path + ": empty file (expected a header)");
  CsvHeader header(fields);
  TP_ASSIGN_OR_RETURN(size_t tcol, header.Require(options.transaction_column, path));
  TP_ASSIGN_OR_RETURN(size_t icol, header.Require(options.item_column, path));
  std::unordered_map<std::string, size_t> index;
  for (;;) {
    TP_ASSIGN_OR_RETURN(bool more, reader->Next(&fields));
    if (!more) break;
    if (fields.size() <= std::max(tcol, icol)) {
      return Status::InvalidArgument(path + ":" + std::to_string(reader->record_line()) +
                                     ": row has " + std::to_string(fields.size()) +
                                     " fields, expected at least " +
                                     std::to_string(std::max(tcol, icol) + 1));
    }
    std::string_view tid = TrimView(fields[tcol], kAsciiBlank);
    std::string_view item = TrimView(fields[icol], kAsciiBlank);
    if (tid.empty() || item.empty()) continue;
    auto [it, inserted] = index.emplace(std::string(tid), baskets.size());
    if (inserted) baskets.emplace_back();
    baskets[it->second].emplace_back(item);
  }
  return baskets;
}

}  // namespace touchpoint::ml
