// Micro-benchmarks of the ingest hot path on demo data: parse + normalise one tracking message,
// and resolve its identifiers in the identity graph.
#include <sstream>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <touchpoint/demo/generator.h>
#include <touchpoint/identity/identity_graph.h>
#include <touchpoint/ingest/parser.h>

namespace {

const std::vector<std::string>& DemoLines() {
  static const std::vector<std::string> lines = [] {
    touchpoint::demo::GenerateOptions o;
    o.customers = 2000;
    o.events = 100000;
    std::ostringstream out;
    (void)touchpoint::demo::Generate(o, out);
    std::vector<std::string> v;
    std::istringstream in(out.str());
    for (std::string l; std::getline(in, l);) v.push_back(l);
    return v;
  }();
  return lines;
}

void BM_ParseMessage(benchmark::State& state) {
  const auto& lines = DemoLines();
  touchpoint::ingest::Parser parser;
  size_t i = 0, bytes = 0;
  for (auto _ : state) {
    const std::string& l = lines[i++ % lines.size()];
    auto ev = parser.ParseMessage(l);
    benchmark::DoNotOptimize(ev);
    bytes += l.size();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_ParseMessage);

void BM_ResolveIdentity(benchmark::State& state) {
  const auto& lines = DemoLines();
  touchpoint::ingest::Parser parser;
  std::vector<touchpoint::ingest::Event> events;
  for (const auto& l : lines) {
    auto ev = parser.ParseMessage(l);
    if (ev.ok()) events.push_back(std::move(*ev));
  }
  for (auto _ : state) {
    state.PauseTiming();
    touchpoint::identity::IdentityGraph graph;
    touchpoint::identity::GraphChanges changes;
    state.ResumeTiming();
    for (const auto& e : events) {
      changes.Clear();
      auto r = graph.Resolve(e.identifiers, e.is_alias, e.timestamp, e.message_id, &changes);
      benchmark::DoNotOptimize(r);
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(events.size()));
}
BENCHMARK(BM_ResolveIdentity)->Unit(benchmark::kMillisecond);

}  // namespace
