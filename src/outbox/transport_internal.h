// outbox/transport_internal.h — one attempt of a delivery over the wire (libcurl: HTTP(S) POST
// for webhooks, SMTP for e-mail). Private to src/outbox.
//
// Thread safety: a Sender belongs to one thread (it keeps its connections open between
// attempts: HTTP keep-alive, an SMTP session).
#pragma once

#include <memory>
#include <string>

#include <touchpoint/core/time.h>
#include <touchpoint/outbox/outbox.h>
#include <touchpoint/store/outbox_repository.h>

namespace touchpoint::outbox {

struct AttemptResult {
  bool delivered = false;
  bool permanent = false;  // a failure that no retry can fix (SMTP 5xx): dead at once
  std::string error;       // "HTTP 503", "timeout after 10000 ms", "SMTP 451": no payload, no address
};

// Initialises libcurl once per process (thread-safe).
void InitCurl();

class Sender {
 public:
  Sender();
  ~Sender();
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;

  // POSTs d.payload to `endpoint` with the delivery and signature headers; `now` signs it.
  AttemptResult PostWebhook(const WebhookEndpoint& endpoint, const store::Delivery& d, Millis now);
  // Sends d.payload (an RFC 5322 message) to d.target through `smtp`.
  AttemptResult SendMail(const SmtpOptions& smtp, const store::Delivery& d);

 private:
  void* http_ = nullptr;  // CURL*, kept for keep-alive
  void* smtp_ = nullptr;
};

}  // namespace touchpoint::outbox
