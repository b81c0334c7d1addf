// Service KPIs (insight/kpis.h, kpi_facts.h; issue 16 "Performance": a one-year query over 1 M
// tickets grouped by channel and week ≤ 50 ms p99, a full recompute ≤ 20 s).
//
//   BM_RollupQuery/N        one year of N tickets, frt,art,aht,sla,resolution_rate by channel and week,
//                           from the roll-ups (what GET /v1/kpis answers it with)
//   BM_ScanQuery/N          the same from the facts in memory (no roll-ups, no store), for comparison
//   BM_RollupApply          one ticket's change applied to the roll-ups (the listener's share)
//   BM_RollupLoad/N         the roll-ups built from N stored facts (a server's start)
//   BM_MeasureTicket        one ticket's spans and facts from its history (service::ComputeSpans
//                           and the targets): × 1 M = the recompute from the history, CPU only
//
// Synthetic data, fixed seed: 6 channels, 8 queues, tickets spread evenly over 2025 (UTC), each
// with a first response, a next response, a resolution and sometimes a pause.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <touchpoint/calendar/time_zone.h>
#include <touchpoint/insight/kpi_facts.h>
#include <touchpoint/insight/kpis.h>
#include <touchpoint/service/sla.h>
#include <touchpoint/store/kpi_repository.h>
#include <touchpoint/store/memory.h>

namespace {

using namespace touchpoint;

constexpr Millis kYearStart = 1'735'689'600'000;  // 2025-01-01T00:00:00Z
constexpr Millis kYear = 365 * kMillisPerDay;

std::uint64_t Next(std::uint64_t& s) {  // splitmix64
  std::uint64_t z = (s += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Tickets [first, first + count) of `total` spread over the year (made in slices: a million
// tickets' facts at once would take a gigabyte).
std::vector<insight::KpiFacts> MakeFacts(std::int64_t first, std::int64_t count, std::int64_t total) {
  static const char* kChannels[] = {"chat", "email", "phone", "app", "social", "ivr"};
  static const char* kQueues[] = {"general", "refunds", "cards", "loans", "vip", "complaints", "tech", "billing"};
  std::uint64_t seed = 42 + static_cast<std::uint64_t>(first);
  std::vector<insight::KpiFacts> out;
  out.reserve(static_cast<size_t>(count));
  for (std::int64_t i = first; i < first + count; ++i) {
    insight::KpiFacts f;
    store::KpiTicketRecord& t = f.ticket;
    t.ticket = i + 1;
    t.customer = CustomerId(static_cast<std::int64_t>(Next(seed) % 200'000) + 1);
    t.created_at = kYearStart + (kYear / total) * i;
    t.status = Next(seed) % 10 < 9 ? "solved" : "open";
    t.channel = kChannels[Next(seed) % 6];
    t.queue = kQueues[Next(seed) % 8];
    t.priority = "medium";
    t.type = "request";
    t.agent = static_cast<std::int64_t>(Next(seed) % 300) + 1;
    const auto frt = static_cast<std::int64_t>(Next(seed) % 86'400);
    const auto nrt = static_cast<std::int64_t>(Next(seed) % 20'000);
    const auto art = frt + nrt + static_cast<std::int64_t>(Next(seed) % 200'000);
    const Millis c = t.created_at;
    f.spans.push_back({t.ticket, "first_response", 0, c, c + frt * 1000, "customer_message", "agent_reply", frt, frt / 2,
                       86'400, 1});
    f.spans.push_back({t.ticket, "next_response", 0, c + 2 * frt * 1000, c + (2 * frt + nrt) * 1000, "customer_message",
                       "agent_reply", nrt, nrt / 2, 86'400, 1});
    if (t.status == "solved") {
      t.first_solved_at = t.solved_at = c + art * 1000;
      f.spans.push_back({t.ticket, "resolution", 0, c, c + art * 1000, "created", "solved", art, art / 3, 0, -1});
      if (Next(seed) % 4 == 0) {
        f.spans.push_back({t.ticket, "pause", 0, c + frt * 1000, c + (frt + 3600) * 1000, "pending_customer", "resumed",
                           3600, 1800, 0, -1});
      }
    }
    t.sentiment_count = 2;
    t.sentiment_sum = -0.2;
    out.push_back(std::move(f));
  }
  return out;
}

insight::KpiQuery YearByChannelWeek(const calendar::TimeZone& zone) {
  auto q = insight::ParseKpiQuery("frt,art,aht,sla,resolution_rate", "channel", "week", "2025-01-01", "2026-01-01", "",
                                  zone);
  return *q;
}

void BM_RollupQuery(benchmark::State& state) {
  static const calendar::TimeZone utc = calendar::TimeZone::Fixed("UTC", 0);
  insight::KpiRollup rollup(utc);
  constexpr std::int64_t kSlice = 50'000;
  for (std::int64_t first = 0; first < state.range(0); first += kSlice) {
    const auto facts = MakeFacts(first, std::min(kSlice, state.range(0) - first), state.range(0));
    rollup.Apply(facts);
  }
  const insight::KpiQuery q = YearByChannelWeek(utc);
  for (auto _ : state) {
    auto report = rollup.Compute(q);
    benchmark::DoNotOptimize(report);
  }
  state.counters["tickets"] = static_cast<double>(rollup.tickets());
}
BENCHMARK(BM_RollupQuery)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

void BM_ScanQuery(benchmark::State& state) {
  static const calendar::TimeZone utc = calendar::TimeZone::Fixed("UTC", 0);
  insight::KpiData data;
  for (auto& f : MakeFacts(0, state.range(0), state.range(0))) {
    data.spans[f.ticket.ticket] = std::move(f.spans);
    data.tickets.push_back(std::move(f.ticket));
  }
  const insight::KpiQuery q = YearByChannelWeek(utc);
  for (auto _ : state) {
    auto report = insight::ComputeKpis(q, data, utc);
    benchmark::DoNotOptimize(report);
  }
}
BENCHMARK(BM_ScanQuery)->Arg(100'000)->Unit(benchmark::kMillisecond);  // linear in tickets

void BM_RollupApply(benchmark::State& state) {
  static const calendar::TimeZone utc = calendar::TimeZone::Fixed("UTC", 0);
  insight::KpiRollup rollup(utc);
  auto facts = MakeFacts(0, 100'000, 100'000);
  rollup.Apply(facts);
  size_t i = 0;
  for (auto _ : state) {
    rollup.Apply(std::span<const insight::KpiFacts>(&facts[i], 1));  // the same ticket, measured again
    i = (i + 7919) % facts.size();
  }
}
BENCHMARK(BM_RollupApply);

void BM_RollupLoad(benchmark::State& state) {
  static const calendar::TimeZone utc = calendar::TimeZone::Fixed("UTC", 0);
  auto store = store::memory::Open();
  {
    auto txn = store->Begin();
    for (const auto& f : MakeFacts(0, state.range(0), state.range(0))) {
      (void)store->Get<store::KpiRepository>().PutTicket(**txn, f.ticket, f.spans);
    }
    (void)(*txn)->Commit();
  }
  for (auto _ : state) {
    insight::KpiRollup rollup(utc);
    Status s = rollup.Load(store->Get<store::KpiRepository>());
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_RollupLoad)->Arg(100'000)->Unit(benchmark::kMillisecond);

void BM_MeasureTicket(benchmark::State& state) {
  // A ticket with a customer message, a reply, a pause, a reopen, a second turn and two solves.
  const Millis c = kYearStart;
  store::TicketRecord t;
  t.number = 1;
  t.customer = CustomerId(7);
  t.created_at = c;
  t.status = "solved";
  t.channel = "chat";
  t.reopen_count = 1;
  std::vector<store::TicketHistoryRecord> history;
  std::int64_t id = 0;
  auto row = [&](Millis at, const char* field, const char* before, const char* after) {
    history.push_back({++id, 1, at, "agent", "li", field, before, after});
  };
  row(c, "status", "", "new");
  row(c + 60'000, "status", "new", "open");
  row(c + 120'000, "status", "open", "pending_customer");
  row(c + 3'600'000, "status", "pending_customer", "open");
  row(c + 7'200'000, "status", "open", "solved");
  row(c + 9'000'000, "status", "solved", "open");
  row(c + 12'000'000, "status", "open", "solved");
  std::vector<store::TicketMessageRecord> messages;
  auto msg = [&](Millis at, const char* author) {
    store::TicketMessageRecord m;
    m.id = static_cast<std::int64_t>(messages.size()) + 1;
    m.ticket = 1;
    m.at = at;
    m.author = author;
    m.sentiment_label = "neutral";
    messages.push_back(m);
  };
  msg(c, "customer");
  msg(c + 60'000, "agent");
  msg(c + 9'000'000, "customer");
  msg(c + 10'000'000, "agent");
  static const service::SlaPolicy baseline = service::BaselinePolicy();
  const insight::TicketMeasure m{nullptr, &baseline, nullptr, "baseline", ""};
  for (auto _ : state) {
    auto facts = insight::MeasureTicket(t, history, messages, m, "", c + 13'000'000);
    benchmark::DoNotOptimize(facts);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MeasureTicket);

}  // namespace
