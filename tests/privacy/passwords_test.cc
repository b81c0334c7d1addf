#include <touchpoint/privacy/passwords.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "testing/matchers.h"

namespace touchpoint::privacy {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using ::touchpoint::testing::StatusIs;

PasswordHasherOptions Cheap() {
  PasswordHasherOptions o;
  o.params = PasswordHashParams::Minimum();
  return o;
}

TEST(PasswordsTest, HashesAreArgon2idSaltedAndVerify) {
  PasswordHasher hasher(Cheap());
  auto a = hasher.Hash("correct horse battery");
  ASSERT_TRUE(a.ok());
  EXPECT_THAT(*a, StartsWith("$argon2id$v=19$"));
  EXPECT_THAT(*a, Not(HasSubstr("correct horse")));
  auto b = hasher.Hash("correct horse battery");
  EXPECT_NE(*a, *b) << "a random salt per hash";
  EXPECT_TRUE(hasher.Verify(*a, "correct horse battery").match);
  EXPECT_FALSE(hasher.Verify(*a, "correct horse batterY").match);
  EXPECT_FALSE(hasher.Verify("not a hash", "correct horse battery").match);
  EXPECT_FALSE(hasher.Verify("", "").match);
}

TEST(PasswordsTest, ThePolicyRefusesShortAndHugePasswordsWithoutEchoingThem) {
  PasswordHasher hasher(Cheap());
  auto shortp = hasher.Hash("hunter2");
  EXPECT_THAT(shortp.status(), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(shortp.status().message(), Not(HasSubstr("hunter2")));
  EXPECT_THAT(hasher.Hash(std::string(1025, 'x')).status(), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_TRUE(hasher.Hash(std::string(12, 'x')).ok());
}

TEST(PasswordsTest, AHashWithOtherParametersMatchesButNeedsARehash) {
  PasswordHasher old_hasher(Cheap());
  auto old_hash = old_hasher.Hash("correct horse battery");
  ASSERT_TRUE(old_hash.ok());
  EXPECT_FALSE(old_hasher.Verify(*old_hash, "correct horse battery").needs_rehash);
  PasswordHasherOptions stronger = Cheap();
  stronger.params.opslimit += 1;  // the installation raised its cost
  PasswordHasher new_hasher(stronger);
  const auto verdict = new_hasher.Verify(*old_hash, "correct horse battery");
  EXPECT_TRUE(verdict.match);
  EXPECT_TRUE(verdict.needs_rehash);
  EXPECT_FALSE(new_hasher.Verify(*old_hash, "wrong password!!").needs_rehash) << "only after a match";
}

TEST(PasswordsTest, TheDefaultIsLibsodiumsInteractiveLevel) {
  PasswordHasherOptions o;
  EXPECT_EQ(o.params.opslimit, PasswordHashParams::Interactive().opslimit);
  EXPECT_EQ(o.params.memlimit, 64u << 20);
  EXPECT_EQ(o.max_concurrent, 4);
}

TEST(PasswordsTest, NoMoreThanMaxConcurrentHashesRunAtOnce) {
  PasswordHasherOptions o = Cheap();
  o.max_concurrent = 2;
  PasswordHasher hasher(o);
  std::vector<std::thread> threads;
  for (int i = 0; i < 12; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 3; ++j) (void)hasher.Hash("correct horse battery");
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(hasher.peak_in_flight(), 2);
  EXPECT_GE(hasher.peak_in_flight(), 1);
  EXPECT_EQ(hasher.in_flight(), 0);
}

}  // namespace
}  // namespace touchpoint::privacy
