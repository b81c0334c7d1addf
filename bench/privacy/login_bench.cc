// A burst of concurrent logins (issue 14, "Performance"): Argon2id at libsodium's INTERACTIVE
// level (64 MiB each) with at most 4 hashes at once, the rest queued. Each iteration starts
// `burst` threads that log in at the same moment through one LoginService (in-memory store) and
// waits for all. Counters:
//   peak_in_flight  the most hashes that ran at once (the bound holds when it is <= max_concurrent)
//   rss_peak_mib    the process's peak resident memory (VmHWM) after the runs
//   logins_per_s    completed logins per second of wall time
// Compare max_concurrent 4 with 16 in separate processes, since the peak is process-wide (64 would
// need 4 GiB: that is what the bound prevents):
//   tp_privacy_bench --benchmark_filter='BM_LoginBurst/64/4/'
//   tp_privacy_bench --benchmark_filter='BM_LoginBurst/64/16/'
#include <benchmark/benchmark.h>

#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <touchpoint/core/time.h>
#include <touchpoint/privacy/login.h>
#include <touchpoint/privacy/users.h>
#include <touchpoint/store/memory.h>

namespace touchpoint::privacy {
namespace {

double PeakRssMib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // kB
  }
  return 0;
}

void BM_LoginBurst(benchmark::State& state) {
  const int burst = static_cast<int>(state.range(0));
  PasswordHasherOptions options;  // INTERACTIVE
  options.max_concurrent = static_cast<int>(state.range(1));
  PasswordHasher hasher(options);
  static int counter = 0;
  const std::string name = "login-bench-" + std::to_string(counter++);
  auto admin_store = store::memory::OpenShared(name);
  UserAdmin admin(*admin_store, hasher, SystemClock::Instance());
  for (int i = 0; i < burst; ++i) {
    if (!admin.CreateUser("user" + std::to_string(i) + "@example.com", Role::kAgent, "", "correct horse battery")
             .ok()) {
      state.SkipWithError("cannot create users");
      return;
    }
  }
  LoginOptions login_options;
  // A burst from one address is what this measures, not the throttle.
  login_options.address.free_failures = 1 << 20;
  login_options.address.lock_after = 1 << 20;
  LoginService login(store::memory::OpenShared(name), hasher, SystemClock::Instance(), login_options);
  std::int64_t ok = 0;
  for (auto _ : state) {
    std::vector<std::thread> threads;
    std::vector<int> outcomes(static_cast<size_t>(burst), -1);
    for (int i = 0; i < burst; ++i) {
      threads.emplace_back([&, i] {
        auto r = login.Login({"user" + std::to_string(i) + "@example.com", "correct horse battery", "", "10.0.0.1",
                              /*bearer=*/true});
        outcomes[static_cast<size_t>(i)] = r.ok() ? static_cast<int>(r->outcome) : -2;
      });
    }
    for (auto& t : threads) t.join();
    for (int o : outcomes) ok += o == static_cast<int>(LoginOutcome::kOk) ? 1 : 0;
  }
  if (ok != burst * static_cast<std::int64_t>(state.iterations())) state.SkipWithError("a login failed");
  state.counters["peak_in_flight"] = hasher.peak_in_flight();
  state.counters["rss_peak_mib"] = PeakRssMib();
  state.counters["logins_per_s"] =
      benchmark::Counter(static_cast<double>(ok), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_LoginBurst)->Args({64, 4})->Args({64, 16})->UseRealTime()->Unit(benchmark::kMillisecond)->Iterations(3);

// One Argon2id verification at the INTERACTIVE level, alone: the cost of one login.
void BM_VerifyInteractive(benchmark::State& state) {
  PasswordHasher hasher;
  auto hash = hasher.Hash("correct horse battery");
  if (!hash.ok()) {
    state.SkipWithError("cannot hash");
    return;
  }
  for (auto _ : state) {
    auto verdict = hasher.Verify(*hash, "correct horse battery");
    benchmark::DoNotOptimize(verdict);
  }
}
BENCHMARK(BM_VerifyInteractive)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace touchpoint::privacy
