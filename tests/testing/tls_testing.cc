#include "testing/tls_testing.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include <httplib.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <touchpoint/core/status.h>

namespace touchpoint::testing {
namespace {

std::string OpenSslErrors() {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

std::string BioToString(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

HttpResponse FromHttplib(const httplib::Response& r) {
  HttpResponse out;
  out.status = r.status;
  out.body = r.body;
  for (const auto& [name, value] : r.headers) {
    std::string lower = name;
    for (char& c : lower) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    out.headers.emplace_back(lower, value);
  }
  return out;
}

}  // namespace

TestCertificate MakeSelfSignedCertificate(const std::string& common_name) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  TP_CHECK(key != nullptr, "EC key generation failed");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), static_cast<long>(std::rand() % 1000000 + 1));
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name.c_str()),
                             -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  for (const auto& [nid, value] : {std::pair{NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1"},
                                   std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                                   std::pair{NID_key_usage, "critical,digitalSignature,keyCertSign"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    TP_CHECK(ext != nullptr, "certificate extension");
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
  TP_CHECK(X509_sign(cert, key, EVP_sha256()) > 0, "certificate signing failed");
  TestCertificate out;
  BIO* cert_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(cert_bio, cert);
  out.cert_pem = BioToString(cert_bio);
  BIO_free(cert_bio);
  BIO* key_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(key_bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  out.key_pem = BioToString(key_bio);
  BIO_free(key_bio);
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

std::string WriteFileWithMode(const std::string& path, std::string_view content, unsigned mode) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
    TP_CHECK(out.good(), "cannot write test file");
  }
  TP_CHECK(::chmod(path.c_str(), static_cast<mode_t>(mode)) == 0, "chmod failed");
  return path;
}

// ---- HttpsClient ----

struct HttpsClient::Impl {
  Impl(const std::string& host, uint16_t port, const std::string& ca_file) : client(host, port) {
    client.set_ca_cert_path(ca_file.c_str());
    client.enable_server_certificate_verification(true);
    client.set_keep_alive(true);
    client.set_tcp_nodelay(true);
    client.set_connection_timeout(5, 0);
    client.set_read_timeout(30, 0);
  }
  Result<HttpResponse> Done(const httplib::Result& r) {
    if (!r) {
      std::string why = httplib::to_string(r.error());
      if (client.get_openssl_verify_result() != X509_V_OK) {
        why += " (certificate: " + std::string(X509_verify_cert_error_string(client.get_openssl_verify_result())) + ")";
      }
      return Status::Unavailable("https request failed: " + why);
    }
    return FromHttplib(*r);
  }
  httplib::SSLClient client;
};

HttpsClient::HttpsClient(uint16_t port, const std::string& ca_file, std::string host)
    : impl_(std::make_unique<Impl>(host, port, ca_file)) {}
HttpsClient::~HttpsClient() = default;

Result<HttpResponse> HttpsClient::Get(const std::string& path, const HttpHeaders& headers) {
  httplib::Headers h(headers.begin(), headers.end());
  return impl_->Done(impl_->client.Get(path.c_str(), h));
}

Result<HttpResponse> HttpsClient::Post(const std::string& path, const std::string& body,
                                       const std::string& content_type, const HttpHeaders& headers) {
  httplib::Headers h(headers.begin(), headers.end());
  return impl_->Done(impl_->client.Post(path.c_str(), h, body, content_type.c_str()));
}

// ---- RawTlsConnection ----

struct RawTlsConnection::State {
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  int fd = -1;
  ~State() {
    if (ssl != nullptr) SSL_free(ssl);
    if (ctx != nullptr) SSL_CTX_free(ctx);
    if (fd >= 0) ::close(fd);
  }
};

Result<std::unique_ptr<RawTlsConnection>> RawTlsConnection::Connect(uint16_t port, int min_version, int max_version) {
  auto state = std::make_unique<State>();
  ERR_clear_error();
  state->ctx = SSL_CTX_new(TLS_client_method());
  // Security level 0: let this client offer what OpenSSL 3 would refuse itself (TLS 1.0/1.1),
  // so that a refusal comes from the server.
  SSL_CTX_set_security_level(state->ctx, 0);
  SSL_CTX_set_cipher_list(state->ctx, "ALL:@SECLEVEL=0");
  SSL_CTX_set_min_proto_version(state->ctx, min_version);
  SSL_CTX_set_max_proto_version(state->ctx, max_version);
  state->fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(state->fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return Status::Unavailable("connect failed");
  }
  timeval tv{.tv_sec = 5, .tv_usec = 0};
  ::setsockopt(state->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  state->ssl = SSL_new(state->ctx);
  SSL_set_fd(state->ssl, state->fd);
  SSL_set_tlsext_host_name(state->ssl, "localhost");
  if (SSL_connect(state->ssl) != 1) return Status::Unavailable("handshake failed: " + OpenSslErrors());
  auto conn = std::unique_ptr<RawTlsConnection>(new RawTlsConnection());
  conn->state_ = std::move(state);
  return conn;
}

RawTlsConnection::~RawTlsConnection() = default;

std::string RawTlsConnection::version() const { return SSL_get_version(state_->ssl); }

Status RawTlsConnection::Send(std::string_view bytes) {
  // One SSL_write: the bytes travel in as few records as OpenSSL makes (pipelining tests).
  const int n = SSL_write(state_->ssl, bytes.data(), static_cast<int>(bytes.size()));
  if (n != static_cast<int>(bytes.size())) return Status::Unavailable("tls write failed");
  return Status::Ok();
}

Result<std::string> RawTlsConnection::ReadUntil(std::string_view needle, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string got;
  char buf[16384];
  while (got.find(needle) == std::string::npos) {
    if (std::chrono::steady_clock::now() > deadline) return Status::Unavailable("timeout; got: " + got);
    const int n = SSL_read(state_->ssl, buf, sizeof buf);
    if (n <= 0) return Status::Unavailable("connection ended; got: " + got);
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

}  // namespace touchpoint::testing
