// http/tls_internal.h — the server's OpenSSL context settings (no Boost here, so this compiles
// fast and is testable without a server).
#pragma once

#include <string>

#include <touchpoint/core/status.h>
#include <touchpoint/http/server.h>

typedef struct ssl_ctx_st SSL_CTX;

namespace touchpoint::http::internal {

// The TLS 1.2 cipher list (Mozilla's "intermediate" profile without finite-field DHE):
// ECDHE key exchange with AES-GCM or ChaCha20-Poly1305 only. TLS 1.3 keeps OpenSSL's suites
// (all AEAD).
inline constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// Configures a server context: TLS 1.2 minimum, kTls12Ciphers, no renegotiation, no
// compression; loads the certificate chain and the private key and checks that they belong
// together. The key file is read with ReadSecretFile (core/secret_file.h): kNotFound when it
// cannot be read, kFailedPrecondition when group or others may read or write it. kNotFound
// for an unreadable certificate file, kInvalidArgument when either file is not valid PEM or
// the key does not match the certificate. Messages name the files, never the key material.
Status ConfigureServerTls(SSL_CTX* ctx, const TlsOptions& options);

// OpenSSL's error queue as one line ("error:0A00…:SSL routines::…"), then cleared.
std::string DrainOpenSslErrors();

}  // namespace touchpoint::http::internal
