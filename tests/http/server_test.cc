#include <touchpoint/http/server.h>

#include <poll.h>
#include <sys/socket.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "testing/http_client.h"
#include "testing/matchers.h"

namespace touchpoint::http {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::touchpoint::testing::HttpClient;
using ::touchpoint::testing::HttpResponse;
using ::touchpoint::testing::RawConnection;
using ::touchpoint::testing::StatusIs;
using namespace std::chrono_literals;

ServerOptions TestOptions() {
  ServerOptions options;
  options.port = 0;
  options.worker_threads = 4;
  return options;
}

// Echoes the request as "method|path|query|x-test header|body".
Response Echo(const Request& request) {
  Response response;
  response.content_type = "text/plain";
  const std::string* x_test = request.Header("x-test");
  response.body = request.method + "|" + request.path + "|" + request.query + "|" +
                  (x_test ? *x_test : "-") + "|" + request.body;
  response.headers.emplace_back("X-Body-Size", std::to_string(request.body.size()));
  return response;
}

std::unique_ptr<Server> MustStart(const ServerOptions& options, Handler handler) {
  auto server = Server::Start(options, std::move(handler));
  TP_CHECK(server.ok(), server.status().ToString().c_str());
  return std::move(server).value();
}

TEST(ServerTest, GetAndPostRoundTrip) {
  auto server = MustStart(TestOptions(), Echo);
  HttpClient client(server->port());

  auto get = client.Get("/v1/customers/phone:%2B8613812345678?fields=a,b", {{"X-Test", "yes"}});
  ASSERT_OK(get);
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->body, "GET|/v1/customers/phone:+8613812345678|fields=a,b|yes|");
  ASSERT_NE(get->Header("content-type"), nullptr);
  EXPECT_EQ(*get->Header("content-type"), "text/plain");
  ASSERT_NE(get->Header("server"), nullptr);
  EXPECT_EQ(*get->Header("server"), "touchpoint");
  ASSERT_NE(get->Header("date"), nullptr);
  EXPECT_THAT(*get->Header("date"), HasSubstr(" GMT"));
  ASSERT_NE(get->Header("content-length"), nullptr);
  EXPECT_EQ(*get->Header("content-length"), std::to_string(get->body.size()));

  const std::string body = "{\"event\":\"purchase\",\"amount\":12.5}";
  auto post = client.Post("/v1/events", body, "application/json");
  ASSERT_OK(post);
  EXPECT_EQ(post->status, 200);
  EXPECT_EQ(post->body, "POST|/v1/events||-|" + body);
  ASSERT_NE(post->Header("x-body-size"), nullptr);
  EXPECT_EQ(*post->Header("x-body-size"), std::to_string(body.size()));
}

TEST(ServerTest, HandlerStatusAndHeadersAreSent) {
  auto server = MustStart(TestOptions(), [](const Request&) {
    Response r = JsonError(404, "not_found", "no such customer");
    r.headers.emplace_back("X-Request-Id", "abc");
    r.headers.emplace_back("X-Evil", "a\r\nSet-Cookie: x=1");  // dropped: header injection
    return r;
  });
  HttpClient client(server->port());
  auto r = client.Get("/x");
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, "{\"error\":{\"code\":\"not_found\",\"message\":\"no such customer\"}}");
  ASSERT_NE(r->Header("x-request-id"), nullptr);
  EXPECT_EQ(*r->Header("x-request-id"), "abc");
  EXPECT_EQ(r->Header("x-evil"), nullptr);
  EXPECT_EQ(r->Header("set-cookie"), nullptr);
}

TEST(ServerTest, LargePostBodiesArriveIntact) {
  ServerOptions options = TestOptions();
  auto server = MustStart(options, Echo);
  HttpClient client(server->port());
  for (size_t size : {100u * 1024u, 300u * 1024u, 512u * 1024u}) {
    std::string body(size, 'x');
    for (size_t i = 0; i < body.size(); i += 97) body[i] = static_cast<char>('a' + i % 26);
    auto r = client.Post("/upload", body, "application/x-ndjson");
    ASSERT_OK(r);
    ASSERT_EQ(r->status, 200) << "size " << size;
    EXPECT_EQ(r->body, "POST|/upload||-|" + body) << "size " << size;
  }
}

TEST(ServerTest, KeepAliveReusesOneConnection) {
  std::mutex mu;
  std::set<uint16_t> ports;
  auto server = MustStart(TestOptions(), [&](const Request& request) {
    std::scoped_lock lock(mu);
    ports.insert(request.remote_port);
    EXPECT_EQ(request.remote_address, "127.0.0.1");
    return Response{.status = 200, .content_type = "text/plain", .body = "ok", .headers = {}};
  });
  HttpClient client(server->port());
  for (int i = 0; i < 50; ++i) {
    auto r = client.Get("/ping");
    ASSERT_OK(r);
    ASSERT_EQ(r->status, 200);
  }
  std::scoped_lock lock(mu);
  EXPECT_EQ(ports.size(), 1u);
}

TEST(ServerTest, PipelinedRequestsAnswerInOrder) {
  auto server = MustStart(TestOptions(), Echo);
  auto connection = RawConnection::Connect(server->port());
  ASSERT_OK(connection);
  ASSERT_OK(connection->Send(
      "GET /one HTTP/1.1\r\nHost: t\r\n\r\n"
      "POST /two HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"
      "GET /three HTTP/1.1\r\nHost: t\r\n\r\n"));
  for (const std::string expected : {"GET|/one||-|", "POST|/two||-|abc", "GET|/three||-|"}) {
    auto r = connection->ReadResponse();
    ASSERT_OK(r);
    EXPECT_EQ(r->body, expected);
  }
}

TEST(ServerTest, ConnectionCloseAndHttp10AreHonoured) {
  auto server = MustStart(TestOptions(), Echo);
  struct Case {
    std::string request;
    bool server_closes;
  };
  const std::vector<Case> cases = {
      {"GET /a HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", true},
      {"GET /a HTTP/1.0\r\n\r\n", true},
      {"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", false},
      {"GET /a HTTP/1.1\r\nHost: t\r\n\r\n", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.request);
    auto connection = RawConnection::Connect(server->port());
    ASSERT_OK(connection);
    ASSERT_OK(connection->Send(c.request));
    auto r = connection->ReadResponse();
    ASSERT_OK(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(connection->WaitForClose(c.server_closes ? 2000ms : 200ms), c.server_closes);
  }
}

TEST(ServerTest, ChunkedRequestBodyIsDecoded) {
  auto server = MustStart(TestOptions(), Echo);
  auto connection = RawConnection::Connect(server->port());
  ASSERT_OK(connection);
  ASSERT_OK(connection->Send(
      "POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
  auto r = connection->ReadResponse();
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "POST|/c||-|hello world");
}

TEST(ServerTest, ThousandIdleConnectionsDoNotDelayARequest) {
  constexpr size_t kIdle = 1000;
  ASSERT_GE(touchpoint::testing::RaiseFileLimit(3 * kIdle + 200), 2 * kIdle + 100)
      << "RLIMIT_NOFILE too low for this test";
  ServerOptions options = TestOptions();
  options.worker_threads = 4;  // far fewer workers than connections
  auto server = MustStart(options, Echo);

  // Each idle connection first completes a request, so the server has really accepted it and
  // it is a genuine idle keep-alive connection.
  auto idle = touchpoint::testing::OpenIdleConnections(server->port(), kIdle);
  ASSERT_OK(idle);
  for (auto& connection : *idle) {
    ASSERT_OK(connection.Send("GET /warm HTTP/1.1\r\nHost: t\r\n\r\n"));
  }
  for (auto& connection : *idle) {
    auto r = connection.ReadResponse();
    ASSERT_OK(r);
    ASSERT_EQ(r->status, 200);
  }

  const auto start = std::chrono::steady_clock::now();
  HttpClient client(server->port());
  auto r = client.Get("/hello");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_LT(elapsed, 500ms);  // a thread-per-connection server takes seconds here

  // The idle connections are still usable.
  ASSERT_OK(idle->back().Send("GET /again HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto again = idle->back().ReadResponse();
  ASSERT_OK(again);
  EXPECT_EQ(again->body, "GET|/again||-|");
}

TEST(ServerTest, OversizedContentLengthGets413BeforeTheBodyIsRead) {
  ServerOptions options = TestOptions();
  options.max_body_bytes = 1024;
  std::atomic<int> calls{0};
  auto server = MustStart(options, [&](const Request& request) {
    ++calls;
    return Echo(request);
  });

  // Only the header is sent: the answer must not wait for the body.
  auto connection = RawConnection::Connect(server->port());
  ASSERT_OK(connection);
  ASSERT_OK(connection->Send("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n"));
  auto r = connection->ReadResponse(2000ms);
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_THAT(r->body, HasSubstr("\"code\":\"payload_too_large\""));
  ASSERT_NE(r->Header("content-type"), nullptr);
  EXPECT_EQ(*r->Header("content-type"), "application/json");
  EXPECT_TRUE(connection->WaitForClose(3000ms));

  // A client that sends the whole body anyway still reads the 413.
  HttpClient client(server->port());
  auto post = client.Post("/up", std::string(200 * 1024, 'z'), "application/octet-stream");
  ASSERT_OK(post);
  EXPECT_EQ(post->status, 413);

  // Exactly at the limit is fine.
  auto at_limit = client.Post("/up", std::string(1024, 'k'), "application/octet-stream");
  ASSERT_OK(at_limit);
  EXPECT_EQ(at_limit->status, 200);
  EXPECT_EQ(calls.load(), 1);
}

TEST(ServerTest, OversizedChunkedBodyGets413) {
  ServerOptions options = TestOptions();
  options.max_body_bytes = 1024;
  std::atomic<int> calls{0};
  auto server = MustStart(options, [&](const Request& request) {
    ++calls;
    return Echo(request);
  });
  auto connection = RawConnection::Connect(server->port());
  ASSERT_OK(connection);
  std::string request = "POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string chunk(600, 'c');
  for (int i = 0; i < 3; ++i) request += "258\r\n" + chunk + "\r\n";  // 0x258 = 600
  request += "0\r\n\r\n";
  ASSERT_OK(connection->Send(request));
  auto r = connection->ReadResponse(2000ms);
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_THAT(r->body, HasSubstr("payload_too_large"));
  EXPECT_TRUE(connection->WaitForClose(3000ms));
  EXPECT_EQ(calls.load(), 0);
}

TEST(ServerTest, MalformedRequestsGet400) {
  std::atomic<int> calls{0};
  auto server = MustStart(TestOptions(), [&](const Request& request) {
    ++calls;
    return Echo(request);
  });
  const std::vector<std::string> requests = {
      "GARBAGE\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: t\r\nNo colon here\r\n\r\n",
      "GET / HTTX/1.1\r\nHost: t\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
      "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      // Both framings at once: a request-smuggling vector, never guessed.
      "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n0\r\n\r\n",
      "GET /a%zz HTTP/1.1\r\nHost: t\r\n\r\n",
      "GET relative HTTP/1.1\r\nHost: t\r\n\r\n",
  };
  for (const auto& raw : requests) {
    SCOPED_TRACE(raw);
    auto connection = RawConnection::Connect(server->port());
    ASSERT_OK(connection);
    ASSERT_OK(connection->Send(raw));
    auto r = connection->ReadResponse(2000ms);
    ASSERT_OK(r);
    EXPECT_EQ(r->status, 400);
    EXPECT_THAT(r->body, HasSubstr("\"code\":\"bad_request\""));
    EXPECT_TRUE(connection->WaitForClose(3000ms));
  }
  EXPECT_EQ(calls.load(), 0);
}

TEST(ServerTest, HugeHeaderGets431) {
  auto server = MustStart(TestOptions(), Echo);
  auto connection = RawConnection::Connect(server->port());
  ASSERT_OK(connection);
  ASSERT_OK(connection->Send("GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(64 * 1024, 'h') +
                             "\r\n\r\n"));
  auto r = connection->ReadResponse(2000ms);
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 431);
}

TEST(ServerTest, HandlerExceptionBecomes500AndConnectionSurvives) {
  auto server = MustStart(TestOptions(), [](const Request& request) -> Response {
    if (request.path == "/throw") throw std::runtime_error("customer phone:+8613812345678 broke");
    if (request.path == "/throw-int") throw 42;
    return Echo(request);
  });
  HttpClient client(server->port());
  for (const std::string path : {"/throw", "/throw-int"}) {
    auto r = client.Get(path);
    ASSERT_OK(r);
    EXPECT_EQ(r->status, 500);
    EXPECT_THAT(r->body, HasSubstr("\"code\":\"internal\""));
    EXPECT_THAT(r->body, Not(HasSubstr("8613812345678")));
  }
  auto ok = client.Get("/fine");
  ASSERT_OK(ok);
  EXPECT_EQ(ok->status, 200);
}

TEST(ServerTest, Expect100ContinueWorks) {
  ServerOptions options = TestOptions();
  options.max_body_bytes = 1024;
  auto server = MustStart(options, Echo);

  auto connection = RawConnection::Connect(server->port());
  ASSERT_OK(connection);
  ASSERT_OK(connection->Send(
      "POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  auto interim = connection->ReadResponse(2000ms);
  ASSERT_OK(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_OK(connection->Send("hello"));
  auto r = connection->ReadResponse(2000ms);
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "POST|/e||-|hello");

  // Over the limit: a final 413 instead of 100 Continue.
  auto big = RawConnection::Connect(server->port());
  ASSERT_OK(big);
  ASSERT_OK(big->Send(
      "POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n"));
  auto rejected = big->ReadResponse(2000ms);
  ASSERT_OK(rejected);
  EXPECT_EQ(rejected->status, 413);
}

TEST(ServerTest, BlockingHandlerDoesNotHoldBackOtherRequests) {
  ServerOptions options = TestOptions();
  options.worker_threads = 2;
  std::mutex mu;
  std::condition_variable cv;
  int released_round = -1;
  auto server = MustStart(options, [&](const Request& request) {
    if (request.path.rfind("/block/", 0) == 0) {
      const int round = std::stoi(request.path.substr(7));
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return released_round >= round; });
    }
    return Echo(request);
  });
  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    auto blocked = RawConnection::Connect(server->port());
    auto fast = RawConnection::Connect(server->port());
    ASSERT_OK(blocked);
    ASSERT_OK(fast);
    // Sent back to back so that both tasks are often queued together.
    ASSERT_OK(blocked->Send("GET /block/" + std::to_string(round) + " HTTP/1.1\r\nHost: t\r\n\r\n"));
    ASSERT_OK(fast->Send("GET /fast HTTP/1.1\r\nHost: t\r\n\r\n"));
    auto r = fast->ReadResponse(2000ms);
    ASSERT_OK(r);
    EXPECT_EQ(r->body, "GET|/fast||-|");
    {
      std::scoped_lock lock(mu);
      released_round = round;
    }
    cv.notify_all();
    auto b = blocked->ReadResponse(2000ms);
    ASSERT_OK(b);
    EXPECT_EQ(b->status, 200);
  }
}

TEST(ServerTest, GracefulStopFinishesInFlightRequestAndRefusesNewConnections) {
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> release_future = release.get_future().share();
  auto server = MustStart(TestOptions(), [&](const Request& request) {
    if (request.path == "/slow") {
      entered.set_value();
      release_future.wait();
    }
    return Echo(request);
  });
  const uint16_t port = server->port();

  // An idle keep-alive connection (it completed one request).
  auto idle = RawConnection::Connect(port);
  ASSERT_OK(idle);
  ASSERT_OK(idle->Send("GET /warm HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_OK(idle->ReadResponse());

  auto slow = RawConnection::Connect(port);
  ASSERT_OK(slow);
  ASSERT_OK(slow->Send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_EQ(entered.get_future().wait_for(5s), std::future_status::ready);

  std::thread stopper([&] { server->Stop(); });

  // While the slow handler still runs: new connections are refused, idle ones are closed.
  bool refused = false;
  for (int i = 0; i < 200 && !refused; ++i) {
    refused = !RawConnection::Connect(port).ok();
    if (!refused) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(refused);
  EXPECT_TRUE(idle->WaitForClose(2000ms));

  release.set_value();
  auto r = slow->ReadResponse(5000ms);
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "GET|/slow||-|");
  ASSERT_NE(r->Header("connection"), nullptr);
  EXPECT_EQ(*r->Header("connection"), "close");
  stopper.join();

  EXPECT_FALSE(RawConnection::Connect(port).ok());
  server->Stop();  // idempotent
  server->Wait();  // returns at once after Stop
}

TEST(ServerTest, StopFromAHandlerAnswersThenStops) {
  std::atomic<Server*> self{nullptr};
  auto server = MustStart(TestOptions(), [&](const Request& request) {
    if (request.path == "/shutdown") self.load()->Stop();
    return Echo(request);
  });
  self = server.get();
  HttpClient client(server->port());
  auto r = client.Post("/shutdown", "", "text/plain");
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 200);
  server->Wait();
  EXPECT_FALSE(RawConnection::Connect(server->port()).ok());
}

TEST(ServerTest, WaitReturnsWhenAnotherThreadStops) {
  auto server = MustStart(TestOptions(), Echo);
  std::thread stopper([&] { server->Stop(); });
  server->Wait();
  stopper.join();
  EXPECT_FALSE(RawConnection::Connect(server->port()).ok());
}

TEST(ServerTest, PortInUseIsUnavailable) {
  auto first = MustStart(TestOptions(), Echo);
  ServerOptions options = TestOptions();
  options.port = first->port();
  EXPECT_THAT(Server::Start(options, Echo), StatusIs(StatusCode::kUnavailable));
  // The first server is unaffected.
  HttpClient client(first->port());
  auto r = client.Get("/still-here");
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 200);
}

TEST(ServerTest, BadOptionsAreInvalidArgument) {
  ServerOptions options = TestOptions();
  options.host = "not-an-ip";
  EXPECT_THAT(Server::Start(options, Echo), StatusIs(StatusCode::kInvalidArgument));
  options = TestOptions();
  options.worker_threads = 0;
  EXPECT_THAT(Server::Start(options, Echo), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(Server::Start(TestOptions(), Handler()), StatusIs(StatusCode::kInvalidArgument));
}

TEST(ServerTest, IdleConnectionIsClosedAfterIdleTimeout) {
  ServerOptions options = TestOptions();
  options.idle_timeout_seconds = 1;
  auto server = MustStart(options, Echo);
  auto connection = RawConnection::Connect(server->port());
  ASSERT_OK(connection);
  ASSERT_OK(connection->Send("GET /a HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_OK(connection->ReadResponse());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(connection->WaitForClose(4000ms));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 500ms);
}

TEST(ServerTest, StalledRequestIsClosedAfterReadTimeout) {
  ServerOptions options = TestOptions();
  options.read_timeout_seconds = 1;
  options.idle_timeout_seconds = 60;
  auto server = MustStart(options, Echo);
  auto connection = RawConnection::Connect(server->port());
  ASSERT_OK(connection);
  ASSERT_OK(connection->Send("POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc"));
  EXPECT_TRUE(connection->WaitForClose(4000ms));
}

TEST(ServerTest, ConnectionsOverTheLimitAreClosed) {
  ServerOptions options = TestOptions();
  options.max_connections = 2;
  auto server = MustStart(options, Echo);
  std::vector<RawConnection> held;
  for (int i = 0; i < 2; ++i) {
    auto c = RawConnection::Connect(server->port());
    ASSERT_OK(c);
    ASSERT_OK(c->Send("GET /a HTTP/1.1\r\nHost: t\r\n\r\n"));
    ASSERT_OK(c->ReadResponse());
    held.push_back(std::move(c).value());
  }
  auto extra = RawConnection::Connect(server->port());
  ASSERT_OK(extra);
  EXPECT_TRUE(extra->WaitForClose(2000ms));
  held.clear();
  // Capacity comes back once connections go away.
  bool served = false;
  for (int i = 0; i < 100 && !served; ++i) {
    HttpClient client(server->port());
    auto r = client.Get("/b");
    served = r.ok() && r->status == 200;
    if (!served) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(served);
}

TEST(ServerTest, ConcurrentClientsAllGetTheirOwnAnswers) {
  ServerOptions options = TestOptions();
  options.io_threads = 2;
  auto server = MustStart(options, Echo);
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      HttpClient client(server->port());
      for (int i = 0; i < 50; ++i) {
        const std::string body = std::to_string(t) + ":" + std::to_string(i);
        auto r = client.Post("/c", body, "text/plain");
        if (r.ok() && r->status == 200 && r->body == "POST|/c||-|" + body) ++good;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 8 * 50);
}

// Reads whatever arrives on `fd` until it has been quiet for `quiet`.
std::string ReadUntilQuiet(int fd, std::chrono::milliseconds quiet) {
  std::string out;
  char buf[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(quiet.count())) <= 0) return out;
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

TEST(ServerTest, HeadAnswersTheGetHeadersWithoutABodyAndKeepsTheConnection) {
  auto server = MustStart(TestOptions(), Echo);
  auto connection = RawConnection::Connect(server->port());
  ASSERT_OK(connection);
  ASSERT_OK(connection->Send("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string head = ReadUntilQuiet(connection->fd(), std::chrono::milliseconds(300));
  const size_t end = head.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos) << head;
  EXPECT_EQ(head.size(), end + 4) << "a HEAD answer has no body: " << head;
  // The length of the body a GET would have: "HEAD|/healthz||-|" (Echo).
  EXPECT_THAT(head, HasSubstr("Content-Length: 17")) << head;
  // The connection goes on: the next response is not mistaken for a body.
  ASSERT_OK(connection->Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto get = connection->ReadResponse();
  ASSERT_OK(get);
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->body, "GET|/healthz||-|");
}

}  // namespace
}  // namespace touchpoint::http
