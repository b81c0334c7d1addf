// The encryption layer over a store's repositories (privacy/encrypted_store.h), on the memory
// backend: what goes in comes out, what is stored is not readable, lookups go through the blind
// index, erasing a person's key makes their data unreadable, tampering is a clear error.
#include <touchpoint/privacy/encrypted_store.h>

#include <array>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <touchpoint/store/activity_repository.h>
#include <touchpoint/store/identifier_key.h>
#include <touchpoint/store/identity_repository.h>
#include <touchpoint/store/keyring_repository.h>
#include <touchpoint/store/memory.h>
#include <touchpoint/store/profile_repository.h>

#include "testing/matchers.h"

namespace touchpoint::privacy {
namespace {

using ::touchpoint::testing::StatusIs;

MasterKey KeyOf(unsigned char fill) {
  std::array<unsigned char, kMasterKeyBytes> bytes{};
  bytes.fill(fill);
  return MasterKey::FromBytes(bytes);
}

store::IdentifierRecord Identifier(std::int64_t id, std::string kind, std::string value, std::int64_t customer) {
  store::IdentifierRecord r;
  r.id = IdentifierId(id);
  r.kind = std::move(kind);
  r.value = std::move(value);
  r.customer = CustomerId(customer);
  r.first_seen = 1000;
  r.first_message_id = "m-" + std::to_string(id);
  return r;
}

store::EventRecord Event(std::uint64_t n, std::int64_t customer, std::string body) {
  store::EventRecord e;
  e.hash = store::MessageHash{n, n * 7};
  e.message_id = "msg-" + std::to_string(n);
  e.customer = CustomerId(customer);
  e.timestamp = static_cast<Millis>(n) * 1000;
  e.name = "Order Completed";
  e.body = std::move(body);
  return e;
}

class EncryptedStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto raw = store::memory::Open();
    inner_ = raw.get();
    auto keyring_store = store::memory::Open();
    keyring_repo_ = &keyring_store->Get<store::KeyringRepository>();
    ctx_ = std::make_shared<EncryptionContext>(master_, std::make_unique<Keyring>(std::move(keyring_store), master_));
    store_ = std::make_unique<EncryptedStore>(std::move(raw), ctx_);
  }

  Status Write() {
    TP_ASSIGN_OR_RETURN(auto txn, store_->Begin());
    std::vector<store::IdentifierRecord> ids = {Identifier(1, "phone", "+8613812345678", 1),
                                                Identifier(2, "email", "wang.fang@example.com", 1),
                                                Identifier(3, "phone", "+8613900000002", 2)};
    TP_RETURN_IF_ERROR(store_->Get<store::IdentityRepository>().PutIdentifiers(*txn, ids));
    std::vector<store::ProfileRecord> profiles = {{CustomerId(1), R"({"traits":{"name":"王芳"}})", 5},
                                                  {CustomerId(2), R"({"traits":{"name":"李雷"}})", 5}};
    TP_RETURN_IF_ERROR(store_->Get<store::ProfileRepository>().Put(*txn, profiles));
    std::vector<store::MessageRecord> messages(1);
    messages[0].message_id = "msg-9";
    messages[0].customer = CustomerId(2);
    messages[0].text = "my phone is 13900000002";
    messages[0].masked_text = "my phone is 139****0002";
    TP_RETURN_IF_ERROR(store_->Get<store::ActivityRepository>().AddMessages(*txn, messages));
    // Events through the write path's two steps: prepared ahead, then appended.
    std::vector<store::EventRecord> events = {Event(1, 1, R"({"traits":{"phone":"+8613812345678"}})"),
                                              Event(2, 2, R"({"traits":{"phone":"+8613900000002"}})")};
    auto prepared = store_->maintenance()->PrepareEvents(events);
    TP_RETURN_IF_ERROR(store_->Get<store::EventLog>().Append(*txn, events, prepared.get()));
    if (events[0].seq != 1 || events[1].seq != 2) return Status::Internal("seq not assigned");
    std::vector<store::EventRecord> more = {Event(3, 1, R"({"event":"x"})")};  // unprepared
    TP_RETURN_IF_ERROR(store_->Get<store::EventLog>().Append(*txn, more));
    return txn->Commit();
  }

  MasterKey master_ = KeyOf(9);
  store::Store* inner_ = nullptr;
  store::KeyringRepository* keyring_repo_ = nullptr;
  std::shared_ptr<EncryptionContext> ctx_;
  std::unique_ptr<EncryptedStore> store_;
};

TEST_F(EncryptedStoreTest, ReadsBackWhatWasWritten) {
  ASSERT_OK(Write());
  auto& identity = store_->Get<store::IdentityRepository>();
  std::vector<store::IdentifierRecord> scanned;
  ASSERT_OK(identity.ScanIdentifiers([&](store::IdentifierRecord&& r) { scanned.push_back(std::move(r)); }));
  ASSERT_EQ(scanned.size(), 3u);
  EXPECT_EQ(scanned[0], Identifier(1, "phone", "+8613812345678", 1));
  auto found = identity.FindIdentifier("email", "wang.fang@example.com");
  ASSERT_OK(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->id, IdentifierId(2));
  EXPECT_FALSE(identity.FindIdentifier("email", "someone@example.com")->has_value());
  EXPECT_FALSE(identity.FindIdentifier("phone", "wang.fang@example.com")->has_value());
  auto of = identity.IdentifiersOf(std::vector<CustomerId>{CustomerId(2)});
  ASSERT_OK(of);
  ASSERT_EQ(of->size(), 1u);
  EXPECT_EQ((*of)[0].value, "+8613900000002");

  auto profile = store_->Get<store::ProfileRepository>().Find(CustomerId(1));
  ASSERT_OK(profile);
  EXPECT_EQ((*profile)->data, R"({"traits":{"name":"王芳"}})");

  std::vector<store::EventRecord> events;
  ASSERT_OK(store_->Get<store::EventLog>().ScanFrom(1, [&](store::EventRecord&& e) {
    events.push_back(std::move(e));
    return true;
  }));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].body, R"({"traits":{"phone":"+8613812345678"}})");
  EXPECT_EQ(events[2].body, R"({"event":"x"})");
  EXPECT_EQ(events[2].name, "Order Completed");

  std::vector<store::MessageRecord> messages;
  ASSERT_OK(store_->Get<store::ActivityRepository>().ScanMessages(
      [&](store::MessageRecord&& m) { messages.push_back(std::move(m)); }));
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].text, "my phone is 13900000002");
}

TEST_F(EncryptedStoreTest, StoresNoClearValueAndNoUnkeyedHashOfIt) {
  ASSERT_OK(Write());
  auto& raw = inner_->Get<store::IdentityRepository>();
  std::string everything;
  ASSERT_OK(raw.ScanIdentifiers([&](store::IdentifierRecord&& r) { everything += r.value + "\n"; }));
  ASSERT_OK(inner_->Get<store::ProfileRepository>().Scan([&](store::ProfileRecord&& p) { everything += p.data; }));
  ASSERT_OK(inner_->Get<store::EventLog>().ScanFrom(1, [&](store::EventRecord&& e) {
    everything += e.body;
    return true;
  }));
  ASSERT_OK(inner_->Get<store::ActivityRepository>().ScanMessages(
      [&](store::MessageRecord&& m) { everything += m.text + m.masked_text; }));
  for (const char* clear : {"13812345678", "13900000002", "wang.fang", "王芳", "李雷", "139****0002"}) {
    EXPECT_EQ(everything.find(clear), std::string::npos) << clear;
  }
  // The identifiers table's key is the blind index, not the unkeyed hash of the value.
  EXPECT_TRUE(raw.FindIdentifiersByKey("phone", store::IdentifierKey("phone", "+8613812345678"))->empty());
  const std::int64_t blind = ctx_->indexer().Of("phone", "+8613812345678").value;
  EXPECT_EQ(raw.FindIdentifiersByKey("phone", blind)->size(), 1u);
}

TEST_F(EncryptedStoreTest, KeysAreInTheKeyringBeforeTheDataCommits) {
  auto txn = store_->Begin();
  ASSERT_OK(txn);
  std::vector<store::IdentifierRecord> ids = {Identifier(1, "phone", "+8613812345678", 77)};
  ASSERT_OK(store_->Get<store::IdentityRepository>().PutIdentifiers(**txn, ids));
  // Not committed yet, and the key is already stored.
  auto key = keyring_repo_->FindKey(CustomerId(77));
  ASSERT_OK(key);
  EXPECT_TRUE(key->has_value());
  EXPECT_EQ((*key)->wrapped.find("tpe1:"), 0u);
}

TEST_F(EncryptedStoreTest, DestroyingAPersonsKeyMakesOnlyTheirDataUnreadable) {
  ASSERT_OK(Write());
  const std::vector<CustomerId> erased = {CustomerId(1)};
  ASSERT_OK(CryptoShredder(*store_)(erased));  // what an erasure calls
  auto plain = store::memory::Open();
  EXPECT_OK(CryptoShredder(*plain)(erased)) << "a clear store has nothing to shred";
  // The key is gone; a tombstone without key material says it was erased.
  auto tombstone = keyring_repo_->FindKey(CustomerId(1));
  ASSERT_OK(tombstone);
  ASSERT_TRUE(tombstone->has_value());
  EXPECT_TRUE((*tombstone)->wrapped.empty());
  // Their rows read as erased (absent), not as an error: an old copy of the data still opens.
  auto profile = store_->Get<store::ProfileRepository>().Find(CustomerId(1));
  ASSERT_OK(profile);
  EXPECT_FALSE(profile->has_value());
  EXPECT_FALSE(store_->Get<store::IdentityRepository>().FindIdentifier("phone", "+8613812345678")->has_value());
  EXPECT_THAT(ctx_->keyring().KeyFor(CustomerId(1)), StatusIs(StatusCode::kNotFound));
  // A key the keyring never had is an error (the wrong keyring), not "erased".
  EXPECT_THAT(ctx_->keyring().KeyFor(CustomerId(12345)), StatusIs(StatusCode::kFailedPrecondition));
  auto other = store_->Get<store::ProfileRepository>().Find(CustomerId(2));
  ASSERT_OK(other);
  EXPECT_EQ((*other)->data, R"({"traits":{"name":"李雷"}})");
  // A fresh process (empty cache) over the same keyring cannot read it either.
  auto keyring_copy = store::memory::Open();
  std::vector<store::WrappedKeyRecord> keys;
  ASSERT_OK(keyring_repo_->ScanKeys([&](store::WrappedKeyRecord&& k) { keys.push_back(std::move(k)); }));
  ASSERT_OK(keyring_copy->Get<store::KeyringRepository>().AddKeys(keys));
  EncryptionContext fresh(master_, std::make_unique<Keyring>(std::move(keyring_copy), master_));
  std::string sealed;
  ASSERT_OK(inner_->Get<store::ProfileRepository>().Scan([&](store::ProfileRecord&& p) {
    if (p.customer == CustomerId(1)) sealed = p.data;
  }));
  EXPECT_FALSE(fresh.Open("profiles.data", "1", sealed, true).ok());
}

TEST_F(EncryptedStoreTest, ATamperedCiphertextIsAClearErrorNotACrash) {
  ASSERT_OK(Write());
  // Flip one byte of a stored profile's ciphertext (through the inner store).
  auto stored = inner_->Get<store::ProfileRepository>().Find(CustomerId(2));
  ASSERT_OK(stored);
  store::ProfileRecord p = **stored;
  p.data[p.data.size() - 6] = p.data[p.data.size() - 6] == 'A' ? 'B' : 'A';
  {
    auto txn = inner_->Begin();
    ASSERT_OK(txn);
    ASSERT_OK(inner_->Get<store::ProfileRepository>().Put(**txn, std::vector<store::ProfileRecord>{p}));
    ASSERT_OK((*txn)->Commit());
  }
  auto read = store_->Get<store::ProfileRepository>().Find(CustomerId(2));
  ASSERT_THAT(read, StatusIs(StatusCode::kInternal));
  EXPECT_NE(read.status().message().find("profiles.data"), std::string::npos);
  EXPECT_NE(read.status().message().find("failed to authenticate"), std::string::npos);
  EXPECT_EQ(read.status().message().find("李雷"), std::string::npos);
  // A clear value where a ciphertext belongs is refused too.
  p.data = R"({"traits":{"name":"李雷"}})";
  {
    auto txn = inner_->Begin();
    ASSERT_OK(txn);
    ASSERT_OK(inner_->Get<store::ProfileRepository>().Put(**txn, std::vector<store::ProfileRecord>{p}));
    ASSERT_OK((*txn)->Commit());
  }
  EXPECT_THAT(store_->Get<store::ProfileRepository>().Find(CustomerId(2)), StatusIs(StatusCode::kInternal));
}

TEST_F(EncryptedStoreTest, TheKeyCheckRefusesAnotherMasterKey) {
  const std::string check = ctx_->MakeKeyCheck();
  EXPECT_OK(ctx_->VerifyKeyCheck(check));
  const MasterKey other = KeyOf(10);
  EncryptionContext wrong(other, std::make_unique<Keyring>(store::memory::Open(), other));
  EXPECT_THAT(wrong.VerifyKeyCheck(check), StatusIs(StatusCode::kFailedPrecondition));
}

}  // namespace
}  // namespace touchpoint::privacy
