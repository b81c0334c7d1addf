#include <touchpoint/privacy/receipt.h>

#include <array>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <touchpoint/privacy/master_key.h>
#include <touchpoint/privacy/subject_rights.h>

#include "testing/matchers.h"

namespace touchpoint::privacy {
namespace {

Signer SignerOf(unsigned char fill) {
  std::array<unsigned char, kMasterKeyBytes> bytes{};
  bytes.fill(fill);
  return Signer::FromMasterKey(MasterKey::FromBytes(bytes));
}

TEST(CanonicalJsonTest, SortsKeysAndDropsWhitespace) {
  struct Case {
    const char* in;
    const char* want;
  } cases[] = {
      {R"({ "b": 1, "a": [ 2, {"z":true, "y":null} ] })", R"({"a":[2,{"y":null,"z":true}],"b":1})"},
      {R"({"é":"ü","A":"\u00e9"})", "{\"A\":\"\xc3\xa9\",\"\xc3\xa9\":\"\xc3\xbc\"}"},
      {R"({"s":"line\nbreak \"q\""})", R"({"s":"line\nbreak \"q\""})"},
      {"-12", "-12"},
  };
  for (const Case& c : cases) {
    auto got = CanonicalJson(c.in);
    ASSERT_OK(got.status()) << c.in;
    EXPECT_EQ(*got, c.want) << c.in;
  }
  EXPECT_FALSE(CanonicalJson(R"({"x":1.5})").ok()) << "floating point has no single canonical text";
  EXPECT_FALSE(CanonicalJson("{").ok());
}

class ReceiptTest : public ::testing::Test {
 protected:
  std::string Receipt() {
    ErasureFacts f;
    f.erasure_id = "0123456789abcdef0123456789abcdef";
    f.at = 1'700'000'000'000;
    f.by = "cli:uid:1000";
    f.reason = "asked in writing";
    f.subject = Subject{CustomerId(7), {CustomerId(7), CustomerId(9)}};
    f.identifier_kinds = {"phone", "email"};
    f.counts.events = 12;
    f.counts.identifiers = 2;
    f.suppressed = {{-5, 1, 0}, {99, 1, 0}};
    f.backend = "sqlite";
    auto signed_file = SignReceipt(ReceiptJson(f), signer_);
    EXPECT_OK(signed_file.status());
    return signed_file.ok() ? *signed_file : "";
  }
  ReceiptCheck Check(const std::string& text) { return VerifyReceipt(text, std::vector<PublicKey>{signer_.public_key()}); }

  Signer signer_ = SignerOf(3);
};

TEST_F(ReceiptTest, ASignedReceiptVerifiesAndNamesItsKey) {
  const std::string file = Receipt();
  auto j = nlohmann::json::parse(file);
  EXPECT_EQ(j["key_id"], signer_.key_id());
  EXPECT_EQ(j["receipt"]["counts"]["events"], 12);
  EXPECT_EQ(j["receipt"]["suppression"][0]["blind_index"], "-5");
  EXPECT_EQ(j["receipt"]["customer_ids"], nlohmann::json::array({7, 9}));
  const ReceiptCheck c = Check(file);
  EXPECT_EQ(c.verdict, ReceiptVerdict::kValid) << c.message;
  EXPECT_EQ(c.key_id, signer_.key_id());
  // The signature covers the canonical JSON: reformatting the file changes nothing.
  EXPECT_EQ(Check(j.dump(4)).verdict, ReceiptVerdict::kValid);
}

TEST_F(ReceiptTest, AnyChangeOfTheContentIsASignatureMismatch) {
  const nlohmann::json j = nlohmann::json::parse(Receipt());
  const std::vector<std::function<void(nlohmann::json&)>> edits = {
      [](nlohmann::json& r) { r["receipt"]["counts"]["events"] = 11; },
      [](nlohmann::json& r) { r["receipt"]["reason"] = "asked in writing."; },
      [](nlohmann::json& r) { r["receipt"]["suppression"].erase(1); },
      [](nlohmann::json& r) { r["receipt"]["extra"] = "added"; },
      [](nlohmann::json& r) { r["receipt"]["customer_ids"] = nlohmann::json::array({9, 7}); },
  };
  for (size_t i = 0; i < edits.size(); ++i) {
    nlohmann::json t = j;
    edits[i](t);
    EXPECT_EQ(Check(t.dump()).verdict, ReceiptVerdict::kMismatch) << "edit " << i;
  }
  // Signed by another installation: its key is not trusted here.
  const Signer other = SignerOf(4);
  auto foreign = SignReceipt(j["receipt"].dump(), other);
  ASSERT_OK(foreign.status());
  EXPECT_EQ(Check(*foreign).verdict, ReceiptVerdict::kMismatch);
  // … and with its key named but this installation's signature, equally.
  nlohmann::json swapped = j;
  swapped["key_id"] = other.key_id();
  EXPECT_EQ(VerifyReceipt(swapped.dump(), std::vector<PublicKey>{signer_.public_key(), other.public_key()}).verdict,
            ReceiptVerdict::kMismatch);
}

TEST_F(ReceiptTest, WhatIsNotAReceiptIsMalformed) {
  const nlohmann::json j = nlohmann::json::parse(Receipt());
  std::vector<std::string> bad = {"", "not json", "[]", R"({"receipt":{}})"};
  for (const char* field : {"receipt", "key_id", "signature"}) {
    nlohmann::json t = j;
    t.erase(field);
    bad.push_back(t.dump());
  }
  nlohmann::json t = j;
  t["signature"] = "not base64 !!";
  bad.push_back(t.dump());
  t["signature"] = ToBase64("short");
  bad.push_back(t.dump());
  t = j;
  t["receipt"] = "a string";
  bad.push_back(t.dump());
  t = j;
  t["receipt"]["counts"]["events"] = 1.5;
  bad.push_back(t.dump());
  for (const std::string& text : bad) EXPECT_EQ(Check(text).verdict, ReceiptVerdict::kMalformed) << text;
}

}  // namespace
}  // namespace touchpoint::privacy
