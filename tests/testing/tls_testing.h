// tests/testing/tls_testing.h — TLS helpers for tests: throwaway self-signed certificates made
// with the OpenSSL API (nothing on disk but what the test writes), a verifying HTTPS client and
// a raw TLS connection for what a polite client cannot do (old protocol versions, pipelining).
// Not thread-safe; one object per thread. Link: OpenSSL::SSL, PkgConfig::HTTPLIB.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <touchpoint/core/result.h>

#include "testing/http_client.h"

namespace touchpoint::testing {

struct TestCertificate {
  std::string cert_pem;  // self-signed X.509, EC P-256, SAN DNS:localhost and IP:127.0.0.1
  std::string key_pem;   // its private key (PKCS#8 PEM)
};

// A fresh key pair and certificate valid from an hour ago for a day. TP_CHECKs on failure.
TestCertificate MakeSelfSignedCertificate(const std::string& common_name = "localhost");

// Writes `content` to `path` with `mode` (e.g. 0600); TP_CHECKs on failure. Returns `path`.
std::string WriteFileWithMode(const std::string& path, std::string_view content, unsigned mode);

// A keep-alive HTTPS client (cpp-httplib) that verifies the server's certificate against
// `ca_file` and its name against `host`.
class HttpsClient {
 public:
  HttpsClient(uint16_t port, const std::string& ca_file, std::string host = "127.0.0.1");
  ~HttpsClient();
  HttpsClient(const HttpsClient&) = delete;
  HttpsClient& operator=(const HttpsClient&) = delete;

  // kUnavailable when the connection or the handshake fails (e.g. verification), with the reason.
  Result<HttpResponse> Get(const std::string& path, const HttpHeaders& headers = {});
  Result<HttpResponse> Post(const std::string& path, const std::string& body,
                            const std::string& content_type = "application/json",
                            const HttpHeaders& headers = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A blocking TLS connection with a chosen protocol range; verifies nothing (tests of the
// server's protocol choices). TLS1_1_VERSION etc. from <openssl/ssl.h>.
class RawTlsConnection {
 public:
  // Connects and handshakes; kUnavailable with OpenSSL's reason when the handshake fails.
  static Result<std::unique_ptr<RawTlsConnection>> Connect(uint16_t port, int min_version, int max_version);
  ~RawTlsConnection();
  RawTlsConnection(const RawTlsConnection&) = delete;
  RawTlsConnection& operator=(const RawTlsConnection&) = delete;

  // The negotiated protocol, e.g. "TLSv1.3".
  std::string version() const;
  Status Send(std::string_view bytes);
  // Reads until `needle` has arrived (returns everything read so far) or the timeout/EOF.
  Result<std::string> ReadUntil(std::string_view needle, std::chrono::milliseconds timeout = std::chrono::seconds(5));

 private:
  RawTlsConnection() = default;
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace touchpoint::testing
