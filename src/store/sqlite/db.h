// store/sqlite/db.h — the adapter's connection: statements, errors and the one open transaction.
// Private to src/store/sqlite. Not thread-safe: a Db is used by one thread at a time.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/store/transaction.h>

namespace touchpoint::store::sqlite {

// RAII owner of a prepared statement, with typed binders.
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
  // Bound text is not copied (SQLITE_STATIC) and must live until Step: a temporary string would
  // be freed first (two merged changes did exactly that), so binding one does not compile.
  Stmt& Bind(int i, std::string&& v) = delete;
  // Not copied either: the bytes must live until Step. A temporary string would otherwise convert
  // to the view silently.
  Stmt& BindBlob(int i, std::string_view v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  Stmt& BindBlob(int i, std::string&& v) = delete;
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
  std::string Text(int col) {
    const auto* p = sqlite3_column_text(s_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(s_, col)))
             : std::string();
  }

 private:
  sqlite3_stmt* s_ = nullptr;
  int rc_ = SQLITE_ERROR;
};

// Resets a cached statement (Db::Prepared) when the scope ends. A lookup that returns on its
// first row would otherwise leave the statement stepped: the connection then keeps that read
// snapshot open, its later reads see old data, and its next BEGIN IMMEDIATE fails once another
// connection has written (ProfileRepository::Find had this bug).
class ResetOnExit {
 public:
  explicit ResetOnExit(Stmt& st) : st_(st) {}
  ~ResetOnExit() { st_.Reset(); }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  Stmt& st_;
};

class Db;

// BEGIN IMMEDIATE … COMMIT on the store's connection; ROLLBACK in the destructor unless committed.
class SqliteTransaction final : public Transaction {
 public:
  explicit SqliteTransaction(Db& db) : db_(db) {}
  ~SqliteTransaction() override;
  Status Commit() override;

 private:
  Db& db_;
  bool done_ = false;
};

class Db {
 public:
  Db(sqlite3* db, bool read_only) : db_(db), read_only_(read_only) {}
  ~Db() {
    stmts_.clear();
    sqlite3_close_v2(db_);
  }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  sqlite3* raw() { return db_; }
  bool read_only() const { return read_only_; }

  // kUnavailable for busy/full/I/O errors, kInternal otherwise; names `what`.
  Status Error(const std::string& what);
  Status Exec(const std::string& sql);
  // A statement cached for the connection's life, keyed by the address of its SQL literal.
  Stmt& Prepared(const char* sql) {
    auto it = stmts_.find(sql);
    if (it == stmts_.end()) it = stmts_.emplace(sql, Stmt(db_, sql)).first;
    return it->second;
  }
  // Runs one statement that returns a single integer (0 when it returns no row).
  Result<std::int64_t> QueryInt(const char* sql);

  Result<std::unique_ptr<Transaction>> Begin();
  // Aborts unless `txn` is this connection's open transaction (a write outside it is a bug).
  void RequireTxn(const Transaction& txn) const {
    TP_CHECK(active_ != nullptr && static_cast<const Transaction*>(active_) == &txn,
             "a write passed a transaction of another store, or one already finished");
  }
  // Called once when the open transaction ends (true: committed), for state kept outside the
  // database (the event log's next seq).
  void OnTxnEnd(std::function<void(bool committed)> fn) { on_end_.push_back(std::move(fn)); }
  bool in_txn() const { return active_ != nullptr; }

 private:
  friend class SqliteTransaction;
  void EndTxn(bool committed) {
    active_ = nullptr;
    auto fns = std::move(on_end_);
    on_end_.clear();
    for (auto& fn : fns) fn(committed);
  }

  sqlite3* db_;
  bool read_only_;
  std::unordered_map<const char*, Stmt> stmts_;
  SqliteTransaction* active_ = nullptr;
  std::vector<std::function<void(bool)>> on_end_;
};

}  // namespace touchpoint::store::sqlite
