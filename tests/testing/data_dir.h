// Test helpers: a data directory opened the way the composition roots open one (store::Open on
// the directory's SQLite URL, then the engine), for tests of the layers below them.
#pragma once

#include <memory>
#include <string>

#include <touchpoint/core/result.h>
#include <touchpoint/pipeline/engine.h>
#include <touchpoint/service/escalation.h>
#include <touchpoint/store/open.h>

namespace touchpoint::testing {

struct WritableDataDir {
  std::unique_ptr<pipeline::Engine> engine;  // owns the store and its writer lock
  std::shared_ptr<service::EscalationConsumer> escalation;
  ~WritableDataDir() { engine.reset(); }
};

// Locks `dir` and loads the engine over its SQLite file; with `escalation`, subscribes the
// escalation rules writing through a second connection.
inline Result<std::unique_ptr<WritableDataDir>> OpenForWriting(const std::string& dir, pipeline::EngineOptions options,
                                                               const std::string& purpose, bool escalation = false) {
  store::OpenOptions o;
  o.purpose = purpose;
  TP_ASSIGN_OR_RETURN(auto st, store::Open(store::UrlForDataDir(dir), o));
  auto out = std::make_unique<WritableDataDir>();
  TP_ASSIGN_OR_RETURN(out->engine, pipeline::Engine::Open(std::move(st), std::move(options)));
  if (escalation) {
    TP_ASSIGN_OR_RETURN(auto side, store::Open(store::UrlForDataDir(dir), {}));
    TP_ASSIGN_OR_RETURN(out->escalation, service::AttachEscalation(*out->engine, std::move(side)));
  }
  return out;
}

inline Result<std::unique_ptr<store::Store>> OpenReadOnly(const std::string& dir) {
  store::OpenOptions o;
  o.read_only = true;
  return store::Open(store::UrlForDataDir(dir), o);
}

inline Result<std::unique_ptr<store::Store>> OpenForKeys(const std::string& dir) {
  return store::Open(store::UrlForDataDir(dir), {});
}

}  // namespace touchpoint::testing
