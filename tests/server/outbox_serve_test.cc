// `touchpoint serve` with [[webhooks]]: the writer runs the outbox's dispatcher, so a delivery
// enqueued by any connection to the database (the desk, later) reaches its loopback receiver,
// signed; /metrics counts deliveries by state; a bad endpoint stops the start with its name.
#include <touchpoint/server/app.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <touchpoint/outbox/outbox.h>
#include <touchpoint/outbox/signature.h>
#include <touchpoint/store/open.h>

#include "outbox/receivers.h"
#include "server/test_util.h"
#include "testing/http_client.h"
#include "testing/matchers.h"

namespace touchpoint::server {
namespace {

using ::testing::HasSubstr;
using ::touchpoint::testing::StatusIs;

constexpr char kSecret[] = "whsec_serve_test_0123";

TEST(OutboxServeTest, TheWriterDeliversWebhooksAndCountsThemInMetrics) {
  const auto dir = test::MakeTempDir("outbox");
  ::touchpoint::testing::WebhookReceiver receiver;
  ASSERT_TRUE(receiver.ok());
  ServerConfig config = test::TestConfig(dir.string(), testing::StoreUrlForDir(dir.string()));
  outbox::WebhookEndpoint crm;
  crm.name = "crm";
  crm.url = receiver.Url("/crm");
  crm.secret = kSecret;
  crm.events = {"ticket.*"};
  config.outbox.webhooks.push_back(crm);
  config.outbox.poll_interval = 50;
  auto app = App::Start(config);
  ASSERT_OK(app);

  // Another connection enqueues (as the desk will, inside its own transaction).
  auto side = store::Open(testing::StoreUrlForDir(dir.string()));
  ASSERT_OK(side);
  auto producer = outbox::Outbox::Create(**side, config.outbox);
  ASSERT_OK(producer);
  outbox::Event e;
  e.id = "evt_serve_1";
  e.type = "ticket.created";
  e.data_json = R"({"number":"TP-000001"})";
  ASSERT_OK((*producer)->EnqueueEvent(e));

  ASSERT_TRUE(receiver.WaitFor([&] { return receiver.Count("/crm") == 1; }));
  auto got = receiver.Received("/crm");
  EXPECT_EQ(got[0].delivery, "evt_serve_1.crm");
  EXPECT_OK(outbox::VerifySignature(got[0].signature, kSecret, got[0].body, SystemClock::Instance().Now() / 1000));

  ::touchpoint::testing::HttpClient client((*app)->port());
  bool counted = false;
  for (int i = 0; i < 200 && !counted; ++i) {  // the outcome is recorded just after the answer
    auto m = client.Get("/metrics");
    ASSERT_OK(m);
    counted = m->body.find("touchpoint_outbox_deliveries{state=\"delivered\"} 1\n") != std::string::npos;
    if (!counted) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(counted);
  (*app)->Stop();
  std::filesystem::remove_all(dir);
}

TEST(OutboxServeTest, ABadEndpointStopsTheStartNamingIt) {
  const auto dir = test::MakeTempDir("outbox_bad");
  ServerConfig config = test::TestConfig(dir.string(), testing::StoreUrlForDir(dir.string()));
  outbox::WebhookEndpoint crm;
  crm.name = "crm";
  crm.url = "http://127.0.0.1:9/crm";
  crm.secret = "short";
  config.outbox.webhooks.push_back(crm);
  auto app = App::Start(config);
  EXPECT_THAT(app, StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(app.status().message(), HasSubstr("'crm': secret must be at least 16 bytes"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace touchpoint::server
