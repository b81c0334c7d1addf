#include <touchpoint/outbox/signature.h>

#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace touchpoint::outbox {
namespace {

using ::touchpoint::testing::StatusIs;

constexpr char kSecret[] = "whsec_0123456789abcdef";
constexpr char kBody[] = R"({"id":"evt_1.crm"})";

TEST(SignatureTest, IsHmacSha256OfTimestampDotBodyInHex) {
  // Computed independently: python3 -c "import hmac,hashlib;
  //   print(hmac.new(b'whsec_0123456789abcdef', b'1765100000.{\"id\":\"evt_1.crm\"}', hashlib.sha256).hexdigest())"
  EXPECT_EQ(SignatureV1(kSecret, 1765100000, kBody), "1fe120cef33b9cd82cec3f5167d784d8c8c4bea7d6aa4aeea6e40f40c22405e7");
  EXPECT_EQ(SignatureHeader(kSecret, 1765100000, kBody),
            "t=1765100000,v1=1fe120cef33b9cd82cec3f5167d784d8c8c4bea7d6aa4aeea6e40f40c22405e7");
}

TEST(SignatureTest, VerifiesTheGenuineAndRefusesTamperingWrongSecretsAndReplays) {
  const std::string header = SignatureHeader(kSecret, 1765100000, kBody);
  EXPECT_OK(VerifySignature(header, kSecret, kBody, 1765100010));
  EXPECT_THAT(VerifySignature(header, kSecret, R"({"id":"evt_2.crm"})", 1765100010),
              StatusIs(StatusCode::kPermissionDenied));
  EXPECT_THAT(VerifySignature(header, "whsec_another_secret!", kBody, 1765100010),
              StatusIs(StatusCode::kPermissionDenied));
  EXPECT_THAT(VerifySignature(header, kSecret, kBody, 1765100000 + 301), StatusIs(StatusCode::kPermissionDenied))
      << "older than the tolerance: a replay";
  // A receiver rotating secrets accepts any matching v1; unknown schemes are ignored.
  const std::string rotated = "t=1765100000,v0=zz,v1=" + std::string(64, '0') + ",v1=" +
                              SignatureV1(kSecret, 1765100000, kBody);
  EXPECT_OK(VerifySignature(rotated, kSecret, kBody, 1765100000));
}

TEST(SignatureTest, MalformedHeadersAreInvalidArguments) {
  const struct {
    const char* header;
  } cases[] = {{""}, {"v1=abc"}, {"t=1765100000"}, {"t=abc,v1=00"}, {"t=1765100000;v1=00"}};
  for (const auto& c : cases) {
    EXPECT_THAT(VerifySignature(c.header, kSecret, kBody, 1765100000), StatusIs(StatusCode::kInvalidArgument))
        << c.header;
  }
}

}  // namespace
}  // namespace touchpoint::outbox
