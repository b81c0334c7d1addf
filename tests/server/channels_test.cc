// The desk's channels over real HTTP (docs/service-desk.md "Channels"): the App on an ephemeral
// port with an SMTP sink and a webhook receiver on loopback. Inbound e-mail (GBK, multipart)
// opens a ticket through the engine's ingest; the agent's reply goes out by SMTP threaded to the
// customer's mail, with its attachment stored by hash and its delivery state on the ticket; a
// reply from another address answering the desk's mail joins the same ticket; a solved ticket
// sends its CSAT survey, answered by a reply "5" (the ticket stays solved) or, on a webhook
// channel, through the signed token; malformed mail is refused whole; a dead delivery shows.
#include <touchpoint/server/app.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include <touchpoint/outbox/signature.h>
#include <touchpoint/service/channels.h>
#include <touchpoint/service/email_inbound.h>

#include "outbox/receivers.h"
#include "server/desk_fixture.h"
#include "server/test_util.h"
#include "testing/data_dir.h"
#include "testing/http_client.h"
#include "testing/matchers.h"

namespace touchpoint::server {
namespace {

using ::testing::HasSubstr;
using ::touchpoint::privacy::Role;
using ::touchpoint::testing::HttpClient;
using ::touchpoint::testing::HttpHeaders;
using ::touchpoint::testing::HttpResponse;
using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr char kWebhookSecret[] = "whsec_channels_test_0123";
constexpr char kCsatSecret[] = "csat-secret-for-tests-0123456789";

std::string Sample(const std::string& name) {
  std::ifstream in(std::string(TP_SOURCE_DIR) + "/tests/fuzz/email_corpus/" + name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Mail(const std::string& from, const std::string& message_id, const std::string& in_reply_to,
                 const std::string& body) {
  std::string m = "From: " + from + "\r\nTo: service@example.com\r\nSubject: Re: order\r\nMessage-ID: <" + message_id +
                  ">\r\n";
  if (!in_reply_to.empty()) m += "In-Reply-To: " + in_reply_to + "\r\n";
  return m + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n";
}

class ChannelsHttpTest : public test::DeskServerTest {
 protected:
  ChannelsHttpTest() : DeskServerTest("channels") {}
  void SetUp() override {
    ASSERT_TRUE(webhooks_.ok());
    DeskServerTest::SetUp();
    if (HasFatalFailure()) return;
    config_.outbox.smtp.host = "127.0.0.1";
    config_.outbox.smtp.port = smtp_.port();
    config_.outbox.smtp.tls = "none";
    config_.outbox.smtp.from = "service@example.com";
    config_.outbox.smtp.timeout_ms = 5000;
    outbox::WebhookEndpoint gw;
    gw.name = "social-gw";
    gw.url = webhooks_.Url("/social");
    gw.secret = kWebhookSecret;
    gw.events = {"none.*"};  // replies reach it by name, whatever its filter
    gw.timeout_ms = 5000;
    config_.outbox.webhooks.push_back(gw);
    config_.outbox.poll_interval = 50;
    config_.outbox.retry.max_attempts = 2;
    config_.outbox.retry.initial_backoff = 100;
    config_.outbox.retry.jitter = 0;
    config_.channels.csat_secret = kCsatSecret;
    config_.channels.csat_link = "https://support.example.com/csat";
    config_.channels.connectors["social"] = service::ChannelConnector{"webhook", "social-gw", true, ""};
    ingest_key_ = test::MakeKey(dir_.string(), Role::kIngest);
    Start();
  }
  HttpResponse Inbound(const std::string& raw) {
    return Post("/v1/channels/email/inbound", raw, test::BearerAuth(ingest_key_), "message/rfc822");
  }
  json Ticket(const std::string& number) { return Body(Get("/v1/tickets/" + number, Admin())); }
  json TicketsOf(const std::string& customer) {
    return Body(Get("/v1/tickets?customer=" + customer, Admin()))["tickets"];
  }
  std::vector<service::InboundEmail> Sent() {
    std::vector<service::InboundEmail> out;
    for (const auto& m : smtp_.Mails()) {
      auto parsed = service::ParseEmail(m.data);
      EXPECT_OK(parsed);
      if (parsed.ok()) out.push_back(*parsed);
    }
    return out;
  }

  ::touchpoint::testing::SmtpSink smtp_;
  ::touchpoint::testing::WebhookReceiver webhooks_;
  std::string ingest_key_;
};

TEST_F(ChannelsHttpTest, AnEmailThreadRoundTripsWithDeliveryStateFilesAndASurveyAnsweredByReply) {
  // 1. A GBK multipart mail, posted raw as a relay does, opens a ticket through ingest.
  HttpResponse in = Inbound(Sample("gbk_alternative.eml"));
  ASSERT_EQ(in.status, 202) << in.body;
  EXPECT_EQ(Body(in)["customer"], "email:zhang.san@example.cn");
  EXPECT_EQ(Body(in)["thread"], nullptr) << "its In-Reply-To names no message of the desk";
  json tickets;
  ASSERT_TRUE(Eventually([&] { return (tickets = TicketsOf("email:zhang.san@example.cn")).size() == 1; }));
  const std::string number = tickets[0]["number"];
  EXPECT_EQ(tickets[0]["channel"], "email");
  json t = Ticket(number);
  ASSERT_EQ(t["messages"].size(), 1u);
  EXPECT_THAT(t["messages"][0]["text"].get<std::string>(), HasSubstr("耳机到现在还没有发货"));

  // A relay retrying the same mail adds nothing.
  HttpResponse again = Inbound(Sample("gbk_alternative.eml"));
  ASSERT_EQ(again.status, 202);
  EXPECT_EQ(Body(again)["duplicate"], true);

  // 2. The agent's reply with a PDF goes out by SMTP, In-Reply-To the customer's mail.
  const std::string pdf = "%PDF-1.4\n% label for the courier\n%%EOF\n";
  HttpResponse reply = Post("/v1/tickets/" + number + "/messages",
                            json{{"text", "已为您加急处理，快递单见附件。"},
                                 {"attachments", json::array({json{{"filename", "label.pdf"},
                                                                   {"content_base64", test::Base64(pdf)}}})}}
                                .dump(),
                            Admin());
  ASSERT_EQ(reply.status, 200) << reply.body;
  ASSERT_TRUE(Eventually([&] { return smtp_.Mails().size() == 1; }));
  auto mails = Sent();
  EXPECT_THAT(smtp_.Mails()[0].rcpt_to, ::testing::ElementsAre("<zhang.san@example.cn>"));
  EXPECT_EQ(mails[0].in_reply_to, "20261207091200.GA1234@mail.example.cn");
  EXPECT_THAT(mails[0].text, HasSubstr("已为您加急处理"));
  EXPECT_THAT(mails[0].subject, HasSubstr("[" + number + "]"));
  const std::string reply_id = mails[0].message_id;
  ASSERT_TRUE(Eventually([&] { return Ticket(number)["messages"][1]["delivery"]["state"] == "sent"; }));
  t = Ticket(number);
  EXPECT_EQ(t["messages"][1]["delivery"]["message_id"], "<" + reply_id + ">");
  EXPECT_EQ(t["messages"][1]["delivery"]["attempts"], 1);
  ASSERT_EQ(t["messages"][1]["attachments"].size(), 1u);
  const std::string hash = t["messages"][1]["attachments"][0]["hash"];
  EXPECT_EQ(hash, service::Sha256Hex(pdf));
  HttpResponse file = Get("/v1/tickets/" + number + "/attachments/" + hash, Admin());
  ASSERT_EQ(file.status, 200);
  EXPECT_EQ(file.body, pdf);
  std::string content_type;
  for (const auto& [name, value] : file.headers) {
    if (name == "content-type") content_type = value;
  }
  EXPECT_EQ(content_type, "application/pdf");
  EXPECT_EQ(Get("/v1/tickets/" + number + "/attachments/" + std::string(64, 'a'), Admin()).status, 404);

  // 3. A colleague answers the desk's mail from another address: threaded by In-Reply-To.
  HttpResponse colleague = Inbound(Mail("li.si@example.cn", "colleague-1@example.cn", "<" + reply_id + ">",
                                        "我是张三的同事，地址改为上海市。\r\n\r\n在 2026年12月7日，客服 写道：\r\n> 已为您加急处理"));
  ASSERT_EQ(colleague.status, 202) << colleague.body;
  EXPECT_EQ(Body(colleague)["thread"], number);
  ASSERT_TRUE(Eventually([&] { return Ticket(number)["messages"].size() == 3; }));
  t = Ticket(number);
  EXPECT_EQ(t["messages"][2]["text"], "我是张三的同事，地址改为上海市。") << "the quoted reply is cut";
  EXPECT_TRUE(TicketsOf("email:li.si@example.cn").empty()) << "no second ticket for the colleague";

  // 4. Solved: the survey goes out by e-mail; a reply "5" answers it and the ticket stays solved.
  ASSERT_EQ(Post("/v1/tickets/" + number + "/status", R"({"status":"solved"})", Admin()).status, 200);
  ASSERT_TRUE(Eventually([&] { return smtp_.Mails().size() == 2; }));
  mails = Sent();
  EXPECT_THAT(mails[1].subject, HasSubstr("How did we do"));
  EXPECT_THAT(mails[1].text, HasSubstr("https://support.example.com/csat?ticket=" + number + "&token="));
  t = Ticket(number);
  ASSERT_EQ(t["csat"].size(), 1u);
  EXPECT_EQ(t["csat"][0]["score"], nullptr);
  EXPECT_NE(t["csat"][0]["sent_at"], nullptr);
  ASSERT_EQ(Inbound(Mail("zhang.san@example.cn", "score-1@example.cn", "<" + mails[1].message_id + ">", "5")).status,
            202);
  ASSERT_TRUE(Eventually([&] { return Ticket(number)["csat"][0]["score"] == 5; }));
  t = Ticket(number);
  EXPECT_EQ(t["status"], "solved") << "a survey answer does not reopen";
  EXPECT_EQ(t["reopen_count"], 0);
  EXPECT_NE(t["csat"][0]["answered_at"], nullptr);
}

TEST_F(ChannelsHttpTest, MalformedMailIsRefusedWholeAndUnsafeFilesAreSkipped) {
  HttpResponse r = Inbound("Subject: no sender\r\n\r\nhello\r\n");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("From"));
  r = Inbound("From: a@example.com\r\nContent-Type: multipart/mixed\r\n\r\n--x\r\nhi\r\n");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("boundary"));
  r = Post("/v1/channels/email/inbound", R"({"mime":1})", test::BearerAuth(ingest_key_));
  EXPECT_EQ(r.status, 400);
  // The JSON shape some relays post; an executable attachment is skipped, the mail is kept.
  const std::string raw =
      "From: wu@example.com\r\nSubject: crash\r\nMessage-ID: <exe-1@example.com>\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nit crashes\r\n"
      "--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=fix.exe\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA\r\n--b--\r\n";
  r = Post("/v1/channels/email/inbound", json{{"raw", raw}}.dump(), test::BearerAuth(ingest_key_));
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_THAT(Body(r)["skipped"][0]["reason"].get<std::string>(), HasSubstr("application/x-msdownload not allowed"));
  EXPECT_TRUE(Body(r)["attachments"].empty());
  ASSERT_TRUE(Eventually([&] { return TicketsOf("email:wu@example.com").size() == 1; }));
  EXPECT_TRUE(TicketsOf("email:a@example.com").empty()) << "refused mail stored nothing";
  // An agent's attachment of a refused type: 400, and no message was written.
  const std::string number = TicketsOf("email:wu@example.com")[0]["number"];
  r = Post("/v1/tickets/" + number + "/messages",
           json{{"text", "try this"},
                {"attachments", json::array({json{{"filename", "x.exe"}, {"content_base64", "TVqQAAMAAAAEAAAA"}}})}}
               .dump(),
           Admin());
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("attachments[0]: type application/x-msdownload not allowed"));
  EXPECT_EQ(Ticket(number)["messages"].size(), 1u);
  EXPECT_EQ(smtp_.Mails().size(), 0u);
}

TEST_F(ChannelsHttpTest, AWebhookChannelGetsSignedRepliesAndTheSurveyTokenAnswersOnce) {
  ASSERT_EQ(Post("/v1/identify", R"({"userId":"wx-1","messageId":"id-wx-1","traits":{"phone":"13800138000"}})",
                 Admin())
                .status,
            200);
  HttpResponse created =
      Post("/v1/tickets", R"({"customer":"user:wx-1","subject":"退款进度","channel":"social"})", Admin());
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string number = Body(created)["number"];
  ASSERT_EQ(Post("/v1/tickets/" + number + "/messages", R"({"text":"退款已受理"})", Admin()).status, 200);
  ASSERT_EQ(Post("/v1/tickets/" + number + "/messages", R"({"text":"note","internal":true})", Admin()).status, 200);
  ASSERT_TRUE(webhooks_.WaitFor([&] { return webhooks_.Count("/social") == 1; }));
  auto got = webhooks_.Received("/social");
  EXPECT_EQ(got[0].event, "reply.social");
  EXPECT_OK(outbox::VerifySignature(got[0].signature, kWebhookSecret, got[0].body, SystemClock::Instance().Now() / 1000));
  json body = json::parse(got[0].body);
  EXPECT_EQ(body["data"]["text"], "退款已受理");
  EXPECT_EQ(body["data"]["ticket"], number);
  EXPECT_EQ(body["data"]["customer"]["identifiers"]["user"], "wx-1");
  ASSERT_TRUE(Eventually([&] { return Ticket(number)["messages"][0]["delivery"]["state"] == "sent"; }));
  EXPECT_FALSE(Ticket(number)["messages"][1].contains("delivery")) << "an internal note is never sent";

  ASSERT_EQ(Post("/v1/tickets/" + number + "/status", R"({"status":"solved"})", Admin()).status, 200);
  ASSERT_TRUE(webhooks_.WaitFor([&] { return webhooks_.Count("/social") == 2; }));
  json survey = json::parse(webhooks_.Received("/social")[1].body);
  EXPECT_EQ(survey["type"], "csat.survey.social");
  const std::string token = survey["data"]["survey"]["token"];
  const std::string csat = "/v1/tickets/" + number + "/csat";
  EXPECT_EQ(Post(csat, json{{"token", token}, {"score", 6}}.dump(), {}).status, 400);
  EXPECT_EQ(Post(csat, json{{"token", token + "0"}, {"score", 4}}.dump(), {}).status, 403);
  EXPECT_EQ(Post("/v1/tickets/TP-999999/csat", json{{"token", token}, {"score", 4}}.dump(), {}).status, 403)
      << "a token is bound to its ticket";
  HttpResponse answered = Post(csat, json{{"token", token}, {"score", 4}, {"comment", "很快"}}.dump(), {});
  ASSERT_EQ(answered.status, 200) << answered.body;
  EXPECT_EQ(Body(answered)["score"], 4);
  EXPECT_EQ(Post(csat, json{{"token", token}, {"score", 1}}.dump(), {}).status, 409) << "the first answer stays";
  json t = Ticket(number);
  EXPECT_EQ(t["csat"][0]["score"], 4);
  EXPECT_EQ(t["csat"][0]["comment"], "很快");
  EXPECT_EQ(t["csat"][0]["channel"], "social");
}

TEST_F(ChannelsHttpTest, AFailingGatewayShowsQueuedThenFailedWithAttempts) {
  webhooks_.SetStatus("/social", 503);
  ASSERT_EQ(Post("/v1/identify", R"({"userId":"wx-2","messageId":"id-wx-2"})", Admin()).status, 200);
  HttpResponse created = Post("/v1/tickets", R"({"customer":"user:wx-2","subject":"s","channel":"social"})", Admin());
  ASSERT_EQ(created.status, 201);
  const std::string number = Body(created)["number"];
  ASSERT_EQ(Post("/v1/tickets/" + number + "/messages", R"({"text":"hello"})", Admin()).status, 200);
  json d;
  ASSERT_TRUE(Eventually([&] {
    d = Ticket(number)["messages"][0]["delivery"];
    return d["state"] == "failed";
  })) << d.dump();
  EXPECT_EQ(d["attempts"], 2);
  EXPECT_THAT(d["last_error"].get<std::string>(), HasSubstr("503"));
  // A channel without a connector: stored, shown as not sent.
  HttpResponse phone = Post("/v1/tickets", R"({"customer":"user:wx-2","subject":"call","channel":"phone"})", Admin());
  const std::string n2 = Body(phone)["number"];
  ASSERT_EQ(Post("/v1/tickets/" + n2 + "/messages", R"({"text":"we called"})", Admin()).status, 200);
  d = Ticket(n2)["messages"][0]["delivery"];
  EXPECT_EQ(d["state"], "not_sent");
  EXPECT_THAT(d["last_error"].get<std::string>(), HasSubstr("no connector for channel phone"));
}

}  // namespace
}  // namespace touchpoint::server
