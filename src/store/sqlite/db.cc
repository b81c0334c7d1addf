#include "store/sqlite/db.h"

namespace touchpoint::store::sqlite {

Status Db::Error(const std::string& what) {
  const int code = sqlite3_errcode(db_);
  std::string msg = "sqlite: " + what + ": " + sqlite3_errmsg(db_);
  if (code == SQLITE_BUSY || code == SQLITE_LOCKED || code == SQLITE_FULL || code == SQLITE_IOERR) {
    return Status::Unavailable(msg);
  }
  return Status::Internal(msg);
}

Status Db::Exec(const std::string& sql) {
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

Result<std::int64_t> Db::QueryInt(const char* sql) {
  Stmt& st = Prepared(sql);
  st.Reset();
  const int rc = st.Step();
  if (rc == SQLITE_ROW) {
    const std::int64_t v = st.Int(0);
    st.Reset();
    return v;
  }
  if (rc == SQLITE_DONE) return std::int64_t{0};
  return Error(sql);
}

Result<std::unique_ptr<Transaction>> Db::Begin() {
  if (read_only_) return Status::FailedPrecondition("store is open read-only");
  TP_CHECK(active_ == nullptr, "a transaction is already open on this store");
  TP_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  auto txn = std::make_unique<SqliteTransaction>(*this);
  active_ = txn.get();
  return std::unique_ptr<Transaction>(std::move(txn));
}

SqliteTransaction::~SqliteTransaction() {
  if (done_) return;
  db_.Exec("ROLLBACK").ok();  // nothing more to do if even the rollback fails: the connection is gone
  db_.EndTxn(false);
}

Status SqliteTransaction::Commit() {
  TP_CHECK(!done_, "transaction committed twice");
  Status s = db_.Exec("COMMIT");
  if (!s.ok()) {
    db_.Exec("ROLLBACK").ok();
  }
  done_ = true;
  db_.EndTxn(s.ok());
  return s;
}

}  // namespace touchpoint::store::sqlite
