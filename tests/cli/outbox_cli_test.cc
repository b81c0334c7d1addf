// `touchpoint outbox list` as an operator reads it: an e-mail delivery's recipient masked as
// everywhere else (privacy's masker: first character and domain, a multi-byte first character
// kept whole), a webhook's endpoint name shown as is.
#include <filesystem>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <touchpoint/store/outbox_repository.h>

#include "cli/cli_runner.h"
#include "pipeline/test_dir.h"
#include "testing/data_dir.h"
#include "testing/matchers.h"

namespace touchpoint {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::touchpoint::testing::Touchpoint;

TEST(OutboxCliTest, ListMasksEmailRecipientsAndNamesEndpoints) {
  ::touchpoint::testing::TempDir tmp;
  const std::string data = tmp.File("data");
  std::filesystem::create_directories(data);
  {
    auto store = ::touchpoint::testing::OpenForKeys(data);
    ASSERT_OK(store);
    auto txn = (*store)->Begin();
    ASSERT_OK(txn);
    auto& repo = (*store)->Get<store::OutboxRepository>();
    const struct {
      store::DeliveryKind kind;
      const char* target;
      const char* key;
    } rows[] = {{store::DeliveryKind::kEmail, "li.lei@example.com", "m1"},
                {store::DeliveryKind::kEmail, "张伟@example.cn", "m2"},
                {store::DeliveryKind::kWebhook, "crm", "evt_1.crm"}};
    for (const auto& row : rows) {
      store::Delivery d;
      d.kind = row.kind;
      d.target = row.target;
      d.event = "ticket.created";
      d.payload = "{}";
      d.idempotency_key = row.key;
      d.next_attempt_at = 1'800'000'000'000;
      d.created_at = 1'800'000'000'000;
      ASSERT_OK(repo.Enqueue(**txn, d));
    }
    ASSERT_OK((*txn)->Commit());
  }
  auto r = Touchpoint("outbox list --data " + data + " 2>&1");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("\"target\":\"l***@example.com\"")) << r.out;
  EXPECT_THAT(r.out, HasSubstr("\"target\":\"张***@example.cn\"")) << r.out;
  EXPECT_THAT(r.out, HasSubstr("\"target\":\"crm\"")) << r.out;
  EXPECT_THAT(r.out, Not(HasSubstr("li.lei"))) << r.out;
  EXPECT_THAT(r.out, Not(HasSubstr("张伟"))) << r.out;
}

}  // namespace
}  // namespace touchpoint
