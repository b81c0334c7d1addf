// Webhook and SMTP attempts through libcurl (one easy handle per sender and protocol, reused so
// that connections stay open between attempts).
#include "outbox/transport_internal.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <string>

#include <touchpoint/outbox/signature.h>

namespace touchpoint::outbox {
namespace {

constexpr size_t kMaxResponseBytes = 4096;  // of a receiver's answer: read and dropped

size_t DiscardBody(char* /*data*/, size_t size, size_t nmemb, void* userdata) {
  auto* seen = static_cast<size_t*>(userdata);
  *seen += size * nmemb;
  // A receiver streaming an endless answer is cut off (counts as a failed attempt).
  return *seen > kMaxResponseBytes * 256 ? 0 : size * nmemb;
}

struct Upload {
  const std::string* data;
  size_t offset = 0;
};

size_t ReadUpload(char* buffer, size_t size, size_t nitems, void* userdata) {
  auto* up = static_cast<Upload*>(userdata);
  const size_t n = std::min(size * nitems, up->data->size() - up->offset);
  std::memcpy(buffer, up->data->data() + up->offset, n);
  up->offset += n;
  return n;
}

// A transport error in words that never carry a payload or an address.
std::string CurlError(CURLcode code, int timeout_ms) {
  if (code == CURLE_OPERATION_TIMEDOUT) return "timeout after " + std::to_string(timeout_ms) + " ms";
  return std::string("transport: ") + curl_easy_strerror(code);
}

struct SList {
  curl_slist* list = nullptr;
  ~SList() { curl_slist_free_all(list); }
  void Add(const std::string& s) { list = curl_slist_append(list, s.c_str()); }
};

}  // namespace

void InitCurl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

Sender::Sender() { InitCurl(); }

Sender::~Sender() {
  if (http_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(http_));
  if (smtp_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(smtp_));
}

AttemptResult Sender::PostWebhook(const WebhookEndpoint& endpoint, const store::Delivery& d, Millis now) {
  if (http_ == nullptr) http_ = curl_easy_init();
  CURL* c = static_cast<CURL*>(http_);
  if (c == nullptr) return AttemptResult{false, false, "transport: curl_easy_init failed"};
  curl_easy_reset(c);  // keeps the connection cache
  SList headers;
  headers.Add("Content-Type: application/json");
  headers.Add("User-Agent: Touchpoint-Webhooks/1");
  headers.Add("Expect:");  // no 100-continue round trip
  headers.Add("X-Touchpoint-Delivery: " + d.idempotency_key);
  headers.Add("X-Touchpoint-Event: " + d.event);
  headers.Add("X-Touchpoint-Attempt: " + std::to_string(d.attempts));
  headers.Add("X-Touchpoint-Signature: " + SignatureHeader(endpoint.secret, now / 1000, d.payload));
  size_t seen = 0;
  curl_easy_setopt(c, CURLOPT_URL, endpoint.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);  // a redirect is an answer, not a delivery
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, d.payload.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(d.payload.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.list);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(endpoint.timeout_ms));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min(endpoint.timeout_ms, 5'000)));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, DiscardBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &seen);
  const CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) return AttemptResult{false, false, CurlError(rc, endpoint.timeout_ms)};
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 200 && status < 300) return AttemptResult{true, false, ""};
  return AttemptResult{false, false, "HTTP " + std::to_string(status)};
}

AttemptResult Sender::SendMail(const SmtpOptions& smtp, const store::Delivery& d) {
  if (smtp_ == nullptr) smtp_ = curl_easy_init();
  CURL* c = static_cast<CURL*>(smtp_);
  if (c == nullptr) return AttemptResult{false, false, "transport: curl_easy_init failed"};
  curl_easy_reset(c);
  const std::string scheme = smtp.tls == "tls" ? "smtps://" : "smtp://";
  std::string helo = smtp.message_id_domain;
  if (helo.empty()) {
    const size_t at = smtp.from.rfind('@');
    helo = at == std::string::npos ? "localhost" : smtp.from.substr(at + 1);
  }
  const std::string host = smtp.host.find(':') != std::string::npos ? "[" + smtp.host + "]" : smtp.host;
  const std::string url = scheme + host + ":" + std::to_string(smtp.port) + "/" + helo;
  const std::string from = "<" + smtp.from + ">";
  SList rcpt;
  rcpt.Add("<" + d.target + ">");
  Upload up{&d.payload, 0};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(smtp.tls == "none" ? CURLUSESSL_NONE : CURLUSESSL_ALL));
  if (!smtp.username.empty()) {
    curl_easy_setopt(c, CURLOPT_USERNAME, smtp.username.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, smtp.password.c_str());
  }
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt.list);
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_READFUNCTION, ReadUpload);
  curl_easy_setopt(c, CURLOPT_READDATA, &up);
  curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(d.payload.size()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(smtp.timeout_ms));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min(smtp.timeout_ms, 10'000)));
  const CURLcode rc = curl_easy_perform(c);
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  if (rc == CURLE_OK) return AttemptResult{true, false, ""};
  if (code >= 400) {
    // 5xx is the relay's final word (unknown mailbox, refused sender); 4xx asks to try later.
    return AttemptResult{false, code >= 500, "SMTP " + std::to_string(code)};
  }
  return AttemptResult{false, false, CurlError(rc, smtp.timeout_ms)};
}

}  // namespace touchpoint::outbox
