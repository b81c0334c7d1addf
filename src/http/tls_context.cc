// The server's TLS settings and the loading of its certificate and key (OpenSSL only).
#include "http/tls_internal.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdio>
#include <memory>

#include <touchpoint/core/secret_file.h>

namespace touchpoint::http::internal {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

}  // namespace

std::string DrainOpenSslErrors() {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

Status ConfigureServerTls(SSL_CTX* ctx, const TlsOptions& options) {
  ERR_clear_error();
  if (options.cert_file.empty() || options.key_file.empty()) {
    return Status::InvalidArgument("tls: both a certificate file and a key file are needed");
  }
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
    return Status::Internal("tls: cannot require TLS 1.2: " + DrainOpenSslErrors());
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                               SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1);
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) {
    return Status::Internal("tls: cipher list rejected: " + DrainOpenSslErrors());
  }
  // Session resumption across this process's connections (tickets are on by default).
  static constexpr unsigned char kSessionContext[] = "touchpoint";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof(kSessionContext) - 1);

  // The certificate chain.
  if (std::FILE* f = std::fopen(options.cert_file.c_str(), "rb")) {
    std::fclose(f);
  } else {
    return Status::NotFound("tls: certificate file " + options.cert_file + " cannot be read");
  }
  if (SSL_CTX_use_certificate_chain_file(ctx, options.cert_file.c_str()) != 1) {
    return Status::InvalidArgument("tls: certificate file " + options.cert_file +
                                   " holds no usable PEM certificate (" + DrainOpenSslErrors() + ")");
  }

  // The private key: a private file, parsed from memory and wiped after.
  auto key_pem = ReadSecretFile(options.key_file);
  if (!key_pem.ok()) {
    return Status(key_pem.status().code(), "tls: key file: " + key_pem.status().message());
  }
  std::unique_ptr<EVP_PKEY, PkeyFree> key;
  {
    std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(key_pem->data(), static_cast<int>(key_pem->size())));
    if (bio) {
      // No passphrase callback: an encrypted key fails here instead of prompting.
      key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr));
    }
    OPENSSL_cleanse(key_pem->data(), key_pem->size());
  }
  if (!key) {
    ERR_clear_error();  // its text may quote the file's bytes
    return Status::InvalidArgument("tls: key file " + options.key_file +
                                   " holds no usable unencrypted PEM private key");
  }
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument("tls: the key in " + options.key_file + " does not match the certificate in " +
                                   options.cert_file);
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument("tls: the key in " + options.key_file + " does not match the certificate in " +
                                   options.cert_file);
  }
  return Status::Ok();
}

}  // namespace touchpoint::http::internal
