// HTTPS in http::Server: real TLS over loopback with a throwaway self-signed certificate, a
// client that verifies it, the protocol floor, plain HTTP sent to the TLS port, the redirect
// listener, and the start-up checks of the certificate and key.
#include <touchpoint/http/server.h>

#include <openssl/ssl.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <string>

#include "http/target_internal.h"
#include "testing/http_client.h"
#include "testing/matchers.h"
#include "testing/tls_testing.h"

namespace touchpoint::http {
namespace {

using ::testing::HasSubstr;
using ::touchpoint::testing::HttpsClient;
using ::touchpoint::testing::RawConnection;
using ::touchpoint::testing::RawTlsConnection;
using ::touchpoint::testing::StatusIs;
using ::touchpoint::testing::TestCertificate;
using ::touchpoint::testing::WriteFileWithMode;

// Echoes "method path?query tls=0|1".
Response Echo(const Request& request) {
  Response r;
  r.content_type = "text/plain";
  r.body = request.method + " " + request.path + (request.query.empty() ? "" : "?" + request.query) +
           " tls=" + (request.tls ? "1" : "0");
  return r;
}

class TlsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tp_http_tls_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    std::filesystem::create_directories(dir_);
    cert_ = testing::MakeSelfSignedCertificate();
    cert_file_ = WriteFileWithMode(dir_ / "cert.pem", cert_.cert_pem, 0644);
    key_file_ = WriteFileWithMode(dir_ / "key.pem", cert_.key_pem, 0600);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  ServerOptions Options() const {
    ServerOptions o;
    o.port = 0;
    o.worker_threads = 4;
    o.tls = TlsOptions{.cert_file = cert_file_, .key_file = key_file_};
    return o;
  }
  std::unique_ptr<Server> MustStart(const ServerOptions& options) {
    auto server = Server::Start(options, Echo);
    TP_CHECK(server.ok(), server.status().ToString().c_str());
    return std::move(server).value();
  }

  static inline int counter_ = 0;
  std::filesystem::path dir_;
  TestCertificate cert_;
  std::string cert_file_;
  std::string key_file_;
};

TEST_F(TlsServerTest, ServesHttpsToAVerifyingClient) {
  auto server = MustStart(Options());
  EXPECT_TRUE(server->tls());
  HttpsClient client(server->port(), cert_file_);
  for (int i = 0; i < 3; ++i) {  // keep-alive: several requests on one connection
    auto r = client.Get("/v1/customers/user:c-1?x=" + std::to_string(i));
    ASSERT_OK(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "GET /v1/customers/user:c-1?x=" + std::to_string(i) + " tls=1");
  }
  auto post = client.Post("/v1/batch", std::string(200 * 1024, 'x'), "application/json");
  ASSERT_OK(post);
  EXPECT_EQ(post->status, 200);
  EXPECT_EQ(post->body, "POST /v1/batch tls=1");
}

TEST_F(TlsServerTest, ClientTrustingAnotherCertificateRefusesTheServer) {
  auto server = MustStart(Options());
  const TestCertificate other = testing::MakeSelfSignedCertificate();
  const std::string other_file = WriteFileWithMode(dir_ / "other.pem", other.cert_pem, 0644);
  HttpsClient client(server->port(), other_file);
  auto r = client.Get("/x");
  EXPECT_THAT(r, StatusIs(StatusCode::kUnavailable));
  // The server is unharmed.
  HttpsClient good(server->port(), cert_file_);
  ASSERT_OK(good.Get("/x"));
}

TEST_F(TlsServerTest, RefusesTls11AndAcceptsTls12And13) {
  auto server = MustStart(Options());
  // The same permissive client (security level 0, every cipher) is refused at TLS 1.1 ...
  auto old = RawTlsConnection::Connect(server->port(), TLS1_VERSION, TLS1_1_VERSION);
  EXPECT_THAT(old, StatusIs(StatusCode::kUnavailable));
  // ... and accepted at TLS 1.2 and 1.3: the refusal is the server's protocol floor.
  auto v12 = RawTlsConnection::Connect(server->port(), TLS1_2_VERSION, TLS1_2_VERSION);
  ASSERT_OK(v12);
  EXPECT_EQ((*v12)->version(), "TLSv1.2");
  auto v13 = RawTlsConnection::Connect(server->port(), TLS1_3_VERSION, TLS1_3_VERSION);
  ASSERT_OK(v13);
  EXPECT_EQ((*v13)->version(), "TLSv1.3");
}

TEST_F(TlsServerTest, PipelinedRequestsInOneRecordAreAllAnswered) {
  // Both requests arrive decrypted in one read: the second must not wait for more bytes.
  auto server = MustStart(Options());
  auto conn = RawTlsConnection::Connect(server->port(), TLS1_2_VERSION, TLS1_3_VERSION);
  ASSERT_OK(conn);
  ASSERT_OK((*conn)->Send("GET /one HTTP/1.1\r\nHost: t\r\n\r\nGET /two HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto got = (*conn)->ReadUntil("GET /two tls=1", std::chrono::seconds(3));
  ASSERT_OK(got);
  EXPECT_THAT(*got, HasSubstr("GET /one tls=1"));
}

TEST_F(TlsServerTest, PlainHttpToTheTlsPortIsToldAndDoesNotHarmTheServer) {
  auto server = MustStart(Options());
  auto raw = RawConnection::Connect(server->port());
  ASSERT_OK(raw);
  ASSERT_OK(raw->Send("GET /v1/stats HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  auto r = raw->ReadResponse();
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_THAT(r->body, HasSubstr("tls_required"));
  EXPECT_TRUE(raw->WaitForClose(std::chrono::seconds(3)));
  // Garbage that is not HTTP either: closed without an answer.
  auto junk = RawConnection::Connect(server->port());
  ASSERT_OK(junk);
  ASSERT_OK(junk->Send(std::string("\x00\x01\x02\x03garbage\r\n\r\n", 15)));
  EXPECT_TRUE(junk->WaitForClose(std::chrono::seconds(3)));
  HttpsClient client(server->port(), cert_file_);
  auto ok = client.Get("/after");
  ASSERT_OK(ok);
  EXPECT_EQ(ok->body, "GET /after tls=1");
}

TEST_F(TlsServerTest, RedirectListenerAnswers308ToTheHttpsUrl) {
  ServerOptions o = Options();
  // An ephemeral redirect port: reserve one by binding a throwaway server, then reuse its number.
  ServerOptions plain;
  plain.port = 0;
  auto probe = Server::Start(plain, Echo);
  ASSERT_OK(probe);
  const uint16_t redirect_port = (*probe)->port();
  (*probe)->Stop();
  probe->reset();
  o.redirect_port = redirect_port;
  auto server = MustStart(o);
  EXPECT_EQ(server->redirect_port(), redirect_port);
  const std::string https_port = std::to_string(server->port());

  auto raw = RawConnection::Connect(redirect_port);
  ASSERT_OK(raw);
  ASSERT_OK(raw->Send("GET /v1/customers/phone:%2B86138?fields=a HTTP/1.1\r\nHost: tp.example:" +
                      std::to_string(redirect_port) + "\r\n\r\n"));
  auto r = raw->ReadResponse();
  ASSERT_OK(r);
  EXPECT_EQ(r->status, 308);
  ASSERT_NE(r->Header("location"), nullptr);
  EXPECT_EQ(*r->Header("location"), "https://tp.example:" + https_port + "/v1/customers/phone:%2B86138?fields=a");

  // A POST is redirected too (308 keeps the method); the handler never runs on that listener.
  auto post = RawConnection::Connect(redirect_port);
  ASSERT_OK(post);
  ASSERT_OK(post->Send("POST /v1/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}"));
  auto p = post->ReadResponse();
  ASSERT_OK(p);
  EXPECT_EQ(p->status, 308);
  EXPECT_EQ(*p->Header("location"), "https://127.0.0.1:" + https_port + "/v1/batch");
  EXPECT_THAT(p->body, ::testing::Not(HasSubstr("tls=")));
}

TEST_F(TlsServerTest, KeyReadableByOthersIsRefused) {
  ::chmod(key_file_.c_str(), 0644);
  auto server = Server::Start(Options(), Echo);
  EXPECT_THAT(server.status(), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(server.status().message(), HasSubstr("key file"));
  EXPECT_THAT(server.status().message(), ::testing::Not(HasSubstr("PRIVATE KEY")));
}

TEST_F(TlsServerTest, MismatchedKeyIsAClearErrorAtStart) {
  const TestCertificate other = testing::MakeSelfSignedCertificate();
  ServerOptions o = Options();
  o.tls->key_file = WriteFileWithMode(dir_ / "other.key", other.key_pem, 0600);
  auto server = Server::Start(o, Echo);
  EXPECT_THAT(server.status(), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(server.status().message(), HasSubstr("does not match the certificate"));
}

TEST_F(TlsServerTest, MissingOrMalformedFilesAreClearErrors) {
  ServerOptions missing = Options();
  missing.tls->cert_file = (dir_ / "nope.pem").string();
  EXPECT_THAT(Server::Start(missing, Echo).status(), StatusIs(StatusCode::kNotFound));
  ServerOptions garbage = Options();
  garbage.tls->cert_file = WriteFileWithMode(dir_ / "garbage.pem", "not a certificate\n", 0644);
  auto g = Server::Start(garbage, Echo);
  EXPECT_THAT(g.status(), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(g.status().message(), HasSubstr("garbage.pem"));
  ServerOptions bad_key = Options();
  bad_key.tls->key_file = WriteFileWithMode(dir_ / "bad.key", "-----BEGIN PRIVATE KEY-----\nAAAA\n", 0600);
  auto k = Server::Start(bad_key, Echo);
  EXPECT_THAT(k.status(), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(k.status().message(), HasSubstr("bad.key"));
  ServerOptions redirect_without_tls;
  redirect_without_tls.port = 0;
  redirect_without_tls.redirect_port = 1;
  EXPECT_THAT(Server::Start(redirect_without_tls, Echo).status(), StatusIs(StatusCode::kInvalidArgument));
}

TEST(HttpsRedirectLocationTest, Table) {
  const std::string host = "tp.example:8080";
  const std::string v6 = "[::1]:80";
  const std::string evil = "evil.example/\r\nX: y";
  EXPECT_EQ(internal::HttpsRedirectLocation(&host, "127.0.0.1", 8443, "/a?b=1"), "https://tp.example:8443/a?b=1");
  EXPECT_EQ(internal::HttpsRedirectLocation(&host, "127.0.0.1", 443, "/a"), "https://tp.example/a");
  EXPECT_EQ(internal::HttpsRedirectLocation(&v6, "127.0.0.1", 8443, "/"), "https://[::1]:8443/");
  EXPECT_EQ(internal::HttpsRedirectLocation(nullptr, "::1", 8443, "/x"), "https://[::1]:8443/x");
  EXPECT_EQ(internal::HttpsRedirectLocation(&evil, "10.0.0.5", 8443, "/x"), "https://10.0.0.5:8443/x");
  EXPECT_EQ(internal::HttpsRedirectLocation(&host, "h", 8443, "http://other/x"), "https://tp.example:8443/");
  EXPECT_EQ(internal::HttpsRedirectLocation(&host, "h", 8443, "*"), "https://tp.example:8443/");
}

}  // namespace
}  // namespace touchpoint::http
