#include "testing/pg.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include <touchpoint/store/open.h>

#ifdef TP_WITH_POSTGRES
#include <libpq-fe.h>
#endif

namespace touchpoint::testing {
namespace {

std::string ReadFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

#ifdef TP_WITH_POSTGRES
Result<std::string> Run(const std::string& url, const std::string& sql) {
  PGconn* c = PQconnectdb(url.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(c);
    PQfinish(c);
    return Status::Unavailable("test PostgreSQL server unreachable: " + msg);
  }
  PQsetNoticeProcessor(c, [](void*, const char*) {}, nullptr);
  PGresult* r = PQexec(c, sql.c_str());
  const ExecStatusType st = PQresultStatus(r);
  std::string out;
  Status status = Status::Ok();
  if (st == PGRES_TUPLES_OK) {
    if (PQntuples(r) > 0) out = PQgetvalue(r, 0, 0);
  } else if (st != PGRES_COMMAND_OK) {
    status = Status::Internal(sql + ": " + PQresultErrorMessage(r));
  }
  PQclear(r);
  PQfinish(c);
  if (!status.ok()) return status;
  return out;
}
#endif

}  // namespace

std::string WithDatabase(const std::string& url, const std::string& database) {
  const size_t scheme = url.find("://");
  const size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  const size_t query = url.find('?');
  std::string out = slash == std::string::npos ? url.substr(0, query) : url.substr(0, slash);
  out += "/" + database;
  if (query != std::string::npos) out += url.substr(query);
  return out;
}

Result<std::unique_ptr<PgDatabase>> PgDatabase::Create() {
#ifndef TP_WITH_POSTGRES
  return Status::Unavailable("PostgreSQL test skipped: this build has no PostgreSQL backend (TP_WITH_POSTGRES=OFF)");
#else
  std::string admin;
  if (const char* env = std::getenv("TP_TEST_PG_URL"); env != nullptr && *env != '\0') {
    admin = env;
  } else {
    admin = ReadFirstLine(std::string(TP_PGTEST_DIR) + "/url");
  }
  if (admin.empty()) {
    std::string why = ReadFirstLine(std::string(TP_PGTEST_DIR) + "/unavailable");
    if (why.empty()) {
      why = "no test server is running (ctest starts one; by hand: scripts/pgtest.sh start " +
            std::string(TP_PGTEST_DIR) + ", or set TP_TEST_PG_URL)";
    }
    return Status::Unavailable("PostgreSQL test skipped: " + why);
  }
  static std::atomic<int> counter{0};
  const std::string name = "tp_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++);
  auto created = Run(admin, "CREATE DATABASE " + name);
  if (!created.ok()) return created.status();
  return std::unique_ptr<PgDatabase>(new PgDatabase(admin, name, WithDatabase(admin, name)));
#endif
}

PgDatabase::~PgDatabase() {
#ifdef TP_WITH_POSTGRES
  (void)Run(admin_url_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
#endif
}

Status PgDatabase::Exec(const std::string& sql) const {
#ifdef TP_WITH_POSTGRES
  return Run(url_, sql).status();
#else
  (void)sql;
  return Status::Unavailable("no PostgreSQL");
#endif
}

Result<std::string> PgDatabase::QueryValue(const std::string& sql) const {
#ifdef TP_WITH_POSTGRES
  return Run(url_, sql);
#else
  (void)sql;
  return Status::Unavailable("no PostgreSQL");
#endif
}

Result<std::string> QueryValueAt(const std::string& url, const std::string& sql) {
#ifdef TP_WITH_POSTGRES
  return Run(url, sql);
#else
  (void)url;
  (void)sql;
  return Status::Unavailable("no PostgreSQL");
#endif
}

namespace {
// Encryption at rest creates the master key at the default path (~/.config/touchpoint) when a
// command writes a new data directory. The end-to-end tests (which link this file) run with
// XDG_CONFIG_HOME in a temporary directory of their own unless it is set already, so that
// neither they nor the binaries they start ever write to the real home.
const bool kPrivateConfigHome = [] {
  if (std::getenv("XDG_CONFIG_HOME") != nullptr) return false;
  std::string templ = std::filesystem::temp_directory_path().string() + "/tp-test-config-XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) return false;
  ::setenv("XDG_CONFIG_HOME", templ.c_str(), 1);
  return true;
}();
}  // namespace

bool TestOnPostgres() {
  const char* v = std::getenv("TP_TEST_STORE");
  return v != nullptr && std::string(v) == "postgres";
}

std::string StoreUrlForDir(const std::string& dir) {
  if (!TestOnPostgres()) return store::UrlForDataDir(dir);
  static std::mutex mu;
  // Never freed: the databases are dropped by the process-exit hook below, after every test.
  static auto* databases = new std::map<std::string, std::unique_ptr<PgDatabase>>();
  std::scoped_lock lock(mu);
  auto& db = (*databases)[dir];
  if (db == nullptr) {
    auto created = PgDatabase::Create();
    if (!created.ok()) return "postgresql://unavailable/" + created.status().message();
    db = std::move(*created);
    static bool registered = false;
    if (!registered) {
      registered = true;
      std::atexit([] {
        std::scoped_lock l(mu);
        databases->clear();
      });
    }
  }
  return db->url();
}

namespace {

// With TP_TEST_STORE=postgres and no server, every test of the binary skips with the reason.
class PostgresBackendEnvironment final : public ::testing::Environment {
 public:
  void SetUp() override {
    if (!TestOnPostgres()) return;
    auto probe = PgDatabase::Create();
    if (!probe.ok()) GTEST_SKIP() << probe.status().message();
  }
};

[[maybe_unused]] const auto* const kRegistered =
    ::testing::AddGlobalTestEnvironment(new PostgresBackendEnvironment());  // owned by gtest

}  // namespace

}  // namespace touchpoint::testing
