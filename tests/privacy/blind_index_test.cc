#include <touchpoint/privacy/blind_index.h>

#include <array>
#include <string>
#include <unordered_set>

#include <gtest/gtest.h>

namespace touchpoint::privacy {
namespace {

MasterKey KeyOf(unsigned char fill, int version = 1) {
  std::array<unsigned char, kMasterKeyBytes> bytes{};
  bytes.fill(fill);
  return MasterKey::FromBytes(bytes, version);
}

TEST(BlindIndexTest, IsStableForTheSameKeyKindAndValue) {
  const BlindIndexer a = BlindIndexer::FromMasterKey(KeyOf(7));
  const BlindIndexer b = BlindIndexer::FromMasterKey(KeyOf(7));
  EXPECT_EQ(a.Of("phone", "+8613812345678"), b.Of("phone", "+8613812345678"));
  EXPECT_EQ(a.Of("phone", "+8613812345678").key_version, 1);
}

TEST(BlindIndexTest, DependsOnTheKeyTheKindAndTheValue) {
  const BlindIndexer a = BlindIndexer::FromMasterKey(KeyOf(7));
  const BlindIndexer other = BlindIndexer::FromMasterKey(KeyOf(8, 2));
  EXPECT_NE(a.Of("phone", "+8613812345678").value, other.Of("phone", "+8613812345678").value);
  EXPECT_EQ(other.Of("phone", "+8613812345678").key_version, 2);
  EXPECT_NE(a.Of("phone", "+8613812345678").value, a.Of("phone", "+8613812345679").value);
  // The kind is separated from the value: ("ab", "c") and ("a", "bc") differ.
  EXPECT_NE(a.Of("ab", "c").value, a.Of("a", "bc").value);
  EXPECT_NE(a.Of("email", "x").value, a.Of("phone", "x").value);
}

TEST(BlindIndexTest, HasNoCollisionsAmongAMillionPhoneNumbers) {
  const BlindIndexer a = BlindIndexer::FromMasterKey(KeyOf(3));
  std::unordered_set<std::int64_t> seen;
  seen.reserve(1'000'000);
  for (int i = 0; i < 1'000'000; ++i) {
    seen.insert(a.Of("phone", "+86138" + std::to_string(10'000'000 + i)).value);
  }
  EXPECT_EQ(seen.size(), 1'000'000u);
}

}  // namespace
}  // namespace touchpoint::privacy
