// tp_desk_prepare: the data directory of bench/service/desk_http.sh — AGENTS agents and TICKETS
// open tickets made through the desk itself (service::Desk::PutAgent and Desk::Create: routing
// among every agent, the stored decision, the history rows), so the server under test starts with
// what a desk of that size holds.
//
// Usage: tp_desk_prepare DATA_DIR AGENTS TICKETS CUSTOMERS [BREACHING_SHARE]
//   Agents: online, no shift, 1-3 of 8 products as skills, zh (and en for a third), capacity
//   enough to hold every ticket. Tickets: customers 1..CUSTOMERS (the ids `touchpoint ingest`
//   gave the bench's customers), a product skill and zh/en each. BREACHING_SHARE (default 0.05)
//   of them are created 30 hours ago, so that the server's SLA timer breaches their first
//   response (baseline policy: 24 hours) when it starts: `GET /v1/tickets?breaching=true` then
//   has tickets to list. The rest are created within the last 20 hours.
// Prints progress (tickets/s through Desk::Create on this store, synchronous=normal) and, at
// the end, the size of the stored routing decisions.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <touchpoint/core/time.h>
#include <touchpoint/service/agents.h>
#include <touchpoint/service/desk.h>
#include <touchpoint/store/open.h>

namespace {

using namespace touchpoint;

class SetClock final : public Clock {
 public:
  Millis Now() const override { return now_.load(); }
  void Set(Millis t) { now_.store(t); }

 private:
  std::atomic<Millis> now_{0};
};

int Die(const Status& s, const char* what) {
  std::fprintf(stderr, "tp_desk_prepare: %s: %s\n", what, s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: tp_desk_prepare DATA_DIR AGENTS TICKETS CUSTOMERS [BREACHING_SHARE]\n");
    return 2;
  }
  const std::string dir = argv[1];
  const int agents = std::atoi(argv[2]);
  const long tickets = std::atol(argv[3]);
  const long customers = std::atol(argv[4]);
  const double breaching = argc > 5 ? std::atof(argv[5]) : 0.05;
  if (agents < 1 || tickets < 0 || customers < 1) {
    std::fprintf(stderr, "tp_desk_prepare: AGENTS and CUSTOMERS must be positive, TICKETS not negative\n");
    return 2;
  }
  store::OpenOptions o;
  o.purpose = "tp_desk_prepare";
  o.synchronous = "normal";
  auto st = store::Open(store::UrlForDataDir(dir), o);
  if (!st.ok()) return Die(st.status(), "open");
  SetClock clock;
  const Millis now = SystemClock::Instance().Now();
  clock.Set(now - 31 * 3'600'000LL);
  service::Desk desk(std::move(*st), clock);
  const service::Actor admin{service::Actor::Kind::kAdmin, 0, "bench"};
  static const char* kProducts[] = {"credit_card", "loan", "refund", "delivery", "invoice", "account", "insurance", "wealth"};
  std::mt19937_64 rng(7);
  const int capacity = static_cast<int>(std::min<long>(1000, tickets * 3 / (2 * agents) + 10));
  for (int i = 0; i < agents; ++i) {
    service::NewAgent a;
    a.name = "agent-" + std::to_string(i);
    a.email = "agent" + std::to_string(i) + "@bench.example";
    const int n = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < n; ++k) a.skills.push_back(kProducts[rng() % 8]);
    a.languages = {"zh"};
    if (i % 3 == 0) a.languages.push_back("en");
    a.capacity = capacity;
    a.state = service::AgentState::kOnline;
    auto put = desk.PutAgent(std::move(a), admin);
    if (!put.ok()) return Die(put.status(), "agent");
  }
  std::printf("agents: %d (capacity %d each)\n", agents, capacity);
  const auto began = std::chrono::steady_clock::now();
  auto last = began;
  const long breaching_count = static_cast<long>(static_cast<double>(tickets) * breaching);
  std::int64_t sample = 0;
  for (long i = 0; i < tickets; ++i) {
    // The breaching share first (30 hours ago), then the rest spread over the last 20 hours.
    const Millis at = i < breaching_count ? now - 30 * 3'600'000LL
                                          : now - 20 * 3'600'000LL + (i * 20 * 3'600'000LL) / std::max(1L, tickets);
    clock.Set(at);
    service::NewTicket t;
    t.customer = CustomerId(1 + i % customers);
    t.subject = "bench ticket " + std::to_string(i);
    t.channel = i % 2 ? "chat" : "email";
    t.skill = kProducts[rng() % 8];
    t.language = rng() % 5 == 0 ? "en" : "zh";
    auto created = desk.Create(t, admin);
    if (!created.ok()) return Die(created.status(), "ticket");
    sample = created->number;
    if ((i + 1) % 10'000 == 0 || i + 1 == tickets) {
      const auto t1 = std::chrono::steady_clock::now();
      const double batch = std::chrono::duration<double>(t1 - last).count();
      last = t1;
      std::printf("tickets: %ld (%.0f tickets/s over the last %ld)\n", i + 1,
                  static_cast<double>((i % 10'000) + 1) / std::max(batch, 1e-9), (i % 10'000) + 1);
      std::fflush(stdout);
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  std::printf("created %ld tickets in %.1f s (%.0f tickets/s through Desk::Create, synchronous=normal)\n", tickets, secs,
              static_cast<double>(tickets) / std::max(secs, 1e-9));
  if (sample > 0) {
    auto decisions = desk.Routing(sample);
    if (decisions.ok() && !decisions->empty()) {
      std::printf("routing decision of the last ticket: %zu bytes of explanation (%d agents)\n",
                  decisions->back().detail.size(), agents);
    }
  }
  desk.Close();
  std::error_code ec;
  const auto bytes = std::filesystem::file_size(std::filesystem::path(dir) / "touchpoint.db", ec);
  if (!ec) std::printf("database: %.1f MiB\n", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return 0;
}
