#include <touchpoint/ml/association.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <tuple>

#include <gtest/gtest.h>

#include <touchpoint/ml/stats.h>

#include "testing/matchers.h"

namespace touchpoint::ml {
namespace {

using Key = std::tuple<std::vector<std::uint32_t>, std::uint32_t>;

// Brute force: count every subset of the item universe directly from the baskets and keep the
// rules with exact rational threshold checks (support_num/1000, confidence_num/1000).
std::map<Key, std::int64_t> BruteForceRules(const std::vector<std::vector<std::uint32_t>>& tx,
                                            std::uint32_t num_items, int support_milli,
                                            int confidence_milli, size_t max_len) {
  const auto n = static_cast<std::int64_t>(tx.size());
  std::vector<std::uint32_t> masks;
  for (const auto& t : tx) {
    std::uint32_t m = 0;
    for (auto i : t) m |= 1u << i;
    masks.push_back(m);
  }
  auto count = [&](std::uint32_t set) {
    std::int64_t c = 0;
    for (auto m : masks) c += (m & set) == set ? 1 : 0;
    return c;
  };
  std::map<Key, std::int64_t> rules;
  for (std::uint32_t set = 1; set < (1u << num_items); ++set) {
    const auto size = static_cast<size_t>(__builtin_popcount(set));
    if (size < 2 || (max_len > 0 && size > max_len)) continue;
    const std::int64_t c = count(set);
    if (c * 1000 < support_milli * n) continue;
    for (std::uint32_t r = 0; r < num_items; ++r) {
      if (!(set & (1u << r))) continue;
      const std::uint32_t lhs = set & ~(1u << r);
      const std::int64_t lc = count(lhs);
      if (c * 1000 < confidence_milli * lc) continue;
      std::vector<std::uint32_t> items;
      for (std::uint32_t i = 0; i < num_items; ++i) {
        if (lhs & (1u << i)) items.push_back(i);
      }
      rules[{items, r}] = c;
    }
  }
  return rules;
}

std::vector<std::vector<std::uint32_t>> RandomBaskets(std::uint64_t seed, size_t n,
                                                      std::uint32_t items) {
  SplitMix64 rng(seed);
  std::vector<std::vector<std::uint32_t>> tx(n);
  for (auto& t : tx) {
    for (std::uint32_t i = 0; i < items; ++i) {
      // Skewed popularity plus a correlated pair so that deep itemsets exist.
      const double p = 0.6 / (1.0 + i * 0.35);
      if (rng.Uniform() < p) t.push_back(i);
    }
    if (!t.empty() && t[0] == 0 && rng.Uniform() < 0.7) t.push_back(items - 1);
    std::sort(t.begin(), t.end());
    t.erase(std::unique(t.begin(), t.end()), t.end());
  }
  return tx;
}

TEST(AssociationTest, MatchesBruteForceReference) {
  struct Case {
    std::uint64_t seed;
    size_t n;
    std::uint32_t items;
    int support_milli;
    int confidence_milli;
    size_t max_len;
  };
  const Case cases[] = {
      {1, 200, 8, 20, 300, 0},  {2, 97, 10, 50, 500, 0}, {3, 300, 11, 10, 100, 3},
      {4, 50, 6, 100, 800, 0},  {5, 120, 9, 25, 0, 2},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE("seed " + std::to_string(c.seed));
    auto tx = RandomBaskets(c.seed, c.n, c.items);
    AssociationOptions opt;
    opt.min_support = c.support_milli / 1000.0;
    opt.min_confidence = c.confidence_milli / 1000.0;
    opt.max_len = c.max_len;
    auto got = MineAssociationRules(tx, c.items, opt);
    ASSERT_OK(got);
    auto want = BruteForceRules(tx, c.items, c.support_milli, c.confidence_milli, c.max_len);
    std::map<Key, std::int64_t> have;
    for (const auto& r : got->rules) have[{r.lhs, r.rhs}] = r.count;
    EXPECT_EQ(have, want);
    EXPECT_FALSE(want.empty());
    // Lift is non-increasing in the output order.
    for (size_t i = 1; i < got->rules.size(); ++i) {
      EXPECT_GE(got->rules[i - 1].lift, got->rules[i].lift);
    }
  }
}

TEST(AssociationTest, KeepsRulesExactlyAtThresholds) {
  // 5 baskets: {a,b} x3, {a} x2. count(a,b)=3 = 0.6*5; confidence(a->b)=3/5 = 0.6 exactly.
  std::vector<std::vector<std::string>> baskets = {{"a", "b"}, {"a", "b"}, {"a", "b"}, {"a"}, {"a"}};
  auto enc = EncodeBaskets(baskets);
  AssociationOptions opt{.min_support = 0.6, .min_confidence = 0.6, .max_len = 0};
  auto got = MineAssociationRules(enc.transactions, static_cast<std::uint32_t>(enc.names.size()), opt);
  ASSERT_OK(got);
  ASSERT_EQ(got->rules.size(), 2u);  // a->b (0.6) and b->a (1.0)
  EXPECT_EQ(enc.names[got->rules[1].rhs], "b");
  EXPECT_DOUBLE_EQ(got->rules[1].confidence, 0.6);
  EXPECT_DOUBLE_EQ(got->rules[0].lift, 1.0);  // b->a: 1.0 / (5/5)
  opt.min_confidence = 0.61;
  got = MineAssociationRules(enc.transactions, static_cast<std::uint32_t>(enc.names.size()), opt);
  ASSERT_OK(got);
  EXPECT_EQ(got->rules.size(), 1u);
}

TEST(AssociationTest, RejectsBadThresholdsAndIds) {
  std::vector<std::vector<std::uint32_t>> tx = {{0, 1}};
  EXPECT_THAT(MineAssociationRules(tx, 2, {.min_support = 0, .min_confidence = 0.5, .max_len = 0}),
              testing::StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(MineAssociationRules(tx, 2, {.min_support = 0.5, .min_confidence = 1.5, .max_len = 0}),
              testing::StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(MineAssociationRules(tx, 1, {.min_support = 0.5, .min_confidence = 0.5, .max_len = 0}),
              testing::StatusIs(StatusCode::kInvalidArgument));
}

TEST(AssociationTest, ReadsBasketAndLongFormats) {
  const std::string dir = ::testing::TempDir();
  {
    std::ofstream f(dir + "/baskets.csv");
    f << "milk,bread\n\n\"eggs, large\", milk \n";
  }
  auto b = ReadBasketsCsv(dir + "/baskets.csv", {});
  ASSERT_OK(b);
  ASSERT_EQ(b->size(), 2u);
  EXPECT_EQ((*b)[1], (std::vector<std::string>{"eggs, large", "milk"}));
  {
    std::ofstream f(dir + "/long.csv");
    f << "order,sku\n1,a\n2,b\n1,c\n";
  }
  BasketCsvOptions opt{.format = BasketFormat::kLong, .transaction_column = "order", .item_column = "sku"};
  auto l = ReadBasketsCsv(dir + "/long.csv", opt);
  ASSERT_OK(l);
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[0], (std::vector<std::string>{"a", "c"}));
  opt.item_column = "item";
  auto missing = ReadBasketsCsv(dir + "/long.csv", opt);
  EXPECT_THAT(missing, testing::StatusIs(StatusCode::kInvalidArgument));
  EXPECT_NE(missing.status().message().find("missing column 'item'"), std::string::npos);
  EXPECT_THAT(ReadBasketsCsv(dir + "/nope.csv", {}), testing::StatusIs(StatusCode::kNotFound));
}

}  // namespace
}  // namespace touchpoint::ml
