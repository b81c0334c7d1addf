// Test helpers for the PostgreSQL backend: the throwaway server that ctest's `pg` fixture starts
// (scripts/pgtest.sh; tests/CMakeLists.txt) and a fresh database per test case on it.
#pragma once

#include <memory>
#include <string>

#include <touchpoint/core/result.h>

namespace touchpoint::testing {

// A database of its own on the test server, dropped (sessions and all) when destroyed.
class PgDatabase {
 public:
  // kUnavailable with the reason when there is no test server: the binary was built without
  // PostgreSQL, or neither TP_TEST_PG_URL nor the fixture's url file names one (the reason says
  // which, and how to start one: scripts/pgtest.sh start build/dev/pgtest).
  static Result<std::unique_ptr<PgDatabase>> Create();
  ~PgDatabase();
  PgDatabase(const PgDatabase&) = delete;
  PgDatabase& operator=(const PgDatabase&) = delete;

  // postgresql://…/<its name>
  const std::string& url() const { return url_; }
  const std::string& admin_url() const { return admin_url_; }
  const std::string& name() const { return name_; }
  // Runs `sql` on this database (test set-up and inspection).
  Status Exec(const std::string& sql) const;
  // The first column of the first row of `sql`, as text ("" when no row).
  Result<std::string> QueryValue(const std::string& sql) const;

 private:
  PgDatabase(std::string admin_url, std::string name, std::string url)
      : admin_url_(std::move(admin_url)), name_(std::move(name)), url_(std::move(url)) {}
  std::string admin_url_;
  std::string name_;
  std::string url_;
};

// The first column of the first row of `sql` run on the database at `url` ("" when no row).
Result<std::string> QueryValueAt(const std::string& url, const std::string& sql);

// `url` with its database name replaced by `database`.
std::string WithDatabase(const std::string& url, const std::string& database);

// The backend of the end-to-end tests (engine, server, CLI): SQLite by default; PostgreSQL when
// the environment has TP_TEST_STORE=postgres (ctest runs those binaries once per backend, the
// second time with that variable: tests/CMakeLists.txt). On PostgreSQL without a test server,
// every test of the binary skips, saying why.
bool TestOnPostgres();
// The store URL of the data directory `dir`: its SQLite file, or on PostgreSQL a database created
// for it on first use (dropped when the test process exits).
std::string StoreUrlForDir(const std::string& dir);

}  // namespace touchpoint::testing

// Skips the current test (with the reason) when there is no PostgreSQL test server; otherwise
// declares `var` (std::unique_ptr<PgDatabase>).
#define TP_PG_DATABASE_OR_SKIP(var)                                          \
  auto var##_created = ::touchpoint::testing::PgDatabase::Create();          \
  if (!var##_created.ok()) GTEST_SKIP() << var##_created.status().message(); \
  std::unique_ptr<::touchpoint::testing::PgDatabase> var = std::move(*var##_created)
