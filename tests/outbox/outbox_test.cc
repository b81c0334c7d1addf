#include <touchpoint/outbox/outbox.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sodium.h>

#include <touchpoint/outbox/signature.h>
#include <touchpoint/store/memory.h>
#include <touchpoint/store/open.h>

#include "outbox/receivers.h"
#include "pipeline/test_dir.h"
#include "testing/matchers.h"

namespace touchpoint::outbox {
namespace {

using ::testing::HasSubstr;
using ::touchpoint::testing::SmtpSink;
using ::touchpoint::testing::StatusIs;
using ::touchpoint::testing::WebhookReceiver;
using store::Delivery;
using store::DeliveryState;

constexpr Millis kT0 = 1'765'100'000'000;  // 2025-12-07T09:33:20Z
constexpr char kSecret[] = "whsec_test_0123456789";

class FakeClock final : public Clock {
 public:
  Millis Now() const override { return now_.load(); }
  void Set(Millis t) { now_.store(t); }

 private:
  std::atomic<Millis> now_{kT0};
};

WebhookEndpoint Endpoint(const std::string& name, const std::string& url, std::vector<std::string> events = {}) {
  WebhookEndpoint e;
  e.name = name;
  e.url = url;
  e.secret = kSecret;
  e.events = std::move(events);
  e.timeout_ms = 5'000;
  return e;
}

Event TicketEvent(const std::string& id, const std::string& type = "ticket.created") {
  Event e;
  e.id = id;
  e.type = type;
  e.occurred_at = kT0;
  e.data_json = R"({"number":"TP-000123","channel":"chat","priority":"high"})";
  return e;
}

class OutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(receiver_.ok());
    store_ = store::memory::Open();
  }
  std::unique_ptr<Outbox> Make(OutboxOptions options) {
    options.clock = &clock_;
    options.seed = 42;
    auto o = Outbox::Create(*store_, std::move(options));
    EXPECT_OK(o);
    return o.ok() ? std::move(*o) : nullptr;
  }
  Delivery Only(Outbox& outbox) {
    auto all = outbox.List({});
    EXPECT_OK(all);
    EXPECT_EQ(all->size(), 1u);
    return all->empty() ? Delivery{} : all->front();
  }

  FakeClock clock_;
  WebhookReceiver receiver_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(OutboxTest, AWebhookIsPostedOnceWithAVerifiableSignatureAndItsDeliveryId) {
  OutboxOptions o;
  o.webhooks.push_back(Endpoint("crm", receiver_.Url("/hooks/crm")));
  auto outbox = Make(o);
  auto ids = outbox->EnqueueEvent(TicketEvent("evt_1"));
  ASSERT_OK(ids);
  ASSERT_EQ(ids->size(), 1u);
  EXPECT_EQ(*outbox->RunDue(), 1);
  EXPECT_EQ(*outbox->RunDue(), 0) << "delivered: never sent again";

  auto got = receiver_.Received("/hooks/crm");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].delivery, "evt_1.crm");
  EXPECT_EQ(got[0].event, "ticket.created");
  EXPECT_EQ(got[0].attempt, "1");
  // The receiver's check, as docs/outbox.md shows it.
  EXPECT_OK(VerifySignature(got[0].signature, kSecret, got[0].body, kT0 / 1000));
  EXPECT_THAT(VerifySignature(got[0].signature, "whsec_wrong_secret___", got[0].body, kT0 / 1000),
              StatusIs(StatusCode::kPermissionDenied));
  auto body = nlohmann::json::parse(got[0].body);
  EXPECT_EQ(body["id"], "evt_1.crm");
  EXPECT_EQ(body["event_id"], "evt_1");
  EXPECT_EQ(body["type"], "ticket.created");
  EXPECT_EQ(body["created_at"], "2025-12-07T09:33:20.000Z");
  EXPECT_EQ(body["data"]["number"], "TP-000123");

  Delivery d = Only(*outbox);
  EXPECT_EQ(d.state, DeliveryState::kDelivered);
  EXPECT_EQ(d.attempts, 1);
  EXPECT_EQ(d.delivered_at, kT0);
}

TEST_F(OutboxTest, EventsGoOnlyToSubscribedEndpointsAndTheSameEventIsEnqueuedOnce) {
  OutboxOptions o;
  o.webhooks.push_back(Endpoint("tickets", receiver_.Url("/t"), {"ticket.*"}));
  o.webhooks.push_back(Endpoint("sla", receiver_.Url("/s"), {"sla.breached", "sla.warning"}));
  o.webhooks.push_back(Endpoint("all", receiver_.Url("/a"), {"*"}));
  auto outbox = Make(o);
  EXPECT_EQ(outbox->EnqueueEvent(TicketEvent("evt_a", "ticket.assigned"))->size(), 2u);
  EXPECT_EQ(outbox->EnqueueEvent(TicketEvent("evt_b", "sla.breached"))->size(), 2u);
  EXPECT_EQ(outbox->EnqueueEvent(TicketEvent("evt_c", "supervisor.alert"))->size(), 1u);
  EXPECT_EQ(outbox->EnqueueEvent(TicketEvent("evt_a", "ticket.assigned"))->size(), 2u) << "ids of the existing ones";
  EXPECT_EQ(*outbox->RunDue(), 5);
  EXPECT_EQ(receiver_.Count("/t"), 1u);
  EXPECT_EQ(receiver_.Count("/s"), 1u);
  EXPECT_EQ(receiver_.Count("/a"), 3u);
  EXPECT_THAT(outbox->EnqueueEvent(TicketEvent("evt d")), StatusIs(StatusCode::kInvalidArgument));
  Event bad = TicketEvent("evt_e");
  bad.data_json = "[1,2]";
  EXPECT_THAT(outbox->EnqueueEvent(bad), StatusIs(StatusCode::kInvalidArgument));
}

TEST_F(OutboxTest, EnqueueCommitsOrRollsBackWithTheCallersTransaction) {
  OutboxOptions o;
  o.webhooks.push_back(Endpoint("crm", receiver_.Url("/crm")));
  auto outbox = Make(o);
  {
    auto txn = store_->Begin();
    ASSERT_OK(txn);
    ASSERT_OK(outbox->EnqueueEvent(*store_, **txn, TicketEvent("evt_rolled_back")));
  }  // the desk's change failed: no webhook either
  {
    auto txn = store_->Begin();
    ASSERT_OK(txn);
    ASSERT_OK(outbox->EnqueueEvent(*store_, **txn, TicketEvent("evt_committed")));
    ASSERT_OK((*txn)->Commit());
  }
  EXPECT_EQ(*outbox->RunDue(), 1);
  auto got = receiver_.Received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].delivery, "evt_committed.crm");
}

TEST_F(OutboxTest, FailuresAreRetriedWithExponentialBackoffThenDeadLetteredAndCanBeRetried) {
  receiver_.SetStatus("/flaky", 503);
  OutboxOptions o;
  o.webhooks.push_back(Endpoint("flaky", receiver_.Url("/flaky")));
  o.retry.max_attempts = 5;
  o.retry.initial_backoff = 1'000;
  o.retry.max_backoff = 4'000;
  o.retry.jitter = 0;
  auto outbox = Make(o);
  ASSERT_OK(outbox->EnqueueEvent(TicketEvent("evt_1")));
  // Attempt n fails at t and waits min(4 s, 1 s · 2^(n-1)): due at +1, +3, +7, +11 s.
  const std::vector<Millis> due = {kT0, kT0 + 1'000, kT0 + 3'000, kT0 + 7'000, kT0 + 11'000};
  for (size_t n = 0; n < due.size(); ++n) {
    clock_.Set(due[n] - 1);
    if (n > 0) {
      EXPECT_EQ(*outbox->RunDue(), 0) << "not due before " << due[n];
    }
    clock_.Set(due[n]);
    EXPECT_EQ(*outbox->RunDue(), 1) << "attempt " << n + 1;
    Delivery d = Only(*outbox);
    EXPECT_EQ(d.attempts, static_cast<int>(n + 1));
    EXPECT_EQ(d.last_error, n + 1 < due.size() ? "HTTP 503" : "HTTP 503; gave up after 5 attempts");
    if (n + 1 < due.size()) {
      EXPECT_EQ(d.state, DeliveryState::kFailed);
      EXPECT_EQ(d.next_attempt_at, due[n + 1]);
    } else {
      EXPECT_EQ(d.state, DeliveryState::kDead) << "dead-lettered after max_attempts";
    }
  }
  clock_.Set(kT0 + 3'600'000);
  EXPECT_EQ(*outbox->RunDue(), 0) << "dead deliveries are not retried by themselves";
  auto got = receiver_.Received("/flaky");
  ASSERT_EQ(got.size(), 5u);
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].delivery, "evt_1.flaky") << "the same delivery id on every attempt";
    EXPECT_EQ(got[i].body, got[0].body) << "the same bytes on every attempt";
    EXPECT_EQ(got[i].attempt, std::to_string(i + 1));
  }
  auto stats = outbox->Stats();
  ASSERT_OK(stats);
  EXPECT_EQ(stats->by_state[static_cast<size_t>(DeliveryState::kDead)], 1);
  EXPECT_EQ(stats->failed, 4);
  EXPECT_EQ(stats->dead, 1);

  // The operator fixes the receiver and retries the dead letter.
  receiver_.SetStatus("/flaky", 204);
  EXPECT_EQ(*outbox->Retry(0), 1);
  EXPECT_EQ(*outbox->RunDue(), 1);
  EXPECT_EQ(Only(*outbox).state, DeliveryState::kDelivered);
  EXPECT_EQ(Only(*outbox).last_error, "") << "a success clears the error";
}

TEST_F(OutboxTest, JitterTakesARandomShareOffTheBackoffWithinItsLimit) {
  OutboxOptions o;
  o.retry.initial_backoff = 10'000;
  o.retry.max_backoff = 80'000;
  o.retry.jitter = 0.5;
  o.retry.max_attempts = 100;
  auto outbox = Make(o);
  std::set<Millis> seen;
  for (int i = 0; i < 200; ++i) {
    const int attempt = 1 + i % 6;
    const Millis full = std::min<Millis>(80'000, 10'000LL << (attempt - 1));
    const Millis wait = *outbox->NextAttemptAt(attempt, 0);
    EXPECT_LE(wait, full);
    EXPECT_GE(wait, full / 2);
    seen.insert(wait);
  }
  EXPECT_GT(seen.size(), 150u) << "spread, so that retries of many deliveries do not arrive together";
  EXPECT_FALSE(outbox->NextAttemptAt(100, 0).has_value());
}

TEST_F(OutboxTest, ASlowOrFailingEndpointNeverHoldsUpAnotherOrTheCaller) {
  receiver_.Hold("/slow");  // answers nothing until released: every attempt times out
  receiver_.SetStatus("/down", 500);
  OutboxOptions o;
  o.webhooks.push_back(Endpoint("slow", receiver_.Url("/slow")));
  o.webhooks.back().timeout_ms = 400;
  o.webhooks.back().concurrency = 1;
  o.webhooks.push_back(Endpoint("down", receiver_.Url("/down")));
  o.webhooks.push_back(Endpoint("fast", receiver_.Url("/fast")));
  o.retry.initial_backoff = 3'600'000;  // the fake clock never gets there
  o.retry.max_backoff = 3'600'000;
  auto outbox = Make(o);
  ASSERT_OK(outbox->Start());
  constexpr int kEvents = 30;
  for (int i = 0; i < kEvents; ++i) {
    // The caller only writes a row: it never waits for any endpoint.
    ASSERT_OK(outbox->EnqueueEvent(TicketEvent("evt_" + std::to_string(i))));
  }
  EXPECT_TRUE(receiver_.WaitFor([&] { return receiver_.Count("/fast") == kEvents; }))
      << "fast got " << receiver_.Count("/fast") << " while slow is stuck";
  EXPECT_TRUE(receiver_.WaitFor([&] { return receiver_.Count("/down") == kEvents; }));
  EXPECT_EQ(receiver_.Count("/slow"), 0u) << "slow has answered nothing yet";
  outbox->Stop();
  receiver_.Release();

  store::DeliveryQuery slow;
  slow.target = "slow";
  auto log = outbox->List(slow);
  ASSERT_OK(log);
  ASSERT_EQ(log->size(), static_cast<size_t>(kEvents));
  int timed_out = 0, pending = 0;
  for (const Delivery& d : *log) {
    if (d.state == DeliveryState::kFailed) {
      EXPECT_EQ(d.last_error, "timeout after 400 ms");
      ++timed_out;
    }
    if (d.state == DeliveryState::kPending) {
      EXPECT_EQ(d.attempts, 0) << "claimed but never attempted: given back at Stop";
      ++pending;
    }
  }
  EXPECT_GE(timed_out, 1);
  EXPECT_EQ(timed_out + pending, kEvents);
  store::DeliveryQuery fast;
  fast.target = "fast";
  fast.state = DeliveryState::kDelivered;
  EXPECT_EQ(outbox->List(fast)->size(), static_cast<size_t>(kEvents));
  store::DeliveryQuery down;
  down.target = "down";
  down.state = DeliveryState::kFailed;
  EXPECT_EQ(outbox->List(down)->size(), static_cast<size_t>(kEvents));
}

TEST_F(OutboxTest, BadOptionsAreRefusedNamingTheEndpoint) {
  const struct {
    std::string name, url, secret;
    const char* message;
  } cases[] = {
      {"crm", "ftp://127.0.0.1/x", kSecret, "url must start with http"},
      {"crm", "http://127.0.0.1/x", "short", "secret must be at least 16 bytes"},
      {"", "http://127.0.0.1/x", kSecret, "name must be"},
      {"a b", "http://127.0.0.1/x", kSecret, "name must be"},
  };
  for (const auto& c : cases) {
    OutboxOptions o;
    WebhookEndpoint e = Endpoint(c.name, c.url);
    e.secret = c.secret;
    o.webhooks.push_back(e);
    auto r = Outbox::Create(*store_, o);
    EXPECT_THAT(r, StatusIs(StatusCode::kInvalidArgument)) << c.url;
    EXPECT_THAT(r.status().message(), HasSubstr(c.message));
  }
  OutboxOptions twice;
  twice.webhooks = {Endpoint("crm", receiver_.Url("/a")), Endpoint("crm", receiver_.Url("/b"))};
  EXPECT_THAT(Outbox::Create(*store_, twice), StatusIs(StatusCode::kInvalidArgument));
}

// ---- e-mail ----

std::string DecodeBase64Lines(const std::string& text) {
  std::string joined;
  for (char c : text) {
    if (c != '\r' && c != '\n') joined += c;
  }
  std::string out(joined.size(), '\0');
  size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), joined.data(), joined.size(),
                        nullptr, &len, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0) {
    return "<bad base64>";
  }
  out.resize(len);
  return out;
}

class OutboxEmailTest : public OutboxTest {
 protected:
  OutboxOptions MailOptions() {
    OutboxOptions o;
    o.smtp.host = "127.0.0.1";
    o.smtp.port = sink_.port();
    o.smtp.tls = "none";
    o.smtp.from = "service@shop.example";
    o.smtp.from_name = "客服中心";
    o.smtp.timeout_ms = 5'000;
    return o;
  }
  SmtpSink sink_;
};

TEST_F(OutboxEmailTest, AnEmailIsDeliveredBySmtpAsAnRfc5322MessageWithItsMessageId) {
  ASSERT_GT(sink_.port(), 0);
  auto outbox = Make(MailOptions());
  Email mail;
  mail.to = "li.wei@example.com";
  mail.to_name = "Li Wei";
  mail.subject = "回复：您的退款申请 TP-000123 已处理";
  mail.text = "您好，\n\n退款已原路退回，预计 1–3 个工作日到账。\n.\n(a line with a lone dot above)\n";
  mail.in_reply_to = "<abc@mail.example.com>";
  mail.key = "ticket-TP-000123-m5";
  auto queued = outbox->EnqueueEmail(mail);
  ASSERT_OK(queued);
  EXPECT_EQ(queued->message_id, "<ticket-TP-000123-m5@shop.example>");
  EXPECT_EQ(*outbox->RunDue(), 1);

  auto mails = sink_.Mails();
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_EQ(mails[0].mail_from, "<service@shop.example>");
  ASSERT_EQ(mails[0].rcpt_to.size(), 1u);
  EXPECT_EQ(mails[0].rcpt_to[0], "<li.wei@example.com>");
  EXPECT_EQ(mails[0].helo, "shop.example");
  const std::string& m = mails[0].data;
  EXPECT_THAT(m, HasSubstr("Message-ID: <ticket-TP-000123-m5@shop.example>\r\n"));
  EXPECT_THAT(m, HasSubstr("In-Reply-To: <abc@mail.example.com>\r\n"));
  EXPECT_THAT(m, HasSubstr("References: <abc@mail.example.com>\r\n"));
  EXPECT_THAT(m, HasSubstr("Date: Sun, 07 Dec 2025 09:33:20 +0000\r\n"));
  EXPECT_THAT(m, HasSubstr("To: \"Li Wei\" <li.wei@example.com>\r\n"));
  EXPECT_THAT(m, HasSubstr("From: =?UTF-8?B?5a6i5pyN5Lit5b+D?= <service@shop.example>\r\n"));
  EXPECT_THAT(m, HasSubstr("Content-Type: text/plain; charset=UTF-8\r\n"));
  const size_t subject = m.find("Subject: =?UTF-8?B?");
  ASSERT_NE(subject, std::string::npos);
  // The encoded words, unfolded and decoded, are the subject.
  std::string decoded;
  size_t pos = subject;
  while ((pos = m.find("=?UTF-8?B?", pos)) != std::string::npos && pos < m.find("Message-ID:")) {
    const size_t end = m.find("?=", pos + 10);
    decoded += DecodeBase64Lines(m.substr(pos + 10, end - pos - 10));
    pos = end + 2;
  }
  EXPECT_EQ(decoded, mail.subject);
  const size_t body = m.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos);
  EXPECT_EQ(DecodeBase64Lines(m.substr(body + 4)), mail.text);
  EXPECT_EQ(Only(*outbox).state, DeliveryState::kDelivered);
}

TEST_F(OutboxEmailTest, ARefusedRecipientIsDeadAtOnceATemporaryRefusalIsRetried) {
  auto outbox = Make(MailOptions());
  Email mail;
  mail.to = "nobody@example.com";
  mail.subject = "Your ticket";
  mail.text = "Hello";
  sink_.RejectRecipients(451);
  ASSERT_OK(outbox->EnqueueEmail(mail));
  EXPECT_EQ(*outbox->RunDue(), 1);
  Delivery d = Only(*outbox);
  EXPECT_EQ(d.state, DeliveryState::kFailed);
  EXPECT_EQ(d.last_error, "SMTP 451");
  sink_.RejectRecipients(550);
  clock_.Set(d.next_attempt_at);
  EXPECT_EQ(*outbox->RunDue(), 1);
  d = Only(*outbox);
  EXPECT_EQ(d.state, DeliveryState::kDead);
  EXPECT_EQ(d.last_error, "SMTP 550 (permanent)");
  EXPECT_EQ(d.last_error.find("nobody"), std::string::npos) << "no address in the log's error";
}

TEST_F(OutboxEmailTest, EmailNeedsARelayAndAnAddress) {
  auto no_relay = Make(OutboxOptions{});
  Email mail;
  mail.to = "li.wei@example.com";
  EXPECT_THAT(no_relay->EnqueueEmail(mail), StatusIs(StatusCode::kFailedPrecondition));
  auto outbox = Make(MailOptions());
  for (const char* bad : {"li.wei", "li wei@example.com", "a@b.c\r\nBcc: x@y.z", "@example.com"}) {
    mail.to = bad;
    EXPECT_THAT(outbox->EnqueueEmail(mail), StatusIs(StatusCode::kInvalidArgument)) << bad;
  }
  mail.to = "li.wei@example.com";
  mail.subject = "hi\r\nBcc: x@y.z";
  EXPECT_THAT(outbox->EnqueueEmail(mail), StatusIs(StatusCode::kInvalidArgument)) << "header injection";
}

}  // namespace
}  // namespace touchpoint::outbox
