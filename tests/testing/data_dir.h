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
#include <touchpoint/wiring/wiring.h>

#include "testing/pg.h"

namespace touchpoint::testing {

using WritableDataDir = wiring::OpenedEngine;

// Locks `dir` and loads the engine over its SQLite file, as the composition roots do
// (wiring::OpenEngine); with `escalation`, subscribes the escalation rules.
inline Result<std::unique_ptr<WritableDataDir>> OpenForWriting(const std::string& dir, pipeline::EngineOptions options,
                                                               const std::string& purpose, bool escalation = false) {
  store::OpenOptions o;
  o.purpose = purpose;
  return wiring::OpenEngine(StoreUrlForDir(dir), std::move(options), o, escalation);
}

inline Result<std::unique_ptr<store::Store>> OpenReadOnly(const std::string& dir) {
  store::OpenOptions o;
  o.read_only = true;
  return store::Open(StoreUrlForDir(dir), o);
}

inline Result<std::unique_ptr<store::Store>> OpenForKeys(const std::string& dir) {
  return store::Open(StoreUrlForDir(dir), {});
}

}  // namespace touchpoint::testing
