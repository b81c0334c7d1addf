// Customer self-service tokens: what a token says, that it expires, and that a changed byte, a
// token of another installation or a malformed one is refused.
#include <touchpoint/privacy/customer_token.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <string>

#include "testing/matchers.h"

namespace touchpoint::privacy {
namespace {

using ::touchpoint::testing::StatusIs;

MasterKey KeyOf(unsigned char fill) {
  std::array<unsigned char, kMasterKeyBytes> bytes{};
  bytes.fill(fill);
  return MasterKey::FromBytes(bytes);
}

constexpr Millis kNow = 1'800'000'000'000;

TEST(CustomerTokenTest, AnIssuedTokenNamesItsCustomerUntilItExpires) {
  const CustomerTokens tokens = CustomerTokens::FromMasterKey(KeyOf(7));
  auto issued = tokens.Issue(CustomerId(42), kNow, 15 * 60'000);
  ASSERT_OK(issued);
  EXPECT_TRUE(issued->token.starts_with("tpc_1.42."));
  EXPECT_TRUE(IsCustomerToken(issued->token));
  EXPECT_EQ(issued->claims.token_id.size(), 32u);
  const CustomerTokenCheck ok = tokens.Check(issued->token, kNow + 15 * 60'000 - 1);
  ASSERT_TRUE(ok.ok()) << CustomerTokenProblemName(ok.problem);
  EXPECT_EQ(ok.claims.customer, CustomerId(42));
  EXPECT_EQ(ok.claims.expires_at, kNow + 15 * 60'000);
  EXPECT_EQ(ok.claims.token_id, issued->claims.token_id);
  EXPECT_EQ(tokens.Check(issued->token, kNow + 15 * 60'000).problem, CustomerTokenProblem::kExpired);
  // Two tokens for the same customer differ (their ids).
  EXPECT_NE(tokens.Issue(CustomerId(42), kNow, 60'000)->token, tokens.Issue(CustomerId(42), kNow, 60'000)->token);
}

TEST(CustomerTokenTest, AForgedTamperedOrForeignTokenIsRefused) {
  const CustomerTokens tokens = CustomerTokens::FromMasterKey(KeyOf(7));
  const std::string token = tokens.Issue(CustomerId(42), kNow, 60'000)->token;
  // Another customer's id with the old MAC.
  std::string other = token;
  other.replace(other.find(".42.") + 1, 2, "43");
  EXPECT_EQ(tokens.Check(other, kNow).problem, CustomerTokenProblem::kBadSignature);
  // A later expiry with the old MAC.
  std::string longer = token;
  const size_t exp = longer.find('.', longer.find('.', longer.find(".42.") + 1) + 1) + 1;
  longer[exp] = longer[exp] == '9' ? '8' : '9';
  EXPECT_EQ(tokens.Check(longer, kNow).problem, CustomerTokenProblem::kBadSignature);
  // The MAC changed.
  std::string mac = token;
  mac.back() = mac.back() == 'a' ? 'b' : 'a';
  EXPECT_EQ(tokens.Check(mac, kNow).problem, CustomerTokenProblem::kBadSignature);
  // Issued by another installation (another master key).
  const CustomerTokens foreign = CustomerTokens::FromMasterKey(KeyOf(8));
  EXPECT_EQ(foreign.Check(token, kNow).problem, CustomerTokenProblem::kBadSignature);
  for (const char* bad : {"", "tpc_", "tpc_1.42", "tp_0123", "tpc_1.42.1.2.abc.zz", "tpc_..............."}) {
    EXPECT_EQ(tokens.Check(bad, kNow).problem, CustomerTokenProblem::kMalformed) << bad;
  }
}

TEST(CustomerTokenTest, LifetimesAreShort) {
  EXPECT_EQ(*ParseTokenTtl("15m"), 15 * 60'000);
  EXPECT_EQ(*ParseTokenTtl("900s"), 900'000);
  EXPECT_EQ(*ParseTokenTtl("900"), 900'000);
  EXPECT_EQ(*ParseTokenTtl("24h"), 24 * 3'600'000);
  for (const char* bad : {"", "0m", "-5m", "25h", "2d", "m", "15 m", "1.5h"}) {
    EXPECT_THAT(ParseTokenTtl(bad), StatusIs(StatusCode::kInvalidArgument)) << bad;
  }
  const CustomerTokens tokens = CustomerTokens::FromMasterKey(KeyOf(1));
  EXPECT_THAT(tokens.Issue(CustomerId(1), kNow, kCustomerTokenMaxTtl + 1), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(tokens.Issue(CustomerId(0), kNow, 60'000), StatusIs(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace touchpoint::privacy
