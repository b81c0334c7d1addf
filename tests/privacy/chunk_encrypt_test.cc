// Encryption at rest of the event log over SQLite (privacy/encrypted_store.h, store.h's
// ChunkSealer): chunks are compressed and then sealed whole under keys of their own, so the log
// is hardly bigger than in clear; an erasure re-keys the chunks that held the person and
// destroys the old keys, so an old copy of the database no longer opens the person.
#include <sqlite3.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <touchpoint/privacy/encrypted_store.h>
#include <touchpoint/store/erasure_repository.h>
#include <touchpoint/store/identity_repository.h>
#include <touchpoint/store/keyring_repository.h>
#include <touchpoint/store/memory.h>
#include <touchpoint/store/open.h>
#include <touchpoint/store/profile_repository.h>

#include "pipeline/test_dir.h"
#include "testing/matchers.h"

namespace touchpoint::privacy {
namespace {

namespace fs = std::filesystem;
using ::touchpoint::testing::StatusIs;

MasterKey KeyOf(unsigned char fill) {
  std::array<unsigned char, kMasterKeyBytes> bytes{};
  bytes.fill(fill);
  return MasterKey::FromBytes(bytes);
}

// 40 people's tracking events, interleaved as a live feed is: every chunk holds many people.
std::vector<store::EventRecord> Events(int n, std::uint64_t from = 1) {
  std::vector<store::EventRecord> out;
  for (int i = 0; i < n; ++i) {
    const std::uint64_t k = from + static_cast<std::uint64_t>(i);
    const std::int64_t person = static_cast<std::int64_t>(k % 40) + 1;
    store::EventRecord e;
    e.hash = store::MessageHash{k, k * 31 + 7};
    e.message_id = "msg-" + std::to_string(k);
    e.customer = CustomerId(person);
    e.timestamp = 1'700'000'000'000 + static_cast<Millis>(k) * 1000;
    e.name = k % 3 == 0 ? "Order Completed" : "Product Viewed";
    e.body = R"({"type":"track","event":")" + e.name + R"(","userId":"user-)" + std::to_string(person) +
             R"(","properties":{"product_id":"sku-)" + std::to_string(k % 17) +
             R"(","price":199.0,"currency":"CNY","phone":"+86139)" + std::to_string(10000000 + person) +
             R"x("},"context":{"ip":"10.1.2.3","userAgent":"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"}})x";
    out.push_back(std::move(e));
  }
  return out;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// One number from the raw SQLite file (no layer, no Touchpoint code).
std::int64_t RawQuery(const std::string& db, const std::string& sql) {
  sqlite3* raw = nullptr;
  if (sqlite3_open_v2(db.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) return -1;
  sqlite3_stmt* st = nullptr;
  std::int64_t v = -1;
  if (sqlite3_prepare_v2(raw, sql.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
    v = sqlite3_column_int64(st, 0);
  }
  sqlite3_finalize(st);
  sqlite3_close(raw);
  return v;
}

class ChunkEncryptTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto keyring_store = store::memory::Open();
    keyring_repo_ = &keyring_store->Get<store::KeyringRepository>();
    ctx_ = std::make_shared<EncryptionContext>(master_, std::make_unique<Keyring>(std::move(keyring_store), master_));
  }

  // One directory per database: a writer locks its directory.
  std::string Db(const std::string& name) const {
    fs::create_directories(tmp_.File(name));
    return tmp_.File(name) + "/touchpoint.db";
  }

  Result<std::unique_ptr<store::Store>> OpenPlain(const std::string& db, bool read_only = false) {
    store::OpenOptions o;
    o.read_only = read_only;
    o.purpose = read_only ? "" : "test";
    o.synchronous = "normal";
    o.without_layer = true;
    return store::Open("sqlite://" + db, o);
  }
  Result<std::unique_ptr<store::Store>> OpenEncrypted(const std::string& db, bool read_only = false) {
    TP_ASSIGN_OR_RETURN(auto inner, OpenPlain(db, read_only));
    return std::unique_ptr<store::Store>(std::make_unique<EncryptedStore>(std::move(inner), ctx_));
  }

  // Appends `events` the way the engine does: prepared (compressed, sealed) ahead, then appended
  // in one transaction, in commits of 500.
  static Status Write(store::Store& s, std::vector<store::EventRecord> events) {
    for (size_t at = 0; at < events.size(); at += 500) {
      std::span<store::EventRecord> part(events.data() + at, std::min<size_t>(500, events.size() - at));
      auto prepared = s.maintenance()->PrepareEvents(part);
      TP_ASSIGN_OR_RETURN(auto txn, s.Begin());
      TP_RETURN_IF_ERROR(s.Get<store::EventLog>().Append(*txn, part, prepared.get()));
      TP_RETURN_IF_ERROR(txn->Commit());
    }
    return Status::Ok();
  }

  static Result<std::vector<store::EventRecord>> ReadAll(store::Store& s) {
    std::vector<store::EventRecord> out;
    TP_RETURN_IF_ERROR(s.Get<store::EventLog>().ScanFrom(1, [&](store::EventRecord&& e) {
      out.push_back(std::move(e));
      return true;
    }));
    return out;
  }

  MasterKey master_ = KeyOf(5);
  store::KeyringRepository* keyring_repo_ = nullptr;
  std::shared_ptr<EncryptionContext> ctx_;
  ::touchpoint::testing::TempDir tmp_;
};

TEST_F(ChunkEncryptTest, SealedChunksAreCompressedFirstAndReadBackInClear) {
  const std::vector<store::EventRecord> events = Events(3000);
  {
    auto plain = OpenPlain(Db("plain"));
    ASSERT_OK(plain);
    ASSERT_OK(Write(**plain, events));
    auto sealed = OpenEncrypted(Db("sealed"));
    ASSERT_OK(sealed);
    ASSERT_OK(Write(**sealed, events));
    auto back = ReadAll(**sealed);
    ASSERT_OK(back);
    ASSERT_EQ(back->size(), events.size());
    for (size_t i = 0; i < events.size(); ++i) {
      ASSERT_EQ((*back)[i].body, events[i].body) << i;
      ASSERT_EQ((*back)[i].customer, events[i].customer) << i;
      ASSERT_EQ((*back)[i].message_id, events[i].message_id) << i;
    }
  }
  // Every chunk is zstd-compressed and sealed; the sealed log is within a few per cent of the
  // clear one (a per-event seal made it 3.3× larger: nothing compressed any more).
  const std::int64_t chunks = RawQuery(Db("sealed"), "SELECT count(*) FROM event_chunks");
  EXPECT_GE(chunks, 6);
  EXPECT_EQ(RawQuery(Db("sealed"), "SELECT count(*) FROM event_chunks WHERE codec = 17"), chunks);
  const std::int64_t clear_bytes = RawQuery(Db("plain"), "SELECT sum(length(data)) FROM event_chunks");
  const std::int64_t sealed_bytes = RawQuery(Db("sealed"), "SELECT sum(length(data)) FROM event_chunks");
  EXPECT_LT(clear_bytes * 3, static_cast<std::int64_t>(3000 * events[0].body.size())) << "the clear log compresses";
  EXPECT_LE(sealed_bytes, clear_bytes + chunks * 64) << "the seal adds its header, nonce and tag per chunk only";
  // One key per chunk, in the keyring (not the data file).
  std::int64_t chunk_keys = 0;
  ASSERT_OK(keyring_repo_->ScanKeys([&](store::WrappedKeyRecord&& k) { chunk_keys += k.customer.value() < 0; }));
  EXPECT_EQ(chunk_keys, chunks);
  // No clear value in the file.
  EXPECT_EQ(Slurp(Db("sealed")).find("+8613910000007"), std::string::npos);
  // Without the layer the chunks do not open, and say why.
  auto bare = OpenPlain(Db("sealed"), /*read_only=*/true);
  ASSERT_OK(bare);
  EXPECT_THAT(ReadAll(**bare), StatusIs(StatusCode::kFailedPrecondition));
}

TEST_F(ChunkEncryptTest, ATamperedChunkIsAClearError) {
  {
    auto sealed = OpenEncrypted(Db("t"));
    ASSERT_OK(sealed);
    ASSERT_OK(Write(**sealed, Events(600)));
  }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(Db("t").c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw,
                         "UPDATE event_chunks SET data = substr(data, 1, 60) || "
                         "CASE substr(data, 61, 1) WHEN x'00' THEN x'01' ELSE x'00' END || substr(data, 62) "
                         "WHERE first_seq = 1",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  auto sealed = OpenEncrypted(Db("t"), /*read_only=*/true);
  ASSERT_OK(sealed);
  auto read = ReadAll(**sealed);
  ASSERT_THAT(read, StatusIs(StatusCode::kInternal));
  EXPECT_NE(read.status().message().find("failed to authenticate"), std::string::npos) << read.status().ToString();
}

TEST_F(ChunkEncryptTest, AnErasureReKeysThePersonsChunksAndAnOldCopyNoLongerOpensThem) {
  const CustomerId erased(7);
  const CustomerId kept(8);
  {
    auto s = OpenEncrypted(Db("live"));
    ASSERT_OK(s);
    ASSERT_OK(Write(**s, Events(2000)));
    auto txn = (*s)->Begin();
    ASSERT_OK(txn);
    std::vector<store::IdentifierRecord> ids(2);
    ids[0].id = IdentifierId(1);
    ids[0].kind = "phone";
    ids[0].value = "+8613910000007";
    ids[0].customer = erased;
    ids[1].id = IdentifierId(2);
    ids[1].kind = "phone";
    ids[1].value = "+8613910000008";
    ids[1].customer = kept;
    ASSERT_OK((*s)->Get<store::IdentityRepository>().PutIdentifiers(**txn, ids));
    ASSERT_OK((*txn)->Commit());
  }
  // The backup: a copy of the database as it was before the erasure.
  fs::copy_file(Db("live"), Db("backup"));  // closed: no WAL left beside it
  std::string old_chunk;
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open_v2(Db("backup").c_str(), &raw, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(raw, "SELECT data FROM event_chunks WHERE first_seq = 1", -1, &st, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    old_chunk.assign(static_cast<const char*>(sqlite3_column_blob(st, 0)),
                     static_cast<size_t>(sqlite3_column_bytes(st, 0)));
    sqlite3_finalize(st);
    sqlite3_close(raw);
  }
  auto old_header = ReadSealedHeader(old_chunk);
  ASSERT_OK(old_header);
  ASSERT_TRUE(old_header->chunk);
  ASSERT_OK(ctx_->keyring().ChunkKey(old_header->owner.value()));

  // The erasure, as the engine runs it: Erase and the shred callback in one transaction, then
  // Scrub after the commit.
  {
    auto s = OpenEncrypted(Db("live"));
    ASSERT_OK(s);
    auto txn = (*s)->Begin();
    ASSERT_OK(txn);
    const std::vector<CustomerId> members = {erased};
    auto counts = (*s)->Get<store::ErasureRepository>().Erase(**txn, members);
    ASSERT_OK(counts);
    EXPECT_EQ(counts->events, 50);
    ASSERT_OK(CryptoShredder(**s)(members));
    ASSERT_OK((*txn)->Commit());
    ASSERT_OK((*s)->Get<store::ErasureRepository>().Scrub());
    // The live store: the person's events are gone, everyone else's read.
    auto live = ReadAll(**s);
    ASSERT_OK(live);
    EXPECT_EQ(live->size(), 1950u);
    for (const auto& e : *live) ASSERT_NE(e.customer, erased);
  }
  // The old chunk's ciphertext no longer opens: its key is destroyed.
  EXPECT_THAT(ctx_->keyring().ChunkKey(old_header->owner.value()), StatusIs(StatusCode::kNotFound));
  // A fresh process over the same keyring (no cached keys) cannot open it either.
  {
    auto keyring_copy = store::memory::Open();
    std::vector<store::WrappedKeyRecord> keys;
    ASSERT_OK(keyring_repo_->ScanKeys([&](store::WrappedKeyRecord&& k) { keys.push_back(std::move(k)); }));
    ASSERT_OK(keyring_copy->Get<store::KeyringRepository>().AddKeys(keys));
    Keyring fresh(std::move(keyring_copy), master_);
    EXPECT_THAT(fresh.ChunkKey(old_header->owner.value()), StatusIs(StatusCode::kNotFound));
    EXPECT_THAT(fresh.KeyFor(erased), StatusIs(StatusCode::kNotFound));
    EXPECT_OK(fresh.KeyFor(kept));
  }
  // The backup read through the layer with today's keys: nothing of the person opens (their
  // chunks read as erased, their identifier too); the other person's identifier still does.
  auto backup = OpenEncrypted(Db("backup"), /*read_only=*/true);
  ASSERT_OK(backup);
  auto old_events = ReadAll(**backup);
  ASSERT_OK(old_events);
  for (const auto& e : *old_events) ASSERT_NE(e.customer, erased);
  auto& identity = (*backup)->Get<store::IdentityRepository>();
  EXPECT_FALSE(identity.FindIdentifier("phone", "+8613910000007")->has_value());
  auto other = identity.FindIdentifier("phone", "+8613910000008");
  ASSERT_OK(other);
  EXPECT_TRUE(other->has_value());
  // And its bytes never held the values in clear.
  EXPECT_EQ(Slurp(Db("backup")).find("+8613910000007"), std::string::npos);
}

}  // namespace
}  // namespace touchpoint::privacy
