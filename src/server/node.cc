// The node loop of several nodes on one database (server/node.h) and `touchpoint serve`.
//
// One loop thread owns the App and the role: every tick it steps a failed writer down, lets a
// follower try to take the lease, heartbeats the registry row, refreshes the writer's address and
// reads the committed change point. A second thread (LeaseKeeper) checks the lease twice per tick
// while this node writes, also while the loop is busy starting a writer App (loading the engine
// can take longer than the database's lease timeout).
#include <touchpoint/server/node.h>

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <optional>
#include <thread>
#include <utility>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <touchpoint/core/secret_file.h>
#include <touchpoint/server/app.h>
#include <touchpoint/store/cluster.h>
#include <touchpoint/store/open.h>

namespace touchpoint::server {
namespace {

using SteadyClock = std::chrono::steady_clock;

std::shared_ptr<spdlog::logger> MakeNodeLogger(const std::string& level) {
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>("node", sink);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %n %v", spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::info);
  return logger;
}

std::string HostPort(const std::string& host, uint16_t port) {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

// Holds the writer lease and checks it every `period` on a thread of its own; calls `on_lost`
// once when a check fails. Destroying it stops the checks and then releases the lease.
class LeaseKeeper {
 public:
  LeaseKeeper(std::unique_ptr<store::WriterLease> lease, std::chrono::milliseconds period,
              std::function<void(const Status&)> on_lost)
      : lease_(std::move(lease)), period_(period), on_lost_(std::move(on_lost)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~LeaseKeeper() {
    {
      std::scoped_lock lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  std::int64_t epoch() const { return lease_->epoch(); }

 private:
  void Run() {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, period_, [&] { return stop_; })) {
      lock.unlock();
      Status s = lease_->Check();
      if (!s.ok()) {
        on_lost_(s);
        return;
      }
      lock.lock();
    }
  }

  std::unique_ptr<store::WriterLease> lease_;
  const std::chrono::milliseconds period_;
  std::function<void(const Status&)> on_lost_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace

std::string_view NodeRoleName(NodeRole role) {
  switch (role) {
    case NodeRole::kSingle:
      return "single";
    case NodeRole::kWriter:
      return "writer";
    case NodeRole::kFollower:
      return "follower";
  }
  return "single";
}

// ---- NodeState ----

NodeState::NodeState(std::string node_id, std::string address)
    : node_id_(std::move(node_id)), address_(std::move(address)), committed_seen_at_(SteadyClock::now()) {}

NodeState::Snapshot NodeState::Get() const {
  std::scoped_lock lock(mu_);
  Snapshot s;
  s.role = role_;
  s.epoch = epoch_;
  s.address = address_;
  s.writer_address = writer_address_;
  s.committed_seq = committed_seq_;
  if (role_ == NodeRole::kFollower) {
    s.lag_seconds = std::chrono::duration<double>(SteadyClock::now() - committed_seen_at_).count();
  }
  if (read_replica_) {
    s.read_replica = true;
    s.reads_on_replica = reads_on_replica_;
    s.replica_reachable = replica_reachable_;
    s.replica_lag_seconds = std::chrono::duration<double>(SteadyClock::now() - replica_current_as_of_).count();
  }
  return s;
}

void NodeState::SetReadReplica(bool reads_on_replica, bool reachable, SteadyClock::time_point current_as_of) {
  std::scoped_lock lock(mu_);
  read_replica_ = true;
  reads_on_replica_ = reads_on_replica;
  replica_reachable_ = reachable;
  replica_current_as_of_ = current_as_of;
}

void NodeState::SetRole(NodeRole role, std::int64_t epoch) {
  std::scoped_lock lock(mu_);
  if (role_ != role) committed_seen_at_ = SteadyClock::now();  // a new follower starts current
  if (role != NodeRole::kFollower) read_replica_ = false;  // only followers read a replica
  role_ = role;
  epoch_ = epoch;
}

void NodeState::SetAddress(std::string address) {
  std::scoped_lock lock(mu_);
  address_ = std::move(address);
}

void NodeState::SetWriter(std::string address) {
  std::scoped_lock lock(mu_);
  writer_address_ = std::move(address);
}

void NodeState::SawCommitted(std::int64_t seq) {
  std::scoped_lock lock(mu_);
  committed_seq_ = std::max(committed_seq_, seq);
  committed_seen_at_ = SteadyClock::now();
}

void NodeState::ReportWriteFailure(const Status& status) {
  std::function<void(const Status&)> call;
  {
    std::scoped_lock lock(mu_);
    call = on_failure_;
  }
  if (call) call(status);
}

void NodeState::OnWriteFailure(std::function<void(const Status&)> on_failure) {
  std::scoped_lock lock(mu_);
  on_failure_ = std::move(on_failure);
}

// ---- the cluster secret ----

Result<std::string> ClusterSecret(const ServerConfig& config) {
  std::string secret = config.cluster_secret;
  if (secret.empty() && !config.cluster_secret_file.empty()) {
    auto read = ReadSecretFile(config.cluster_secret_file);
    if (!read.ok()) return Status::InvalidArgument("cluster.secret_file: " + read.status().message());
    secret = std::move(*read);
  }
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!secret.empty() && space(secret.back())) secret.pop_back();
  size_t start = 0;
  while (start < secret.size() && space(secret[start])) ++start;
  secret.erase(0, start);
  if (!secret.empty() && secret.size() < 16) {
    return Status::InvalidArgument("the cluster secret must be at least 16 bytes (e.g. `openssl rand -hex 32`)");
  }
  return secret;
}

// ---- Node ----

class Node::Impl {
 public:
  ServerConfig config;  // listen: the bound port once known, so a role switch reuses it
  NodeOptions options;
  std::shared_ptr<spdlog::logger> log;
  std::string secret;
  std::unique_ptr<store::Store> control;  // its cluster(): election, registry, change sequence
  store::Cluster* cluster = nullptr;      // null: a single App
  std::unique_ptr<NodeState> state;
  std::string host;
  uint16_t port = 0;

  // Loop thread only (and Start/Stop around it).
  std::unique_ptr<App> app;
  std::unique_ptr<LeaseKeeper> keeper;
  SteadyClock::time_point next_promotion = SteadyClock::now();
  bool registry_ok = true;  // for logging changes only

  mutable std::mutex mu;
  mutable std::condition_variable cv;
  bool stopping = false;          // guarded by mu
  bool wake = false;              // guarded by mu
  std::optional<Status> failure;  // guarded by mu: the writer's lease or commits failed
  std::int64_t writer_epoch = 0;  // guarded by mu: the epoch `failure` is about
  std::thread loop;
  std::mutex stop_mu;
  bool stopped = false;  // guarded by stop_mu

  NodeRole role() const { return state->Get().role; }

  void SetRole(NodeRole role, std::int64_t epoch) {
    state->SetRole(role, epoch);
    {
      std::scoped_lock lock(mu);
      writer_epoch = role == NodeRole::kWriter ? epoch : 0;
      failure.reset();
    }
    cv.notify_all();
  }

  // From the keeper's thread or a request handler: the writer of `epoch` must stop writing.
  void Fail(const Status& status, std::int64_t epoch) {
    {
      std::scoped_lock lock(mu);
      if (epoch == 0 || epoch != writer_epoch || failure) return;
      failure = status;
      wake = true;
    }
    cv.notify_all();
  }

  Status StartApp(NodeRole role, std::int64_t epoch) {
    auto started = App::Start(
        config, AppRole{.role = role, .epoch = epoch, .node = state.get(), .cluster_secret = secret});
    if (!started.ok()) return started.status();
    app = std::move(*started);
    if (port == 0) {
      port = app->port();
      config.listen = HostPort(host, port);
      if (config.advertise.empty()) state->SetAddress(HostPort(host, port));
    }
    return Status::Ok();
  }

  void StartFollower() {
    Status s = StartApp(NodeRole::kFollower, 0);
    if (!s.ok()) {
      log->error("follower could not start (retrying every tick) error={}", s.message());
      return;
    }
    SetRole(NodeRole::kFollower, 0);
  }

  // This node won the election: the follower App makes way for a writer App on the same port.
  void Promote(std::unique_ptr<store::WriterLease> lease) {
    const std::int64_t epoch = lease->epoch();
    log->info("elected writer epoch={}", epoch);
    keeper = std::make_unique<LeaseKeeper>(std::move(lease),
                                           std::max(options.tick / 2, std::chrono::milliseconds(50)),
                                           [this, epoch](const Status& s) { Fail(s, epoch); });
    if (app) {
      app->Stop();  // the port is closed until the writer listens
      app.reset();
    }
    Status s = StartApp(NodeRole::kWriter, epoch);
    if (!s.ok()) {
      log->error("writer could not start epoch={} error={}", epoch, s.message());
      keeper.reset();  // frees the lock for another node
      next_promotion = SteadyClock::now() + options.promotion_backoff;
      StartFollower();
      return;
    }
    SetRole(NodeRole::kWriter, epoch);
    state->SetWriter(state->Get().address);
    Heartbeat();
  }

  // The lease or a commit failed: nothing more can commit (the store is fenced or gone).
  void StepDown(const Status& why) {
    const std::int64_t epoch = state->Get().epoch;
    log->warn("stepping down epoch={} reason={}", epoch, why.message());
    if (app) {
      app->Stop();  // requests in flight finish; their commits fail and are answered 503
      app.reset();
    }
    keeper.reset();
    state->SetWriter("");
    next_promotion = SteadyClock::now() + options.step_down_backoff;
    SetRole(NodeRole::kFollower, 0);
    StartFollower();
    Heartbeat();
  }

  void Heartbeat() {
    const NodeState::Snapshot s = state->Get();
    Status hb =
        cluster->Heartbeat(store::NodeRecord{.id = state->node_id(),
                                             .address = s.address,
                                             .role = s.role == NodeRole::kWriter ? "writer" : "follower",
                                             .epoch = s.epoch,
                                             .heartbeat_at = 0});
    if (hb.ok() != registry_ok) {
      registry_ok = hb.ok();
      if (hb.ok()) {
        log->info("database reachable again");
      } else {
        log->warn("database unreachable error={}", hb.message());
      }
    }
  }

  // Followers forward to the registered writer of the current epoch (a stale row of an earlier
  // writer never matches).
  void RefreshWriter() {
    const NodeState::Snapshot s = state->Get();
    if (s.role == NodeRole::kWriter) return;
    auto nodes = cluster->Nodes();
    auto epoch = cluster->CurrentEpoch();
    if (!nodes.ok() || !epoch.ok()) return;  // keep the last known address: the writer may still answer
    std::string writer;
    for (const store::NodeRecord& n : *nodes) {
      if (n.role == "writer" && n.epoch == *epoch) writer = n.address;
    }
    state->SetWriter(std::move(writer));
  }

  void Tick() {
    if (role() == NodeRole::kWriter) {
      std::optional<Status> failed;
      {
        std::scoped_lock lock(mu);
        failed = failure;
      }
      if (failed) StepDown(*failed);
    }
    if (role() != NodeRole::kWriter && SteadyClock::now() >= next_promotion) {
      auto lease = cluster->TryAcquire(state->node_id());
      if (lease.ok() && *lease != nullptr) Promote(std::move(*lease));
    }
    if (app == nullptr) StartFollower();
    Heartbeat();
    RefreshWriter();
    if (auto committed = cluster->Committed(); committed.ok()) state->SawCommitted(committed->seq);
  }

  void Loop() {
    std::unique_lock lock(mu);
    while (!stopping) {
      lock.unlock();
      Tick();
      lock.lock();
      cv.wait_for(lock, options.tick, [&] { return stopping || wake; });
      wake = false;
    }
  }
};

Node::Node(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Node::~Node() { Stop(); }

Result<std::unique_ptr<Node>> Node::Start(const ServerConfig& config, NodeOptions options) {
  TP_RETURN_IF_ERROR(ValidateConfig(config));
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->options = options;
  impl->log = MakeNodeLogger(config.log_level);
  TP_RETURN_IF_ERROR(ParseListen(config.listen, &impl->host, &impl->port));
  TP_ASSIGN_OR_RETURN(impl->secret, ClusterSecret(config));

  // Several nodes need a store with cluster() (PostgreSQL) and a cluster secret. Without a secret
  // a node is single: it takes the store's writer lock, and a second one is refused by it. SQLite
  // and a process's private memory store never have other nodes.
  const std::string url = StoreUrlFor(config);
  if (!config.store_read_url.empty() && url.rfind("postgres", 0) != 0) {
    return Status::InvalidArgument("store.read_url (--store-read) needs a PostgreSQL store (--store postgresql://…)");
  }
  if (!impl->secret.empty() && url.rfind("sqlite:", 0) != 0 && url != "memory:") {
    store::OpenOptions control;  // creates or migrates the schema (an election needs it); no lock
    control.cache_mib = 4;
    TP_ASSIGN_OR_RETURN(control.password, StorePassword(config));
    TP_ASSIGN_OR_RETURN(impl->control, store::Open(url, control));
    impl->cluster = impl->control->cluster();
    if (impl->cluster == nullptr) impl->control.reset();
  }
  if (impl->cluster == nullptr) {
    auto app = App::Start(config);
    if (!app.ok()) {
      if (app.status().code() == StatusCode::kUnavailable && url.rfind("postgres", 0) == 0) {
        // Most likely the writer lock: say how to run several nodes instead.
        return Status::Unavailable(app.status().message() +
                                   " (several nodes on one database: give each the same [cluster] secret_file, "
                                   "--cluster-secret-file)");
      }
      return app.status();
    }
    impl->app = std::move(*app);
    impl->port = impl->app->port();
    impl->state = std::make_unique<NodeState>("", HostPort(impl->host, impl->port));
    return std::unique_ptr<Node>(new Node(std::move(impl)));
  }

  if (config.advertise.empty() && (impl->host == "0.0.0.0" || impl->host == "::")) {
    return Status::InvalidArgument(
        "listening on " + config.listen +
        ": set [cluster] advertise (or --advertise) to the address other nodes reach this one at");
  }
  const std::string address = config.advertise.empty() ? HostPort(impl->host, impl->port) : config.advertise;
  // With port 0 (tests) the address is known only once listening: such a node starts as a
  // follower and runs for election at its first tick.
  impl->state = std::make_unique<NodeState>(config.node_id.empty() ? address : config.node_id, address);
  Impl* raw = impl.get();
  impl->state->OnWriteFailure([raw](const Status& s) { raw->Fail(s, raw->state->Get().epoch); });

  std::unique_ptr<store::WriterLease> lease;
  if (impl->port != 0) {
    auto acquired = impl->cluster->TryAcquire(impl->state->node_id());
    if (!acquired.ok()) return acquired.status();
    lease = std::move(*acquired);
  }
  if (lease != nullptr) {
    const std::int64_t epoch = lease->epoch();
    impl->keeper = std::make_unique<LeaseKeeper>(std::move(lease),
                                                 std::max(options.tick / 2, std::chrono::milliseconds(50)),
                                                 [raw, epoch](const Status& s) { raw->Fail(s, epoch); });
    TP_RETURN_IF_ERROR(impl->StartApp(NodeRole::kWriter, epoch));
    impl->SetRole(NodeRole::kWriter, epoch);
    impl->state->SetWriter(address);
    impl->log->info("elected writer epoch={}", epoch);
  } else {
    TP_RETURN_IF_ERROR(impl->StartApp(NodeRole::kFollower, 0));
    impl->SetRole(NodeRole::kFollower, 0);
  }
  impl->Heartbeat();
  impl->loop = std::thread([raw] { raw->Loop(); });
  return std::unique_ptr<Node>(new Node(std::move(impl)));
}

NodeRole Node::role() const { return impl_->role(); }
std::int64_t Node::epoch() const { return impl_->state->Get().epoch; }
uint16_t Node::port() const { return impl_->port; }
const std::string& Node::host() const { return impl_->host; }
NodeState::Snapshot Node::state() const { return impl_->state->Get(); }

bool Node::WaitForRole(NodeRole role, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [&] { return impl_->role() == role; });
}

void Node::Stop() {
  std::scoped_lock stop_lock(impl_->stop_mu);  // a second caller returns once the first is done
  if (impl_->stopped) return;
  impl_->stopped = true;
  {
    std::scoped_lock lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->loop.joinable()) impl_->loop.join();
  if (impl_->app) {
    impl_->app->Stop();
    impl_->app.reset();
  }
  impl_->keeper.reset();  // releases the lease: another node may be elected at once
  if (impl_->cluster != nullptr) {
    if (Status s = impl_->cluster->Leave(impl_->state->node_id()); !s.ok()) {
      impl_->log->warn("leaving the registry failed error={}", s.message());
    }
    impl_->cluster = nullptr;
  }
  impl_->control.reset();
}

// ---- touchpoint serve ----

int RunServe(const ServerConfig& config) {
  if (Status s = ValidateConfig(config); !s.ok()) {
    std::fprintf(stderr, "touchpoint: %s\n", s.message().c_str());
    return 2;
  }
  // Block the stop signals before any thread starts, so every thread inherits the mask and only
  // sigwait below sees them (no async-signal-unsafe handler runs).
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  auto node = Node::Start(config);
  if (!node.ok()) {
    std::fprintf(stderr, "touchpoint: %s\n", node.status().message().c_str());
    return node.status().code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  std::printf("touchpoint listening on %s://%s\n", TlsEnabled(config) ? "https" : "http",
              HostPort((*node)->host(), (*node)->port()).c_str());
  std::fflush(stdout);

  // This thread is the signal thread: it waits for SIGTERM/SIGINT and then stops gracefully.
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
  }
  (*node)->Stop();
  return 0;
}

}  // namespace touchpoint::server
