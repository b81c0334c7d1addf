#include "server/replica_internal.h"

#include <algorithm>
#include <charconv>
#include <utility>

#include <spdlog/spdlog.h>

#include <touchpoint/identity/identifier.h>
#include <touchpoint/server/node.h>
#include <touchpoint/store/change_feed.h>
#include <touchpoint/store/identifier_key.h>
#include <touchpoint/store/open.h>

namespace touchpoint::server {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Inserts `v` into the ascending vector `ids` unless it is there.
void InsertSorted(std::vector<std::int64_t>& ids, std::int64_t v) {
  auto it = std::lower_bound(ids.begin(), ids.end(), v);
  if (it == ids.end() || *it != v) ids.insert(it, v);
}

void EraseSorted(std::vector<std::int64_t>& ids, std::int64_t v) {
  auto it = std::lower_bound(ids.begin(), ids.end(), v);
  if (it != ids.end() && *it == v) ids.erase(it);
}

}  // namespace

// ---- LagTracker ----

void LagTracker::Primary(const store::ChangePoint& point, TimePoint at) {
  if (!readings_.empty() && readings_.back().seq == point.seq) {
    readings_.back().at = std::max(readings_.back().at, at);  // nothing committed since: true until now
    return;
  }
  readings_.push_back(Reading{at, point.seq});
  if (readings_.size() > kMaxReadings) readings_.pop_front();
}

void LagTracker::Replica(const store::ChangePoint& point, TimePoint at) {
  // The newest primary reading the replica has reached (taken before this replica reading).
  auto reached = readings_.end();
  for (auto it = readings_.begin(); it != readings_.end(); ++it) {
    if (it->at <= at && it->seq <= point.seq) reached = it;
  }
  if (reached == readings_.end()) return;
  current_as_of_ = std::max(current_as_of_, reached->at);
  // Older readings say less; the reached one stays (an idle primary keeps extending it).
  readings_.erase(readings_.begin(), reached);
}

double LagTracker::LagSeconds(TimePoint now) const {
  return std::max(0.0, std::chrono::duration<double>(now - current_as_of_).count());
}

// ---- Replica ----

Replica::Replica(std::unique_ptr<store::Store> primary, ReplicaOptions options, const pipeline::CustomerView& fallback,
                 NodeState* node, spdlog::logger* log)
    : options_(std::move(options)), fallback_(fallback), node_(node), log_(log), primary_(std::move(primary)) {
  if (!options_.read_url.empty()) {
    lag_.emplace(SteadyClock::now());
    Report(false, false);
  }
  thread_ = std::thread([this] { Run(); });
}

Replica::Replica(NoThread, const pipeline::CustomerView& fallback) : fallback_(fallback) { loaded_ = true; }

std::unique_ptr<Replica> Replica::ForTest(const pipeline::CustomerView& fallback) {
  return std::unique_ptr<Replica>(new Replica(NoThread{}, fallback));
}

Replica::~Replica() {
  {
    std::scoped_lock lock(stop_mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Result<pipeline::CustomerData> Replica::Find(std::string_view ref) const {
  if (!loaded_.load(std::memory_order_acquire)) return fallback_.Find(ref);
  return Collect(ref);
}

Result<Millis> Replica::NewestEventAt() const {
  if (!loaded_.load(std::memory_order_acquire)) return fallback_.NewestEventAt();
  return newest_event_at_.load(std::memory_order_relaxed);
}

// What pipeline::StoreCustomerView collects from a store (src/pipeline/engine.cc,
// CollectFromStore), from the maps: the live root, its members (breadth first, children in id
// order), their identifiers (in id order), the fold of their profiles (the root's first) and the
// merges involving them. The copy has no events to replay: a writer of several nodes writes the
// changed profiles with every commit.
Result<pipeline::CustomerData> Replica::Collect(std::string_view ref) const {
  bool by_id = false;
  std::int64_t id = 0;
  identity::Identifier identifier;
  if (!ref.empty() && ref.find(':') == std::string_view::npos) {
    auto [p, ec] = std::from_chars(ref.data(), ref.data() + ref.size(), id);
    by_id = ec == std::errc() && p == ref.data() + ref.size() && id > 0;
  }
  if (!by_id) {
    TP_ASSIGN_OR_RETURN(identifier, identity::ParseIdentifierRef(ref));
  }
  const std::string_view kind = by_id ? std::string_view() : identity::KindName(identifier.kind);

  std::shared_lock lock(mu_);
  std::int64_t start = id;
  if (!by_id) {
    start = 0;
    auto [begin, end] = identifier_by_key_.equal_range(store::IdentifierKey(kind, identifier.value));
    for (auto it = begin; it != end; ++it) {
      const store::IdentifierRecord& rec = identifiers_.at(it->second);
      if (rec.kind == kind && rec.value == identifier.value) start = rec.customer.value();
    }
    if (start == 0) {
      return Status::NotFound("no customer has " + std::string(kind) + ":" + identifier.value);
    }
  }
  std::int64_t root = start;
  const Customer* c = nullptr;
  for (int guard = 0; guard < 100000; ++guard) {
    auto it = customers_.find(root);
    if (it == customers_.end() || !it->second.known) {
      return Status::NotFound("no customer with id " + std::to_string(root));
    }
    c = &it->second;
    if (c->merged_into == 0) break;
    root = c->merged_into;
  }
  std::vector<const Customer*> members{c};
  std::vector<std::int64_t> member_ids{root};
  for (size_t i = 0; i < members.size(); ++i) {
    for (std::int64_t child : members[i]->children) {
      auto it = customers_.find(child);
      if (it == customers_.end()) continue;
      members.push_back(&it->second);
      member_ids.push_back(child);
    }
  }
  pipeline::CustomerData d;
  d.id = CustomerId(root);
  for (const Customer* m : members) {
    for (std::int64_t ident : m->identifiers) {
      const store::IdentifierRecord& rec = identifiers_.at(ident);
      auto parsed = identity::ParseKind(rec.kind);
      if (!parsed) continue;
      d.identifiers.push_back(identity::IdentityGraph::MemberIdentifier{
          identity::Identifier{*parsed, rec.value}, rec.blocked, rec.id, rec.first_seen, rec.first_message_id,
          rec.customer, rec.joins});
    }
  }
  if (members.size() > 1) {
    std::sort(d.identifiers.begin(), d.identifiers.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  }
  for (size_t i = 1; i < member_ids.size(); ++i) d.merged.emplace_back(member_ids[i]);
  bool first = true;
  for (const Customer* m : members) {
    if (m->profile == nullptr) continue;
    if (first) {
      d.profile = *m->profile;  // what absorbing it into an empty profile gives, without the work
      first = false;
    } else {
      d.profile.Absorb(*m->profile);
    }
  }
  std::vector<std::int64_t> merge_ids;
  for (const Customer* m : members) merge_ids.insert(merge_ids.end(), m->merges.begin(), m->merges.end());
  std::sort(merge_ids.begin(), merge_ids.end());
  merge_ids.erase(std::unique(merge_ids.begin(), merge_ids.end()), merge_ids.end());
  d.merges.reserve(merge_ids.size());
  for (std::int64_t m : merge_ids) d.merges.push_back(merges_.at(m));
  return d;
}

Status Replica::Apply(store::Changes&& c) {
  // Parsed outside the lock: the first load parses every profile of the installation.
  std::vector<std::pair<std::int64_t, std::unique_ptr<const profile::Profile>>> parsed;
  parsed.reserve(c.profiles.size());
  size_t corrupt = 0;
  for (store::ProfileRecord& p : c.profiles) {
    auto profile = profile::Profile::Parse(p.data);
    if (!profile.ok()) {
      ++corrupt;  // kept as it was; StoreCustomerView would fail the lookup instead
      continue;
    }
    parsed.emplace_back(p.customer.value(), std::make_unique<const profile::Profile>(std::move(*profile)));
    std::string().swap(p.data);  // the text is not needed any more: peak memory of a first load
  }
  if (corrupt > 0 && log_ != nullptr) log_->error("replica skipped unreadable profiles count={}", corrupt);

  std::unique_lock lock(mu_);
  for (const store::CustomerRecord& r : c.customers) {
    Customer& cu = customers_[r.id.value()];
    if (cu.merged_into != 0) {
      if (auto parent = customers_.find(cu.merged_into); parent != customers_.end()) {
        EraseSorted(parent->second.children, r.id.value());
      }
    }
    cu.known = true;
    cu.merged_into = r.merged_into.value();
    if (cu.merged_into != 0) InsertSorted(customers_[cu.merged_into].children, r.id.value());
  }
  for (store::IdentifierRecord& r : c.identifiers) {
    const std::int64_t id = r.id.value();
    auto it = identifiers_.find(id);
    if (it != identifiers_.end()) {  // kind, value and first sighting never change
      if (it->second.customer != r.customer) {
        EraseSorted(customers_[it->second.customer.value()].identifiers, id);
        InsertSorted(customers_[r.customer.value()].identifiers, id);
      }
      it->second.customer = r.customer;
      it->second.blocked = r.blocked;
      it->second.joins = r.joins;
      continue;
    }
    identifier_by_key_.emplace(store::IdentifierKey(r.kind, r.value), id);
    InsertSorted(customers_[r.customer.value()].identifiers, id);
    identifiers_.emplace(id, std::move(r));
  }
  for (store::MergeRecord& m : c.merges) {
    const std::int64_t id = m.id.value();
    if (auto old = merges_.find(id); old != merges_.end()) {
      EraseSorted(customers_[old->second.winner.value()].merges, id);
      EraseSorted(customers_[old->second.loser.value()].merges, id);
    }
    InsertSorted(customers_[m.winner.value()].merges, id);
    InsertSorted(customers_[m.loser.value()].merges, id);
    merges_[id] = std::move(m);
  }
  for (auto& [customer, profile] : parsed) {
    Customer& cu = customers_[customer];
    if (cu.profile == nullptr) ++profiles_;
    cu.profile = std::move(profile);  // the old one is freed under the lock: no reader holds it
  }
  // Last: an erasure deleted every row naming them, so nothing above can name them after it.
  for (CustomerId erased : c.erased) Forget(erased.value());
  lock.unlock();
  Millis newest = newest_event_at_.load(std::memory_order_relaxed);
  while (c.newest_event_at > newest &&
         !newest_event_at_.compare_exchange_weak(newest, c.newest_event_at, std::memory_order_relaxed)) {
  }
  return Status::Ok();
}

void Replica::Forget(std::int64_t customer) {
  auto it = customers_.find(customer);
  if (it == customers_.end()) return;
  Customer& cu = it->second;
  if (cu.merged_into != 0) {
    if (auto parent = customers_.find(cu.merged_into); parent != customers_.end()) {
      EraseSorted(parent->second.children, customer);
    }
  }
  for (std::int64_t child : cu.children) {  // erased with it as a rule (one person); else live again
    if (auto c = customers_.find(child); c != customers_.end() && c->second.merged_into == customer) {
      c->second.merged_into = 0;
    }
  }
  for (std::int64_t ident : cu.identifiers) {
    auto rec = identifiers_.find(ident);
    if (rec == identifiers_.end()) continue;
    auto [begin, end] = identifier_by_key_.equal_range(store::IdentifierKey(rec->second.kind, rec->second.value));
    for (auto k = begin; k != end; ++k) {
      if (k->second == ident) {
        identifier_by_key_.erase(k);
        break;
      }
    }
    identifiers_.erase(rec);
  }
  for (std::int64_t merge : cu.merges) {
    auto m = merges_.find(merge);
    if (m == merges_.end()) continue;
    const std::int64_t other =
        m->second.winner.value() == customer ? m->second.loser.value() : m->second.winner.value();
    if (auto o = customers_.find(other); o != customers_.end()) EraseSorted(o->second.merges, merge);
    merges_.erase(m);
  }
  if (cu.profile != nullptr) --profiles_;
  customers_.erase(it);
}

Replica::Sizes Replica::sizes() const {
  std::shared_lock lock(mu_);
  return Sizes{customers_.size(), identifiers_.size(), merges_.size(), profiles_};
}

void Replica::Report(bool reading_replica, bool reachable) {
  if (node_ != nullptr && lag_) node_->SetReadReplica(reading_replica, reachable, lag_->current_as_of());
}

Status Replica::Follow(bool* replica_behind) {
  *replica_behind = false;
  // The replica, when one is configured, answers and is current enough.
  if (lag_) {
    bool reachable = false;
    bool read = false;
    Status why = Status::Ok();
    if (replica_ == nullptr) {
      store::OpenOptions ro;
      ro.read_only = true;
      ro.password = options_.password;
      auto opened = store::Open(options_.read_url, ro);
      if (opened.ok() && ((*opened)->cluster() == nullptr || (*opened)->change_feed() == nullptr)) {
        opened = Status::FailedPrecondition("the read replica is not a PostgreSQL database");
      }
      if (opened.ok()) {
        replica_ = std::move(*opened);
      } else {
        why = opened.status();
      }
    }
    if (replica_ != nullptr) {
      auto point = replica_->cluster()->Committed();
      if (point.ok()) {
        reachable = true;
        lag_->Replica(*point, SteadyClock::now());
        replica_seq_ = point->seq;
        const auto lag = SteadyClock::now() - lag_->current_as_of();
        if (lag > options_.max_lag) {
          why = Status::Unavailable("the read replica lags by " +
                                    std::to_string(std::chrono::duration_cast<std::chrono::seconds>(lag).count()) +
                                    " s");
        } else if (auto changes = replica_->change_feed()->ChangesSince(mark_); changes.ok()) {
          const std::int64_t mark = changes->mark;
          TP_RETURN_IF_ERROR(Apply(std::move(*changes)));
          mark_ = std::max(mark_, mark);
          read = true;
          *replica_behind = replica_seq_ < announced_seq_;
        } else {
          why = changes.status();
        }
      } else {
        why = point.status();
      }
      if (!why.ok() && !reachable) replica_.reset();  // connect again next time
    }
    if (read != reading_replica_ && log_ != nullptr) {
      if (read) {
        log_->info("reads from the read replica");
      } else {
        log_->warn("reads from the primary: the read replica is not usable error={}", why.message());
      }
    }
    reading_replica_ = read;
    Report(read, reachable);
    if (read) return Status::Ok();
  }
  // The primary.
  if (primary_ == nullptr) return Status::Unavailable("the database is not reachable");
  store::ChangeFeed* feed = primary_->change_feed();
  if (feed == nullptr) return Status::FailedPrecondition("the store has no change feed");
  TP_ASSIGN_OR_RETURN(store::Changes changes, feed->ChangesSince(mark_));
  const std::int64_t mark = changes.mark;
  TP_RETURN_IF_ERROR(Apply(std::move(changes)));
  mark_ = std::max(mark_, mark);
  return Status::Ok();
}

void Replica::Run() {
  bool failing = false;
  bool replica_behind = false;
  bool primary_read = false;  // the primary's change point was read since the last Follow
  std::chrono::milliseconds behind_wait(10);
  for (;;) {
    {
      std::scoped_lock lock(stop_mu_);
      if (stop_) return;
    }
    Status s = Status::Ok();
    if (primary_ == nullptr) {
      store::OpenOptions ro;
      ro.read_only = true;
      ro.password = options_.password;
      auto opened = store::Open(options_.url, ro);
      if (opened.ok()) {
        primary_ = std::move(*opened);
      } else {
        s = opened.status();
      }
    }
    // The primary's change point, the reference the replica's lag is measured against (after a
    // wait below, WaitForChange's answer is that reading).
    if (s.ok() && lag_ && !primary_read && primary_->cluster() != nullptr) {
      auto point = primary_->cluster()->Committed();
      if (point.ok()) {
        lag_->Primary(*point, SteadyClock::now());
        announced_seq_ = std::max(announced_seq_, point->seq);
      }
    }
    primary_read = false;
    if (s.ok()) {
      const bool first = !loaded_.load();
      s = Follow(&replica_behind);
      if (s.ok() && first) {
        loaded_.store(true, std::memory_order_release);
        if (log_) {
          const Sizes n = sizes();
          log_->info("replica loaded customers={} identifiers={} profiles={} from={}", n.customers, n.identifiers,
                     n.profiles, reading_replica_ ? "read replica" : "primary");
        }
      }
    }
    if (!s.ok()) {
      if (!failing && log_) log_->warn("replica cannot follow the database error={}", s.message());
      failing = true;
      std::unique_lock lock(stop_mu_);
      stop_cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stop_; });
      continue;
    }
    if (failing && log_) log_->info("replica follows the database again");
    failing = false;
    if (replica_behind && behind_wait < std::chrono::milliseconds(500)) {
      // The replica has not replayed the commit the primary announced: read it again shortly
      // (20, 40, 80 … ms: a replica that stays behind is then read at the usual pace).
      behind_wait *= 2;
      std::unique_lock lock(stop_mu_);
      stop_cv_.wait_for(lock, behind_wait, [&] { return stop_; });
      continue;
    }
    if (!replica_behind) behind_wait = std::chrono::milliseconds(10);
    // Until the next commit (the change sequence) or half a second: writes without events
    // (analytics tags, splits) are picked up by the timeout.
    store::Cluster* cluster = primary_->cluster();
    if (cluster != nullptr) {
      auto next = cluster->WaitForChange(announced_seq_, std::chrono::milliseconds(500));
      if (next.ok()) {
        if (lag_) lag_->Primary(*next, SteadyClock::now());
        announced_seq_ = std::max(announced_seq_, next->seq);
        primary_read = true;
      }
    } else {
      std::unique_lock lock(stop_mu_);
      stop_cv_.wait_for(lock, std::chrono::milliseconds(500), [&] { return stop_; });
    }
  }
}

}  // namespace touchpoint::server
