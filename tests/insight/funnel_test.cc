#include <touchpoint/insight/funnel.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace touchpoint::insight {
namespace {

constexpr Millis kMin = 60'000;

FunnelPath Path(std::initializer_list<std::pair<const char*, Millis>> events, const char* breakdown = "") {
  FunnelPath p;
  for (const auto& [name, minute] : events) p.push_back(FunnelEvent{name, minute * kMin, breakdown});
  return p;
}

FunnelSpec Spec(std::vector<std::string> steps, FunnelMode mode, Millis window_minutes) {
  FunnelSpec s;
  s.steps = std::move(steps);
  s.mode = mode;
  s.window = window_minutes * kMin;
  return s;
}

TEST(FunnelTest, OrderedAllowsEventsBetweenStrictDoesNot) {
  const auto path = Path({{"browse", 0}, {"cart", 5}, {"faq", 6}, {"order", 9}});
  const std::vector<std::string> steps = {"browse", "cart", "order"};
  auto ordered = EvaluateFunnel(Spec(steps, FunnelMode::kOrdered, 60), path);
  EXPECT_EQ(ordered.reached, 3);
  EXPECT_EQ(ordered.times, (std::vector<Millis>{0, 5 * kMin, 9 * kMin}));
  auto strict = EvaluateFunnel(Spec(steps, FunnelMode::kStrict, 60), path);
  EXPECT_EQ(strict.reached, 2);  // "faq" between cart and order ends the attempt
  // Out of order: ordered stops at cart, any order reaches all three.
  const auto shuffled = Path({{"cart", 0}, {"browse", 1}, {"order", 2}});
  EXPECT_EQ(EvaluateFunnel(Spec(steps, FunnelMode::kOrdered, 60), shuffled).reached, 1);  // no cart after browse
  auto any = EvaluateFunnel(Spec(steps, FunnelMode::kAnyOrder, 60), shuffled);
  EXPECT_EQ(any.reached, 3);
  EXPECT_EQ(any.times, (std::vector<Millis>{0, 1 * kMin, 2 * kMin}));
}

TEST(FunnelTest, TheWindowCountsFromTheAttemptsStartInclusive) {
  const std::vector<std::string> steps = {"a", "b"};
  EXPECT_EQ(EvaluateFunnel(Spec(steps, FunnelMode::kOrdered, 10), Path({{"a", 0}, {"b", 10}})).reached, 2);
  EXPECT_EQ(EvaluateFunnel(Spec(steps, FunnelMode::kOrdered, 10), Path({{"a", 0}, {"b", 11}})).reached, 1);
  // A later start inside the window converts; its times are reported.
  auto late = EvaluateFunnel(Spec(steps, FunnelMode::kOrdered, 10), Path({{"a", 0}, {"a", 5}, {"b", 12}}));
  EXPECT_EQ(late.reached, 2);
  EXPECT_EQ(late.times.front(), 5 * kMin);
}

// The brute-force reference for ordered funnels: every increasing tuple of event indexes.
FunnelOutcome BruteOrdered(const FunnelSpec& spec, const FunnelPath& path) {
  FunnelOutcome best;
  const size_t m = spec.steps.size();
  for (size_t start = 0; start < path.size(); ++start) {
    if (path[start].name != spec.steps[0]) continue;
    // deepest step reachable from this start, and the earliest time of each step among tuples
    // reaching that depth
    int depth = 1;
    std::vector<Millis> earliest(m, std::numeric_limits<Millis>::max());
    earliest[0] = path[start].at;
    std::vector<size_t> idx = {start};
    std::vector<std::vector<size_t>> tuples;
    std::function<void()> rec = [&] {
      tuples.push_back(idx);
      if (idx.size() == m) return;
      for (size_t j = idx.back() + 1; j < path.size(); ++j) {
        if (path[j].name == spec.steps[idx.size()] && path[j].at <= path[start].at + spec.window) {
          idx.push_back(j);
          rec();
          idx.pop_back();
        }
      }
    };
    rec();
    for (const auto& t : tuples) depth = std::max(depth, static_cast<int>(t.size()));
    for (const auto& t : tuples) {
      if (static_cast<int>(t.size()) != depth) continue;
      for (size_t s = 0; s < t.size(); ++s) earliest[s] = std::min(earliest[s], path[t[s]].at);
    }
    if (depth > best.reached) {
      best.reached = depth;
      best.times.assign(earliest.begin(), earliest.begin() + depth);
      best.breakdown = path[start].breakdown;
    }
  }
  return best;
}

TEST(FunnelTest, OrderedMatchesBruteForceOnRandomPaths) {
  std::mt19937 rng(42);
  const std::vector<std::string> names = {"a", "b", "c", "x"};
  for (int round = 0; round < 3000; ++round) {
    FunnelPath path;
    Millis t = 0;
    const int n = std::uniform_int_distribution<int>(0, 9)(rng);
    for (int i = 0; i < n; ++i) {
      t += std::uniform_int_distribution<int>(0, 4)(rng) * kMin;
      path.push_back(FunnelEvent{names[rng() % names.size()], t, std::to_string(i)});
    }
    const std::vector<std::vector<std::string>> specs = {{"a", "b", "c"}, {"a", "a", "b"}, {"b", "c"}};
    for (const auto& steps : specs) {
      const auto spec = Spec(steps, FunnelMode::kOrdered, std::uniform_int_distribution<int>(1, 12)(rng));
      const auto got = EvaluateFunnel(spec, path);
      const auto want = BruteOrdered(spec, path);
      ASSERT_EQ(got.reached, want.reached) << "round " << round;
      ASSERT_EQ(got.times, want.times) << "round " << round;
      ASSERT_EQ(got.breakdown, want.breakdown) << "round " << round;
    }
  }
}

TEST(FunnelTest, ReportCountsConversionDropOffAndTimesPerBreakdown) {
  auto report = FunnelReport::Create(Spec({"browse", "cart", "order"}, FunnelMode::kOrdered, 60), true);
  ASSERT_TRUE(report.ok());
  report->Add(Path({{"browse", 0}, {"cart", 2}, {"order", 10}}, "app"));
  report->Add(Path({{"browse", 0}, {"cart", 4}}, "app"));
  report->Add(Path({{"browse", 0}}, "web"));
  report->Add(Path({{"browse", 0}, {"cart", 1}, {"order", 3}}, "web"));
  report->Add(Path({{"faq", 0}}, "web"));  // never entered
  const auto groups = report->Groups();
  ASSERT_EQ(groups.size(), 3u);  // overall, app, web
  const auto& all = groups[0];
  EXPECT_EQ(all.breakdown, "");
  EXPECT_EQ(all.steps[0].count, 4);
  EXPECT_EQ(all.steps[1].count, 3);
  EXPECT_EQ(all.steps[2].count, 2);
  EXPECT_DOUBLE_EQ(all.steps[1].conversion_from_previous, 0.75);
  EXPECT_EQ(all.steps[1].drop_off, 1);
  EXPECT_DOUBLE_EQ(all.steps[2].conversion_from_first, 0.5);
  // cart after browse: 120, 240, 60 s → median 120; order after cart: 480, 120 s
  EXPECT_DOUBLE_EQ(*all.steps[1].seconds_from_previous.median, 120);
  EXPECT_DOUBLE_EQ(*all.steps[2].seconds_from_previous.mean, 300);
  EXPECT_EQ(all.seconds_to_convert.count, 2);
  EXPECT_DOUBLE_EQ(*all.seconds_to_convert.mean, (600 + 180) / 2.0);
  EXPECT_EQ(groups[1].breakdown, "app");
  EXPECT_EQ(groups[1].steps[2].count, 1);
  EXPECT_EQ(groups[2].breakdown, "web");
  EXPECT_EQ(groups[2].steps[0].count, 2);
  EXPECT_FALSE(groups[2].steps[0].seconds_from_previous.mean);  // step 1 has no previous
}

TEST(FunnelTest, RejectsBadSpecsAndReportsAnEmptyFunnel) {
  EXPECT_FALSE(FunnelReport::Create(Spec({"a"}, FunnelMode::kOrdered, 1), false).ok());
  EXPECT_FALSE(FunnelReport::Create(Spec({"a", ""}, FunnelMode::kOrdered, 1), false).ok());
  EXPECT_FALSE(FunnelReport::Create(Spec({"a", "a"}, FunnelMode::kAnyOrder, 1), false).ok());
  EXPECT_FALSE(FunnelReport::Create(Spec({"a", "b"}, FunnelMode::kOrdered, 0), false).ok());
  auto empty = FunnelReport::Create(Spec({"a", "b"}, FunnelMode::kOrdered, 1), false);
  ASSERT_TRUE(empty.ok());
  const auto g = empty->Groups();
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].steps[1].count, 0);
  EXPECT_EQ(g[0].steps[1].conversion_from_previous, 0);
}

}  // namespace
}  // namespace touchpoint::insight
