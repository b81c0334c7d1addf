// Crash safety of the real binary: every acknowledged event survives `kill -9`, the restarted
// server takes over the lock, a second writer is refused, and SIGTERM stops with exit code 0.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <touchpoint/privacy/keys.h>
#include <touchpoint/store/sla_repository.h>
#include <touchpoint/store/ticket_repository.h>

#include "testing/data_dir.h"

#include "server/test_util.h"
#include "testing/http_client.h"
#include "testing/matchers.h"
#include "testing/message_ids.h"

extern char** environ;

namespace touchpoint::server {
namespace {

using ::testing::HasSubstr;
using ::touchpoint::privacy::Role;
using ::touchpoint::testing::HttpClient;
using namespace std::chrono_literals;

struct Child {
  pid_t pid = -1;
  int out_fd = -1;  // the child's stdout
};

// Spawns `touchpoint serve --data DIR --listen 127.0.0.1:0 ...` with stderr appended to `log`.
Child Spawn(const std::string& dir, const std::string& log) {
  int fds[2];
  if (pipe(fds) != 0) return {};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  std::vector<std::string> args = {TP_TOUCHPOINT_BIN, "serve", "--data", dir, "--store", testing::StoreUrlForDir(dir),
                                   "--listen", "127.0.0.1:0", "--worker-threads", "8", "--no-text"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  Child c;
  if (posix_spawn(&c.pid, TP_TOUCHPOINT_BIN, &fa, nullptr, argv.data(), environ) != 0) c.pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  c.out_fd = fds[0];
  return c;
}

// Reads the child's stdout until "listening on http://HOST:PORT" or EOF/timeout; 0 on failure.
uint16_t WaitForPort(const Child& c, std::chrono::milliseconds timeout) {
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{c.out_fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[256];
    const ssize_t n = read(c.out_fd, buf, sizeof(buf));
    if (n <= 0) return 0;
    out.append(buf, static_cast<size_t>(n));
    const size_t at = out.find("listening on http://127.0.0.1:");
    if (at != std::string::npos && out.find('\n', at) != std::string::npos) {
      return static_cast<uint16_t>(std::stoi(out.substr(at + 30)));
    }
  }
  return 0;
}

// Waits for the child to exit; returns its exit code, 128+signal, or -1 on timeout.
int WaitExit(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(20ms);
  }
  return -1;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(CrashTest, AcknowledgedEventsSurviveKill9) {
  if (!std::filesystem::exists(TP_TOUCHPOINT_BIN)) GTEST_SKIP() << "build the touchpoint binary first";
  const auto dir = test::MakeTempDir("crash");
  const std::string data = dir.string();
  const std::string log = (dir / "server.log").string();
  const std::string key = test::MakeKey(data, Role::kIngest);
  ASSERT_FALSE(key.empty());

  Child server = Spawn(data, log);
  ASSERT_GT(server.pid, 0);
  const uint16_t port = WaitForPort(server, 20s);
  ASSERT_NE(port, 0) << ReadFile(log);

  std::mutex mu;
  std::vector<std::string> acked;
  std::atomic<int> batches{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      HttpClient c(port);
      for (int b = 0; b < 100'000; ++b) {
        std::string body = "{\"batch\":[";
        std::vector<std::string> ids;
        for (int i = 0; i < 50; ++i) {
          ids.push_back("crash-" + std::to_string(t) + "-" + std::to_string(b) + "-" + std::to_string(i));
          if (i) body += ",";
          body += R"({"type":"identify","userId":"crash-user-)" + std::to_string((b * 50 + i) % 997) +
                  R"(","traits":{"email":"person)" + std::to_string(i) + R"(@example.org"},"messageId":")" +
                  ids.back() + "\"}";
        }
        body += "]}";
        auto r = c.Post("/v1/batch", body, "application/json", test::BasicAuth(key));
        if (!r.ok() || r->status != 200) return;  // the server died
        std::scoped_lock lock(mu);
        acked.insert(acked.end(), ids.begin(), ids.end());
        ++batches;
      }
    });
  }
  // Kill in the middle of the stream, once some batches are in.
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (batches < 20 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  std::this_thread::sleep_for(200ms);
  ASSERT_EQ(kill(server.pid, SIGKILL), 0);
  EXPECT_EQ(WaitExit(server.pid, 10s), 128 + SIGKILL);
  for (auto& th : clients) th.join();
  close(server.out_fd);
  ASSERT_GE(batches.load(), 20) << ReadFile(log);

  // Restart on the same directory: the lock of the killed process is taken over.
  Child again = Spawn(data, log);
  const uint16_t port2 = WaitForPort(again, 30s);
  ASSERT_NE(port2, 0) << ReadFile(log);

  // A second writer fails at once with a clear message and exit code 1.
  const std::string log2 = (dir / "second.log").string();
  Child second = Spawn(data, log2);
  EXPECT_EQ(WaitExit(second.pid, 10s), 1);
  close(second.out_fd);
  EXPECT_THAT(ReadFile(log2), HasSubstr("touchpoint serve"));

  // Graceful stop.
  ASSERT_EQ(kill(again.pid, SIGTERM), 0);
  EXPECT_EQ(WaitExit(again.pid, 30s), 0);
  close(again.out_fd);

  auto store = testing::OpenReadOnly(data);
  ASSERT_OK(store);
  auto counts = ::touchpoint::testing::MessageIdCounts(**store);
  ASSERT_OK(counts);
  size_t missing = 0, doubled = 0;
  for (const auto& id : acked) {
    const std::int64_t n = ::touchpoint::testing::CountOf(*counts, id);
    if (n == 0) ++missing;
    if (n > 1) ++doubled;
  }
  EXPECT_EQ(missing, 0u) << "of " << acked.size() << " acknowledged";
  EXPECT_EQ(doubled, 0u);

  // No personal data in the logs.
  const std::string logs = ReadFile(log) + ReadFile(log2);
  EXPECT_THAT(logs, HasSubstr("started"));
  EXPECT_THAT(logs, ::testing::Not(HasSubstr("crash-user-")));
  EXPECT_THAT(logs, ::testing::Not(HasSubstr("@example.org")));
  EXPECT_THAT(logs, ::testing::Not(HasSubstr(key)));
  std::filesystem::remove_all(dir);
}

// The service desk across kill -9: every ticket acknowledged by POST /v1/tickets exists after the
// restart, and every acknowledged inbound message is in exactly one ticket's thread — also those
// whose hook call the kill cut off (the restarted desk catches up from its stored cursor).
TEST(CrashTest, DeskTicketsAndInboundMessagesSurviveKill9ExactlyOnce) {
  if (!std::filesystem::exists(TP_TOUCHPOINT_BIN)) GTEST_SKIP() << "build the touchpoint binary first";
  const auto dir = test::MakeTempDir("desk_crash");
  const std::string data = dir.string();
  const std::string log = (dir / "server.log").string();
  const std::string key = test::MakeKey(data, Role::kAdmin);
  ASSERT_FALSE(key.empty());
  Child server = Spawn(data, log);
  ASSERT_GT(server.pid, 0);
  const uint16_t port = WaitForPort(server, 20s);
  ASSERT_NE(port, 0) << ReadFile(log);

  std::mutex mu;
  std::vector<std::string> acked_messages;
  std::vector<std::string> acked_tickets;
  std::atomic<int> batches{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 3; ++t) {
    clients.emplace_back([&, t] {
      HttpClient c(port);
      for (int b = 0; b < 100'000; ++b) {
        std::string body = "{\"batch\":[";
        std::vector<std::string> ids;
        for (int i = 0; i < 20; ++i) {
          ids.push_back("desk-" + std::to_string(t) + "-" + std::to_string(b) + "-" + std::to_string(i));
          if (i) body += ",";
          body += R"({"type":"track","event":"Message Received","userId":"desk-user-)" + std::to_string(t) + "-" +
                  std::to_string((b * 20 + i) % 301) + R"(","messageId":")" + ids.back() +
                  R"(","properties":{"text":"help","channel":"chat"}})";
        }
        body += "]}";
        auto r = c.Post("/v1/batch", body, "application/json", test::BearerAuth(key));
        if (!r.ok() || r->status != 200) return;  // the server died
        auto created = c.Post("/v1/tickets",
                              R"({"customer":"user:desk-user-)" + std::to_string(t) + R"(-0","subject":"s","channel":"phone"})",
                              "application/json", test::BearerAuth(key));
        std::scoped_lock lock(mu);
        acked_messages.insert(acked_messages.end(), ids.begin(), ids.end());
        if (created.ok() && created->status == 201) {
          const size_t at = created->body.find("\"TP-");
          if (at != std::string::npos) acked_tickets.push_back(created->body.substr(at + 4, created->body.find('"', at + 1) - at - 4));
        }
        ++batches;
      }
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (batches < 20 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  std::this_thread::sleep_for(100ms);
  ASSERT_EQ(kill(server.pid, SIGKILL), 0);
  EXPECT_EQ(WaitExit(server.pid, 10s), 128 + SIGKILL);
  for (auto& th : clients) th.join();
  close(server.out_fd);
  ASSERT_GE(batches.load(), 20) << ReadFile(log);

  Child again = Spawn(data, log);  // catches up before it listens
  ASSERT_NE(WaitForPort(again, 30s), 0) << ReadFile(log);
  ASSERT_EQ(kill(again.pid, SIGTERM), 0);
  EXPECT_EQ(WaitExit(again.pid, 30s), 0);
  close(again.out_fd);

  auto store = testing::OpenReadOnly(data);
  ASSERT_OK(store);
  auto& tickets = (*store)->Get<store::TicketRepository>();
  std::vector<std::int64_t> numbers;
  ASSERT_OK(tickets.Scan([&](store::TicketRecord&& t) { numbers.push_back(t.number); }));
  std::map<std::string, int> in_threads;
  for (std::int64_t n : numbers) {
    auto messages = tickets.Messages(n);
    ASSERT_OK(messages);
    for (const auto& m : *messages) ++in_threads[m.message_id];
  }
  size_t missing = 0, doubled = 0;
  for (const auto& id : acked_messages) {
    const int n = in_threads.count(id) ? in_threads[id] : 0;
    if (n == 0) ++missing;
    if (n > 1) ++doubled;
  }
  EXPECT_EQ(missing, 0u) << "of " << acked_messages.size() << " acknowledged messages";
  EXPECT_EQ(doubled, 0u);
  for (const std::string& digits : acked_tickets) {
    auto found = tickets.Find(std::stoll(digits));
    ASSERT_OK(found);
    EXPECT_TRUE(found->has_value()) << "TP-" << digits;
  }
  EXPECT_GT(acked_tickets.size(), 0u);
  std::filesystem::remove_all(dir);
}

// SLA timers across kill -9: tickets acknowledged with their first response pending; the server
// is killed before anything is due and restarted after: the restarted timer computes the same due
// times from the history (created_at + 6 s for every ticket) and fires each warning and breach
// exactly once — also across a further restart.
TEST(CrashTest, PendingSlaTimersFireOnceWithTheSameDueTimesAfterKill9) {
  if (!std::filesystem::exists(TP_TOUCHPOINT_BIN)) GTEST_SKIP() << "build the touchpoint binary first";
  const auto dir = test::MakeTempDir("sla_crash");
  const std::string data = dir.string();
  const std::string log = (dir / "server.log").string();
  {
    std::ofstream toml(dir / "touchpoint.toml");
    toml << "[[sla.policies]]\nname = \"fast\"\nfirst_response = { minutes = 0.1, warning_minutes = 0.05 }\n";
  }
  const std::string key = test::MakeKey(data, Role::kAdmin);
  ASSERT_FALSE(key.empty());
  Child server = Spawn(data, log);
  ASSERT_GT(server.pid, 0);
  const uint16_t port = WaitForPort(server, 20s);
  ASSERT_NE(port, 0) << ReadFile(log);
  std::vector<std::int64_t> acked;
  {
    HttpClient c(port);
    auto r = c.Post("/v1/batch", R"({"batch":[{"type":"identify","userId":"sla-user","messageId":"sla-id","traits":{}}]})",
                    "application/json", test::BearerAuth(key));
    ASSERT_OK(r.status());
    for (int i = 0; i < 20; ++i) {
      auto created = c.Post("/v1/tickets", R"({"customer":"user:sla-user","subject":"s","channel":"phone"})",
                            "application/json", test::BearerAuth(key));
      ASSERT_OK(created.status());
      ASSERT_EQ(created->status, 201) << created->body;
      const size_t at = created->body.find("\"TP-");
      acked.push_back(std::stoll(created->body.substr(at + 4, created->body.find('"', at + 1) - at - 4)));
    }
  }
  ASSERT_EQ(kill(server.pid, SIGKILL), 0);  // well before the first warning (3 s)
  EXPECT_EQ(WaitExit(server.pid, 10s), 128 + SIGKILL);
  close(server.out_fd);
  std::this_thread::sleep_for(7s);  // past every due time while no server runs

  auto events_of = [&](std::map<std::int64_t, std::vector<store::SlaEventRecord>>* out) {
    auto store = testing::OpenReadOnly(data);
    ASSERT_OK(store);
    for (std::int64_t n : acked) {
      auto events = (*store)->Get<store::SlaRepository>().Events(n);
      ASSERT_OK(events);
      (*out)[n] = *events;
    }
  };
  Child again = Spawn(data, log);  // catches up: fires what came due while it was down
  const uint16_t port2 = WaitForPort(again, 30s);
  ASSERT_NE(port2, 0) << ReadFile(log);
  {
    HttpClient c(port2);
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = c.Get("/v1/desk/sla?state=breached", test::BearerAuth(key));
      if (r.ok() && r->body.find("\"breaches_fired\":20") != std::string::npos) break;
      std::this_thread::sleep_for(50ms);
    }
  }
  ASSERT_EQ(kill(again.pid, SIGTERM), 0);
  EXPECT_EQ(WaitExit(again.pid, 30s), 0);
  close(again.out_fd);
  std::map<std::int64_t, std::vector<store::SlaEventRecord>> first;
  events_of(&first);

  auto store = testing::OpenReadOnly(data);
  ASSERT_OK(store);
  for (std::int64_t n : acked) {
    auto t = (*store)->Get<store::TicketRepository>().Find(n);
    ASSERT_OK(t);
    ASSERT_TRUE(t->has_value());
    const Millis created_s = (*t)->created_at / 1000 * 1000;
    const auto& events = first[n];
    ASSERT_EQ(events.size(), 2u) << "TP-" << n;
    EXPECT_EQ(events[0].kind, "warning");
    EXPECT_EQ(events[1].kind, "breach");
    for (const auto& e : events) {
      EXPECT_EQ(e.target, "first_response");
      EXPECT_EQ(e.due_at, created_s + 6000) << "TP-" << n << " " << e.kind;  // as without the crash
    }
    EXPECT_EQ((*t)->priority, "high");
  }
  store->reset();

  // Once more: a clean restart fires nothing twice.
  Child third = Spawn(data, log);
  ASSERT_NE(WaitForPort(third, 30s), 0) << ReadFile(log);
  std::this_thread::sleep_for(500ms);
  ASSERT_EQ(kill(third.pid, SIGTERM), 0);
  EXPECT_EQ(WaitExit(third.pid, 30s), 0);
  close(third.out_fd);
  std::map<std::int64_t, std::vector<store::SlaEventRecord>> second;
  events_of(&second);
  EXPECT_EQ(first, second);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace touchpoint::server
