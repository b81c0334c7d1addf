#include "store/postgres/pg.h"

#include <cstring>

namespace touchpoint::store::postgres {
namespace {

// libpq's messages end with a newline and may span lines; one line reads better in a Status.
std::string OneLine(const char* msg) {
  std::string s = msg ? msg : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (char& c : s) {
    if (c == '\n') c = ' ';
  }
  return s;
}

// Length of the valid UTF-8 sequence starting at p (0 when invalid), per RFC 3629.
size_t Utf8SequenceLength(const unsigned char* p, size_t left) {
  const unsigned char c = p[0];
  if (c < 0x80) return 1;
  size_t n;
  unsigned min;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (left < n) return 0;
  unsigned cp = c & (0xFF >> (n + 1));
  for (size_t i = 1; i < n; ++i) {
    if ((p[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

// Appends `v` cleaned (see CleanText), escaping for COPY text format when `copy` is set.
void AppendClean(std::string& out, std::string_view v, bool copy) {
  const auto* p = reinterpret_cast<const unsigned char*>(v.data());
  const size_t n = v.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c >= 0x80) {
      const size_t len = Utf8SequenceLength(p + i, n - i);
      if (len == 0) {
        out.append("\xEF\xBF\xBD");
        ++i;
      } else {
        out.append(reinterpret_cast<const char*>(p + i), len);
        i += len;
      }
      continue;
    }
    ++i;
    if (c == 0) continue;
    if (copy) {
      switch (c) {
        case '\\': out.append("\\\\"); continue;
        case '\t': out.append("\\t"); continue;
        case '\n': out.append("\\n"); continue;
        case '\r': out.append("\\r"); continue;
        default: break;
      }
    }
    out.push_back(static_cast<char>(c));
  }
}

// Appends the decimal digits of `v`.
void AppendInt(std::string& out, std::int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  out.append(buf, end);
}

// Appends the shortest decimal form of `v` that reads back exactly.
void AppendReal(std::string& out, double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  out.append(buf, end);
}

}  // namespace

std::string CleanText(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  AppendClean(out, v, false);
  return out;
}

ArrayLiteral& ArrayLiteral::Int(std::int64_t v) {
  Sep();
  AppendInt(buf_, v);
  return *this;
}

ArrayLiteral& ArrayLiteral::Real(double v) {
  Sep();
  AppendReal(buf_, v);
  return *this;
}

ArrayLiteral& ArrayLiteral::Text(std::string_view v) {
  Sep();
  buf_.push_back('"');
  const std::string clean = CleanText(v);
  for (char c : clean) {
    if (c == '"' || c == '\\') buf_.push_back('\\');
    buf_.push_back(c);
  }
  buf_.push_back('"');
  return *this;
}

Params& Params::Add(std::int64_t v) {
  std::string s;
  AppendInt(s, v);
  return AddText(std::move(s));
}

Params& Params::Add(double v) {
  std::string s;
  AppendReal(s, v);
  return AddText(std::move(s));
}

Params& Params::AddIntArray(const std::vector<std::int64_t>& v) {
  ArrayLiteral a;
  for (std::int64_t x : v) a.Int(x);
  return AddText(a.Take());
}

std::vector<const char*> Params::Pointers() const {
  std::vector<const char*> out(values_.size());
  for (size_t i = 0; i < values_.size(); ++i) out[i] = null_[i] ? nullptr : values_[i].c_str();
  return out;
}

CopyRows& CopyRows::Int(std::int64_t v) {
  Sep();
  AppendInt(buf_, v);
  return *this;
}

CopyRows& CopyRows::Real(double v) {
  Sep();
  AppendReal(buf_, v);
  return *this;
}

CopyRows& CopyRows::Text(std::string_view v) {
  Sep();
  AppendClean(buf_, v, true);
  return *this;
}

BinaryCopyRows::BinaryCopyRows() {
  // Signature, flags (no OIDs), header extension length.
  static constexpr char kSignature[] = "PGCOPY\n\377\r\n";
  buf_.append(kSignature, sizeof kSignature);  // 11 bytes: the 10 above and their NUL
  Put(4, 0);
  Put(4, 0);
}

void BinaryCopyRows::Put(int bytes, std::uint64_t v) {
  for (int i = bytes - 1; i >= 0; --i) buf_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

BinaryCopyRows& BinaryCopyRows::Row(int fields) {
  Put(2, static_cast<std::uint64_t>(fields));
  ++rows_;
  return *this;
}

BinaryCopyRows& BinaryCopyRows::Field(int bytes, std::uint64_t v) {
  Put(4, static_cast<std::uint64_t>(bytes));
  Put(bytes, v);
  return *this;
}

BinaryCopyRows& BinaryCopyRows::Bytes(std::string_view v) {
  Put(4, v.size());
  buf_.append(v);
  return *this;
}

std::string_view BinaryCopyRows::Finish() {
  Put(2, 0xffff);  // -1: no more tuples
  return buf_;
}

Result<std::unique_ptr<Conn>> Conn::Connect(const ConnectOptions& options) {
  const std::string timeout = std::to_string(options.connect_timeout_seconds);
  std::vector<const char*> keys{"dbname", "application_name", "connect_timeout"};
  std::vector<const char*> values{options.url.c_str(), options.application_name.c_str(), timeout.c_str()};
  if (!options.password.empty()) {
    keys.push_back("password");
    values.push_back(options.password.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  // expand_dbname = 1: the URL in "dbname" is parsed; the later keys override its parts.
  PGconn* conn = PQconnectdbParams(keys.data(), values.data(), 1);
  if (conn == nullptr) return Status::Unavailable("cannot connect to PostgreSQL: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string msg = OneLine(PQerrorMessage(conn));
    PQfinish(conn);
    return Status::Unavailable("cannot connect to PostgreSQL: " + msg);
  }
  std::unique_ptr<Conn> c(new Conn(conn, options));
  TP_RETURN_IF_ERROR(c->ApplySettings());
  return c;
}

Conn::Conn(PGconn* conn, ConnectOptions options) : conn_(conn), options_(std::move(options)) {
  // Server notices (e.g. "relation already exists, skipping") are not for the user's terminal.
  PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
}

Conn::~Conn() { PQfinish(conn_); }

Status Conn::ApplySettings() {
  for (const auto& [name, value] : options_.settings) {
    TP_RETURN_IF_ERROR(Query("SELECT set_config($1, $2, false)", Params().Add(name).Add(value)).status());
  }
  return Status::Ok();
}

bool Conn::in_txn() const {
  const PGTransactionStatusType t = PQtransactionStatus(conn_);
  return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

bool Conn::EnsureConnected() {
  if (PQstatus(conn_) == CONNECTION_OK) return true;
  if (!options_.reconnect) return false;
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK) return false;
  return ApplySettings().ok();
}

Status Conn::Error(std::string_view what, const PGresult* result) const {
  std::string msg = OneLine(result ? PQresultErrorMessage(result) : PQerrorMessage(conn_));
  if (msg.empty()) msg = OneLine(PQerrorMessage(conn_));
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const std::string sqlstate = state ? state : "";
  std::string text = std::string(what) + ": " + msg;
  if (PQstatus(conn_) != CONNECTION_OK) return Status::Unavailable(text);
  if (sqlstate == "23505" || sqlstate == "23P01") return Status::AlreadyExists(text);  // unique, exclusion
  // 08 connection, 40 serialisation/deadlock, 53 resources, 55P03 lock not available, 57 operator
  // intervention (shutdown, idle-session timeout).
  if (sqlstate.rfind("08", 0) == 0 || sqlstate.rfind("40", 0) == 0 || sqlstate.rfind("53", 0) == 0 ||
      sqlstate == "55P03" || sqlstate.rfind("57", 0) == 0 || sqlstate.empty()) {
    return Status::Unavailable(text);
  }
  return Status::Internal(text);
}

Result<PgResult> Conn::Run(const std::string& sql) {
  if (!in_txn() && !EnsureConnected()) return Error("reconnect");
  PgResult r(PQexec(conn_, sql.c_str()));
  const ExecStatusType st = PQresultStatus(r.raw());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return Error("statement failed", r.raw());
  return r;
}

Status Conn::Exec(const std::string& sql) { return Run(sql).status(); }

Result<PgResult> Conn::Query(const std::string& sql, const Params& params, bool binary) {
  if (!in_txn() && !EnsureConnected()) return Error("reconnect");
  const auto ptrs = params.Pointers();
  PgResult r(PQexecParams(conn_, sql.c_str(), params.size(), nullptr, ptrs.data(), nullptr, nullptr, binary ? 1 : 0));
  const ExecStatusType st = PQresultStatus(r.raw());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return Error("query failed", r.raw());
  return r;
}

Result<std::int64_t> Conn::QueryInt(const std::string& sql, const Params& params) {
  TP_ASSIGN_OR_RETURN(PgResult r, Query(sql, params));
  if (r.rows() == 0 || r.IsNull(0, 0)) return std::int64_t{0};
  return r.Int(0, 0);
}

Status Conn::CopyIn(const std::string& copy_sql, std::string_view data) {
  if (data.empty()) return Status::Ok();
  {
    PgResult r(PQexec(conn_, copy_sql.c_str()));
    if (PQresultStatus(r.raw()) != PGRES_COPY_IN) return Error("start COPY", r.raw());
  }
  // In pieces: libpq buffers what it cannot send at once, so one call with 100 MB would double
  // the memory held.
  constexpr size_t kPiece = 1 << 20;
  for (size_t off = 0; off < data.size(); off += kPiece) {
    const size_t n = std::min(kPiece, data.size() - off);
    if (PQputCopyData(conn_, data.data() + off, static_cast<int>(n)) != 1) {
      PQputCopyEnd(conn_, "send failed");
      while (PGresult* r = PQgetResult(conn_)) PQclear(r);
      return Error("send COPY data");
    }
  }
  if (PQputCopyEnd(conn_, nullptr) != 1) return Error("end COPY");
  Status status = Status::Ok();
  while (PGresult* raw = PQgetResult(conn_)) {
    PgResult r(raw);
    if (PQresultStatus(raw) != PGRES_COMMAND_OK && status.ok()) status = Error("COPY failed", raw);
  }
  return status;
}

Status Conn::Scan(const std::string& select_sql, const Params& params,
                  const std::function<bool(const PgResult&, int row)>& fn, int batch, bool binary) {
  const bool own_txn = !in_txn();
  if (own_txn) TP_RETURN_IF_ERROR(Exec("BEGIN READ ONLY"));
  const std::string cursor = "tp_scan_" + std::to_string(++cursor_counter_);
  Status s = [&]() -> Status {
    TP_RETURN_IF_ERROR(Query("DECLARE " + cursor + " NO SCROLL CURSOR FOR " + select_sql, params).status());
    const std::string fetch = "FETCH " + std::to_string(batch) + " FROM " + cursor;
    for (;;) {
      TP_ASSIGN_OR_RETURN(PgResult r, Query(fetch, {}, binary));
      const int n = r.rows();
      for (int i = 0; i < n; ++i) {
        if (!fn(r, i)) return Status::Ok();
      }
      if (n < batch) return Status::Ok();
    }
  }();
  if (own_txn) {
    if (s.ok()) {
      s = Exec("COMMIT");
    } else {
      Rollback();
    }
  } else if (s.ok()) {
    s = Exec("CLOSE " + cursor);
  }
  return s;
}

Status Conn::Commit() {
  PgResult r(PQexec(conn_, "COMMIT"));
  if (PQresultStatus(r.raw()) != PGRES_COMMAND_OK) return Error("commit", r.raw());
  // A transaction that failed earlier answers COMMIT with ROLLBACK (and no error).
  if (std::strcmp(PQcmdStatus(r.raw()), "ROLLBACK") == 0) return Status::Unavailable("commit: rolled back");
  return Status::Ok();
}

void Conn::Rollback() {
  if (PQstatus(conn_) != CONNECTION_OK) return;
  PgResult r(PQexec(conn_, "ROLLBACK"));
}

}  // namespace touchpoint::store::postgres
