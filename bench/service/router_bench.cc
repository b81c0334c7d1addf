// Routing one ticket among 500 agents (the issue's target: <= 50 us median). The agents are a
// mixed desk, fixed seed, built before timing: 6 products with 1-3 skills each, zh/en, capacity
// 4-10 with random load (some full), 80 % online, a third on a Mon-Fri 09:00-18:00 Shanghai shift,
// a quarter senior or patient. The ticket needs loan + zh for a gold customer flagged elderly with
// a dedicated advisor and a last agent, so every rule is evaluated. BM_Route is the decision;
// BM_RouteAndExplain adds the text of every candidate's explanation (what the desk stores).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include <touchpoint/calendar/calendar.h>
#include <touchpoint/calendar/calendar_file.h>
#include <touchpoint/service/router.h>

namespace {

using touchpoint::service::AgentState;
using touchpoint::service::RoutingAgent;
using touchpoint::service::RoutingRequest;

constexpr std::int64_t kNow = 1'760'000'000'000;  // 2025-10-09T08:53:20Z: 16:53 in Shanghai, in shift

const touchpoint::calendar::Calendar& Shift() {
  static const touchpoint::calendar::Calendar shift = [] {
    auto doc = touchpoint::calendar::ParseCalendarDocument(
        R"({"zone":"Asia/Shanghai","week":{"mon":["09:00-18:00"],"tue":["09:00-18:00"],"wed":["09:00-18:00"],
            "thu":["09:00-18:00"],"fri":["09:00-18:00"]}})",
        touchpoint::calendar::FileFormat::kJson, "shift");
    return touchpoint::calendar::Calendar::Build(*doc.value().calendar, {2025, 2026}).value();
  }();
  return shift;
}

std::vector<RoutingAgent> Agents(int n) {
  std::mt19937_64 rng(42);
  const std::vector<std::string> products = {"credit_card", "loan", "refund", "insurance", "mortgage", "wealth"};
  std::vector<RoutingAgent> out;
  for (int i = 0; i < n; ++i) {
    RoutingAgent a;
    a.id = 1000 + i;
    a.name = "agent-" + std::to_string(i);
    const int k = 1 + static_cast<int>(rng() % 3);
    for (int j = 0; j < k; ++j) a.skills.push_back(products[rng() % products.size()]);
    std::sort(a.skills.begin(), a.skills.end());
    a.skills.erase(std::unique(a.skills.begin(), a.skills.end()), a.skills.end());
    a.languages = rng() % 4 == 0 ? std::vector<std::string>{"en"} : std::vector<std::string>{"en", "zh"};
    if (rng() % 4 == 0) a.attributes = {rng() % 2 ? "patient" : "senior"};
    a.capacity = 4 + static_cast<std::int32_t>(rng() % 7);
    a.load = static_cast<std::int32_t>(rng() % static_cast<std::uint64_t>(a.capacity + 1));
    a.state = rng() % 5 == 0 ? AgentState::kOffline : AgentState::kOnline;
    a.state_since = kNow - static_cast<std::int64_t>(rng() % 36'000'000);
    if (rng() % 3 == 0) a.shift = &Shift();
    out.push_back(std::move(a));
  }
  return out;
}

RoutingRequest Request() {
  RoutingRequest r;
  r.ticket = 1;
  r.skill = "loan";
  r.language = "zh";
  r.now = kNow;
  r.tier = "gold";
  r.advisor = 1007;
  r.elderly = true;
  r.last_agent = 1123;
  r.last_served_at = kNow - 3'600'000;
  return r;
}

void BM_Route(benchmark::State& state) {
  const std::vector<RoutingAgent> agents = Agents(static_cast<int>(state.range(0)));
  const RoutingRequest r = Request();
  const auto policy = touchpoint::service::DefaultRoutingPolicy();
  for (auto _ : state) {
    auto d = touchpoint::service::Route(r, agents, policy);
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_Route)->Arg(500)->Unit(benchmark::kMicrosecond)->Repetitions(10)->ReportAggregatesOnly(true);

void BM_RouteAndExplain(benchmark::State& state) {
  const std::vector<RoutingAgent> agents = Agents(static_cast<int>(state.range(0)));
  const RoutingRequest r = Request();
  const auto policy = touchpoint::service::DefaultRoutingPolicy();
  for (auto _ : state) {
    auto d = touchpoint::service::Route(r, agents, policy);
    size_t bytes = 0;
    for (const auto& c : d.candidates) bytes += touchpoint::service::ExplainCandidate(c, d, r, agents, policy).size();
    benchmark::DoNotOptimize(bytes);
  }
}
BENCHMARK(BM_RouteAndExplain)->Arg(500)->Unit(benchmark::kMicrosecond)->Repetitions(10)->ReportAggregatesOnly(true);

}  // namespace
