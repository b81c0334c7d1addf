// Encryption at rest, per value (privacy/field_crypto.h, privacy/encrypted_store.h): sealing and
// opening a demo-sized event body under a person's data key, and a whole batch through the
// layer's PrepareEvents (what the writer thread pays per event).
#include <benchmark/benchmark.h>

#include <array>
#include <string>
#include <vector>

#include <touchpoint/privacy/encrypted_store.h>
#include <touchpoint/privacy/field_crypto.h>
#include <touchpoint/store/memory.h>

namespace touchpoint::privacy {
namespace {

MasterKey Key() {
  std::array<unsigned char, kMasterKeyBytes> bytes{};
  bytes.fill(5);
  return MasterKey::FromBytes(bytes);
}

std::string Body(int i) {
  return R"({"type":"track","event":"Order Completed","userId":"u)" + std::to_string(i) +
         R"(","messageId":"m-)" + std::to_string(i) +
         R"(","timestamp":"2024-03-01T00:00:00.000Z","properties":{"order_id":"O-)" + std::to_string(i) +
         R"(","total":129.5,"currency":"CNY","products":[{"product_id":"P-102","category":"shoes","price":129.5,)"
         R"("quantity":1}]},"context":{"channel":"app","traits":{"phone":"+86138)" +
         std::to_string(10'000'000 + i) + R"(","email":"user)" + std::to_string(i) + R"(@example.com"}}})";
}

void BM_SealEventBody(benchmark::State& state) {
  const DataKey key = DataKey::Random();
  const std::string body = Body(7);
  for (auto _ : state) benchmark::DoNotOptimize(Seal(key, 1, CustomerId(7), "events.body\0row", body));
  state.SetItemsProcessed(state.iterations());
  state.counters["bytes_in"] = static_cast<double>(body.size());
  state.counters["bytes_out"] = static_cast<double>(Seal(key, 1, CustomerId(7), "x", body).size());
}
BENCHMARK(BM_SealEventBody);

void BM_OpenEventBody(benchmark::State& state) {
  const DataKey key = DataKey::Random();
  const std::string sealed = Seal(key, 1, CustomerId(7), "ad", Body(7));
  for (auto _ : state) benchmark::DoNotOptimize(Unseal(key, "ad", sealed, "events.body"));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_OpenEventBody);

// 10,000 events of 2,000 people through EncryptedStore's PrepareEvents (keys cached after the
// first batch, as in a long ingest).
void BM_PrepareEventsEncrypted(benchmark::State& state) {
  const MasterKey master = Key();
  auto ctx = std::make_shared<EncryptionContext>(master, std::make_unique<Keyring>(store::memory::Open(), master));
  EncryptedStore store(store::memory::Open(), ctx);
  std::vector<store::EventRecord> events(10'000);
  for (int i = 0; i < 10'000; ++i) {
    events[static_cast<size_t>(i)].hash = store::MessageHash{static_cast<std::uint64_t>(i), 1};
    events[static_cast<size_t>(i)].customer = CustomerId(1 + i % 2000);
    events[static_cast<size_t>(i)].body = Body(i);
  }
  for (auto _ : state) benchmark::DoNotOptimize(store.maintenance()->PrepareEvents(events));
  state.SetItemsProcessed(state.iterations() * 10'000);
}
BENCHMARK(BM_PrepareEventsEncrypted)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace touchpoint::privacy
