// Verifying the audit chain (`touchpoint audit verify`): the target is ≥ 1 M entries/s
// (docs/performance.md). Run from the release preset:
//   ./build/release/bench/privacy/tp_privacy_bench
#include <benchmark/benchmark.h>

#include <sys/resource.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <touchpoint/privacy/audit.h>
#include <touchpoint/store/audit_repository.h>
#include <touchpoint/store/open.h>

namespace touchpoint::privacy {
namespace {

// Entries shaped like real ones: an actor, an action, a target and a small details object.
std::vector<store::AuditEntryRecord> MakeChain(std::int64_t n) {
  std::vector<store::AuditEntryRecord> out;
  out.reserve(static_cast<size_t>(n));
  std::string prev(64, '0');
  for (std::int64_t i = 1; i <= n; ++i) {
    store::AuditEntryRecord e;
    e.seq = i;
    e.time = 1'700'000'000'000 + i * 37;
    e.actor = "key:tp_" + std::to_string(100000 + i % 50);
    e.action = i % 3 == 0 ? "segment.update" : "api_key.create";
    e.target = "segment:vip-" + std::to_string(i % 400);
    e.details_json = R"({"role":"analyst","prefix":"tp_3f9c12"})";
    e.prev_hash = prev;
    e.hash = ChainHash(prev, e);
    prev = e.hash;
    out.push_back(std::move(e));
  }
  return out;
}

// The chain check alone (hashing and linking), entries already in memory.
void BM_ChainVerify(benchmark::State& state) {
  const auto chain = MakeChain(state.range(0));
  for (auto _ : state) {
    ChainVerifier v;
    for (const auto& e : chain) {
      if (!v.Add(e)) state.SkipWithError("chain broken");
    }
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ChainVerify)->Arg(100'000)->Unit(benchmark::kMillisecond);

// `audit verify` end to end on a SQLite file: read every entry from the database, check the
// chain and one signed checkpoint at its head.
void BM_VerifySqlite(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  const std::string dir = (std::filesystem::temp_directory_path() / ("tp_audit_bench_" + std::to_string(n))).string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string url = "sqlite://" + dir + "/touchpoint.db";
  std::array<unsigned char, kMasterKeyBytes> bytes{};
  bytes.fill(9);
  const Signer signer = Signer::FromMasterKey(MasterKey::FromBytes(bytes));
  {
    auto s = store::Open(url);
    if (!s.ok()) return state.SkipWithError(s.status().message().c_str());
    const auto chain = MakeChain(n);
    auto appended = (*s)->Get<store::AuditRepository>().Append(chain, ChainHash);
    if (!appended.ok()) return state.SkipWithError(appended.status().message().c_str());
    store::AuditCheckpointRecord c{0, n, appended->back().hash, 1, signer.key_id(), ""};
    c.signature = ToBase64(signer.Sign(CheckpointMessage(c)));
    if (!(*s)->Get<store::AuditRepository>().AddCheckpoint(c).ok()) return state.SkipWithError("checkpoint");
  }
  store::OpenOptions ro;
  ro.read_only = true;
  auto s = store::Open(url, ro);
  if (!s.ok()) return state.SkipWithError(s.status().message().c_str());
  AuditVerifyOptions o;
  o.trusted_keys = {signer.public_key()};
  // CPU of every thread of the process (the hashing runs on others): what the wall time would be
  // on idle cores is about this divided by the cores available.
  auto process_cpu_ns = [] {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1'000'000'000.0 + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1000.0;
  };
  const double cpu_before = process_cpu_ns();
  for (auto _ : state) {
    auto v = VerifyAuditLog((*s)->Get<store::AuditRepository>(), (*s)->Get<store::SigningKeyRepository>(), o);
    if (!v.ok() || !v->intact() || v->covered != n) state.SkipWithError("not intact");
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["process_cpu_ns_per_entry"] =
      (process_cpu_ns() - cpu_before) / static_cast<double>(state.iterations() * n);
  s->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_VerifySqlite)->Arg(1'000'000)->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();

}  // namespace
}  // namespace touchpoint::privacy
