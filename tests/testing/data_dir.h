// Test helpers: a data directory opened the way the composition roots open one (store::Open on
// the directory's store URL, then the engine), for tests of the layers below them. The URL is the
// directory's SQLite file, or with TP_TEST_STORE=postgres a PostgreSQL database of its own
// (testing/pg.h: ctest runs the end-to-end binaries once per backend).
#pragma once

#include <memory>
#include <string>

#include <touchpoint/core/result.h>
#include <touchpoint/pipeline/engine.h>
#include <touchpoint/store/open.h>
#include <touchpoint/wiring/encryption.h>
#include <touchpoint/wiring/wiring.h>

#include "testing/pg.h"

namespace touchpoint::testing {

using WritableDataDir = wiring::OpenedEngine;

// Stores the `touchpoint` binary encrypted at rest are read through their keys here too
// (wiring/encryption.h; the key at the default path, which the tests keep in a private
// XDG_CONFIG_HOME: testing/pg.cc). The test process itself never encrypts a new store.
inline void ReadEncryptedStores() {
  static const bool installed = [] {
    wiring::EnableEncryptionAtRest([](std::string_view) {
      wiring::EncryptionSettings s;
      s.enabled = false;
      return s;
    });
    return true;
  }();
  (void)installed;
}

// Locks `dir` and loads the engine over its SQLite file, as the composition roots do
// (wiring::OpenEngine); with `escalation`, subscribes the escalation rules.
inline Result<std::unique_ptr<WritableDataDir>> OpenForWriting(const std::string& dir, pipeline::EngineOptions options,
                                                               const std::string& purpose, bool escalation = false) {
  ReadEncryptedStores();
  store::OpenOptions o;
  o.purpose = purpose;
  return wiring::OpenEngine(StoreUrlForDir(dir), std::move(options), o, escalation);
}

inline Result<std::unique_ptr<store::Store>> OpenReadOnly(const std::string& dir) {
  ReadEncryptedStores();
  store::OpenOptions o;
  o.read_only = true;
  return store::Open(StoreUrlForDir(dir), o);
}

inline Result<std::unique_ptr<store::Store>> OpenForKeys(const std::string& dir) {
  ReadEncryptedStores();
  return store::Open(StoreUrlForDir(dir), {});
}

}  // namespace touchpoint::testing
