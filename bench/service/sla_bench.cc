// The SLA timer (service/sla.h): CPU while idle with 100,000 open tickets on SQLite, the due-time
// computation of one ticket (spans + policy on the cn calendar), and the breaching list the
// `GET /v1/tickets?breaching=true` route pages through. Figures in docs/performance.md.
//
//   cmake --preset release && cmake --build --preset release --target tp_service_bench
//   ./build/release/bench/service/tp_service_bench
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <touchpoint/calendar/calendar_file.h>
#include <touchpoint/service/desk.h>
#include <touchpoint/service/sla.h>
#include <touchpoint/service/spans.h>
#include <touchpoint/store/open.h>

namespace touchpoint::service {
namespace {

constexpr Millis kT0 = 1'772'413'200'000;  // 2026-03-02 09:00 +08 (a Monday)
constexpr Millis kMin = 60'000;

class FakeClock final : public Clock {
 public:
  Millis Now() const override { return now.load(); }
  std::atomic<Millis> now{kT0};
};

const Actor kAdmin{Actor::Kind::kAdmin, 0, "bench"};

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

const calendar::Calendar& Cn() {
  static const calendar::Calendar* cal = [] {
    auto built = calendar::Calendar::Build(*calendar::FindBuiltinCalendar("cn"));
    return new calendar::Calendar(std::move(*built));  // NOLINT: lives for the process
  }();
  return *cal;
}

// 100,000 open tickets (range(0)) on a SQLite store, their due times computed; then the timer
// thread runs while this thread sleeps `range(1)` seconds: the process's CPU in that window is
// the timer's idle cost.
void BM_TimerIdle(benchmark::State& state) {
  const int tickets = static_cast<int>(state.range(0));
  const auto dir = std::filesystem::temp_directory_path() / ("tp-sla-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  store::OpenOptions o;
  o.synchronous = "normal";
  auto store = store::Open("sqlite://" + (dir / "sla.db").string(), o);
  if (!store.ok()) {
    state.SkipWithError(std::string(store.status().message()).c_str());
    return;
  }
  FakeClock clock;
  Desk desk(std::move(*store), clock);
  for (int i = 0; i < tickets; ++i) {
    NewTicket t;
    t.customer = CustomerId(i + 1);
    t.subject = "s";
    t.channel = i % 2 ? "chat" : "email";
    // Spread over ten minutes: due times (business hours on cn) hours to days away.
    clock.now = kT0 + (i % 10'000) * 60;
    if (!desk.Create(t, kAdmin).ok()) {
      state.SkipWithError("create");
      return;
    }
  }
  clock.now = kT0 + 10 * kMin;
  SlaOptions options;
  SlaPolicy cn;
  cn.name = "cn_business";
  cn.calendar = "cn";
  cn.first_response = SlaGoal{8 * 60, 0};
  cn.resolution = SlaGoal{5 * 8 * 60, 8 * 60};
  options.policies = {cn};
  options.calendars["cn"] = &Cn();
  const auto load_start = std::chrono::steady_clock::now();
  auto sla = SlaService::Open(desk, clock, std::move(options));
  if (!sla.ok() || !(*sla)->RunDue().ok()) {
    state.SkipWithError("sla open");
    return;
  }
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
  (*sla)->Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the thread's first pass
  for (auto _ : state) {
    const double cpu0 = CpuSeconds();
    const auto wall0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::seconds(state.range(1)));
    const double cpu = CpuSeconds() - cpu0;
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    state.counters["idle_cpu_percent"] = 100.0 * cpu / wall;
  }
  state.counters["tracked"] = static_cast<double>((*sla)->tracked());
  state.counters["load_seconds"] = load_s;
  (*sla)->Stop();
  // The breaching list as GET /v1/tickets?breaching=true builds a page: the timer's breached set
  // (here 5 % of the tickets are 30 s past their first-response due time, Monday 17:00 + 30 s;
  // the timer fires them first), then 50 tickets read.
  clock.now = kT0 + 8 * 60 * kMin + 30'000;
  const auto fire_start = std::chrono::steady_clock::now();
  if (!(*sla)->RunDue().ok()) {
    state.SkipWithError("fire");
    return;
  }
  state.counters["fire_all_seconds"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - fire_start).count();
  std::vector<double> ms;
  size_t breaching = 0;
  for (int i = 0; i < 200; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::int64_t> numbers = (*sla)->Breaching();
    breaching = numbers.size();
    for (size_t k = 0; k < numbers.size() && k < 50; ++k) benchmark::DoNotOptimize(desk.Get(numbers[k]));
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  state.counters["breaching_page_p50_ms"] = ms[ms.size() / 2];
  state.counters["breaching_page_p99_ms"] = ms[ms.size() * 99 / 100];
  state.counters["breaching_tickets"] = static_cast<double>(breaching);
  sla->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_TimerIdle)->Args({100'000, 5})->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();

// One ticket's due times from scratch: spans over its history and thread, the policy's targets
// and ladder on the cn calendar (what a change of a ticket costs the timer).
void BM_ComputeDues(benchmark::State& state) {
  store::TicketRecord t;
  t.number = 1;
  t.created_at = kT0;
  t.status = "open";
  t.priority = "medium";
  std::vector<store::TicketHistoryRecord> history;
  std::vector<store::TicketMessageRecord> messages;
  auto row = [&](Millis at, std::string field, std::string after) {
    history.push_back(store::TicketHistoryRecord{static_cast<std::int64_t>(history.size()) + 1, 1, at, "agent", "x",
                                                 std::move(field), "", std::move(after)});
  };
  auto msg = [&](Millis at, std::string author) {
    messages.push_back(store::TicketMessageRecord{static_cast<std::int64_t>(messages.size()) + 1, 1, at,
                                                  std::move(author), 0, "chat", false, "", "", "", 0, ""});
  };
  row(kT0, "status", "new");
  msg(kT0, "customer");
  msg(kT0 + 20 * kMin, "agent");
  row(kT0 + 20 * kMin, "status", "open");
  row(kT0 + 30 * kMin, "status", "pending_customer");
  row(kT0 + 30 * kMin, "pause_reason", "documents");
  msg(kT0 + 25 * 60 * kMin, "customer");
  row(kT0 + 25 * 60 * kMin, "status", "open");
  msg(kT0 + 26 * 60 * kMin, "agent");
  msg(kT0 + 50 * 60 * kMin, "customer");
  SlaPolicy p;
  p.name = "cn";
  p.calendar = "cn";
  p.first_response = SlaGoal{60, 15};
  p.next_response = SlaGoal{120, 30};
  p.resolution = SlaGoal{3 * 8 * 60, 4 * 60};
  p.ladder = DefaultLadder();
  const calendar::Calendar& cal = Cn();
  size_t dues = 0;
  for (auto _ : state) {
    auto spans = ComputeSpans(t, history, messages, SpanOptions{&cal, kT0 + 60 * 60 * kMin});
    auto d = ComputeDues(p, &cal, t, *spans);
    dues += d->size();
    benchmark::DoNotOptimize(d);
  }
  state.counters["dues_per_ticket"] = static_cast<double>(dues) / static_cast<double>(state.iterations());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ComputeDues);

}  // namespace
}  // namespace touchpoint::service

BENCHMARK_MAIN();
