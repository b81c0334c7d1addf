#include <touchpoint/privacy/totp.h>

#include <gtest/gtest.h>

#include <string>

namespace touchpoint::privacy {
namespace {

// RFC 6238 appendix B: the SHA-1 key is the ASCII string "12345678901234567890", 8 digits.
TEST(TotpTest, MatchesTheRfc6238Sha1TestVectors) {
  const std::string key = "12345678901234567890";
  struct Case {
    std::int64_t unix_seconds;
    const char* code;
  };
  const Case cases[] = {
      {59, "94287082"},         {1111111109, "07081804"}, {1111111111, "14050471"},
      {1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
  };
  for (const Case& c : cases) {
    const std::int64_t step = TotpStep(c.unix_seconds * 1000);
    EXPECT_EQ(Hotp(key, static_cast<std::uint64_t>(step), 8), c.code) << "T=" << c.unix_seconds;
  }
}

// RFC 4226 appendix D: HOTP values of the same key for counters 0..9, 6 digits.
TEST(TotpTest, MatchesTheRfc4226HotpTestVectors) {
  const char* expected[] = {"755224", "287082", "359152", "969429", "338314",
                            "254676", "287922", "162583", "399871", "520489"};
  for (std::uint64_t i = 0; i < 10; ++i) EXPECT_EQ(Hotp("12345678901234567890", i), expected[i]) << i;
}

TEST(TotpTest, Base32RoundTripsAndAcceptsWhatAppsShow) {
  EXPECT_EQ(Base32Encode("12345678901234567890"), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
  EXPECT_EQ(*Base32Decode("gezd gnbv gy3t qojq gezd gnbv gy3t qojq"), "12345678901234567890");
  EXPECT_EQ(*Base32Decode("MZXW6==="), "foo");
  EXPECT_FALSE(Base32Decode("MZXW1").has_value()) << "1 is not a base32 digit";
  const std::string secret = GenerateTotpSecret();
  EXPECT_EQ(secret.size(), 32u);
  EXPECT_EQ(Base32Decode(secret)->size(), 20u);
  EXPECT_NE(secret, GenerateTotpSecret());
}

TEST(TotpTest, AcceptsOneStepOfDriftEitherWayAndNoMore) {
  const std::string secret = Base32Encode("12345678901234567890");
  const Millis now = 1'111'111'111'000;
  const std::int64_t step = TotpStep(now);
  const std::string key = "12345678901234567890";
  for (std::int64_t d = -1; d <= 1; ++d) {
    const std::string code = Hotp(key, static_cast<std::uint64_t>(step + d));
    auto matched = MatchTotp(secret, code, now);
    ASSERT_TRUE(matched.has_value()) << d;
    EXPECT_EQ(*matched, step + d);
  }
  EXPECT_FALSE(MatchTotp(secret, Hotp(key, static_cast<std::uint64_t>(step - 2)), now).has_value());
  EXPECT_FALSE(MatchTotp(secret, Hotp(key, static_cast<std::uint64_t>(step + 2)), now).has_value());
  EXPECT_FALSE(MatchTotp(secret, "12345", now).has_value()) << "too short";
  EXPECT_FALSE(MatchTotp(secret, "12345a", now).has_value());
  EXPECT_FALSE(MatchTotp("not base32!", "123456", now).has_value());
}

TEST(TotpTest, TheUriIsWhatAuthenticatorAppsRead) {
  EXPECT_EQ(TotpUri("Touchpoint", "ann@example.com", "JBSWY3DPEHPK3PXP"),
            "otpauth://totp/Touchpoint:ann@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Touchpoint&algorithm=SHA1"
            "&digits=6&period=30");
  EXPECT_EQ(TotpUri("My Co", "a b", "X"),
            "otpauth://totp/My%20Co:a%20b?secret=X&issuer=My%20Co&algorithm=SHA1&digits=6&period=30");
}

}  // namespace
}  // namespace touchpoint::privacy
