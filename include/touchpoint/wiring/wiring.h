// wiring/wiring.h — composition helpers shared by the two composition roots (server and cli):
// opening an engine over a store URL with its post-commit consumers, and the engine adapters
// the analytics jobs read from and write to. Only server and cli include this module; it may
// use every module below them (docs/architecture.md).
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/insight/jobs.h>
#include <touchpoint/pipeline/engine.h>
#include <touchpoint/service/desk.h>
#include <touchpoint/service/escalation.h>
#include <touchpoint/store/job_repository.h>
#include <touchpoint/store/open.h>
#include <touchpoint/store/store.h>

namespace touchpoint::wiring {

// An engine and the consumers subscribed to its hook. Destroys the engine (draining its hook)
// before the consumers it feeds.
struct OpenedEngine {
  std::unique_ptr<pipeline::Engine> engine;  // owns the writer's store and its lock
  std::shared_ptr<service::EscalationConsumer> escalation;  // null unless asked for and available
  std::shared_ptr<service::Desk> desk;  // the service desk's feed and API; null unless asked for
  ~OpenedEngine() { engine.reset(); }
};

// Opens `url` for writing (options.purpose names the writer lock's holder), loads the engine and,
// with `escalation` and text analysis on, subscribes the escalation rules writing through a
// second connection (no fsync per batch: firings are not acknowledged to anyone). With `desk`,
// the service desk on a third connection, caught up from the event log since its stored cursor
// and subscribed to the hook (service/desk.h). kUnavailable and the other store::Open errors as
// they come. `desk_options` configure the desk (deskflow's change listeners).
Result<std::unique_ptr<OpenedEngine>> OpenEngine(const std::string& url, pipeline::EngineOptions engine_options,
                                                 const store::OpenOptions& options, bool escalation,
                                                 bool desk = false, service::DeskOptions desk_options = {});

// The jobs' input from the engine: stored orders and messages mapped to live customers, and
// every live customer. With `reader` (a read-only store of the same database, owned by the
// caller and outliving this) the scans run on it, so commits are not held up: analytics never
// need the write lock. Load is called from one thread at a time (a JobRunner's worker).
class EngineActivitySource final : public insight::ActivitySource {
 public:
  explicit EngineActivitySource(pipeline::Engine& engine, store::Store* reader = nullptr)
      : engine_(engine), reader_(reader) {}
  Result<insight::Activity> Load(const insight::ActivityRequest& request) override;
  // True when Load failed (the CLI words store failures differently from a job's own errors).
  bool failed() const { return failed_; }

 private:
  pipeline::Engine& engine_;
  store::Store* reader_;
  bool failed_ = false;
};

// The jobs' tags written onto profiles through Engine::SetTags (one durable batch per Write).
class EngineTagSink final : public insight::TagSink {
 public:
  explicit EngineTagSink(pipeline::Engine& engine) : engine_(engine) {}
  Status Write(const insight::CustomerTags& tags) override;
  bool failed() const { return failed_; }

 private:
  pipeline::Engine& engine_;
  bool failed_ = false;
};

// A JobRepository safe for concurrent use over one that is not (a SQLite connection is used by
// one thread at a time; a JobRunner calls its repository from its worker and from HTTP threads).
class SerializedJobRepository final : public store::JobRepository {
 public:
  // `store` provides the repository and is owned by this object.
  explicit SerializedJobRepository(std::unique_ptr<store::Store> store)
      : store_(std::move(store)), repo_(store_->Get<store::JobRepository>()) {}
  Result<store::JobRecord> Create(const store::JobRecord& job) override;
  Status Update(const store::JobRecord& job) override;
  Result<std::optional<store::JobRecord>> Find(std::int64_t id) override;
  Result<std::vector<store::JobRecord>> Recent(int limit) override;
  Result<std::vector<store::JobRecord>> Unfinished() override;

 private:
  std::mutex mu_;
  std::unique_ptr<store::Store> store_;
  store::JobRepository& repo_;
};

}  // namespace touchpoint::wiring
