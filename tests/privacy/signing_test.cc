#include <touchpoint/privacy/signing.h>

#include <string>

#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace touchpoint::privacy {
namespace {

using ::touchpoint::testing::StatusIs;

MasterKey KeyOf(unsigned char fill) {
  std::array<unsigned char, kMasterKeyBytes> bytes{};
  bytes.fill(fill);
  return MasterKey::FromBytes(bytes);
}

TEST(SignerTest, TheSameMasterKeyAlwaysGivesTheSameSigningKey) {
  const Signer a = Signer::FromMasterKey(KeyOf(7));
  const Signer b = Signer::FromMasterKey(KeyOf(7));
  const Signer c = Signer::FromMasterKey(KeyOf(8));
  EXPECT_EQ(a.public_key(), b.public_key());
  EXPECT_NE(a.public_key(), c.public_key());
  EXPECT_EQ(a.key_id().size(), 16u);
  EXPECT_EQ(a.key_id(), KeyIdOf(a.public_key().bytes));
  EXPECT_NE(a.key_id(), c.key_id());
}

TEST(SignerTest, SignaturesVerifyOnlyForTheirMessageAndKey) {
  const Signer signer = Signer::FromMasterKey(KeyOf(1));
  const Signer other = Signer::FromMasterKey(KeyOf(2));
  const std::string sig = signer.Sign("checkpoint 100");
  EXPECT_EQ(sig.size(), 64u);
  EXPECT_TRUE(VerifySignature(signer.public_key(), "checkpoint 100", sig));
  EXPECT_FALSE(VerifySignature(signer.public_key(), "checkpoint 101", sig));
  EXPECT_FALSE(VerifySignature(other.public_key(), "checkpoint 100", sig));
  EXPECT_FALSE(VerifySignature(signer.public_key(), "checkpoint 100", sig.substr(1)));
}

TEST(PublicKeyFileTest, RoundTripsAndRejectsAMismatchedId) {
  const Signer signer = Signer::FromMasterKey(KeyOf(3));
  const std::string line = signer.public_key().FileLine();
  EXPECT_EQ(line.rfind("touchpoint-signing-key v1 " + signer.key_id() + " ", 0), 0u) << line;
  auto parsed = ParsePublicKeyFile(line + "\n");
  ASSERT_OK(parsed.status());
  EXPECT_EQ(*parsed, signer.public_key());
  std::string wrong_id = line;
  wrong_id.replace(26, 16, "0000000000000000");
  EXPECT_THAT(ParsePublicKeyFile(wrong_id).status(), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParsePublicKeyFile("ssh-ed25519 AAAA").status(), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParsePublicKey("AAAA").status(), StatusIs(StatusCode::kInvalidArgument));
}

TEST(Base64Test, RoundTrips) {
  for (std::string s : {std::string(), std::string("a"), std::string("\0\xff\x10", 3), std::string(100, 'x')}) {
    auto back = FromBase64(ToBase64(s));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, s);
  }
  EXPECT_FALSE(FromBase64("not base64!").has_value());
}

}  // namespace
}  // namespace touchpoint::privacy
