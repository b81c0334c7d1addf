// store/postgres/pg.h — the adapter's thin RAII layer over libpq: connections, results, text
// parameters, COPY in text format and cursor scans. Private to src/store/postgres.
//
// Why libpq and not libpqxx (../shared/STACK.md's first choice): Debian 12's pqxx 6.4 has a
// stream_to API that pqxx 7 replaced, so code written against it breaks on the next upgrade
// (STACK.md pitfall 11: "keep pqxx behind an interface"); the adapter needs only connections,
// parameterised statements, COPY FROM STDIN and LISTEN, which libpq offers directly, as the
// SQLite adapter uses sqlite3's C API. This file is that interface, in ~300 lines.
//
// Thread safety: a Conn is used by one thread at a time.
#pragma once

#include <libpq-fe.h>

#include <charconv>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <touchpoint/core/result.h>

namespace touchpoint::store::postgres {

// An owned PGresult.
class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(PGresult* r) : r_(r) {}
  ~PgResult() { PQclear(r_); }
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;
  PgResult(PgResult&& o) noexcept : r_(std::exchange(o.r_, nullptr)) {}
  PgResult& operator=(PgResult&& o) noexcept {
    std::swap(r_, o.r_);
    return *this;
  }

  int rows() const { return r_ ? PQntuples(r_) : 0; }
  bool IsNull(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }
  std::string_view Get(int row, int col) const {
    return std::string_view(PQgetvalue(r_, row, col), static_cast<size_t>(PQgetlength(r_, row, col)));
  }
  std::string Text(int row, int col) const { return std::string(Get(row, col)); }
  std::int64_t Int(int row, int col) const {
    std::string_view v = Get(row, col);
    if (v == "t") return 1;
    if (v == "f") return 0;
    std::int64_t out = 0;
    std::from_chars(v.data(), v.data() + v.size(), out);
    return out;
  }
  // A bigint, integer or smallint of a result in binary format (network byte order).
  std::int64_t BinaryInt(int row, int col) const {
    std::string_view v = Get(row, col);
    std::uint64_t u = 0;
    for (char c : v) u = (u << 8) | static_cast<unsigned char>(c);
    if (v.size() < 8 && !v.empty()) {  // sign-extend integer and smallint
      const unsigned bits = static_cast<unsigned>(v.size()) * 8;
      if ((u >> (bits - 1)) & 1) u |= ~std::uint64_t{0} << bits;
    }
    return static_cast<std::int64_t>(u);
  }
  double Real(int row, int col) const {
    std::string_view v = Get(row, col);
    double out = 0;
    std::from_chars(v.data(), v.data() + v.size(), out);
    return out;
  }
  // Rows changed by an INSERT/UPDATE/DELETE.
  std::int64_t affected() const {
    const char* n = r_ ? PQcmdTuples(r_) : "";
    std::int64_t out = 0;
    std::from_chars(n, n + std::char_traits<char>::length(n), out);
    return out;
  }
  PGresult* raw() const { return r_; }

 private:
  PGresult* r_ = nullptr;
};

// Statement parameters in text format (NULL allowed).
class Params {
 public:
  Params& Add(std::int64_t v);
  Params& Add(int v) { return Add(static_cast<std::int64_t>(v)); }
  Params& Add(double v);
  Params& Add(std::string_view v) { return AddText(std::string(v)); }
  Params& Add(const std::string& v) { return AddText(v); }
  Params& Add(const char* v) { return AddText(std::string(v)); }
  Params& Null() {
    values_.emplace_back();
    null_.push_back(true);
    return *this;
  }
  // A bigint[] literal: {1,2,3}.
  Params& AddIntArray(const std::vector<std::int64_t>& v);

  int size() const { return static_cast<int>(values_.size()); }
  // Pointers for PQexecParams; valid while this object is unchanged.
  std::vector<const char*> Pointers() const;

 private:
  Params& AddText(std::string v) {
    values_.push_back(std::move(v));
    null_.push_back(false);
    return *this;
  }
  std::vector<std::string> values_;
  std::vector<bool> null_;
};

// Rows for COPY … FROM STDIN in text format: values separated by tabs, rows by newlines,
// backslash escapes. Text is made valid for a UTF8 database on the way: NUL bytes (which
// PostgreSQL text cannot hold) are dropped and invalid UTF-8 sequences become U+FFFD, so one
// odd byte in a customer's message can never make a whole commit fail.
class CopyRows {
 public:
  CopyRows& Int(std::int64_t v);
  CopyRows& Real(double v);
  CopyRows& Text(std::string_view v);
  CopyRows& Null() { return Sep().Raw("\\N"); }
  CopyRows& EndRow() {
    buf_.push_back('\n');
    first_ = true;
    ++rows_;
    return *this;
  }
  const std::string& data() const { return buf_; }
  std::int64_t rows() const { return rows_; }
  bool empty() const { return rows_ == 0; }
  void Clear() {
    buf_.clear();
    rows_ = 0;
    first_ = true;
  }

 private:
  CopyRows& Sep() {
    if (!first_) buf_.push_back('\t');
    first_ = false;
    return *this;
  }
  CopyRows& Raw(std::string_view v) {
    buf_.append(v);
    return *this;
  }
  std::string buf_;
  std::int64_t rows_ = 0;
  bool first_ = true;
};

// Rows for COPY … FROM STDIN (FORMAT binary): a header, tuples of big-endian integers and raw
// bytes, a trailer. For bytea columns: the server copies the bytes as they come (text format
// would double them in hex and make the server decode every byte).
class BinaryCopyRows {
 public:
  BinaryCopyRows();
  // Starts a row of `fields` values; the caller adds exactly that many.
  BinaryCopyRows& Row(int fields);
  BinaryCopyRows& Int8(std::int64_t v) { return Field(8, static_cast<std::uint64_t>(v)); }
  BinaryCopyRows& Int4(std::int32_t v) { return Field(4, static_cast<std::uint32_t>(v)); }
  BinaryCopyRows& Int2(std::int16_t v) { return Field(2, static_cast<std::uint16_t>(v)); }
  BinaryCopyRows& Bytes(std::string_view v);
  // The data to send, trailer included (call once, after the last row).
  std::string_view Finish();
  std::int64_t rows() const { return rows_; }
  bool empty() const { return rows_ == 0; }

 private:
  BinaryCopyRows& Field(int bytes, std::uint64_t v);
  void Put(int bytes, std::uint64_t v);
  std::string buf_;
  std::int64_t rows_ = 0;
};

// Text made valid for a UTF8 database (as CopyRows does): NULs dropped, bad sequences → U+FFFD.
std::string CleanText(std::string_view v);

// A one-dimensional array literal ({1,2} or {"a","b\"c"}) for a parameter cast to bigint[],
// text[], float8[] or boolean[]: batched upserts send one array per column and unnest them.
class ArrayLiteral {
 public:
  ArrayLiteral& Int(std::int64_t v);
  ArrayLiteral& Real(double v);
  ArrayLiteral& Text(std::string_view v);
  ArrayLiteral& Bool(bool v) { return Raw(v ? "t" : "f"); }
  std::string Take() {
    buf_.push_back('}');
    return std::move(buf_);
  }

 private:
  ArrayLiteral& Raw(std::string_view v) {
    Sep();
    buf_.append(v);
    return *this;
  }
  void Sep() {
    if (buf_.size() > 1) buf_.push_back(',');
  }
  std::string buf_ = "{";
};

struct ConnectOptions {
  std::string url;       // libpq URI or key=value string
  std::string password;  // empty: from the URL, PGPASSWORD or ~/.pgpass
  std::string application_name = "touchpoint";
  int connect_timeout_seconds = 5;
  // Session settings applied after connecting (and after every reconnect), e.g.
  // {"idle_session_timeout", "5s"}.
  std::vector<std::pair<std::string, std::string>> settings;
  // Reconnect transparently when the connection broke outside a transaction. Off for a lease's
  // connection: its advisory lock dies with the session, and a new session must not pretend
  // to hold it.
  bool reconnect = true;
};

class Conn {
 public:
  // kUnavailable (naming the redacted URL and libpq's reason) when the server cannot be reached
  // or refuses the login.
  static Result<std::unique_ptr<Conn>> Connect(const ConnectOptions& options);
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Runs `sql` (one or more statements without parameters).
  Status Exec(const std::string& sql);
  // `sql` (several statements allowed, no parameters); the last statement's rows.
  Result<PgResult> Run(const std::string& sql);
  // One statement with text parameters; rows in text format (binary format when `binary`).
  Result<PgResult> Query(const std::string& sql, const Params& params = {}, bool binary = false);
  // A single bigint (0 when there is no row or it is NULL).
  Result<std::int64_t> QueryInt(const std::string& sql, const Params& params = {});
  // COPY `copy_sql` (… FROM STDIN) with `rows` (text format, as CopyRows writes them).
  Status CopyIn(const std::string& copy_sql, std::string_view rows);
  Status CopyIn(const std::string& copy_sql, const CopyRows& rows) {
    return rows.empty() ? Status::Ok() : CopyIn(copy_sql, std::string_view(rows.data()));
  }
  // Streams the rows of `select_sql` to `fn` through a cursor, `batch` rows per FETCH, inside
  // the open transaction or a read-only one of its own. `fn` returns false to stop. `binary`:
  // rows in binary format (bytea as raw bytes; read integers with PgResult::BinaryInt).
  Status Scan(const std::string& select_sql, const Params& params,
              const std::function<bool(const PgResult&, int row)>& fn, int batch = 5000, bool binary = false);

  // A transaction block: BEGIN/COMMIT/ROLLBACK and whether one is open.
  Status Begin() { return Exec("BEGIN"); }
  Status Commit();
  void Rollback();
  bool in_txn() const;
  // True when the connection is usable; reconnects (once) when it is not and no transaction was
  // open. Called before every statement outside a transaction.
  bool EnsureConnected();

  // The server's reason for the last failure, as a Status: kUnavailable for connection loss,
  // lock or serialisation failures and a server shutting down (retrying may help), kAlreadyExists
  // for a unique violation, kInternal otherwise.
  Status Error(std::string_view what, const PGresult* result = nullptr) const;

  PGconn* raw() const { return conn_; }
  const std::string& redacted_url() const { return redacted_url_; }

 private:
  Conn(PGconn* conn, ConnectOptions options);
  Status ApplySettings();
  PGconn* conn_;
  ConnectOptions options_;
  std::string redacted_url_;
  int cursor_counter_ = 0;
};

}  // namespace touchpoint::store::postgres
