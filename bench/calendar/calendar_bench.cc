// Business-time arithmetic on the built-in cn calendar (holidays and make-up days) over two years
// (2025-2026), the target being >= 2,000,000 Due computations a second on one core.
// Inputs: 4,096 random starts (inside and outside working hours), targets up to three working days,
// two pauses each (one may span a night), fixed seed; generated before timing.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include <touchpoint/calendar/calendar.h>
#include <touchpoint/calendar/calendar_file.h>

namespace {

using touchpoint::calendar::BuildOptions;
using touchpoint::calendar::Calendar;
using touchpoint::calendar::Pause;
using touchpoint::calendar::UnixSeconds;

struct Input {
  UnixSeconds start;
  UnixSeconds end;
  std::int64_t seconds;
  Pause pauses[2];
};

const Calendar& TwoYears() {
  static const Calendar cal =
      Calendar::Build(*touchpoint::calendar::FindBuiltinCalendar("cn"), BuildOptions{2025, 2026}).value();
  return cal;
}

const Calendar& HundredYears() {
  static const Calendar cal =
      Calendar::Build(*touchpoint::calendar::FindBuiltinCalendar("cn"), BuildOptions{2000, 2099}).value();
  return cal;
}

const std::vector<Input>& Inputs() {
  static const std::vector<Input> inputs = [] {
    std::mt19937_64 rng(42);
    const UnixSeconds lo = touchpoint::calendar::ParseInstant("2025-01-01T00:00:00+08:00").value();
    const UnixSeconds span = 500 * 86400;  // starts in 2025 and early 2026, so targets stay inside 2026
    std::vector<Input> v(4096);
    for (Input& in : v) {
      in.start = lo + static_cast<UnixSeconds>(rng() % static_cast<std::uint64_t>(span));
      in.seconds = static_cast<std::int64_t>(rng() % (3 * 9 * 3600));
      in.end = in.start + static_cast<UnixSeconds>(rng() % (7 * 86400));
      const UnixSeconds a = in.start + static_cast<UnixSeconds>(rng() % 86400);
      in.pauses[0] = {a, a + static_cast<UnixSeconds>(rng() % (16 * 3600))};
      const UnixSeconds b = in.start + static_cast<UnixSeconds>(rng() % (3 * 86400));
      in.pauses[1] = {b, b + static_cast<UnixSeconds>(rng() % (4 * 3600))};
    }
    return v;
  }();
  return inputs;
}

// Times op(calendar, input) over the inputs in turn, one item per call.
template <class Op>
void Over(benchmark::State& state, const Calendar& cal, Op op) {
  const auto& in = Inputs();
  size_t i = 0;
  for (auto _ : state) {
    auto r = op(cal, in[i++ & 4095]);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

// Lambdas (each its own type), so Over's call is direct and inlined as in a hand-written loop.
constexpr auto Due = [](const Calendar& cal, const Input& x) { return cal.Due(x.start, x.seconds); };
constexpr auto DuePauses = [](const Calendar& cal, const Input& x) { return cal.Due(x.start, x.seconds, x.pauses); };
constexpr auto MinutesPauses = [](const Calendar& cal, const Input& x) {
  return cal.BusinessSeconds(x.start, x.end, x.pauses);
};

void BM_Due(benchmark::State& state) { Over(state, TwoYears(), Due); }
BENCHMARK(BM_Due);

void BM_Due_Pauses(benchmark::State& state) { Over(state, TwoYears(), DuePauses); }
BENCHMARK(BM_Due_Pauses);

// The same over the default 100-year table (2000-2099): larger tables, deeper binary searches.
void BM_Due_Pauses_HundredYears(benchmark::State& state) { Over(state, HundredYears(), DuePauses); }
BENCHMARK(BM_Due_Pauses_HundredYears);

void BM_Minutes_Pauses(benchmark::State& state) { Over(state, TwoYears(), MinutesPauses); }
BENCHMARK(BM_Minutes_Pauses);

// Building a calendar: Arg = number of years compiled (from 2025).
void BM_Build(benchmark::State& state) {
  const auto spec = *touchpoint::calendar::FindBuiltinCalendar("cn");
  const int years = static_cast<int>(state.range(0));
  for (auto _ : state) {
    auto cal = Calendar::Build(spec, BuildOptions{2025, 2025 + years - 1});
    benchmark::DoNotOptimize(cal);
  }
}
BENCHMARK(BM_Build)->Arg(2)->Arg(100)->Unit(benchmark::kMillisecond);

}  // namespace
