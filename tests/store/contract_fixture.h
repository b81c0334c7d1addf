// The fixture of the storage contract suites (contract_test.cc, ticket_, agent_, sla_ and
// deskflow_contract_test.cc): one store per case on the backend the parameter names — memory,
// SQLite in a temporary directory, or PostgreSQL in a fresh database on the throwaway server of
// ctest's `pg` fixture or TP_TEST_PG_URL (the case skips, saying why, when there is none). Stores
// are opened by URL through store::Open, as the composition roots open them.
//
//   class FooContractTest : public ContractFixture { … };
//   INSTANTIATE_TEST_SUITE_P(Backends, FooContractTest, kContractBackends, BackendName);
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <touchpoint/store/open.h>
#include <touchpoint/store/store.h>
#include <touchpoint/store/transaction.h>

#include "pipeline/test_dir.h"
#include "testing/matchers.h"
#include "testing/pg.h"

namespace touchpoint::store {

class ContractFixture : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string& backend = GetParam();
    if (backend == "sqlite") {
      url_ = "sqlite://" + tmp_.File("contract.db");
    } else if (backend == "memory") {
      static int counter = 0;  // memory stores are named: one name per case
      url_ = "memory:contract-" + std::to_string(counter++);
    } else if (backend == "postgres") {
      auto db = ::touchpoint::testing::PgDatabase::Create();  // a fresh database per case
      if (!db.ok()) GTEST_SKIP() << db.status().message();
      pg_ = std::move(*db);
      url_ = pg_->url();
    }
    store_ = OpenStore();
    ASSERT_NE(store_, nullptr);
  }

  std::unique_ptr<Store> OpenStore(bool read_only = false) {
    OpenOptions o;
    o.read_only = read_only;
    auto s = Open(url_, o);
    EXPECT_OK(s);
    return s.ok() ? std::move(*s) : nullptr;
  }
  // Closes and opens the store again (a restart); memory stores keep their state by name while
  // the test holds `keep_`.
  void Reopen() {
    keep_ = GetParam() == "memory" ? OpenStore() : nullptr;
    store_.reset();
    store_ = OpenStore();
    ASSERT_NE(store_, nullptr);
  }

  Store& s() { return *store_; }
  template <class R>
  R& repo() {
    return store_->Get<R>();
  }

  // Commits `fn`'s writes in one transaction.
  void InTxn(const std::function<void(Transaction&)>& fn) {
    auto txn = s().Begin();
    ASSERT_OK(txn);
    fn(**txn);
    ASSERT_OK((*txn)->Commit());
  }

  ::touchpoint::testing::TempDir tmp_;
  std::unique_ptr<::touchpoint::testing::PgDatabase> pg_;  // dropped after the stores close
  std::string url_;
  std::unique_ptr<Store> keep_;
  std::unique_ptr<Store> store_;
};

// Every backend, and the suffix each instantiated case carries (…/memory, …/sqlite, …/postgres).
inline const auto kContractBackends = ::testing::Values("memory", "sqlite", "postgres");
inline std::string BackendName(const ::testing::TestParamInfo<std::string>& p) { return p.param; }

}  // namespace touchpoint::store
