// The outbox: enqueueing (webhook bodies and e-mail messages are composed at enqueue, so every
// attempt sends the same bytes), the dispatcher thread (claims per endpoint, records outcomes in
// batches) and one lane of workers per endpoint.
#include <touchpoint/outbox/outbox.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <set>
#include <utility>

#include <sodium.h>
#include <nlohmann/json.hpp>

#include <touchpoint/core/json_text.h>
#include <touchpoint/core/time.h>

#include "outbox/transport_internal.h"

namespace touchpoint::outbox {
namespace {

using store::Delivery;
using store::DeliveryKind;
using store::DeliveryOutcome;
using store::DeliveryState;
using store::OutboxRepository;

void InitSodium() {
  static const bool ok = sodium_init() >= 0;
  TP_CHECK(ok, "libsodium cannot be initialised");
}

std::string RandomHex(size_t bytes) {
  InitSodium();
  std::string raw(bytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  std::string hex(bytes * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
  hex.pop_back();
  return hex;
}

// Ids that travel in headers and Message-IDs: 1–200 characters of [A-Za-z0-9._:-].
bool IsToken(const std::string& s) {
  if (s.empty() || s.size() > 200) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == ':' || c == '-';
  });
}

// A mailbox address without display name: local@domain, no spaces, brackets or line breaks.
bool IsAddress(const std::string& a) {
  const size_t at = a.rfind('@');
  if (at == std::string::npos || at == 0 || at + 1 == a.size() || a.size() > 254) return false;
  return std::none_of(a.begin(), a.end(), [](char c) {
    return c == ' ' || c == '<' || c == '>' || c == '\r' || c == '\n' || c == ',' || c == '"' ||
           static_cast<unsigned char>(c) < 0x20;
  });
}

bool HasLineBreak(const std::string& s) { return s.find_first_of("\r\n") != std::string::npos; }

std::string Base64(std::string_view bytes) {
  InitSodium();
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.pop_back();
  return out;
}

bool IsAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// RFC 2047 encoded words (B encoding), split at UTF-8 character boundaries so that each word
// stays within 75 characters; folded with CRLF SP.
std::string EncodeHeaderText(std::string_view text) {
  if (IsAscii(text) && text.size() <= 900) return std::string(text);
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    size_t end = std::min(text.size(), i + 45);  // 45 bytes → 60 base64 characters
    while (end < text.size() && end > i && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + Base64(text.substr(i, end - i)) + "?=";
    i = end;
  }
  return out;
}

std::string Mailbox(const std::string& name, const std::string& address) {
  if (name.empty()) return "<" + address + ">";
  if (IsAscii(name)) {
    std::string quoted = "\"";
    for (char c : name) {
      if (c == '"' || c == '\\') quoted += '\\';
      quoted += c;
    }
    return quoted + "\" <" + address + ">";
  }
  return EncodeHeaderText(name) + " <" + address + ">";
}

// "Mon, 07 Dec 2026 09:46:12 +0000"
std::string RfcDate(Millis t) {
  static const char* kDays[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};  // 1970-01-01 was a Thursday
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::int64_t secs = t >= 0 ? t / 1000 : (t - 999) / 1000;
  const std::int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  const std::int64_t rem = secs - days * 86400;
  const char* weekday = kDays[((days % 7) + 7) % 7];
  std::int64_t y = 0;
  unsigned m = 1, d = 1;
  CivilFromDays(days, y, m, d);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", weekday, static_cast<int>(d),
                kMonths[m - 1], static_cast<int>(y), static_cast<int>(rem / 3600), static_cast<int>(rem / 60 % 60),
                static_cast<int>(rem % 60));
  return buf;
}

std::string MessageIdDomain(const SmtpOptions& smtp) {
  if (!smtp.message_id_domain.empty()) return smtp.message_id_domain;
  const size_t at = smtp.from.rfind('@');
  return at == std::string::npos ? std::string("localhost") : smtp.from.substr(at + 1);
}

}  // namespace

// One endpoint's queue of claimed deliveries and its workers.
class Outbox::Lane {
 public:
  DeliveryKind kind = DeliveryKind::kWebhook;
  std::string target;                        // the endpoint's name; "" for e-mail (any recipient)
  const WebhookEndpoint* endpoint = nullptr;  // null for e-mail
  int concurrency = 1;
  int timeout_ms = 10'000;
  // Guarded by the outbox's mu_.
  std::deque<Delivery> queue;  // claimed, not yet started
  int busy = 0;                // attempts in progress
  std::condition_variable ready;
  std::vector<std::thread> workers;
};

Result<std::string> ComposeEmail(const SmtpOptions& smtp, const Email& email, const std::string& message_id,
                                 Millis date) {
  if (!IsAddress(email.to)) return Status::InvalidArgument("e-mail recipient is not an address");
  if (!IsAddress(smtp.from)) return Status::InvalidArgument("[email] from is not an address");
  if (HasLineBreak(email.subject) || HasLineBreak(email.to_name) || HasLineBreak(email.in_reply_to)) {
    return Status::InvalidArgument("e-mail subject, name and in_reply_to must be one line");
  }
  std::string m;
  m += "Date: " + RfcDate(date) + "\r\n";
  m += "From: " + Mailbox(smtp.from_name, smtp.from) + "\r\n";
  m += "To: " + Mailbox(email.to_name, email.to) + "\r\n";
  m += "Subject: " + EncodeHeaderText(email.subject) + "\r\n";
  m += "Message-ID: " + message_id + "\r\n";
  if (!email.in_reply_to.empty()) {
    m += "In-Reply-To: " + email.in_reply_to + "\r\n";
    m += "References: " + email.in_reply_to + "\r\n";
  }
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: text/plain; charset=UTF-8\r\n";
  m += "Content-Transfer-Encoding: base64\r\n";
  m += "\r\n";
  const std::string body = Base64(email.text);
  for (size_t i = 0; i < body.size(); i += 76) m += body.substr(i, 76) + "\r\n";
  return m;
}

bool EventMatches(const std::vector<std::string>& filters, const std::string& type) {
  if (filters.empty()) return true;
  for (const std::string& f : filters) {
    if (f == "*" || f == type) return true;
    if (f.size() >= 2 && f.ends_with(".*") && type.starts_with(f.substr(0, f.size() - 1))) return true;
  }
  return false;
}

Result<std::unique_ptr<Outbox>> Outbox::Create(store::Store& store, OutboxOptions options) {
  std::set<std::string> names;
  for (const WebhookEndpoint& e : options.webhooks) {
    const std::string where = "[[webhooks]] '" + e.name + "'";
    if (!IsToken(e.name)) return Status::InvalidArgument("[[webhooks]] name must be 1–200 of [A-Za-z0-9._:-]");
    if (!names.insert(e.name).second) return Status::InvalidArgument(where + ": the name is used twice");
    if (!e.url.starts_with("http://") && !e.url.starts_with("https://")) {
      return Status::InvalidArgument(where + ": url must start with http:// or https://");
    }
    if (HasLineBreak(e.url)) return Status::InvalidArgument(where + ": url has a line break");
    if (e.secret.size() < 16) return Status::InvalidArgument(where + ": secret must be at least 16 bytes");
    if (e.timeout_ms < 1 || e.timeout_ms > 600'000) return Status::InvalidArgument(where + ": timeout out of range");
    if (e.concurrency < 1 || e.concurrency > 64) return Status::InvalidArgument(where + ": concurrency must be 1–64");
  }
  if (!options.smtp.host.empty()) {
    const SmtpOptions& s = options.smtp;
    if (!IsAddress(s.from)) return Status::InvalidArgument("[email] from must be an address");
    if (s.tls != "none" && s.tls != "starttls" && s.tls != "tls") {
      return Status::InvalidArgument("[email] tls must be none, starttls or tls");
    }
    if (s.port < 1 || s.port > 65535) return Status::InvalidArgument("[email] port out of range");
    if (s.concurrency < 1 || s.concurrency > 64) return Status::InvalidArgument("[email] concurrency must be 1–64");
    if (HasLineBreak(s.from_name) || HasLineBreak(s.host)) return Status::InvalidArgument("[email] has a line break");
  }
  const RetryPolicy& r = options.retry;
  if (r.max_attempts < 1) return Status::InvalidArgument("[outbox] max_attempts must be at least 1");
  if (r.initial_backoff < 1 || r.max_backoff < r.initial_backoff) {
    return Status::InvalidArgument("[outbox] backoff must be positive and initial ≤ max");
  }
  if (!(r.jitter >= 0 && r.jitter <= 1)) return Status::InvalidArgument("[outbox] jitter must be within 0…1");
  if (options.claim_batch < 1) options.claim_batch = 1;
  if (options.poll_interval < 1) options.poll_interval = 1;
  InitCurl();
  return std::unique_ptr<Outbox>(new Outbox(store, std::move(options)));
}

Outbox::Outbox(store::Store& store, OutboxOptions options) : store_(store), options_(std::move(options)) {
  if (options_.clock == nullptr) options_.clock = &SystemClock::Instance();
  std::uint64_t seed = options_.seed;
  if (seed == 0) {
    InitSodium();
    randombytes_buf(&seed, sizeof seed);
  }
  rng_state_ = seed;
  for (const WebhookEndpoint& e : options_.webhooks) {
    auto lane = std::make_unique<Lane>();
    lane->kind = DeliveryKind::kWebhook;
    lane->target = e.name;
    lane->endpoint = &e;
    lane->concurrency = e.concurrency;
    lane->timeout_ms = e.timeout_ms;
    lanes_.push_back(std::move(lane));
  }
  if (!options_.smtp.host.empty()) {
    auto lane = std::make_unique<Lane>();
    lane->kind = DeliveryKind::kEmail;
    lane->concurrency = options_.smtp.concurrency;
    lane->timeout_ms = options_.smtp.timeout_ms;
    lanes_.push_back(std::move(lane));
  }
}

Outbox::~Outbox() { Stop(); }

Millis Outbox::Now() const { return options_.clock->Now(); }

std::optional<Millis> Outbox::NextAttemptAt(int attempt, Millis now) {
  const RetryPolicy& r = options_.retry;
  if (attempt >= r.max_attempts) return std::nullopt;
  double delay = static_cast<double>(r.initial_backoff) * std::pow(2.0, std::max(0, attempt - 1));
  delay = std::min(delay, static_cast<double>(r.max_backoff));
  double u;
  {
    std::scoped_lock lock(rng_mu_);
    // splitmix64: small, seeded, good enough for spreading retries.
    std::uint64_t z = (rng_state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    u = static_cast<double>(z >> 11) / 9007199254740992.0;  // [0, 1)
  }
  const Millis wait = std::max<Millis>(1, static_cast<Millis>(delay - std::floor(delay * r.jitter * u)));
  return now + wait;
}

Result<std::vector<std::int64_t>> Outbox::EnqueueEvent(store::Store& caller_store, store::Transaction& txn,
                                                       const Event& event) {
  return EnqueueWebhooks(caller_store, txn, event, nullptr);
}

Result<std::int64_t> Outbox::EnqueueEventTo(store::Store& caller_store, store::Transaction& txn, const Event& event,
                                            const std::string& endpoint) {
  TP_ASSIGN_OR_RETURN(auto ids, EnqueueWebhooks(caller_store, txn, event, &endpoint));
  if (ids.empty()) return Status::NotFound("no webhook endpoint named " + endpoint);
  return ids.front();
}

Result<std::vector<std::int64_t>> Outbox::EnqueueWebhooks(store::Store& caller_store, store::Transaction& txn,
                                                          const Event& event, const std::string* only) {
  if (!IsToken(event.type)) return Status::InvalidArgument("event type must be 1–200 of [A-Za-z0-9._:-]");
  const std::string id = event.id.empty() ? "evt_" + RandomHex(12) : event.id;
  if (!IsToken(id)) return Status::InvalidArgument("event id must be 1–200 of [A-Za-z0-9._:-]");
  const std::string data = event.data_json.empty() ? "{}" : event.data_json;
  {
    auto parsed = nlohmann::json::parse(data, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded() || !parsed.is_object()) return Status::InvalidArgument("event data must be a JSON object");
  }
  const Millis now = Now();
  const Millis at = event.occurred_at != 0 ? event.occurred_at : now;
  std::vector<std::int64_t> ids;
  auto& repo = caller_store.Get<OutboxRepository>();
  for (const WebhookEndpoint& e : options_.webhooks) {
    if (only != nullptr ? e.name != *only : !EventMatches(e.events, event.type)) continue;
    Delivery d;
    d.kind = DeliveryKind::kWebhook;
    d.target = e.name;
    d.event = event.type;
    d.idempotency_key = id + "." + e.name;
    d.payload = "{\"id\":";
    AppendJsonString(d.payload, d.idempotency_key);
    d.payload += ",\"event_id\":";
    AppendJsonString(d.payload, id);
    d.payload += ",\"type\":";
    AppendJsonString(d.payload, event.type);
    d.payload += ",\"created_at\":";
    AppendJsonString(d.payload, FormatTimestamp(at));
    d.payload += ",\"data\":" + data + "}";
    d.next_attempt_at = now;
    d.created_at = now;
    TP_ASSIGN_OR_RETURN(std::int64_t delivery_id, repo.Enqueue(txn, d));
    ids.push_back(delivery_id);
  }
  return ids;
}

Result<std::vector<std::int64_t>> Outbox::EnqueueEvent(const Event& event) {
  Result<std::vector<std::int64_t>> out = std::vector<std::int64_t>();
  {
    std::scoped_lock lock(store_mu_);
    TP_ASSIGN_OR_RETURN(auto txn, store_.Begin());
    out = EnqueueEvent(store_, *txn, event);
    if (!out.ok()) return out;
    TP_RETURN_IF_ERROR(txn->Commit());
  }
  if (!out->empty()) Notify();
  return out;
}

Result<EnqueuedEmail> Outbox::EnqueueEmail(store::Store& caller_store, store::Transaction& txn, const Email& email) {
  if (options_.smtp.host.empty()) return Status::FailedPrecondition("no SMTP relay is configured ([email] host)");
  const std::string key = email.key.empty() ? "mail_" + RandomHex(12) : email.key;
  if (!IsToken(key)) return Status::InvalidArgument("e-mail key must be 1–200 of [A-Za-z0-9._:-]");
  EnqueuedEmail out;
  out.message_id = "<" + key + "@" + MessageIdDomain(options_.smtp) + ">";
  const Millis now = Now();
  Delivery d;
  d.kind = DeliveryKind::kEmail;
  d.target = email.to;
  d.event = "email";
  d.idempotency_key = key;
  TP_ASSIGN_OR_RETURN(d.payload, ComposeEmail(options_.smtp, email, out.message_id, now));
  d.next_attempt_at = now;
  d.created_at = now;
  TP_ASSIGN_OR_RETURN(out.id, caller_store.Get<OutboxRepository>().Enqueue(txn, d));
  return out;
}

Result<EnqueuedEmail> Outbox::EnqueueEmail(const Email& email) {
  Result<EnqueuedEmail> out = EnqueuedEmail{};
  {
    std::scoped_lock lock(store_mu_);
    TP_ASSIGN_OR_RETURN(auto txn, store_.Begin());
    out = EnqueueEmail(store_, *txn, email);
    if (!out.ok()) return out;
    TP_RETURN_IF_ERROR(txn->Commit());
  }
  Notify();
  return out;
}

namespace {

// One attempt of `d` on `lane`, and what to record.
DeliveryOutcome Attempt(Outbox& outbox, const Outbox::Lane& lane, Sender& sender, const Delivery& d,
                        const Clock& clock) {
  const Millis start = clock.Now();
  AttemptResult r = lane.endpoint != nullptr ? sender.PostWebhook(*lane.endpoint, d, start)
                                             : sender.SendMail(outbox.options().smtp, d);
  const Millis end = clock.Now();
  DeliveryOutcome o;
  o.id = d.id;
  o.at = end;
  if (r.delivered) {
    o.state = DeliveryState::kDelivered;
    return o;
  }
  std::optional<Millis> next = r.permanent ? std::nullopt : outbox.NextAttemptAt(d.attempts, end);
  if (next) {
    o.state = DeliveryState::kFailed;
    o.next_attempt_at = *next;
    o.error = r.error;
  } else {
    o.state = DeliveryState::kDead;
    o.error = r.error + (r.permanent ? " (permanent)" : "; gave up after " + std::to_string(d.attempts) + " attempts");
  }
  return o;
}

}  // namespace

Result<int> Outbox::RunDue() {
  int attempted = 0;
  Sender sender;
  for (auto& lane : lanes_) {
    while (true) {
      const Millis now = Now();
      Result<std::vector<Delivery>> claimed = std::vector<Delivery>();
      {
        std::scoped_lock lock(store_mu_);
        claimed = store_.Get<OutboxRepository>().Claim(lane->kind, lane->target, now,
                                                       now + 2LL * lane->timeout_ms + 60'000, options_.claim_batch);
      }
      TP_RETURN_IF_ERROR(claimed.status());
      if (claimed->empty()) break;
      std::vector<DeliveryOutcome> outcomes;
      for (const Delivery& d : *claimed) {
        outcomes.push_back(Attempt(*this, *lane, sender, d, *options_.clock));
        ++attempted;
        ++attempts_;
        const DeliveryState s = outcomes.back().state;
        (s == DeliveryState::kDelivered ? delivered_ : s == DeliveryState::kFailed ? failed_ : dead_)++;
      }
      std::scoped_lock lock(store_mu_);
      TP_RETURN_IF_ERROR(store_.Get<OutboxRepository>().Finish(outcomes));
    }
  }
  return attempted;
}

Status Outbox::Start() {
  {
    std::scoped_lock lock(mu_);
    if (started_) return Status::FailedPrecondition("the outbox dispatcher is already started");
  }
  {
    std::scoped_lock lock(store_mu_);
    // The previous dispatcher of this database is gone: what it had claimed is due again.
    TP_RETURN_IF_ERROR(store_.Get<OutboxRepository>().ReleaseClaims(Now()).status());
  }
  {
    std::scoped_lock lock(mu_);
    started_ = true;
    stopping_ = false;
  }
  for (auto& lane_ptr : lanes_) {
    Lane* lane = lane_ptr.get();
    for (int i = 0; i < lane->concurrency; ++i) {
      lane->workers.emplace_back([this, lane] {
        Sender sender;
        std::unique_lock lock(mu_);
        while (true) {
          lane->ready.wait(lock, [&] { return stopping_ || !lane->queue.empty(); });
          if (lane->queue.empty()) return;  // stopping, nothing claimed left
          if (stopping_) return;            // claimed but not started: released at Stop
          Delivery d = std::move(lane->queue.front());
          lane->queue.pop_front();
          ++lane->busy;
          lock.unlock();
          DeliveryOutcome o = Attempt(*this, *lane, sender, d, *options_.clock);
          ++attempts_;
          (o.state == DeliveryState::kDelivered ? delivered_ : o.state == DeliveryState::kFailed ? failed_ : dead_)++;
          lock.lock();
          --lane->busy;
          outcomes_.push_back(std::move(o));
          wake_.notify_all();
        }
      });
    }
  }
  dispatcher_ = std::thread([this] { DispatchLoop(); });
  return Status::Ok();
}

void Outbox::Notify() {
  std::scoped_lock lock(mu_);
  notified_ = true;
  wake_.notify_all();
}

Status Outbox::FlushOutcomes() {
  std::vector<DeliveryOutcome> batch;
  {
    std::scoped_lock lock(mu_);
    batch.swap(outcomes_);
  }
  if (batch.empty()) return Status::Ok();
  std::scoped_lock lock(store_mu_);
  Status s = store_.Get<OutboxRepository>().Finish(batch);
  if (!s.ok()) {
    // Kept for the next round; the claims stay held meanwhile (nothing is sent twice for it).
    std::scoped_lock again(mu_);
    outcomes_.insert(outcomes_.begin(), batch.begin(), batch.end());
  }
  return s;
}

void Outbox::DispatchLoop() {
  while (true) {
    bool claimed_any = false;
    std::optional<Millis> next_due;
    bool stopping;
    {
      std::scoped_lock lock(mu_);
      stopping = stopping_;
      notified_ = false;
    }
    if (stopping) break;
    for (auto& lane : lanes_) {
      int room;
      {
        std::scoped_lock lock(mu_);
        room = static_cast<int>(lane->queue.size()) < lane->concurrency - lane->busy
                   ? options_.claim_batch - static_cast<int>(lane->queue.size())
                   : 0;
      }
      if (room <= 0) continue;
      const Millis now = Now();
      // A claim lasts until every delivery of the batch could have had its turn.
      const Millis lease = now + (options_.claim_batch / lane->concurrency + 2) * static_cast<Millis>(lane->timeout_ms) +
                           60'000;
      Result<std::vector<Delivery>> claimed = std::vector<Delivery>();
      Result<std::optional<Millis>> due = std::optional<Millis>();
      {
        std::scoped_lock lock(store_mu_);
        auto& repo = store_.Get<OutboxRepository>();
        claimed = repo.Claim(lane->kind, lane->target, now, lease, room);
        if (claimed.ok() && claimed->empty()) due = repo.NextDue(lane->kind, lane->target);
      }
      if (claimed.ok() && !claimed->empty()) {
        claimed_any = true;
        std::scoped_lock lock(mu_);
        for (Delivery& d : *claimed) lane->queue.push_back(std::move(d));
        lane->ready.notify_all();
      }
      if (due.ok() && due->has_value() && (!next_due || **due < *next_due)) next_due = **due;
    }
    (void)FlushOutcomes();
    const Millis now = Now();
    if (options_.keep_delivered > 0 && now - last_prune_ > 60'000) {
      last_prune_ = now;
      std::scoped_lock lock(store_mu_);
      (void)store_.Get<OutboxRepository>().PruneDelivered(now - options_.keep_delivered);
    }
    if (claimed_any) continue;
    Millis wait = options_.poll_interval;
    if (next_due) wait = std::clamp<Millis>(*next_due - now, 1, options_.poll_interval);
    std::unique_lock lock(mu_);
    wake_.wait_for(lock, std::chrono::milliseconds(wait),
                   [&] { return stopping_ || notified_ || !outcomes_.empty(); });
  }
  // Stopping: let the attempts in flight end, give back what was claimed but not started.
  std::vector<DeliveryOutcome> released;
  {
    std::unique_lock lock(mu_);
    for (auto& lane : lanes_) lane->ready.notify_all();
  }
  for (auto& lane : lanes_) {
    for (std::thread& t : lane->workers) t.join();
    lane->workers.clear();
    std::scoped_lock lock(mu_);
    for (const Delivery& d : lane->queue) {
      DeliveryOutcome o;
      o.id = d.id;
      o.state = DeliveryState::kPending;
      o.at = Now();
      o.next_attempt_at = Now();
      released.push_back(o);
    }
    lane->queue.clear();
  }
  {
    std::scoped_lock lock(mu_);
    outcomes_.insert(outcomes_.end(), released.begin(), released.end());
  }
  (void)FlushOutcomes();
}

void Outbox::Stop() {
  {
    std::scoped_lock lock(mu_);
    if (!started_) return;
    stopping_ = true;
    wake_.notify_all();
    for (auto& lane : lanes_) lane->ready.notify_all();
  }
  if (dispatcher_.joinable()) dispatcher_.join();
  std::scoped_lock lock(mu_);
  started_ = false;
}

Result<std::vector<store::Delivery>> Outbox::List(const store::DeliveryQuery& query) {
  std::scoped_lock lock(store_mu_);
  return store_.Get<OutboxRepository>().List(query);
}

Result<std::int64_t> Outbox::Retry(std::int64_t id) {
  Result<std::int64_t> n = std::int64_t{0};
  {
    std::scoped_lock lock(store_mu_);
    n = store_.Get<OutboxRepository>().Retry(id, Now());
  }
  if (n.ok()) Notify();
  return n;
}

Result<OutboxStats> Outbox::Stats() {
  OutboxStats s;
  {
    std::scoped_lock lock(store_mu_);
    TP_ASSIGN_OR_RETURN(s.by_state, store_.Get<OutboxRepository>().CountByState());
  }
  s.attempts = attempts_.load();
  s.delivered = delivered_.load();
  s.failed = failed_.load();
  s.dead = dead_.load();
  return s;
}

}  // namespace touchpoint::outbox
