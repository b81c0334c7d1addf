#include <touchpoint/privacy/field_crypto.h>

#include <array>
#include <string>

#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace touchpoint::privacy {
namespace {

using ::touchpoint::testing::StatusIs;

MasterKey KeyOf(unsigned char fill, int version = 1) {
  std::array<unsigned char, kMasterKeyBytes> bytes{};
  bytes.fill(fill);
  return MasterKey::FromBytes(bytes, version);
}

TEST(FieldCryptoTest, FieldKeysAreDomainSeparatedPerTableAndField) {
  const MasterKey master = KeyOf(1);
  const DataKey a = DeriveFieldKey(master, "identifiers.value");
  const DataKey b = DeriveFieldKey(master, "profiles.data");
  const DataKey a2 = DeriveFieldKey(master, "identifiers.value");
  const DataKey other = DeriveFieldKey(KeyOf(2), "identifiers.value");
  EXPECT_TRUE(std::equal(a.bytes().begin(), a.bytes().end(), a2.bytes().begin()));
  EXPECT_FALSE(std::equal(a.bytes().begin(), a.bytes().end(), b.bytes().begin()));
  EXPECT_FALSE(std::equal(a.bytes().begin(), a.bytes().end(), other.bytes().begin()));
  EXPECT_NE(FieldSubkeyId("identifiers.value"), FieldSubkeyId("profiles.data"));
}

TEST(FieldCryptoTest, SealsAndOpensWithTheSameKeyAndRow) {
  const DataKey key = DataKey::Random();
  const std::string plain = "+8613812345678";
  const std::string sealed = Seal(key, 3, CustomerId(42), "identifiers.value:1", plain);
  EXPECT_EQ(sealed.find(plain), std::string::npos);
  auto header = ReadSealedHeader(sealed);
  ASSERT_TRUE(header.ok());
  EXPECT_TRUE(header->person);
  EXPECT_EQ(header->key_version, 3);
  EXPECT_EQ(header->owner, CustomerId(42));
  auto opened = Unseal(key, "identifiers.value:1", sealed, "identifiers.value");
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, plain);
  // Sealing twice gives two ciphertexts (a nonce never repeats).
  EXPECT_NE(sealed, Seal(key, 3, CustomerId(42), "identifiers.value:1", plain));
}

TEST(FieldCryptoTest, ATamperedByteOrAnotherRowOrKeyIsAClearErrorWithoutTheValue) {
  const DataKey key = DataKey::Random();
  const std::string plain = "ID 110101199003074512";
  const std::string sealed = Seal(key, 1, CustomerId(), "row-1", plain);
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string tampered = sealed;
    tampered[i] = static_cast<char>(tampered[i] ^ 0x01);
    auto opened = Unseal(key, "row-1", tampered, "identifiers.value");
    ASSERT_FALSE(opened.ok()) << "byte " << i;
    EXPECT_EQ(opened.status().message().find(plain), std::string::npos);
  }
  auto moved = Unseal(key, "row-2", sealed, "identifiers.value");
  EXPECT_THAT(moved, StatusIs(StatusCode::kInternal));
  EXPECT_NE(moved.status().message().find("identifiers.value"), std::string::npos);
  EXPECT_THAT(Unseal(DataKey::Random(), "row-1", sealed, "identifiers.value"), StatusIs(StatusCode::kInternal));
  EXPECT_THAT(Unseal(key, "row-1", sealed.substr(0, 10), "x"), StatusIs(StatusCode::kInternal));
  EXPECT_THAT(Unseal(key, "row-1", "", "x"), StatusIs(StatusCode::kInternal));
}

TEST(FieldCryptoTest, CompressesLargePayloadsBeforeEncrypting) {
  const DataKey key = DataKey::Random();
  std::string body;
  for (int i = 0; i < 40; ++i) body += R"({"event":"Order Completed","properties":{"total":12.5}})";
  const std::string sealed = Seal(key, 1, CustomerId(7), "ad", body);
  EXPECT_LT(sealed.size(), body.size() / 4);
  EXPECT_TRUE(ReadSealedHeader(sealed)->compressed);
  EXPECT_EQ(*Unseal(key, "ad", sealed, "events.body"), body);
  const std::string small = Seal(key, 1, CustomerId(7), "ad", std::string(kCompressFrom - 1, 'a'));
  EXPECT_FALSE(ReadSealedHeader(small)->compressed);
}

TEST(FieldCryptoTest, TextFormIsPrefixedBase64AndRoundTrips) {
  const DataKey key = DataKey::Random();
  const std::string text = SealText(key, 1, CustomerId(9), "ad", "a@example.com");
  EXPECT_TRUE(IsSealedText(text));
  EXPECT_FALSE(IsSealedText("a@example.com"));
  EXPECT_EQ(*UnsealText(key, "ad", text, "x"), "a@example.com");
  EXPECT_EQ(ReadSealedTextHeader(text)->owner, CustomerId(9));
  EXPECT_THAT(UnsealText(key, "ad", "a@example.com", "x"), StatusIs(StatusCode::kInternal));
}

TEST(FieldCryptoTest, AWrappedKeyUnwrapsOnlyForItsOwnerAndWrappingKey) {
  const DataKey wrapping = DataKey::Random();
  const DataKey data = DataKey::Random();
  const std::string wrapped = WrapKey(wrapping, 1, CustomerId(5), data);
  auto back = UnwrapKey(wrapping, CustomerId(5), wrapped);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(std::equal(back->bytes().begin(), back->bytes().end(), data.bytes().begin()));
  EXPECT_FALSE(UnwrapKey(wrapping, CustomerId(6), wrapped).ok());
  EXPECT_FALSE(UnwrapKey(DataKey::Random(), CustomerId(5), wrapped).ok());
}

}  // namespace
}  // namespace touchpoint::privacy
