// The SQLite adapter: the only code that sees sqlite3.
#include <sqlite3.h>
#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <span>
#include <string>
#include <touchpoint/store/sqlite.h>
#include <unordered_map>

#include "store/sqlite/event_chunk.h"

namespace touchpoint::store::sqlite {
namespace {

constexpr int kSchemaVersion = 3;

// Migrations, applied in order; index i brings the schema from version i to i + 1. A migration
// that moves data also has code (SqliteStore::MigrateCode), run after its SQL in the same
// transaction.
const char* const kMigrations[] = {
    R"sql(
CREATE TABLE events(
  seq INTEGER PRIMARY KEY,
  hash_hi INTEGER NOT NULL, hash_lo INTEGER NOT NULL,
  message_id TEXT NOT NULL,
  customer_id INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  name TEXT NOT NULL,
  body TEXT NOT NULL);
CREATE TABLE customers(
  id INTEGER PRIMARY KEY,
  merged_into INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL);
CREATE INDEX customers_merged_into ON customers(merged_into) WHERE merged_into <> 0;
CREATE TABLE identifiers(
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL, value TEXT NOT NULL,
  customer_id INTEGER NOT NULL,
  blocked INTEGER NOT NULL DEFAULT 0,
  joins INTEGER NOT NULL DEFAULT 0,
  first_seen INTEGER NOT NULL,
  first_message_id TEXT NOT NULL,
  UNIQUE(kind, value));
CREATE INDEX identifiers_customer ON identifiers(customer_id);
CREATE TABLE merges(
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  winner INTEGER NOT NULL, loser INTEGER NOT NULL,
  bridge_identifier INTEGER NOT NULL,
  message_id TEXT NOT NULL,
  reason TEXT NOT NULL,
  undone_at INTEGER NOT NULL DEFAULT 0);
CREATE INDEX merges_winner ON merges(winner);
CREATE INDEX merges_loser ON merges(loser);
CREATE TABLE merge_blocks(a INTEGER NOT NULL, b INTEGER NOT NULL, PRIMARY KEY(a, b)) WITHOUT ROWID;
CREATE TABLE profiles(
  customer_id INTEGER PRIMARY KEY,
  data TEXT NOT NULL,
  updated_at INTEGER NOT NULL);
CREATE TABLE orders(
  seq INTEGER PRIMARY KEY,
  order_id TEXT NOT NULL,
  customer_id INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  total REAL NOT NULL,
  currency TEXT NOT NULL,
  channel TEXT NOT NULL,
  items TEXT NOT NULL);
CREATE TABLE messages(
  seq INTEGER PRIMARY KEY,
  message_id TEXT NOT NULL,
  customer_id INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  conversation_id TEXT NOT NULL,
  channel TEXT NOT NULL,
  author TEXT NOT NULL,
  direction TEXT NOT NULL,
  text TEXT NOT NULL,
  language TEXT NOT NULL,
  sentiment_label TEXT NOT NULL,
  sentiment_score REAL NOT NULL,
  intent TEXT NOT NULL,
  masked_text TEXT NOT NULL);
CREATE TABLE surveys(
  seq INTEGER PRIMARY KEY,
  message_id TEXT NOT NULL,
  customer_id INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  nps INTEGER, csat INTEGER,
  comment TEXT NOT NULL,
  touchpoint TEXT NOT NULL);
CREATE TABLE escalations(
  seq INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  customer_id INTEGER NOT NULL,
  conversation_id TEXT NOT NULL,
  message_id TEXT NOT NULL,
  rule TEXT NOT NULL, action TEXT NOT NULL, reason TEXT NOT NULL);
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE api_keys(
  id INTEGER PRIMARY KEY,
  role TEXT NOT NULL,
  key_hash TEXT NOT NULL UNIQUE,
  prefix TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER NOT NULL DEFAULT 0);
)sql",
    // 2: the event log moves into compressed chunks (store/sqlite/event_chunk.h); the code step
    // copies version-1 rows over and drops the old table.
    R"sql(
CREATE TABLE event_chunks(
  first_seq INTEGER PRIMARY KEY,
  n INTEGER NOT NULL,
  codec INTEGER NOT NULL,
  raw_size INTEGER NOT NULL,
  min_ts INTEGER NOT NULL,
  max_ts INTEGER NOT NULL,
  hashes BLOB NOT NULL,
  data BLOB NOT NULL);
)sql",
    // 3: identifiers are found by a 64-bit hash of (kind, value) instead of a unique index on the
    // strings. That index took random inserts of ~50-byte keys in every commit (a tenth of bulk
    // ingest); the single writer's in-memory graph already keeps identifiers unique.
    R"sql(
CREATE TABLE identifiers_v3(
  id INTEGER PRIMARY KEY,
  key INTEGER NOT NULL,
  kind TEXT NOT NULL, value TEXT NOT NULL,
  customer_id INTEGER NOT NULL,
  blocked INTEGER NOT NULL DEFAULT 0,
  joins INTEGER NOT NULL DEFAULT 0,
  first_seen INTEGER NOT NULL,
  first_message_id TEXT NOT NULL);
INSERT INTO identifiers_v3(id, key, kind, value, customer_id, blocked, joins, first_seen, first_message_id)
  SELECT id, tp_identifier_key(kind, value), kind, value, customer_id, blocked, joins, first_seen,
         first_message_id FROM identifiers ORDER BY id;
DROP TABLE identifiers;
ALTER TABLE identifiers_v3 RENAME TO identifiers;
CREATE INDEX identifiers_key ON identifiers(key);
CREATE INDEX identifiers_customer ON identifiers(customer_id);
)sql",
};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kSchemaVersion);

// The identifiers table's lookup key: a 64-bit hash of (kind, value). It is on disk (schema 3),
// so it must never change; XXH3's output has been frozen since xxHash 0.8.0.
std::int64_t IdentifierKey(std::string_view kind, std::string_view value) {
  const XXH64_hash_t seed = XXH3_64bits(kind.data(), kind.size());
  return static_cast<std::int64_t>(XXH3_64bits_withSeed(value.data(), value.size(), seed));
}

// tp_identifier_key(kind, value) for SQL (the schema-3 migration).
void IdentifierKeySql(sqlite3_context* ctx, int /*argc*/, sqlite3_value** argv) {
  auto text = [](sqlite3_value* v) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_value_text(v));
    return std::string_view(p ? p : "", static_cast<size_t>(sqlite3_value_bytes(v)));
  };
  sqlite3_result_int64(ctx, IdentifierKey(text(argv[0]), text(argv[1])));
}

// RAII owner of a prepared statement, with typed binders. Not thread-safe.
class Stmt {
 public:
  Stmt() = default;
  Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s_, nullptr); }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt(Stmt&& o) noexcept : s_(o.s_), rc_(o.rc_) { o.s_ = nullptr; }
  Stmt& operator=(Stmt&& o) noexcept {
    std::swap(s_, o.s_);
    rc_ = o.rc_;
    return *this;
  }
  bool ok() const { return rc_ == SQLITE_OK && s_ != nullptr; }
  sqlite3_stmt* get() { return s_; }

  Stmt& Bind(int i, std::int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& Bind(int i, std::uint64_t v) { return Bind(i, static_cast<std::int64_t>(v)); }
  Stmt& Bind(int i, int v) { return Bind(i, static_cast<std::int64_t>(v)); }
  Stmt& Bind(int i, double v) {
    sqlite3_bind_double(s_, i, v);
    return *this;
  }
  Stmt& Bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  Stmt& BindNull(int i) {
    sqlite3_bind_null(s_, i);
    return *this;
  }
  int Step() { return s_ != nullptr ? sqlite3_step(s_) : SQLITE_MISUSE; }
  void Reset() {
    if (s_ == nullptr) return;  // a statement that failed to prepare: Step() reports it
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  std::int64_t Int(int col) { return sqlite3_column_int64(s_, col); }
  double Real(int col) { return sqlite3_column_double(s_, col); }
  bool IsNull(int col) { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  std::string_view Blob(int col) {
    const void* p = sqlite3_column_blob(s_, col);
    return p ? std::string_view(static_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(s_, col)))
             : std::string_view();
  }
  Stmt& BindBlob(int i, std::string_view v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  std::string Text(int col) {
    const auto* p = sqlite3_column_text(s_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(s_, col))) : std::string();
  }

 private:
  sqlite3_stmt* s_ = nullptr;
  int rc_ = SQLITE_ERROR;
};

class SqliteStore final : public Store {
 public:
  SqliteStore(sqlite3* db, Options options)
      : db_(db),
        options_(std::move(options)),
        codec_(options_.event_compression_level),
        prepare_codec_(options_.event_compression_level) {}
  ~SqliteStore() override {
    stmts_.clear();
    if (!options_.read_only) {
      // Fold the WAL back into the main file so a copy of the .db alone is complete.
      sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    }
    sqlite3_close_v2(db_);
  }

  void FoldLog() override {
    if (!options_.read_only) sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  }

  Status Init() {
    TP_RETURN_IF_ERROR(Exec("PRAGMA busy_timeout=5000"));
    if (sqlite3_create_function_v2(db_, "tp_identifier_key", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr,
                                   IdentifierKeySql, nullptr, nullptr, nullptr) != SQLITE_OK) {
      return Error("register tp_identifier_key");
    }
    if (options_.read_only) {
      TP_RETURN_IF_ERROR(Exec("PRAGMA query_only=1"));
    } else {
      // 16 KiB pages: events are a few hundred bytes; larger pages cut per-page overhead (about
      // 30 % faster bulk inserts measured here). Only takes effect on a new database.
      TP_RETURN_IF_ERROR(Exec("PRAGMA page_size=16384"));
      TP_RETURN_IF_ERROR(Exec("PRAGMA journal_mode=WAL"));
      TP_RETURN_IF_ERROR(Exec(options_.synchronous == "normal" ? "PRAGMA synchronous=NORMAL"
                                                                : "PRAGMA synchronous=FULL"));
      // Checkpoints every 2,000 pages (32 MiB) on the committer, which has time to spare; at
      // 10,000 the last one, at close, took ~0.3 s of a 1 M-event ingest on its own.
      TP_RETURN_IF_ERROR(Exec("PRAGMA wal_autocheckpoint=2000"));
    }
    TP_RETURN_IF_ERROR(Exec("PRAGMA cache_size=-" + std::to_string(options_.cache_mib * 1024)));
    TP_RETURN_IF_ERROR(Exec("PRAGMA temp_store=MEMORY"));
    TP_RETURN_IF_ERROR(Migrate());
    Stmt st(db_, "SELECT coalesce(max(first_seq + n), 1) FROM event_chunks");
    if (!st.ok() || st.Step() != SQLITE_ROW) return Error("read the event log's end");
    next_seq_ = st.Int(0);
    return Status::Ok();
  }

  Status Apply(WriteBatch& b) override {
    if (options_.read_only) return Status::FailedPrecondition("store is open read-only");
    TP_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    std::int64_t seq = next_seq_;
    Status s = ApplyInTxn(b, &seq);
    if (s.ok()) s = Exec("COMMIT");
    if (!s.ok()) {
      Exec("ROLLBACK").ok();
      return s;
    }
    next_seq_ = seq;
    return Status::Ok();
  }

  Status ScanMessageHashes(const std::function<void(const MessageHash&)>& fn) override {
    Stmt st(db_, "SELECT hashes FROM event_chunks");
    if (!st.ok()) return Error("prepare scan hashes");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      std::string_view h = st.Blob(0);
      for (size_t i = 0; i + 16 <= h.size(); i += 16) fn(ReadHash(h.data() + i));
    }
    return rc == SQLITE_DONE ? Status::Ok() : Error("scan hashes");
  }

  Status ScanIdentifiers(const std::function<void(IdentifierRecord&&)>& fn) override {
    Stmt st(db_,
            "SELECT id, kind, value, customer_id, blocked, joins, first_seen, first_message_id "
            "FROM identifiers ORDER BY id");
    if (!st.ok()) return Error("prepare scan identifiers");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) fn(ReadIdentifier(st));
    return rc == SQLITE_DONE ? Status::Ok() : Error("scan identifiers");
  }

  Status ScanCustomers(const std::function<void(const CustomerRecord&)>& fn) override {
    Stmt st(db_, "SELECT id, merged_into, created_at FROM customers ORDER BY id");
    if (!st.ok()) return Error("prepare scan customers");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      fn(CustomerRecord{CustomerId(st.Int(0)), CustomerId(st.Int(1)), st.Int(2)});
    }
    return rc == SQLITE_DONE ? Status::Ok() : Error("scan customers");
  }

  Status ScanMerges(const std::function<void(MergeRecord&&)>& fn) override {
    Stmt st(db_, "SELECT id, at, winner, loser, bridge_identifier, message_id, reason, undone_at "
                 "FROM merges ORDER BY id");
    if (!st.ok()) return Error("prepare scan merges");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) fn(ReadMerge(st));
    return rc == SQLITE_DONE ? Status::Ok() : Error("scan merges");
  }

  Status ScanMergeBlocks(const std::function<void(CustomerId, CustomerId)>& fn) override {
    Stmt st(db_, "SELECT a, b FROM merge_blocks");
    if (!st.ok()) return Error("prepare scan merge blocks");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) fn(CustomerId(st.Int(0)), CustomerId(st.Int(1)));
    return rc == SQLITE_DONE ? Status::Ok() : Error("scan merge blocks");
  }

  Status ScanProfiles(const std::function<void(ProfileRecord&&)>& fn) override {
    Stmt st(db_, "SELECT customer_id, data, updated_at FROM profiles");
    if (!st.ok()) return Error("prepare scan profiles");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      fn(ProfileRecord{CustomerId(st.Int(0)), st.Text(1), st.Int(2)});
    }
    return rc == SQLITE_DONE ? Status::Ok() : Error("scan profiles");
  }

  Status ScanOrders(const std::function<void(OrderRecord&&)>& fn) override {
    Stmt st(db_, "SELECT order_id, customer_id, ts, total, currency, channel, items FROM orders ORDER BY seq");
    if (!st.ok()) return Error("prepare scan orders");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      fn(OrderRecord{st.Text(0), CustomerId(st.Int(1)), st.Int(2), st.Real(3), st.Text(4), st.Text(5), st.Text(6)});
    }
    return rc == SQLITE_DONE ? Status::Ok() : Error("scan orders");
  }

  Status ScanMessages(const std::function<void(MessageRecord&&)>& fn) override {
    Stmt st(db_, "SELECT message_id, customer_id, ts, conversation_id, channel, author, direction, "
                 "text, language, sentiment_label, sentiment_score, intent, masked_text "
                 "FROM messages ORDER BY seq");
    if (!st.ok()) return Error("prepare scan messages");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) fn(ReadMessage(st));
    return rc == SQLITE_DONE ? Status::Ok() : Error("scan messages");
  }

  Status ScanEvents(const std::function<bool(EventRecord&&)>& fn) override {
    return ScanEventsFrom(0, fn);
  }

  Status ScanEventsFrom(std::int64_t from_seq, const std::function<bool(EventRecord&&)>& fn) override {
    // The chunk holding from_seq starts at or before it (a rowid seek, not a scan of every
    // chunk); earlier events of that chunk are skipped.
    Stmt st(db_, "SELECT first_seq, n, codec, raw_size, hashes, data FROM event_chunks WHERE first_seq >= "
                 "coalesce((SELECT max(first_seq) FROM event_chunks WHERE first_seq <= ?1), 0) ORDER BY first_seq");
    if (!st.ok()) return Error("prepare scan events");
    st.Bind(1, from_seq);
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      bool stopped = false;
      TP_RETURN_IF_ERROR(codec_.Decode(
          st.Int(0), static_cast<int>(st.Int(1)), static_cast<int>(st.Int(2)), st.Int(3), st.Blob(4), st.Blob(5),
          [&](EventRecord&& e) { return e.seq < from_seq || fn(std::move(e)); }, &stopped));
      if (stopped) return Status::Ok();
    }
    return rc == SQLITE_DONE ? Status::Ok() : Error("scan events");
  }

  Result<std::optional<IdentifierRecord>> FindIdentifier(const std::string& kind,
                                                         const std::string& value) override {
    Stmt& st = Prepared("SELECT id, kind, value, customer_id, blocked, joins, first_seen, "
                        "first_message_id FROM identifiers WHERE key = ?1 AND kind = ?2 AND value = ?3");
    st.Reset();
    st.Bind(1, IdentifierKey(kind, value)).Bind(2, kind).Bind(3, value);
    int rc = st.Step();
    if (rc == SQLITE_ROW) return std::optional<IdentifierRecord>(ReadIdentifier(st));
    if (rc == SQLITE_DONE) return std::optional<IdentifierRecord>();
    return Error("find identifier");
  }

  Result<std::optional<CustomerRecord>> FindCustomer(CustomerId id) override {
    Stmt& st = Prepared("SELECT id, merged_into, created_at FROM customers WHERE id = ?1");
    st.Reset();
    st.Bind(1, id.value());
    int rc = st.Step();
    if (rc == SQLITE_ROW) {
      return std::optional<CustomerRecord>(
          CustomerRecord{CustomerId(st.Int(0)), CustomerId(st.Int(1)), st.Int(2)});
    }
    if (rc == SQLITE_DONE) return std::optional<CustomerRecord>();
    return Error("find customer");
  }

  Result<std::optional<ProfileRecord>> FindProfile(CustomerId id) override {
    Stmt& st = Prepared("SELECT customer_id, data, updated_at FROM profiles WHERE customer_id = ?1");
    st.Reset();
    st.Bind(1, id.value());
    int rc = st.Step();
    if (rc == SQLITE_ROW) {
      return std::optional<ProfileRecord>(ProfileRecord{CustomerId(st.Int(0)), st.Text(1), st.Int(2)});
    }
    if (rc == SQLITE_DONE) return std::optional<ProfileRecord>();
    return Error("find profile");
  }

  Result<std::vector<IdentifierRecord>> IdentifiersOf(const std::vector<CustomerId>& customers) override {
    std::vector<IdentifierRecord> out;
    Stmt& st = Prepared("SELECT id, kind, value, customer_id, blocked, joins, first_seen, "
                        "first_message_id FROM identifiers WHERE customer_id = ?1 ORDER BY id");
    for (CustomerId c : customers) {
      st.Reset();
      st.Bind(1, c.value());
      int rc;
      while ((rc = st.Step()) == SQLITE_ROW) out.push_back(ReadIdentifier(st));
      if (rc != SQLITE_DONE) return Error("identifiers of customer");
    }
    return out;
  }

  Result<std::vector<CustomerId>> CustomersMergedInto(CustomerId id) override {
    std::vector<CustomerId> out;
    Stmt& st = Prepared("SELECT id FROM customers WHERE merged_into = ?1 ORDER BY id");
    st.Reset();
    st.Bind(1, id.value());
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) out.emplace_back(st.Int(0));
    if (rc != SQLITE_DONE) return Error("customers merged into");
    return out;
  }

  Result<std::vector<MergeRecord>> MergesInvolving(const std::vector<CustomerId>& customers) override {
    std::vector<MergeRecord> out;
    Stmt& st = Prepared("SELECT id, at, winner, loser, bridge_identifier, message_id, reason, "
                        "undone_at FROM merges WHERE winner = ?1 OR loser = ?1 ORDER BY id");
    std::unordered_map<std::int64_t, bool> seen;
    for (CustomerId c : customers) {
      st.Reset();
      st.Bind(1, c.value());
      int rc;
      while ((rc = st.Step()) == SQLITE_ROW) {
        MergeRecord m = ReadMerge(st);
        if (seen.emplace(m.id.value(), true).second) out.push_back(std::move(m));
      }
      if (rc != SQLITE_DONE) return Error("merges involving");
    }
    std::sort(out.begin(), out.end(), [](const MergeRecord& a, const MergeRecord& b) { return a.id < b.id; });
    return out;
  }

  Result<std::optional<MergeRecord>> FindMerge(MergeId id) override {
    Stmt& st = Prepared("SELECT id, at, winner, loser, bridge_identifier, message_id, reason, "
                        "undone_at FROM merges WHERE id = ?1");
    st.Reset();
    st.Bind(1, id.value());
    int rc = st.Step();
    if (rc == SQLITE_ROW) return std::optional<MergeRecord>(ReadMerge(st));
    if (rc == SQLITE_DONE) return std::optional<MergeRecord>();
    return Error("find merge");
  }

  Result<std::vector<IdentifierRecord>> BlockedIdentifiers() override {
    std::vector<IdentifierRecord> out;
    Stmt st(db_, "SELECT id, kind, value, customer_id, blocked, joins, first_seen, "
                 "first_message_id FROM identifiers WHERE blocked <> 0 ORDER BY id");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) out.push_back(ReadIdentifier(st));
    if (rc != SQLITE_DONE) return Error("blocked identifiers");
    return out;
  }

  Result<std::vector<MessageRecord>> MessagesOf(CustomerId id, int limit) override {
    std::vector<MessageRecord> out;
    Stmt st(db_, "SELECT message_id, customer_id, ts, conversation_id, channel, author, direction, "
                 "text, language, sentiment_label, sentiment_score, intent, masked_text "
                 "FROM messages WHERE customer_id = ?1 ORDER BY ts DESC LIMIT ?2");
    st.Bind(1, id.value()).Bind(2, limit);
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) out.push_back(ReadMessage(st));
    if (rc != SQLITE_DONE) return Error("messages of customer");
    return out;
  }

  Result<StoreStats> Stats() override {
    StoreStats s;
    auto count = [&](const char* sql, std::int64_t* out) -> Status {
      Stmt st(db_, sql);
      if (!st.ok() || st.Step() != SQLITE_ROW) return Error(sql);
      *out = st.Int(0);
      return Status::Ok();
    };
    TP_RETURN_IF_ERROR(count("SELECT coalesce(sum(n), 0) FROM event_chunks", &s.events));
    TP_RETURN_IF_ERROR(count("SELECT count(*) FROM customers WHERE merged_into = 0", &s.customers));
    TP_RETURN_IF_ERROR(count("SELECT count(*) FROM identifiers", &s.identifiers));
    TP_RETURN_IF_ERROR(count("SELECT count(*) FROM messages", &s.messages));
    TP_RETURN_IF_ERROR(count("SELECT count(*) FROM surveys", &s.surveys));
    TP_RETURN_IF_ERROR(count("SELECT count(*) FROM orders", &s.orders));
    TP_RETURN_IF_ERROR(count("SELECT count(*) FROM merges WHERE undone_at = 0", &s.merges));
    TP_RETURN_IF_ERROR(count("SELECT count(*) FROM escalations", &s.escalations));
    return s;
  }

  Result<Millis> NewestEventAt() override {
    Stmt st(db_, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'newest_event_at'");
    int rc = st.Step();
    if (rc == SQLITE_ROW) return st.Int(0);
    if (rc == SQLITE_DONE) return Millis{0};
    return Error("newest event time");
  }

  Result<std::int64_t> ProfileCheckpoint() override {
    Stmt st(db_, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'profile_checkpoint'");
    int rc = st.Step();
    if (rc == SQLITE_ROW) return st.Int(0);
    if (rc != SQLITE_DONE) return Error("profile checkpoint");
    return Status::Internal("the database has no profile checkpoint (set by the migration to version 2)");
  }

  Result<ApiKeyRecord> CreateKey(const std::string& role, const std::string& key_hash,
                                 const std::string& prefix, Millis now) override {
    Stmt st(db_, "INSERT INTO api_keys(role, key_hash, prefix, created_at) VALUES(?1, ?2, ?3, ?4)");
    st.Bind(1, role).Bind(2, key_hash).Bind(3, prefix).Bind(4, now);
    if (st.Step() != SQLITE_DONE) return Error("create key");
    return ApiKeyRecord{sqlite3_last_insert_rowid(db_), role, key_hash, prefix, now, 0};
  }

  Result<std::vector<ApiKeyRecord>> ListKeys() override {
    std::vector<ApiKeyRecord> out;
    Stmt st(db_, "SELECT id, role, key_hash, prefix, created_at, revoked_at FROM api_keys ORDER BY id");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) out.push_back(ReadKey(st));
    if (rc != SQLITE_DONE) return Error("list keys");
    return out;
  }

  Result<std::optional<ApiKeyRecord>> FindKeyByHash(const std::string& key_hash) override {
    Stmt st(db_, "SELECT id, role, key_hash, prefix, created_at, revoked_at FROM api_keys WHERE key_hash = ?1");
    st.Bind(1, key_hash);
    int rc = st.Step();
    if (rc == SQLITE_ROW) return std::optional<ApiKeyRecord>(ReadKey(st));
    if (rc == SQLITE_DONE) return std::optional<ApiKeyRecord>();
    return Error("find key");
  }

  Status RevokeKey(const std::string& id_or_prefix, Millis now) override {
    Stmt st(db_, "UPDATE api_keys SET revoked_at = ?2 WHERE revoked_at = 0 AND "
                 "(CAST(id AS TEXT) = ?1 OR prefix = ?1)");
    st.Bind(1, id_or_prefix).Bind(2, now);
    if (st.Step() != SQLITE_DONE) return Error("revoke key");
    if (sqlite3_changes(db_) == 0) {
      return Status::NotFound("no active key with id or prefix '" + id_or_prefix + "'");
    }
    return Status::Ok();
  }

  int schema_version() const override { return version_; }

 private:
  Status Error(const std::string& what) {
    const int code = sqlite3_errcode(db_);
    std::string msg = "sqlite: " + what + ": " + sqlite3_errmsg(db_);
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED || code == SQLITE_FULL || code == SQLITE_IOERR) {
      return Status::Unavailable(msg);
    }
    return Status::Internal(msg);
  }

  Status Exec(const std::string& sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      if (rc == SQLITE_BUSY || rc == SQLITE_FULL || rc == SQLITE_IOERR || rc == SQLITE_READONLY ||
          rc == SQLITE_CANTOPEN) {
        return Status::Unavailable("sqlite: " + msg);
      }
      return Status::Internal("sqlite: " + msg);
    }
    return Status::Ok();
  }

  Stmt& Prepared(const char* sql) {
    auto it = stmts_.find(sql);
    if (it == stmts_.end()) it = stmts_.emplace(sql, Stmt(db_, sql)).first;
    return it->second;
  }

  Status Migrate() {
    if (options_.read_only) {
      Stmt st(db_, "SELECT version FROM schema_version");
      if (!st.ok() || st.Step() != SQLITE_ROW) {
        return Status::FailedPrecondition("the data directory holds no Touchpoint database yet");
      }
      version_ = static_cast<int>(st.Int(0));
      if (version_ > kSchemaVersion) return TooNew();
      if (version_ < kSchemaVersion) {
        // Only a writer migrates; the queries below are written for the current layout.
        return Status::FailedPrecondition(
            "database schema version " + std::to_string(version_) + " predates this binary's (" +
            std::to_string(kSchemaVersion) +
            "); start `touchpoint serve` or run `touchpoint ingest` once to upgrade it");
      }
      return Status::Ok();
    }
    TP_RETURN_IF_ERROR(Exec("CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)"));
    {
      Stmt st(db_, "SELECT version FROM schema_version");
      version_ = st.ok() && st.Step() == SQLITE_ROW ? static_cast<int>(st.Int(0)) : 0;
    }
    if (version_ > kSchemaVersion) return TooNew();
    while (version_ < kSchemaVersion) {
      TP_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
      Status s = Exec(kMigrations[version_]);
      if (s.ok() && version_ + 1 == 2) s = MigrateEventsToChunks();
      if (s.ok()) s = Exec("DELETE FROM schema_version");
      if (s.ok()) s = Exec("INSERT INTO schema_version(version) VALUES(" + std::to_string(version_ + 1) + ")");
      if (!s.ok()) {
        Exec("ROLLBACK").ok();
        return s.WithContext("migration to schema version " + std::to_string(version_ + 1));
      }
      TP_RETURN_IF_ERROR(Exec("COMMIT"));
      ++version_;
    }
    return Status::Ok();
  }

  Status TooNew() {
    return Status::FailedPrecondition("database schema version " + std::to_string(version_) +
                                      " is newer than this binary supports (" +
                                      std::to_string(kSchemaVersion) + "); upgrade touchpoint");
  }

  static IdentifierRecord ReadIdentifier(Stmt& st) {
    IdentifierRecord r;
    r.id = IdentifierId(st.Int(0));
    r.kind = st.Text(1);
    r.value = st.Text(2);
    r.customer = CustomerId(st.Int(3));
    r.blocked = st.Int(4) != 0;
    r.joins = static_cast<int>(st.Int(5));
    r.first_seen = st.Int(6);
    r.first_message_id = st.Text(7);
    return r;
  }

  static MergeRecord ReadMerge(Stmt& st) {
    MergeRecord m;
    m.id = MergeId(st.Int(0));
    m.at = st.Int(1);
    m.winner = CustomerId(st.Int(2));
    m.loser = CustomerId(st.Int(3));
    m.bridge = IdentifierId(st.Int(4));
    m.message_id = st.Text(5);
    m.reason = st.Text(6);
    m.undone_at = st.Int(7);
    return m;
  }

  static MessageRecord ReadMessage(Stmt& st) {
    MessageRecord m;
    m.message_id = st.Text(0);
    m.customer = CustomerId(st.Int(1));
    m.timestamp = st.Int(2);
    m.conversation_id = st.Text(3);
    m.channel = st.Text(4);
    m.author = st.Text(5);
    m.direction = st.Text(6);
    m.text = st.Text(7);
    m.language = st.Text(8);
    m.sentiment_label = st.Text(9);
    m.sentiment_score = st.Real(10);
    m.intent = st.Text(11);
    m.masked_text = st.Text(12);
    return m;
  }

  static ApiKeyRecord ReadKey(Stmt& st) {
    return ApiKeyRecord{st.Int(0), st.Text(1), st.Text(2), st.Text(3), st.Int(4), st.Int(5)};
  }

  // Calls fn for each run of events that makes one chunk (by count and raw size).
  template <typename Fn>
  static Status ForEachChunk(std::span<EventRecord> events, Fn&& fn) {
    size_t begin = 0;
    size_t bytes = 0;
    for (size_t i = 0; i < events.size(); ++i) {
      bytes += events[i].body.size() + events[i].message_id.size() + events[i].name.size() + 16;
      if (i + 1 - begin == kMaxChunkEvents || bytes >= kMaxChunkRawBytes || i + 1 == events.size()) {
        TP_RETURN_IF_ERROR(fn(events.subspan(begin, i + 1 - begin)));
        begin = i + 1;
        bytes = 0;
      }
    }
    return Status::Ok();
  }

  struct PreparedChunks final : PreparedBatch {
    std::vector<EncodedChunk> chunks;
    size_t events = 0;  // how many events were encoded (a batch changed since is re-encoded)
  };

  void Prepare(WriteBatch& b) override {
    if (options_.read_only || b.events.empty()) return;
    std::scoped_lock lock(prepare_mu_);
    auto p = std::make_unique<PreparedChunks>();
    ForEachChunk(b.events, [&](std::span<EventRecord> run) {
      prepare_codec_.Encode(run, p->chunks.emplace_back());
      return Status::Ok();
    }).ok();
    p->events = b.events.size();
    b.prepared = std::move(p);
  }

  // Writes `events` as one chunk numbered from *seq (encoded ahead by Prepare when `encoded` is
  // given and matches); advances *seq.
  Status InsertChunk(std::span<EventRecord> events, const EncodedChunk* encoded, std::int64_t* seq) {
    if (encoded == nullptr || encoded->n != static_cast<int>(events.size())) {
      codec_.Encode(events, chunk_);
      encoded = &chunk_;
    }
    const EncodedChunk& chunk = *encoded;
    Millis min_ts = events.front().timestamp;
    Millis max_ts = min_ts;
    for (EventRecord& e : events) {
      e.seq = (*seq)++;
      min_ts = std::min(min_ts, e.timestamp);
      max_ts = std::max(max_ts, e.timestamp);
    }
    Stmt& st = Prepared("INSERT INTO event_chunks(first_seq, n, codec, raw_size, min_ts, max_ts, hashes, data) "
                        "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    st.Reset();
    st.Bind(1, events.front().seq).Bind(2, chunk.n).Bind(3, static_cast<int>(chunk.codec)).Bind(4, chunk.raw_size)
        .Bind(5, min_ts).Bind(6, max_ts).BindBlob(7, chunk.hashes).BindBlob(8, chunk.data);
    if (st.Step() != SQLITE_DONE) return Error("insert event chunk");
    return Status::Ok();
  }

  Status InsertEvents(std::span<EventRecord> events, std::int64_t* seq, const PreparedBatch* prepared = nullptr) {
    const auto* p = dynamic_cast<const PreparedChunks*>(prepared);
    if (p != nullptr && p->events != events.size()) p = nullptr;  // stale: encode afresh
    size_t k = 0;
    return ForEachChunk(events, [&](std::span<EventRecord> run) {
      const EncodedChunk* encoded = p != nullptr && k < p->chunks.size() ? &p->chunks[k] : nullptr;
      ++k;
      return InsertChunk(run, encoded, seq);
    });
  }

  // Version 1 → 2: copies the row-per-event log into chunks, then drops it.
  Status MigrateEventsToChunks() {
    std::int64_t seq = 1;
    {
      Stmt st(db_, "SELECT seq, hash_hi, hash_lo, message_id, customer_id, ts, kind, name, body "
                   "FROM events ORDER BY seq");
      if (!st.ok()) return Error("prepare read of version-1 events");
      std::vector<EventRecord> buf;
      int rc;
      while ((rc = st.Step()) == SQLITE_ROW) {
        EventRecord e;
        e.hash = {static_cast<std::uint64_t>(st.Int(1)), static_cast<std::uint64_t>(st.Int(2))};
        e.message_id = st.Text(3);
        e.customer = CustomerId(st.Int(4));
        e.timestamp = st.Int(5);
        e.kind = static_cast<EventKind>(st.Int(6));
        e.name = st.Text(7);
        e.body = st.Text(8);
        buf.push_back(std::move(e));
        if (buf.size() == kMaxChunkEvents) {
          TP_RETURN_IF_ERROR(InsertEvents(buf, &seq));
          buf.clear();
        }
      }
      if (rc != SQLITE_DONE) return Error("read version-1 events");
      if (!buf.empty()) TP_RETURN_IF_ERROR(InsertEvents(buf, &seq));
    }
    // Version-1 writers rewrote profiles on every commit: they reflect every event copied.
    TP_RETURN_IF_ERROR(Exec("INSERT OR REPLACE INTO meta(key, value) VALUES('profile_checkpoint', '" +
                            std::to_string(seq - 1) + "')"));
    return Exec("DROP TABLE events");
  }

  Status ApplyInTxn(WriteBatch& b, std::int64_t* seq) {
    if (!b.events.empty()) TP_RETURN_IF_ERROR(InsertEvents(b.events, seq, b.prepared.get()));
    if (!b.customers.empty()) {
      Stmt& st = Prepared("INSERT INTO customers(id, merged_into, created_at) VALUES(?1, ?2, ?3) "
                          "ON CONFLICT(id) DO UPDATE SET merged_into = excluded.merged_into");
      for (const CustomerRecord& c : b.customers) {
        st.Reset();
        st.Bind(1, c.id.value()).Bind(2, c.merged_into.value()).Bind(3, c.created_at);
        if (st.Step() != SQLITE_DONE) return Error("upsert customer");
      }
    }
    if (!b.identifiers.empty()) {
      // Upserts keep a changed identifier's row (and index entries) in place; INSERT OR REPLACE
      // would delete and re-insert it. kind, value and first sighting never change.
      Stmt& st = Prepared("INSERT INTO identifiers(id, key, kind, value, customer_id, blocked, joins, "
                          "first_seen, first_message_id) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
                          "ON CONFLICT(id) DO UPDATE SET customer_id = excluded.customer_id, "
                          "blocked = excluded.blocked, joins = excluded.joins");
      for (const IdentifierRecord& r : b.identifiers) {
        st.Reset();
        st.Bind(1, r.id.value()).Bind(2, IdentifierKey(r.kind, r.value)).Bind(3, r.kind).Bind(4, r.value)
            .Bind(5, r.customer.value()).Bind(6, r.blocked ? 1 : 0).Bind(7, r.joins).Bind(8, r.first_seen)
            .Bind(9, r.first_message_id);
        if (st.Step() != SQLITE_DONE) return Error("upsert identifier");
      }
    }
    if (!b.merges.empty()) {
      Stmt& st = Prepared("INSERT OR REPLACE INTO merges(id, at, winner, loser, bridge_identifier, message_id, "
                          "reason, undone_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
      for (const MergeRecord& m : b.merges) {
        st.Reset();
        st.Bind(1, m.id.value()).Bind(2, m.at).Bind(3, m.winner.value()).Bind(4, m.loser.value())
            .Bind(5, m.bridge.value()).Bind(6, m.message_id).Bind(7, m.reason).Bind(8, m.undone_at);
        if (st.Step() != SQLITE_DONE) return Error("upsert merge");
      }
    }
    if (!b.merge_blocks.empty()) {
      Stmt& st = Prepared("INSERT OR IGNORE INTO merge_blocks(a, b) VALUES(?1, ?2)");
      for (const auto& [a, c] : b.merge_blocks) {
        st.Reset();
        st.Bind(1, a.value()).Bind(2, c.value());
        if (st.Step() != SQLITE_DONE) return Error("insert merge block");
      }
    }
    if (!b.profiles.empty()) {
      Stmt& st = Prepared("INSERT INTO profiles(customer_id, data, updated_at) VALUES(?1, ?2, ?3) "
                          "ON CONFLICT(customer_id) DO UPDATE SET data = excluded.data, "
                          "updated_at = excluded.updated_at");
      for (const ProfileRecord& p : b.profiles) {
        st.Reset();
        st.Bind(1, p.customer.value()).Bind(2, p.data).Bind(3, p.updated_at);
        if (st.Step() != SQLITE_DONE) return Error("upsert profile");
      }
    }
    if (!b.deleted_profiles.empty()) {
      Stmt& st = Prepared("DELETE FROM profiles WHERE customer_id = ?1");
      for (CustomerId c : b.deleted_profiles) {
        st.Reset();
        st.Bind(1, c.value());
        if (st.Step() != SQLITE_DONE) return Error("delete profile");
      }
    }
    if (!b.orders.empty()) {
      Stmt& st = Prepared("INSERT INTO orders(order_id, customer_id, ts, total, currency, channel, items) "
                          "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
      for (const OrderRecord& o : b.orders) {
        st.Reset();
        st.Bind(1, o.order_id).Bind(2, o.customer.value()).Bind(3, o.timestamp).Bind(4, o.total)
            .Bind(5, o.currency).Bind(6, o.channel).Bind(7, o.items_json);
        if (st.Step() != SQLITE_DONE) return Error("insert order");
      }
    }
    if (!b.messages.empty()) {
      Stmt& st = Prepared("INSERT INTO messages(message_id, customer_id, ts, conversation_id, channel, author, "
                          "direction, text, language, sentiment_label, sentiment_score, intent, masked_text) "
                          "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
      for (const MessageRecord& m : b.messages) {
        st.Reset();
        st.Bind(1, m.message_id).Bind(2, m.customer.value()).Bind(3, m.timestamp).Bind(4, m.conversation_id)
            .Bind(5, m.channel).Bind(6, m.author).Bind(7, m.direction).Bind(8, m.text).Bind(9, m.language)
            .Bind(10, m.sentiment_label).Bind(11, m.sentiment_score).Bind(12, m.intent).Bind(13, m.masked_text);
        if (st.Step() != SQLITE_DONE) return Error("insert message");
      }
    }
    if (!b.surveys.empty()) {
      Stmt& st = Prepared("INSERT INTO surveys(message_id, customer_id, ts, nps, csat, comment, touchpoint) "
                          "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
      for (const SurveyRecord& s : b.surveys) {
        st.Reset();
        st.Bind(1, s.message_id).Bind(2, s.customer.value()).Bind(3, s.timestamp);
        if (s.nps >= 0) st.Bind(4, s.nps); else st.BindNull(4);
        if (s.csat >= 0) st.Bind(5, s.csat); else st.BindNull(5);
        st.Bind(6, s.comment).Bind(7, s.touchpoint);
        if (st.Step() != SQLITE_DONE) return Error("insert survey");
      }
    }
    if (b.profile_checkpoint) {
      Stmt& st = Prepared("INSERT INTO meta(key, value) VALUES('profile_checkpoint', ?1) "
                          "ON CONFLICT(key) DO UPDATE SET value = ?1");
      st.Reset();
      st.Bind(1, *seq - 1);
      if (st.Step() != SQLITE_DONE) return Error("update profile checkpoint");
    }
    if (b.newest_event_at != 0) {
      Stmt& st = Prepared("INSERT INTO meta(key, value) VALUES('newest_event_at', ?1) "
                          "ON CONFLICT(key) DO UPDATE SET value = max(CAST(value AS INTEGER), ?1)");
      st.Reset();
      st.Bind(1, b.newest_event_at);
      if (st.Step() != SQLITE_DONE) return Error("update newest event time");
    }
    if (!b.escalations.empty()) {
      Stmt& st = Prepared("INSERT INTO escalations(at, customer_id, conversation_id, message_id, rule, action, reason) "
                          "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
      for (const EscalationRecord& e : b.escalations) {
        st.Reset();
        st.Bind(1, e.at).Bind(2, e.customer.value()).Bind(3, e.conversation_id).Bind(4, e.message_id)
            .Bind(5, e.rule).Bind(6, e.action).Bind(7, e.reason);
        if (st.Step() != SQLITE_DONE) return Error("insert escalation");
      }
    }
    return Status::Ok();
  }

  sqlite3* db_;
  Options options_;
  EventChunkCodec codec_;
  EncodedChunk chunk_;         // scratch for InsertChunk
  std::mutex prepare_mu_;      // Prepare's own codec, apart from Apply's
  EventChunkCodec prepare_codec_;
  std::int64_t next_seq_ = 1;  // seq of the next event written
  int version_ = 0;
  std::unordered_map<const char*, Stmt> stmts_;
};

}  // namespace

int CurrentSchemaVersion() { return kSchemaVersion; }

Result<std::unique_ptr<Store>> Open(const Options& options) {
  sqlite3* db = nullptr;
  const int flags = options.read_only ? SQLITE_OPEN_READONLY
                                      : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  // SQLite's global allocation statistics take a mutex on every malloc and free (~5 % of a
  // commit's CPU here); nothing reads them. Must precede the library's initialisation, so it
  // is a no-op (SQLITE_MISUSE, ignored) if something else initialised SQLite first.
  static std::once_flag configured;
  std::call_once(configured, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
  int rc = sqlite3_open_v2(options.path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return Status::Unavailable("cannot open database " + options.path + ": " + msg);
  }
  auto store = std::make_unique<SqliteStore>(db, options);
  Status s = store->Init();
  if (!s.ok()) return s.WithContext(options.path);
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace touchpoint::store::sqlite
