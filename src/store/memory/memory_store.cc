// The memory adapter: every repository over plain containers behind one mutex. Transactions
// buffer their writes as closures and apply them under the lock at Commit (all or nothing).
// Named stores also implement store/cluster.h: the writer lease, the epoch that fences stale
// writers, the node registry and the change sequence live in the shared state.
#include <touchpoint/core/strings.h>
#include <touchpoint/store/memory.h>

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include <touchpoint/core/time.h>
#include <touchpoint/store/activity_repository.h>
#include <touchpoint/store/agent_repository.h>
#include <touchpoint/store/api_key_repository.h>
#include <touchpoint/store/audit_repository.h>
#include <touchpoint/store/channel_repository.h>
#include <touchpoint/store/consent_repository.h>
#include <touchpoint/store/dp_budget_repository.h>
#include <touchpoint/store/erasure_repository.h>
#include <touchpoint/store/suppression_repository.h>
#include <touchpoint/store/escalation_repository.h>
#include <touchpoint/store/identity_repository.h>
#include <touchpoint/store/job_repository.h>
#include <touchpoint/store/keyring_repository.h>
#include <touchpoint/store/rekey_repository.h>
#include <touchpoint/store/outbox_repository.h>
#include <touchpoint/store/profile_repository.h>
#include <touchpoint/store/segment_repository.h>
#include <touchpoint/store/session_repository.h>
#include <touchpoint/store/team_repository.h>
#include <touchpoint/store/sla_repository.h>
#include <touchpoint/store/ticket_repository.h>
#include <touchpoint/store/deskflow_repository.h>
#include <touchpoint/store/user_repository.h>
#include <touchpoint/store/kpi_repository.h>
#include <touchpoint/store/experiment_repository.h>

namespace touchpoint::store::memory {
namespace {

// An erased event's tombstone (as store/chunk/event_chunk.h defines it for the chunked stores).
bool IsTombstone(const EventRecord& e) {
  return !e.customer.valid() && e.message_id.empty() && e.hash == MessageHash{};
}

struct State {
  std::mutex txn_mu;  // held by the open transaction: one at a time
  // Guards everything below. Shared by the point reads that serve customer lookups (a
  // follower's warm copy answers tens of thousands a second from many threads); exclusive else.
  std::shared_mutex mu;
  std::vector<EventRecord> events;  // index = seq - 1; erased events are tombstones (event_chunk.h)
  std::int64_t erased_events = 0;   // tombstones in `events`
  Millis newest_event_at = 0;
  std::map<std::int64_t, CustomerRecord> customers;
  std::map<std::int64_t, IdentifierRecord> identifiers;
  // Secondary indexes of the identity tables (kept by the Put methods): lookups stay O(log n) on
  // a follower's warm copy of a whole installation (server/replica).
  std::unordered_map<std::string, std::int64_t> identifier_by_key;             // kind '\0' value → id
  std::multimap<std::int64_t, std::int64_t> identifiers_by_lookup_key;          // given lookup key → id
  std::unordered_map<std::int64_t, std::int64_t> lookup_key_of;                  // id → given lookup key
  std::map<std::int64_t, std::set<std::int64_t>> identifiers_by_customer;      // customer → ids
  std::map<std::int64_t, std::set<std::int64_t>> customers_by_merged_into;     // root → merged ids
  std::map<std::int64_t, std::set<std::int64_t>> merges_by_customer;           // winner/loser → ids
  std::map<std::int64_t, MergeRecord> merges;
  std::set<std::pair<std::int64_t, std::int64_t>> merge_blocks;
  std::map<std::int64_t, ProfileRecord> profiles;
  std::int64_t profile_checkpoint = 0;
  std::vector<OrderRecord> orders;
  std::vector<MessageRecord> messages;
  std::vector<SurveyRecord> surveys;
  std::vector<EscalationRecord> escalations;
  std::vector<ApiKeyRecord> keys;
  std::map<std::int64_t, JobRecord> jobs;
  std::int64_t next_job_id = 1;
  std::map<std::string, SegmentRecord> segments;
  // Users, teams and sessions (store/user_repository.h, team_repository.h, session_repository.h).
  std::map<std::int64_t, UserRecord> users;
  std::map<std::int64_t, TeamRecord> teams;
  std::map<std::int64_t, SessionRecord> sessions;
  std::int64_t next_user_id = 1;
  std::int64_t next_team_id = 1;
  std::int64_t next_session_id = 1;
  std::vector<AuditEntryRecord> audit;  // in seq order (seq = index + 1)
  std::vector<AuditCheckpointRecord> audit_checkpoints;
  std::vector<SigningKeyRecord> signing_keys;
  std::map<std::string, std::int64_t> dp_budgets;  // data set → micro-epsilon
  std::map<std::int64_t, WrappedKeyRecord> keyring;  // customer → wrapped data key
  std::map<std::string, std::string> privacy_settings;
  std::vector<DpRelease> dp_releases;
  std::map<std::int64_t, Delivery> outbox;                   // id → delivery
  std::unordered_map<std::string, std::int64_t> outbox_keys;  // idempotency key → id
  std::int64_t next_outbox_id = 1;
  std::vector<ConsentRecord> consents;  // in id order
  std::int64_t last_consent_id = 0;     // erasures remove records: ids are never reused
  // The service desk (store/ticket_repository.h).
  std::map<std::int64_t, TicketRecord> tickets;
  std::int64_t next_ticket = 1;  // handed out at NextNumber, never again
  std::vector<TicketMessageRecord> ticket_messages;
  std::vector<TicketHistoryRecord> ticket_history;
  std::map<std::string, std::int64_t> desk_cursors;
  // The desk's agents and routing decisions (store/agent_repository.h).
  std::map<std::int64_t, AgentRecord> agents;
  std::vector<RoutingDecisionRecord> routing_decisions;
  // SLA policies, events and complaint tasks (store/sla_repository.h).
  std::map<std::string, SlaPolicyRecord> sla_policies;
  std::vector<SlaEventRecord> sla_events;  // id = index + 1
  std::set<std::tuple<std::int64_t, std::string, std::string, std::int64_t>> sla_event_keys;
  std::map<std::int64_t, ComplaintTaskRecord> complaint_tasks;
  std::int64_t next_task_id = 1;
  // Beside the desk's tickets (store/deskflow_repository.h).
  std::map<std::int64_t, TicketContactRecord> ticket_contacts;
  std::set<std::pair<std::string, std::int64_t>> ticket_tags;  // (tag, ticket)
  std::map<std::pair<std::int64_t, std::string>, std::string> ticket_fields;
  std::set<std::pair<std::int64_t, std::int64_t>> ticket_tokens;  // (token, ticket)
  std::map<std::string, CannedReplyRecord> canned_replies;
  // The desk's channels (store/channel_repository.h).
  std::map<std::string, ChannelMessageRecord> channel_messages;  // by key
  std::map<std::string, CsatSurveyRecord> csat_surveys;           // by id
  std::vector<std::string> csat_order;                           // ids in insertion order
  std::map<std::string, AttachmentRecord> attachments;           // by hash
  std::vector<MessageAttachmentRecord> message_attachments;
  std::set<std::pair<std::int64_t, int>> suppressions;            // (value, key_version)
  std::map<std::pair<std::int64_t, int>, Millis> suppression_added;
  // The desk's measured facts and spans (store/kpi_repository.h).
  std::map<std::int64_t, KpiTicketRecord> kpi_tickets;
  std::map<std::tuple<std::int64_t, std::string, std::int32_t>, KpiSpanRecord> kpi_spans;
  // Experiments and their exposures (store/experiment_repository.h).
  std::map<std::int64_t, ExperimentRecord> experiments;
  std::int64_t next_experiment_id = 1;
  std::map<std::pair<std::int64_t, std::string>, ExposureRecord> exposures;  // (experiment, unit)

  // store/cluster.h, guarded by mu like the rest.
  std::condition_variable_any changed;  // notified when `committed` advances (waits on mu)
  std::int64_t epoch = 0;           // incremented at each election
  std::uint64_t lease_holder = 0;   // the live lease's token; 0: the writer lock is free
  std::uint64_t next_lease = 1;
  std::map<std::string, NodeRecord> nodes;
  ChangePoint committed;
};

Millis NowMillis() { return SystemClock::Instance().Now(); }

std::string FencedMessage(std::int64_t fence_epoch, std::int64_t epoch) {
  return "fenced: this writer was elected at epoch " + std::to_string(fence_epoch) +
         ", the store is now at epoch " + std::to_string(epoch);
}

using Op = std::function<void(State&)>;

class MemoryTransaction final : public Transaction {
 public:
  // `fence_epoch` > 0: Commit fails once the stored epoch is another one.
  MemoryTransaction(State& state, std::int64_t fence_epoch)
      : state_(state), lock_(state.txn_mu), fence_epoch_(fence_epoch) {
    std::scoped_lock lock(state_.mu);
    next_seq_ = static_cast<std::int64_t>(state_.events.size()) + 1;
  }
  Status Commit() override {
    TP_CHECK(!done_, "transaction committed twice");
    done_ = true;
    bool appended = false;
    {
      std::scoped_lock lock(state_.mu);
      // Checked again here, atomically with the writes: an election between Begin and Commit
      // fences this transaction too.
      if (fence_epoch_ > 0 && state_.epoch != fence_epoch_) {
        ops_.clear();
        return Status::FailedPrecondition(FencedMessage(fence_epoch_, state_.epoch));
      }
      const size_t before = state_.events.size();
      for (auto& op : ops_) op(state_);
      appended = state_.events.size() > before;
      if (appended) {
        state_.committed = ChangePoint{static_cast<std::int64_t>(state_.events.size()),
                                       fence_epoch_ > 0 ? fence_epoch_ : state_.epoch, NowMillis()};
      }
    }
    if (appended) state_.changed.notify_all();
    ops_.clear();
    return Status::Ok();
  }
  void Add(Op op) {
    TP_CHECK(!done_, "a write to a finished transaction");
    ops_.push_back(std::move(op));
  }
  // The seq the next appended event gets (events are appended in transaction order).
  std::int64_t& next_seq() { return next_seq_; }
  const State* state() const { return &state_; }

 private:
  State& state_;
  std::unique_lock<std::mutex> lock_;
  std::int64_t fence_epoch_;
  std::vector<Op> ops_;
  std::int64_t next_seq_ = 1;
  bool done_ = false;
};

MemoryTransaction& Txn(Transaction& txn, const State& state) {
  auto* t = dynamic_cast<MemoryTransaction*>(&txn);
  TP_CHECK(t != nullptr && t->state() == &state, "a write passed a transaction of another store");
  return *t;
}

class MemEventLog final : public EventLog {
 public:
  explicit MemEventLog(State& s) : s_(s) {}
  Status Append(Transaction& txn, std::span<EventRecord> events, const PreparedEvents*) override {
    MemoryTransaction& t = Txn(txn, s_);
    for (EventRecord& e : events) e.seq = t.next_seq()++;
    std::vector<EventRecord> copy(events.begin(), events.end());
    t.Add([copy = std::move(copy)](State& s) mutable {
      for (auto& e : copy) s.events.push_back(std::move(e));
    });
    return Status::Ok();
  }
  Status AppendWithSeqs(Transaction& txn, std::span<const EventRecord> events, std::int64_t last_seq) override {
    MemoryTransaction& t = Txn(txn, s_);
    // The log is indexed by seq - 1: skipped numbers become tombstones, as erasure leaves them.
    std::vector<EventRecord> copy;
    std::int64_t erased = 0;
    const auto fill_to = [&](std::int64_t seq) {
      for (; t.next_seq() < seq; ++t.next_seq(), ++erased) copy.emplace_back().seq = t.next_seq();
    };
    for (const EventRecord& e : events) {
      if (e.seq < t.next_seq()) {
        return Status::InvalidArgument("event seq " + std::to_string(e.seq) + " is not above the log's last " +
                                       std::to_string(t.next_seq() - 1));
      }
      fill_to(e.seq);
      copy.push_back(e);
      ++t.next_seq();
    }
    fill_to(last_seq + 1);
    if (copy.empty()) return Status::Ok();
    t.Add([copy = std::move(copy), erased](State& s) mutable {
      for (auto& e : copy) s.events.push_back(std::move(e));
      s.erased_events += erased;
    });
    return Status::Ok();
  }
  Status RaiseNewestEventAt(Transaction& txn, Millis at) override {
    Txn(txn, s_).Add([at](State& s) { s.newest_event_at = std::max(s.newest_event_at, at); });
    return Status::Ok();
  }
  Status ScanHashes(const std::function<void(const MessageHash&)>& fn) override {
    std::vector<MessageHash> hashes;
    {
      std::scoped_lock lock(s_.mu);
      hashes.reserve(s_.events.size());
      for (const auto& e : s_.events) {
        if (!IsTombstone(e)) hashes.push_back(e.hash);
      }
    }
    for (const auto& h : hashes) fn(h);
    return Status::Ok();
  }
  Status ScanFrom(std::int64_t from_seq, const std::function<bool(EventRecord&&)>& fn) override {
    // Copies a slice at a time under the lock, so that fn may call back into the store.
    size_t i = static_cast<size_t>(std::max<std::int64_t>(from_seq, 1) - 1);
    for (;;) {
      std::vector<EventRecord> slice;
      {
        std::shared_lock lock(s_.mu);  // readers share
        size_t k = i;
        for (; k < s_.events.size() && slice.size() < 1024; ++k) slice.push_back(s_.events[k]);
        if (k == i) return Status::Ok();
        i = k;
      }
      for (auto& e : slice) {
        if (IsTombstone(e)) continue;
        if (!fn(std::move(e))) return Status::Ok();
      }
    }
  }
  Result<std::int64_t> LastSeq() override {
    std::shared_lock lock(s_.mu);  // readers share
    return static_cast<std::int64_t>(s_.events.size());
  }
  Result<Millis> NewestEventAt() override {
    std::shared_lock lock(s_.mu);  // readers share
    return s_.newest_event_at;
  }
  Result<std::int64_t> Count() override {
    std::scoped_lock lock(s_.mu);
    return static_cast<std::int64_t>(s_.events.size()) - s_.erased_events;
  }

 private:
  State& s_;
};

class MemIdentity final : public IdentityRepository {
 public:
  explicit MemIdentity(State& s) : s_(s) {}
  Status PutCustomers(Transaction& txn, std::span<const CustomerRecord> customers) override {
    std::vector<CustomerRecord> copy(customers.begin(), customers.end());
    Txn(txn, s_).Add([copy = std::move(copy)](State& s) {
      for (const auto& c : copy) {
        auto [it, inserted] = s.customers.emplace(c.id.value(), c);
        if (!inserted) {
          if (it->second.merged_into.valid()) {
            s.customers_by_merged_into[it->second.merged_into.value()].erase(c.id.value());
          }
          it->second.merged_into = c.merged_into;  // created_at never changes
        }
        if (c.merged_into.valid()) s.customers_by_merged_into[c.merged_into.value()].insert(c.id.value());
      }
    });
    return Status::Ok();
  }
  Status PutIdentifiers(Transaction& txn, std::span<const IdentifierRecord> identifiers) override {
    std::vector<IdentifierRecord> copy(identifiers.begin(), identifiers.end());
    Txn(txn, s_).Add([copy = std::move(copy)](State& s) {
      for (const auto& r : copy) {
        IdentifierRecord stored = r;
        stored.lookup_key = 0;  // written only
        auto [it, inserted] = s.identifiers.emplace(r.id.value(), std::move(stored));
        if (!inserted) {  // kind, value and first sighting never change
          s.identifiers_by_customer[it->second.customer.value()].erase(r.id.value());
          it->second.customer = r.customer;
          it->second.blocked = r.blocked;
          it->second.joins = r.joins;
        } else {
          s.identifier_by_key[r.kind + '\0' + r.value] = r.id.value();
          if (r.lookup_key != 0) {
            s.identifiers_by_lookup_key.emplace(r.lookup_key, r.id.value());
            s.lookup_key_of[r.id.value()] = r.lookup_key;
          }
        }
        s.identifiers_by_customer[r.customer.value()].insert(r.id.value());
      }
    });
    return Status::Ok();
  }
  Status PutMerges(Transaction& txn, std::span<const MergeRecord> merges) override {
    std::vector<MergeRecord> copy(merges.begin(), merges.end());
    Txn(txn, s_).Add([copy = std::move(copy)](State& s) {
      for (const auto& m : copy) {
        if (auto old = s.merges.find(m.id.value()); old != s.merges.end()) {
          s.merges_by_customer[old->second.winner.value()].erase(m.id.value());
          s.merges_by_customer[old->second.loser.value()].erase(m.id.value());
        }
        s.merges[m.id.value()] = m;
        s.merges_by_customer[m.winner.value()].insert(m.id.value());
        s.merges_by_customer[m.loser.value()].insert(m.id.value());
      }
    });
    return Status::Ok();
  }
  Status AddMergeBlocks(Transaction& txn, std::span<const MergeBlock> blocks) override {
    std::vector<MergeBlock> copy(blocks.begin(), blocks.end());
    Txn(txn, s_).Add([copy = std::move(copy)](State& s) {
      for (const auto& [a, b] : copy) s.merge_blocks.emplace(a.value(), b.value());
    });
    return Status::Ok();
  }
  Status ScanIdentifiers(const std::function<void(IdentifierRecord&&)>& fn) override {
    for (auto& r : Copy(s_.identifiers)) fn(std::move(r));
    return Status::Ok();
  }
  Status ScanCustomers(const std::function<void(const CustomerRecord&)>& fn) override {
    for (auto& r : Copy(s_.customers)) fn(r);
    return Status::Ok();
  }
  Status ScanMerges(const std::function<void(MergeRecord&&)>& fn) override {
    for (auto& r : Copy(s_.merges)) fn(std::move(r));
    return Status::Ok();
  }
  Status ScanMergeBlocks(const std::function<void(CustomerId, CustomerId)>& fn) override {
    std::vector<std::pair<std::int64_t, std::int64_t>> blocks;
    {
      std::scoped_lock lock(s_.mu);
      blocks.assign(s_.merge_blocks.begin(), s_.merge_blocks.end());
    }
    for (const auto& [a, b] : blocks) fn(CustomerId(a), CustomerId(b));
    return Status::Ok();
  }
  Result<std::optional<IdentifierRecord>> FindIdentifier(const std::string& kind, const std::string& value) override {
    std::shared_lock lock(s_.mu);  // readers share
    auto key = s_.identifier_by_key.find(kind + '\0' + value);
    if (key == s_.identifier_by_key.end()) return std::optional<IdentifierRecord>();
    return std::optional<IdentifierRecord>(s_.identifiers.at(key->second));
  }
  Result<std::vector<IdentifierRecord>> FindIdentifiersByKey(const std::string& kind,
                                                             std::int64_t lookup_key) override {
    std::shared_lock lock(s_.mu);  // readers share
    std::vector<IdentifierRecord> out;
    auto [begin, end] = s_.identifiers_by_lookup_key.equal_range(lookup_key);
    for (auto it = begin; it != end; ++it) {
      auto r = s_.identifiers.find(it->second);  // an erased identifier leaves its key behind
      if (r != s_.identifiers.end() && r->second.kind == kind) out.push_back(r->second);
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id.value() < b.id.value(); });
    return out;
  }
  Result<std::optional<CustomerRecord>> FindCustomer(CustomerId id) override {
    std::shared_lock lock(s_.mu);  // readers share
    auto it = s_.customers.find(id.value());
    if (it == s_.customers.end()) return std::optional<CustomerRecord>();
    return std::optional<CustomerRecord>(it->second);
  }
  Result<std::vector<IdentifierRecord>> IdentifiersOf(std::span<const CustomerId> customers) override {
    std::set<std::int64_t> ids;
    std::vector<IdentifierRecord> out;
    std::shared_lock lock(s_.mu);  // readers share
    for (CustomerId c : customers) {
      auto it = s_.identifiers_by_customer.find(c.value());
      if (it != s_.identifiers_by_customer.end()) ids.insert(it->second.begin(), it->second.end());
    }
    for (std::int64_t id : ids) out.push_back(s_.identifiers.at(id));  // in id order
    return out;
  }
  Result<std::vector<CustomerId>> CustomersMergedInto(CustomerId id) override {
    std::vector<CustomerId> out;
    if (!id.valid()) return out;
    std::shared_lock lock(s_.mu);  // readers share
    auto it = s_.customers_by_merged_into.find(id.value());
    if (it != s_.customers_by_merged_into.end()) {
      for (std::int64_t c : it->second) out.emplace_back(c);
    }
    return out;
  }
  Result<std::vector<MergeRecord>> MergesInvolving(std::span<const CustomerId> customers) override {
    std::set<std::int64_t> ids;
    std::vector<MergeRecord> out;
    std::shared_lock lock(s_.mu);  // readers share
    for (CustomerId c : customers) {
      auto it = s_.merges_by_customer.find(c.value());
      if (it != s_.merges_by_customer.end()) ids.insert(it->second.begin(), it->second.end());
    }
    for (std::int64_t id : ids) out.push_back(s_.merges.at(id));  // in id order
    return out;
  }
  Result<std::vector<IdentifierRecord>> BlockedIdentifiers() override {
    std::vector<IdentifierRecord> out;
    std::scoped_lock lock(s_.mu);
    for (const auto& [id, r] : s_.identifiers) {
      if (r.blocked) out.push_back(r);
    }
    return out;
  }
  Result<IdentityCounts> Counts() override {
    IdentityCounts c;
    std::scoped_lock lock(s_.mu);
    for (const auto& [id, r] : s_.customers) c.live_customers += r.merged_into.valid() ? 0 : 1;
    c.identifiers = static_cast<std::int64_t>(s_.identifiers.size());
    for (const auto& [id, m] : s_.merges) c.merges += m.undone_at == 0 ? 1 : 0;
    return c;
  }

 private:
  template <class Map>
  std::vector<typename Map::mapped_type> Copy(const Map& m) {
    std::vector<typename Map::mapped_type> out;
    std::scoped_lock lock(s_.mu);
    out.reserve(m.size());
    for (const auto& [k, v] : m) out.push_back(v);
    return out;
  }
  State& s_;
};

class MemProfiles final : public ProfileRepository {
 public:
  explicit MemProfiles(State& s) : s_(s) {}
  Status Put(Transaction& txn, std::span<const ProfileRecord> profiles) override {
    std::vector<ProfileRecord> copy(profiles.begin(), profiles.end());
    Txn(txn, s_).Add([copy = std::move(copy)](State& s) {
      for (const auto& p : copy) s.profiles[p.customer.value()] = p;
    });
    return Status::Ok();
  }
  Status SetCheckpoint(Transaction& txn, std::int64_t seq) override {
    Txn(txn, s_).Add([seq](State& s) { s.profile_checkpoint = seq; });
    return Status::Ok();
  }
  Status Scan(const std::function<void(ProfileRecord&&)>& fn) override {
    std::vector<ProfileRecord> all;
    {
      std::scoped_lock lock(s_.mu);
      for (const auto& [c, p] : s_.profiles) all.push_back(p);
    }
    for (auto& p : all) fn(std::move(p));
    return Status::Ok();
  }
  Result<std::optional<ProfileRecord>> Find(CustomerId customer) override {
    std::shared_lock lock(s_.mu);  // readers share
    auto it = s_.profiles.find(customer.value());
    if (it == s_.profiles.end()) return std::optional<ProfileRecord>();
    return std::optional<ProfileRecord>(it->second);
  }
  Result<std::int64_t> Checkpoint() override {
    std::shared_lock lock(s_.mu);  // readers share
    return s_.profile_checkpoint;
  }

 private:
  State& s_;
};

class MemActivity final : public ActivityRepository {
 public:
  explicit MemActivity(State& s) : s_(s) {}
  Status AddOrders(Transaction& txn, std::span<const OrderRecord> orders) override {
    return Append(txn, orders, &State::orders);
  }
  Status AddMessages(Transaction& txn, std::span<const MessageRecord> messages) override {
    return Append(txn, messages, &State::messages);
  }
  Status AddSurveys(Transaction& txn, std::span<const SurveyRecord> surveys) override {
    return Append(txn, surveys, &State::surveys);
  }
  Status ScanOrders(const std::function<void(OrderRecord&&)>& fn) override { return Scan(&State::orders, fn); }
  Status ScanMessages(const std::function<void(MessageRecord&&)>& fn) override { return Scan(&State::messages, fn); }
  Status ScanSurveys(const std::function<void(SurveyRecord&&)>& fn) override { return Scan(&State::surveys, fn); }
  Result<ActivityCounts> Counts() override {
    std::scoped_lock lock(s_.mu);
    return ActivityCounts{static_cast<std::int64_t>(s_.orders.size()), static_cast<std::int64_t>(s_.messages.size()),
                          static_cast<std::int64_t>(s_.surveys.size())};
  }

 private:
  template <class R>
  Status Append(Transaction& txn, std::span<const R> records, std::vector<R> State::*table) {
    std::vector<R> copy(records.begin(), records.end());
    Txn(txn, s_).Add([copy = std::move(copy), table](State& s) mutable {
      for (auto& r : copy) (s.*table).push_back(std::move(r));
    });
    return Status::Ok();
  }
  template <class R>
  Status Scan(std::vector<R> State::*table, const std::function<void(R&&)>& fn) {
    std::vector<R> all;
    {
      std::scoped_lock lock(s_.mu);
      all = s_.*table;
    }
    for (auto& r : all) fn(std::move(r));
    return Status::Ok();
  }
  State& s_;
};

class MemEscalations final : public EscalationRepository {
 public:
  explicit MemEscalations(State& s) : s_(s) {}
  Status Add(Transaction& txn, std::span<const EscalationRecord> escalations) override {
    std::vector<EscalationRecord> copy(escalations.begin(), escalations.end());
    Txn(txn, s_).Add([copy = std::move(copy)](State& s) {
      s.escalations.insert(s.escalations.end(), copy.begin(), copy.end());
    });
    return Status::Ok();
  }
  Status Scan(const std::function<void(EscalationRecord&&)>& fn) override {
    std::vector<EscalationRecord> all;
    {
      std::scoped_lock lock(s_.mu);
      all = s_.escalations;
    }
    for (auto& e : all) fn(std::move(e));
    return Status::Ok();
  }
  Result<std::int64_t> Count() override {
    std::scoped_lock lock(s_.mu);
    return static_cast<std::int64_t>(s_.escalations.size());
  }

 private:
  State& s_;
};

// ---- the service desk's repeat contacts, tags, fields, search tokens, canned replies ----

class MemDeskflow final : public DeskflowRepository {
 public:
  explicit MemDeskflow(State& s) : s_(s) {}

  Status PutContact(Transaction& txn, const TicketContactRecord& c) override {
    Txn(txn, s_).Add([c](State& s) { s.ticket_contacts[c.ticket] = c; });
    return Status::Ok();
  }
  Result<std::optional<TicketContactRecord>> FindContact(std::int64_t ticket) override {
    std::shared_lock lock(s_.mu);
    auto it = s_.ticket_contacts.find(ticket);
    if (it == s_.ticket_contacts.end()) return std::optional<TicketContactRecord>();
    return std::optional<TicketContactRecord>(it->second);
  }
  Result<std::vector<TicketContactRecord>> Contacts(CustomerId customer, Millis since) override {
    std::vector<TicketContactRecord> out;
    {
      std::shared_lock lock(s_.mu);
      for (const auto& [n, c] : s_.ticket_contacts) {
        if (c.customer == customer && c.at >= since) out.push_back(c);
      }
    }
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.at < b.at; });
    return out;
  }
  Status ScanContacts(Millis from, Millis to, const std::function<void(TicketContactRecord&&)>& fn) override {
    std::vector<TicketContactRecord> out;
    {
      std::shared_lock lock(s_.mu);
      for (const auto& [n, c] : s_.ticket_contacts) {
        if (c.at >= from && (to == 0 || c.at < to)) out.push_back(c);
      }
    }
    for (auto& c : out) fn(std::move(c));
    return Status::Ok();
  }

  Status AddTag(Transaction& txn, std::int64_t ticket, const std::string& tag) override {
    Txn(txn, s_).Add([ticket, tag](State& s) { s.ticket_tags.emplace(tag, ticket); });
    return Status::Ok();
  }
  Status RemoveTag(Transaction& txn, std::int64_t ticket, const std::string& tag) override {
    Txn(txn, s_).Add([ticket, tag](State& s) { s.ticket_tags.erase({tag, ticket}); });
    return Status::Ok();
  }
  Result<std::vector<std::string>> Tags(std::int64_t ticket) override {
    std::vector<std::string> out;
    std::shared_lock lock(s_.mu);
    for (const auto& [tag, t] : s_.ticket_tags) {
      if (t == ticket) out.push_back(tag);
    }
    return out;  // the set is ordered by tag
  }
  Result<std::vector<std::int64_t>> TicketsWithTag(const std::string& tag, std::int64_t before, int limit) override {
    std::shared_lock lock(s_.mu);
    return Descending(s_.ticket_tags, tag, before, limit);
  }

  Status SetField(Transaction& txn, std::int64_t ticket, const std::string& name, const std::string& value) override {
    Txn(txn, s_).Add([ticket, name, value](State& s) {
      if (value.empty()) {
        s.ticket_fields.erase({ticket, name});
      } else {
        s.ticket_fields[{ticket, name}] = value;
      }
    });
    return Status::Ok();
  }
  Result<std::vector<std::pair<std::string, std::string>>> Fields(std::int64_t ticket) override {
    std::vector<std::pair<std::string, std::string>> out;
    std::shared_lock lock(s_.mu);
    for (auto it = s_.ticket_fields.lower_bound({ticket, ""}); it != s_.ticket_fields.end() && it->first.first == ticket;
         ++it) {
      out.emplace_back(it->first.second, it->second);
    }
    return out;
  }

  Status AddTokens(Transaction& txn, std::int64_t ticket, std::span<const std::int64_t> tokens) override {
    Txn(txn, s_).Add([ticket, tokens = std::vector<std::int64_t>(tokens.begin(), tokens.end())](State& s) {
      for (std::int64_t t : tokens) s.ticket_tokens.emplace(t, ticket);
    });
    return Status::Ok();
  }
  Result<std::vector<std::int64_t>> TicketsWithToken(std::int64_t token, std::int64_t before, int limit) override {
    std::shared_lock lock(s_.mu);
    return Descending(s_.ticket_tokens, token, before, limit);
  }

  Status PutCanned(Transaction& txn, const CannedReplyRecord& c) override {
    Txn(txn, s_).Add([c](State& s) { s.canned_replies[c.name] = c; });
    return Status::Ok();
  }
  Result<std::optional<CannedReplyRecord>> FindCanned(const std::string& name) override {
    std::shared_lock lock(s_.mu);
    auto it = s_.canned_replies.find(name);
    if (it == s_.canned_replies.end()) return std::optional<CannedReplyRecord>();
    return std::optional<CannedReplyRecord>(it->second);
  }
  Result<std::vector<CannedReplyRecord>> ListCanned() override {
    std::vector<CannedReplyRecord> out;
    std::shared_lock lock(s_.mu);
    for (const auto& [name, c] : s_.canned_replies) out.push_back(c);
    return out;
  }
  Status DeleteCanned(Transaction& txn, const std::string& name) override {
    MemoryTransaction& t = Txn(txn, s_);
    {
      std::shared_lock lock(s_.mu);
      if (!s_.canned_replies.count(name)) return Status::NotFound("no canned reply " + name);
    }
    t.Add([name](State& s) { s.canned_replies.erase(name); });
    return Status::Ok();
  }

 private:
  // The tickets paired with `key` in `set`, highest first, below `before` (0: any), at most `limit`.
  template <class K>
  static std::vector<std::int64_t> Descending(const std::set<std::pair<K, std::int64_t>>& set, const K& key,
                                              std::int64_t before, int limit) {
    std::vector<std::int64_t> out;
    auto it = before > 0 ? set.lower_bound({key, before}) : set.upper_bound({key, INT64_MAX});
    while (it != set.begin() && static_cast<int>(out.size()) < limit) {
      --it;
      if (it->first != key) break;
      out.push_back(it->second);
    }
    return out;
  }
  State& s_;
};

// ---- the service desk's tickets ----

class MemTickets final : public TicketRepository {
 public:
  explicit MemTickets(State& s) : s_(s) {}
  Result<std::int64_t> NextNumber(Transaction& txn) override {
    Txn(txn, s_);
    std::scoped_lock lock(s_.mu);
    return s_.next_ticket++;
  }
  Status Create(Transaction& txn, const TicketRecord& ticket) override {
    MemoryTransaction& t = Txn(txn, s_);
    {
      std::scoped_lock lock(s_.mu);
      if (s_.tickets.count(ticket.number)) {
        return Status::AlreadyExists("ticket " + std::to_string(ticket.number) + " exists");
      }
    }
    TicketRecord copy = ticket;
    copy.version = 1;
    t.Add([copy = std::move(copy)](State& s) { s.tickets[copy.number] = copy; });
    return Status::Ok();
  }
  // The open transaction holds txn_mu, so no other writer commits between this check and Commit.
  Status Update(Transaction& txn, const TicketRecord& ticket, std::int64_t expected_version) override {
    MemoryTransaction& t = Txn(txn, s_);
    {
      std::scoped_lock lock(s_.mu);
      auto it = s_.tickets.find(ticket.number);
      if (it == s_.tickets.end()) return Status::NotFound("no ticket " + std::to_string(ticket.number));
      if (it->second.version != expected_version) {
        return Status::FailedPrecondition("ticket " + std::to_string(ticket.number) + " changed concurrently");
      }
    }
    TicketRecord copy = ticket;
    copy.version = expected_version + 1;
    t.Add([copy = std::move(copy)](State& s) { s.tickets[copy.number] = copy; });
    return Status::Ok();
  }
  Result<std::optional<TicketRecord>> Find(std::int64_t number) override {
    std::shared_lock lock(s_.mu);
    auto it = s_.tickets.find(number);
    if (it == s_.tickets.end()) return std::optional<TicketRecord>();
    return std::optional<TicketRecord>(it->second);
  }
  Result<std::optional<TicketRecord>> FindActive(CustomerId customer) override {
    std::shared_lock lock(s_.mu);
    for (auto it = s_.tickets.rbegin(); it != s_.tickets.rend(); ++it) {
      const TicketRecord& t = it->second;
      if (t.customer == customer && t.status != "closed" && t.merged_into == 0) return std::optional<TicketRecord>(t);
    }
    return std::optional<TicketRecord>();
  }
  Result<std::vector<TicketRecord>> List(const TicketFilter& f) override {
    std::vector<TicketRecord> out;
    std::shared_lock lock(s_.mu);
    auto it = f.before > 0 ? std::make_reverse_iterator(s_.tickets.lower_bound(f.before)) : s_.tickets.rbegin();
    for (; it != s_.tickets.rend() && static_cast<int>(out.size()) < f.limit; ++it) {
      const TicketRecord& t = it->second;
      if (!f.status.empty() && t.status != f.status) continue;
      if (!f.queue.empty() && t.queue != f.queue) continue;
      if (f.assignee >= 0 && t.assignee != f.assignee) continue;
      if (f.customer.valid() && t.customer != f.customer) continue;
      out.push_back(t);
    }
    return out;
  }
  Status Scan(const std::function<void(TicketRecord&&)>& fn) override {
    std::vector<TicketRecord> all;
    {
      std::shared_lock lock(s_.mu);
      for (const auto& [n, t] : s_.tickets) all.push_back(t);
    }
    for (auto& t : all) fn(std::move(t));
    return Status::Ok();
  }
  Status AddMessages(Transaction& txn, std::span<const TicketMessageRecord> messages) override {
    std::vector<TicketMessageRecord> copy(messages.begin(), messages.end());
    Txn(txn, s_).Add([copy = std::move(copy)](State& s) mutable {
      for (auto& m : copy) {
        m.id = static_cast<std::int64_t>(s.ticket_messages.size()) + 1;
        s.ticket_messages.push_back(std::move(m));
      }
    });
    return Status::Ok();
  }
  Result<std::vector<TicketMessageRecord>> Messages(std::int64_t ticket) override {
    std::vector<TicketMessageRecord> out;
    std::shared_lock lock(s_.mu);
    for (const auto& m : s_.ticket_messages) {
      if (m.ticket == ticket) out.push_back(m);
    }
    return out;
  }
  Status MoveMessages(Transaction& txn, std::int64_t from, std::int64_t to) override {
    Txn(txn, s_).Add([from, to](State& s) {
      for (auto& m : s.ticket_messages) {
        if (m.ticket == from) m.ticket = to;
      }
    });
    return Status::Ok();
  }
  Status AddHistory(Transaction& txn, std::span<const TicketHistoryRecord> rows) override {
    std::vector<TicketHistoryRecord> copy(rows.begin(), rows.end());
    Txn(txn, s_).Add([copy = std::move(copy)](State& s) mutable {
      for (auto& h : copy) {
        h.id = static_cast<std::int64_t>(s.ticket_history.size()) + 1;
        s.ticket_history.push_back(std::move(h));
      }
    });
    return Status::Ok();
  }
  Result<std::vector<TicketHistoryRecord>> History(std::int64_t ticket) override {
    std::vector<TicketHistoryRecord> out;
    std::shared_lock lock(s_.mu);
    for (const auto& h : s_.ticket_history) {
      if (h.ticket == ticket) out.push_back(h);
    }
    return out;
  }
  Status ScanHistory(const std::function<void(TicketHistoryRecord&&)>& fn) override {
    std::vector<TicketHistoryRecord> all;
    {
      std::shared_lock lock(s_.mu);
      all = s_.ticket_history;
    }
    std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.ticket < b.ticket; });
    for (auto& h : all) fn(std::move(h));
    return Status::Ok();
  }
  Result<std::optional<std::int64_t>> Cursor(const std::string& name) override {
    std::shared_lock lock(s_.mu);
    auto it = s_.desk_cursors.find(name);
    if (it == s_.desk_cursors.end()) return std::optional<std::int64_t>();
    return std::optional<std::int64_t>(it->second);
  }
  Status SetCursor(Transaction& txn, const std::string& name, std::int64_t seq) override {
    Txn(txn, s_).Add([name, seq](State& s) { s.desk_cursors[name] = seq; });
    return Status::Ok();
  }

 private:
  State& s_;
};

// ---- the service desk's agents and routing decisions ----

class MemAgents final : public AgentRepository {
 public:
  explicit MemAgents(State& s) : s_(s) {}
  Status Put(Transaction& txn, const AgentRecord& agent) override {
    Txn(txn, s_).Add([copy = agent](State& s) { s.agents[copy.user_id] = copy; });
    return Status::Ok();
  }
  Result<std::optional<AgentRecord>> Find(std::int64_t user_id) override {
    std::shared_lock lock(s_.mu);
    auto it = s_.agents.find(user_id);
    if (it == s_.agents.end()) return std::optional<AgentRecord>();
    return std::optional<AgentRecord>(it->second);
  }
  Result<std::vector<AgentRecord>> List() override {
    std::vector<AgentRecord> out;
    std::shared_lock lock(s_.mu);
    for (const auto& [id, a] : s_.agents) out.push_back(a);
    return out;
  }
  Status AddDecision(Transaction& txn, const RoutingDecisionRecord& decision) override {
    Txn(txn, s_).Add([copy = decision](State& s) mutable {
      copy.id = static_cast<std::int64_t>(s.routing_decisions.size()) + 1;
      s.routing_decisions.push_back(std::move(copy));
    });
    return Status::Ok();
  }
  Result<std::vector<RoutingDecisionRecord>> Decisions(std::int64_t ticket) override {
    std::vector<RoutingDecisionRecord> out;
    std::shared_lock lock(s_.mu);
    for (const auto& d : s_.routing_decisions) {
      if (d.ticket == ticket) out.push_back(d);
    }
    return out;
  }
  Result<std::map<std::int64_t, std::int32_t>> OpenLoads() override {
    std::map<std::int64_t, std::int32_t> out;
    std::shared_lock lock(s_.mu);
    for (const auto& [n, t] : s_.tickets) {
      if (t.assignee != 0 && Handling(t)) ++out[t.assignee];
    }
    return out;
  }
  Result<std::vector<WaitingTicket>> Waiting() override {
    std::vector<WaitingTicket> out;
    std::shared_lock lock(s_.mu);
    for (const auto& [n, t] : s_.tickets) {
      if (t.assignee == 0 && Handling(t)) {
        out.push_back(WaitingTicket{t.number, t.customer, t.status, t.priority, t.skill, t.language, t.queue,
                                    t.created_at});
      }
    }
    return out;
  }

 private:
  static bool Handling(const TicketRecord& t) {
    return t.merged_into == 0 && (t.status == "new" || t.status == "open" || t.status == "pending_customer" ||
                                  t.status == "pending_third_party");
  }
  State& s_;
};

class MemApiKeys final : public ApiKeyRepository {
 public:
  explicit MemApiKeys(State& s) : s_(s) {}
  Result<ApiKeyRecord> Create(const std::string& role, const std::string& key_hash, const std::string& prefix,
                              Millis now) override {
    std::scoped_lock lock(s_.mu);
    for (const auto& k : s_.keys) {
      if (k.key_hash == key_hash) return Status::AlreadyExists("a key with this hash exists");
    }
    ApiKeyRecord r{static_cast<std::int64_t>(s_.keys.size()) + 1, role, key_hash, prefix, now, 0};
    s_.keys.push_back(r);
    return r;
  }
  Result<std::vector<ApiKeyRecord>> List() override {
    std::scoped_lock lock(s_.mu);
    return s_.keys;
  }
  Result<std::optional<ApiKeyRecord>> FindByHash(const std::string& key_hash) override {
    std::scoped_lock lock(s_.mu);
    for (const auto& k : s_.keys) {
      if (k.key_hash == key_hash) return std::optional<ApiKeyRecord>(k);
    }
    return std::optional<ApiKeyRecord>();
  }
  Status Revoke(const std::string& id_or_prefix, Millis now) override {
    std::scoped_lock lock(s_.mu);
    bool any = false;
    for (auto& k : s_.keys) {
      if (k.revoked_at == 0 && (std::to_string(k.id) == id_or_prefix || k.prefix == id_or_prefix)) {
        k.revoked_at = now;
        any = true;
      }
    }
    if (!any) return Status::NotFound("no active key with id or prefix '" + id_or_prefix + "'");
    return Status::Ok();
  }

 private:
  State& s_;
};

class MemAudit final : public AuditRepository {
 public:
  MemAudit(State& s, bool read_only) : s_(s), read_only_(read_only) {}
  Result<std::vector<AuditEntryRecord>> Append(std::span<const AuditEntryRecord> entries,
                                               const AuditChainFn& chain) override {
    if (read_only_) return Status::FailedPrecondition("store is open read-only");
    std::scoped_lock lock(s_.mu);
    std::vector<AuditEntryRecord> out;
    out.reserve(entries.size());
    std::string prev = s_.audit.empty() ? std::string(64, '0') : s_.audit.back().hash;
    for (const AuditEntryRecord& in : entries) {
      AuditEntryRecord e = in;
      e.seq = static_cast<std::int64_t>(s_.audit.size() + out.size()) + 1;
      e.prev_hash = prev;
      e.hash = chain(prev, e);
      prev = e.hash;
      out.push_back(std::move(e));
    }
    s_.audit.insert(s_.audit.end(), out.begin(), out.end());
    return out;
  }
  Result<std::optional<AuditEntryRecord>> Head() override {
    std::shared_lock lock(s_.mu);
    if (s_.audit.empty()) return std::optional<AuditEntryRecord>();
    return std::optional<AuditEntryRecord>(s_.audit.back());
  }
  Status Scan(std::int64_t after, const std::function<bool(AuditEntryRecord&&)>& fn) override {
    std::vector<AuditEntryRecord> copy;
    {
      std::shared_lock lock(s_.mu);
      const size_t from = static_cast<size_t>(std::clamp<std::int64_t>(after, 0, static_cast<std::int64_t>(s_.audit.size())));
      copy.assign(s_.audit.begin() + static_cast<std::ptrdiff_t>(from), s_.audit.end());
    }
    for (auto& e : copy) {
      if (!fn(std::move(e))) break;
    }
    return Status::Ok();
  }
  Result<std::vector<AuditEntryRecord>> Query(const AuditQuery& q) override {
    std::shared_lock lock(s_.mu);
    std::vector<AuditEntryRecord> out;
    for (auto it = s_.audit.rbegin(); it != s_.audit.rend() && static_cast<int>(out.size()) < q.limit; ++it) {
      if (q.before_seq > 0 && it->seq >= q.before_seq) continue;
      if (!q.actor.empty() && it->actor != q.actor) continue;
      if (!q.action.empty() && it->action != q.action) continue;
      if (q.from != 0 && it->time < q.from) continue;
      if (q.to != 0 && it->time >= q.to) continue;
      out.push_back(*it);
    }
    return out;
  }
  Result<AuditCheckpointRecord> AddCheckpoint(const AuditCheckpointRecord& c) override {
    if (read_only_) return Status::FailedPrecondition("store is open read-only");
    std::scoped_lock lock(s_.mu);
    AuditCheckpointRecord r = c;
    r.id = static_cast<std::int64_t>(s_.audit_checkpoints.size()) + 1;
    s_.audit_checkpoints.push_back(r);
    return r;
  }
  Result<std::vector<AuditCheckpointRecord>> Checkpoints() override {
    std::shared_lock lock(s_.mu);
    return s_.audit_checkpoints;
  }

 private:
  State& s_;
  bool read_only_;
};

class MemSigningKeys final : public SigningKeyRepository {
 public:
  MemSigningKeys(State& s, bool read_only) : s_(s), read_only_(read_only) {}
  Status Put(const SigningKeyRecord& key) override {
    if (read_only_) return Status::FailedPrecondition("store is open read-only");
    std::scoped_lock lock(s_.mu);
    for (const auto& k : s_.signing_keys) {
      if (k.key_id != key.key_id) continue;
      if (k.public_key == key.public_key) return Status::Ok();
      return Status::AlreadyExists("another public key is recorded under key id " + key.key_id);
    }
    s_.signing_keys.push_back(key);
    return Status::Ok();
  }
  Result<std::vector<SigningKeyRecord>> List() override {
    std::shared_lock lock(s_.mu);
    return s_.signing_keys;
  }

 private:
  State& s_;
  bool read_only_;
};

class MemJobs final : public JobRepository {
 public:
  explicit MemJobs(State& s) : s_(s) {}
  Result<JobRecord> Create(const JobRecord& job) override {
    std::scoped_lock lock(s_.mu);
    JobRecord r = job;
    r.id = s_.next_job_id++;
    s_.jobs[r.id] = r;
    return r;
  }
  Status Update(const JobRecord& job) override {
    std::scoped_lock lock(s_.mu);
    auto it = s_.jobs.find(job.id);
    if (it == s_.jobs.end()) return Status::NotFound("no job with id " + std::to_string(job.id));
    it->second = job;
    return Status::Ok();
  }
  Result<std::optional<JobRecord>> Find(std::int64_t id) override {
    std::scoped_lock lock(s_.mu);
    auto it = s_.jobs.find(id);
    if (it == s_.jobs.end()) return std::optional<JobRecord>();
    return std::optional<JobRecord>(it->second);
  }
  Result<std::vector<JobRecord>> Recent(int limit) override {
    std::vector<JobRecord> out;
    std::scoped_lock lock(s_.mu);
    for (auto it = s_.jobs.rbegin(); it != s_.jobs.rend() && static_cast<int>(out.size()) < limit; ++it) {
      out.push_back(it->second);
    }
    return out;
  }
  Result<std::vector<JobRecord>> Unfinished() override {
    std::vector<JobRecord> out;
    std::scoped_lock lock(s_.mu);
    for (const auto& [id, j] : s_.jobs) {
      if (j.state == "queued" || j.state == "running") out.push_back(j);
    }
    return out;
  }

 private:
  State& s_;
};

class MemSegments final : public SegmentRepository {
 public:
  explicit MemSegments(State& s) : s_(s) {}
  Status Put(const SegmentRecord& segment) override {
    std::scoped_lock lock(s_.mu);
    auto [it, inserted] = s_.segments.emplace(segment.name, segment);
    if (!inserted) {
      const Millis created = it->second.created_at;
      it->second = segment;
      it->second.created_at = created;
    }
    return Status::Ok();
  }
  Status Delete(const std::string& name) override {
    std::scoped_lock lock(s_.mu);
    if (s_.segments.erase(name) == 0) return Status::NotFound("no segment named '" + name + "'");
    return Status::Ok();
  }
  Result<std::optional<SegmentRecord>> Find(const std::string& name) override {
    std::scoped_lock lock(s_.mu);
    auto it = s_.segments.find(name);
    if (it == s_.segments.end()) return std::optional<SegmentRecord>();
    return std::optional<SegmentRecord>(it->second);
  }
  Result<std::vector<SegmentRecord>> List() override {
    std::vector<SegmentRecord> out;
    std::scoped_lock lock(s_.mu);
    for (const auto& [n, s] : s_.segments) out.push_back(s);
    return out;
  }

 private:
  State& s_;
};

// ---- users, teams, sessions ----

class MemUsers final : public UserRepository {
 public:
  explicit MemUsers(State& s) : s_(s) {}
  Result<UserRecord> Create(const UserRecord& user) override {
    std::scoped_lock lock(s_.mu);
    for (const auto& [id, u] : s_.users) {
      if (EqualsIgnoreAsciiCase(u.email, user.email)) return Status::AlreadyExists("a user with this e-mail exists");
    }
    UserRecord r = user;
    r.id = s_.next_user_id++;
    s_.users[r.id] = r;
    return r;
  }
  Result<std::optional<UserRecord>> Find(std::int64_t id) override {
    std::scoped_lock lock(s_.mu);
    auto it = s_.users.find(id);
    if (it == s_.users.end()) return std::optional<UserRecord>();
    return std::optional<UserRecord>(it->second);
  }
  Result<std::optional<UserRecord>> FindByEmail(const std::string& email) override {
    std::scoped_lock lock(s_.mu);
    for (const auto& [id, u] : s_.users) {
      if (EqualsIgnoreAsciiCase(u.email, email)) return std::optional<UserRecord>(u);
    }
    return std::optional<UserRecord>();
  }
  Result<std::vector<UserRecord>> List() override {
    std::scoped_lock lock(s_.mu);
    std::vector<UserRecord> out;
    for (const auto& [id, u] : s_.users) out.push_back(u);
    return out;
  }
  Status Update(std::int64_t id, const UserUpdate& c) override {
    std::scoped_lock lock(s_.mu);
    auto it = s_.users.find(id);
    if (it == s_.users.end()) return Status::NotFound("no user with id " + std::to_string(id));
    UserRecord& u = it->second;
    if (c.role) u.role = *c.role;
    if (c.team_id) u.team_id = *c.team_id;
    if (c.password_hash) u.password_hash = *c.password_hash;
    if (c.password_changed_at) u.password_changed_at = *c.password_changed_at;
    if (c.totp_secret) {
      u.totp_secret = *c.totp_secret;
      u.totp_last_step = 0;
    }
    if (c.disabled_at) u.disabled_at = *c.disabled_at;
    if (c.failed_logins) u.failed_logins = *c.failed_logins;
    if (c.locked_until) u.locked_until = *c.locked_until;
    return Status::Ok();
  }
  Result<bool> AdvanceTotpStep(std::int64_t id, std::int64_t step) override {
    std::scoped_lock lock(s_.mu);
    auto it = s_.users.find(id);
    if (it == s_.users.end()) return Status::NotFound("no user with id " + std::to_string(id));
    if (it->second.totp_last_step >= step) return false;
    it->second.totp_last_step = step;
    return true;
  }
  Result<int> AddFailedLogin(std::int64_t id) override {
    std::scoped_lock lock(s_.mu);
    auto it = s_.users.find(id);
    if (it == s_.users.end()) return Status::NotFound("no user with id " + std::to_string(id));
    return ++it->second.failed_logins;
  }

 private:
  State& s_;
};

class MemTeams final : public TeamRepository {
 public:
  explicit MemTeams(State& s) : s_(s) {}
  Result<TeamRecord> Create(const std::string& name, Millis now) override {
    std::scoped_lock lock(s_.mu);
    for (const auto& [id, t] : s_.teams) {
      if (t.name == name) return Status::AlreadyExists("a team named '" + name + "' exists");
    }
    TeamRecord t{s_.next_team_id++, name, now, {}};
    s_.teams[t.id] = t;
    return t;
  }
  Result<std::optional<TeamRecord>> Find(std::int64_t id) override {
    std::scoped_lock lock(s_.mu);
    auto it = s_.teams.find(id);
    if (it == s_.teams.end()) return std::optional<TeamRecord>();
    return std::optional<TeamRecord>(it->second);
  }
  Result<std::optional<TeamRecord>> FindByName(const std::string& name) override {
    std::scoped_lock lock(s_.mu);
    for (const auto& [id, t] : s_.teams) {
      if (t.name == name) return std::optional<TeamRecord>(t);
    }
    return std::optional<TeamRecord>();
  }
  Result<std::vector<TeamRecord>> List() override {
    std::scoped_lock lock(s_.mu);
    std::vector<TeamRecord> out;
    for (const auto& [id, t] : s_.teams) out.push_back(t);
    return out;
  }
  Status AddSupervisor(std::int64_t team_id, std::int64_t user_id) override {
    std::scoped_lock lock(s_.mu);
    auto it = s_.teams.find(team_id);
    if (it == s_.teams.end()) return Status::NotFound("no team with id " + std::to_string(team_id));
    auto& sup = it->second.supervisors;
    auto pos = std::lower_bound(sup.begin(), sup.end(), user_id);
    if (pos == sup.end() || *pos != user_id) sup.insert(pos, user_id);
    return Status::Ok();
  }
  Status RemoveSupervisor(std::int64_t team_id, std::int64_t user_id) override {
    std::scoped_lock lock(s_.mu);
    auto it = s_.teams.find(team_id);
    if (it == s_.teams.end()) return Status::NotFound("no team with id " + std::to_string(team_id));
    auto& sup = it->second.supervisors;
    auto pos = std::find(sup.begin(), sup.end(), user_id);
    if (pos == sup.end()) return Status::NotFound("user " + std::to_string(user_id) + " does not supervise this team");
    sup.erase(pos);
    return Status::Ok();
  }

 private:
  State& s_;
};

class MemSessions final : public SessionRepository {
 public:
  explicit MemSessions(State& s) : s_(s) {}
  Result<SessionRecord> Create(const SessionRecord& session) override {
    std::scoped_lock lock(s_.mu);
    for (const auto& [id, x] : s_.sessions) {
      if (x.token_hash == session.token_hash) return Status::AlreadyExists("a session with this token hash exists");
    }
    SessionRecord r = session;
    r.id = s_.next_session_id++;
    s_.sessions[r.id] = r;
    return r;
  }
  Result<std::optional<SessionRecord>> FindByHash(const std::string& token_hash) override {
    std::scoped_lock lock(s_.mu);
    for (const auto& [id, x] : s_.sessions) {
      if (x.token_hash == token_hash) return std::optional<SessionRecord>(x);
    }
    return std::optional<SessionRecord>();
  }
  Status Touch(std::int64_t id, Millis now) override {
    std::scoped_lock lock(s_.mu);
    auto it = s_.sessions.find(id);
    if (it == s_.sessions.end()) return Status::NotFound("no session with id " + std::to_string(id));
    it->second.last_seen_at = std::max(it->second.last_seen_at, now);
    return Status::Ok();
  }
  Status Revoke(std::int64_t id, Millis now) override {
    std::scoped_lock lock(s_.mu);
    auto it = s_.sessions.find(id);
    if (it == s_.sessions.end()) return Status::NotFound("no session with id " + std::to_string(id));
    if (it->second.revoked_at == 0) it->second.revoked_at = now;
    return Status::Ok();
  }
  Result<std::int64_t> RevokeForUser(std::int64_t user_id, Millis now) override {
    std::scoped_lock lock(s_.mu);
    std::int64_t n = 0;
    for (auto& [id, x] : s_.sessions) {
      if (x.user_id == user_id && x.revoked_at == 0) {
        x.revoked_at = now;
        ++n;
      }
    }
    return n;
  }
  Result<std::int64_t> DeleteExpired(Millis created_before, Millis seen_before) override {
    std::scoped_lock lock(s_.mu);
    std::int64_t n = 0;
    for (auto it = s_.sessions.begin(); it != s_.sessions.end();) {
      const SessionRecord& x = it->second;
      if (x.revoked_at != 0 || x.created_at < created_before || x.last_seen_at < seen_before) {
        it = s_.sessions.erase(it);
        ++n;
      } else {
        ++it;
      }
    }
    return n;
  }

 private:
  State& s_;
};

class MemOutbox final : public OutboxRepository {
 public:
  explicit MemOutbox(State& s) : s_(s) {}

  Result<std::int64_t> Enqueue(Transaction& txn, const Delivery& d) override {
    MemoryTransaction& t = Txn(txn, s_);
    if (d.idempotency_key.empty()) return Status::InvalidArgument("a delivery needs an idempotency key");
    if (d.target.empty()) return Status::InvalidArgument("a delivery needs a target");
    Delivery row = d;
    {
      std::scoped_lock lock(s_.mu);
      auto it = s_.outbox_keys.find(d.idempotency_key);
      if (it != s_.outbox_keys.end()) return it->second;
      row.id = s_.next_outbox_id++;  // ids of rolled-back enqueues are never reused
    }
    row.state = DeliveryState::kPending;
    row.attempts = 0;
    row.last_error.clear();
    row.delivered_at = 0;
    const std::int64_t id = row.id;
    t.Add([row = std::move(row)](State& s) {
      if (!s.outbox_keys.emplace(row.idempotency_key, row.id).second) return;  // the same key twice in one commit
      s.outbox.emplace(row.id, row);
    });
    return id;
  }

  Result<std::vector<Delivery>> Claim(DeliveryKind kind, const std::string& target, Millis now, Millis claim_until,
                                      int limit) override {
    std::scoped_lock lock(s_.mu);
    std::vector<Delivery*> due;
    for (auto& [id, d] : s_.outbox) {
      if (Active(d) && d.kind == kind && (target.empty() || d.target == target) && d.next_attempt_at <= now) {
        due.push_back(&d);
      }
    }
    std::sort(due.begin(), due.end(), [](const Delivery* a, const Delivery* b) {
      return a->next_attempt_at != b->next_attempt_at ? a->next_attempt_at < b->next_attempt_at : a->id < b->id;
    });
    if (due.size() > static_cast<size_t>(std::max(limit, 0))) due.resize(static_cast<size_t>(std::max(limit, 0)));
    std::sort(due.begin(), due.end(), [](const Delivery* a, const Delivery* b) { return a->id < b->id; });
    std::vector<Delivery> out;
    for (Delivery* d : due) {
      d->state = DeliveryState::kDelivering;
      d->attempts += 1;
      d->next_attempt_at = claim_until;
      out.push_back(*d);
    }
    return out;
  }

  Status Finish(std::span<const DeliveryOutcome> outcomes) override {
    std::scoped_lock lock(s_.mu);
    for (const DeliveryOutcome& o : outcomes) {
      auto it = s_.outbox.find(o.id);
      if (it == s_.outbox.end() || it->second.state != DeliveryState::kDelivering) continue;
      Delivery& d = it->second;
      d.state = o.state;
      d.next_attempt_at = o.next_attempt_at;
      d.last_error = o.error;
      if (o.state == DeliveryState::kDelivered) d.delivered_at = o.at;
      if (o.state == DeliveryState::kPending) d.attempts -= 1;  // released unattempted
    }
    return Status::Ok();
  }

  Result<std::int64_t> ReleaseClaims(Millis now) override {
    std::scoped_lock lock(s_.mu);
    std::int64_t n = 0;
    for (auto& [id, d] : s_.outbox) {
      if (d.state == DeliveryState::kDelivering) {
        d.next_attempt_at = now;
        ++n;
      }
    }
    return n;
  }

  Result<std::int64_t> Retry(std::int64_t id, Millis now) override {
    std::scoped_lock lock(s_.mu);
    std::int64_t n = 0;
    for (auto& [did, d] : s_.outbox) {
      const bool match = id > 0 ? did == id && (d.state == DeliveryState::kDead || d.state == DeliveryState::kFailed)
                                : d.state == DeliveryState::kDead;
      if (!match) continue;
      d.state = DeliveryState::kPending;
      d.attempts = 0;
      d.next_attempt_at = now;
      ++n;
    }
    if (id > 0 && n == 0) return Status::NotFound("no dead or failed delivery with id " + std::to_string(id));
    return n;
  }

  Result<std::optional<Delivery>> Find(std::int64_t id) override {
    std::scoped_lock lock(s_.mu);
    auto it = s_.outbox.find(id);
    if (it == s_.outbox.end()) return std::optional<Delivery>();
    return std::optional<Delivery>(it->second);
  }

  Result<std::vector<Delivery>> List(const DeliveryQuery& q) override {
    std::scoped_lock lock(s_.mu);
    std::vector<Delivery> out;
    for (auto it = s_.outbox.rbegin(); it != s_.outbox.rend() && static_cast<int>(out.size()) < q.limit; ++it) {
      const Delivery& d = it->second;
      if (q.before_id > 0 && d.id >= q.before_id) continue;
      if (q.state && d.state != *q.state) continue;
      if (q.kind && d.kind != *q.kind) continue;
      if (!q.target.empty() && d.target != q.target) continue;
      out.push_back(d);
    }
    return out;
  }

  Result<std::array<std::int64_t, kDeliveryStateCount>> CountByState() override {
    std::scoped_lock lock(s_.mu);
    std::array<std::int64_t, kDeliveryStateCount> out{};
    for (const auto& [id, d] : s_.outbox) ++out[static_cast<size_t>(d.state)];
    return out;
  }

  Result<std::optional<Millis>> NextDue(DeliveryKind kind, const std::string& target) override {
    std::scoped_lock lock(s_.mu);
    std::optional<Millis> out;
    for (const auto& [id, d] : s_.outbox) {
      if (!Active(d) || d.kind != kind || (!target.empty() && d.target != target)) continue;
      if (!out || d.next_attempt_at < *out) out = d.next_attempt_at;
    }
    return out;
  }

  Result<std::int64_t> PruneDelivered(Millis before) override {
    std::scoped_lock lock(s_.mu);
    std::int64_t n = 0;
    for (auto it = s_.outbox.begin(); it != s_.outbox.end();) {
      if (it->second.state == DeliveryState::kDelivered && it->second.delivered_at < before) {
        s_.outbox_keys.erase(it->second.idempotency_key);
        it = s_.outbox.erase(it);
        ++n;
      } else {
        ++it;
      }
    }
    return n;
  }

 private:
  static bool Active(const Delivery& d) {
    return d.state == DeliveryState::kPending || d.state == DeliveryState::kFailed ||
           d.state == DeliveryState::kDelivering;
  }
  State& s_;
};

// Master key rotation's rewrites (store/rekey_repository.h).
class MemRekey final : public RekeyRepository {
 public:
  explicit MemRekey(State& s) : s_(s) {}
  Result<std::vector<IdentifierRecord>> IdentifiersAfter(IdentifierId after, int limit) override {
    std::shared_lock lock(s_.mu);
    std::vector<IdentifierRecord> out;
    for (auto it = s_.identifiers.upper_bound(after.value());
         it != s_.identifiers.end() && static_cast<int>(out.size()) < limit; ++it) {
      IdentifierRecord r = it->second;
      auto key = s_.lookup_key_of.find(it->first);
      r.lookup_key = key != s_.lookup_key_of.end() ? key->second : 0;
      out.push_back(std::move(r));
    }
    return out;
  }
  Status SetIdentifierKeys(Transaction& txn, std::span<const IdentifierRecord> identifiers) override {
    std::vector<std::pair<std::int64_t, std::int64_t>> keys;
    for (const auto& r : identifiers) keys.emplace_back(r.id.value(), r.lookup_key);
    Txn(txn, s_).Add([keys = std::move(keys)](State& s) {
      for (const auto& [id, key] : keys) {
        if (!s.identifiers.contains(id)) continue;
        if (auto old = s.lookup_key_of.find(id); old != s.lookup_key_of.end()) {
          auto [b, e] = s.identifiers_by_lookup_key.equal_range(old->second);
          for (auto it = b; it != e; ++it) {
            if (it->second == id) {
              s.identifiers_by_lookup_key.erase(it);
              break;
            }
          }
        }
        s.identifiers_by_lookup_key.emplace(key, id);
        s.lookup_key_of[id] = key;
      }
    });
    return Status::Ok();
  }
  Result<std::vector<SealedCell>> CellsAfter(SealedColumn column, const std::string& after, int limit) override {
    std::shared_lock lock(s_.mu);
    std::vector<SealedCell> out;
    switch (column) {
      case SealedColumn::kOutboxPayload:
        for (auto it = s_.outbox.upper_bound(IntKey(after)); it != s_.outbox.end() && Room(out, limit); ++it) {
          out.push_back({std::to_string(it->first), it->second.idempotency_key, it->second.payload});
        }
        break;
      case SealedColumn::kAttachmentData:
        for (auto it = s_.attachments.upper_bound(after); it != s_.attachments.end() && Room(out, limit); ++it) {
          out.push_back({it->first, it->first, it->second.data});
        }
        break;
      case SealedColumn::kUserTotpSecret:
        for (auto it = s_.users.upper_bound(IntKey(after)); it != s_.users.end() && Room(out, limit); ++it) {
          if (!it->second.totp_secret.empty()) {
            out.push_back({std::to_string(it->first), it->second.email, it->second.totp_secret});
          }
        }
        break;
    }
    return out;
  }
  Result<std::int64_t> ReplaceCells(Transaction& txn, SealedColumn column,
                                    std::span<const SealedCellUpdate> updates) override {
    std::vector<SealedCellUpdate> copy(updates.begin(), updates.end());
    std::int64_t n = 0;
    {
      std::shared_lock lock(s_.mu);
      for (const auto& u : copy) {
        const std::string* v = Cell(s_, column, u.key);
        if (v != nullptr && *v == u.old_value) ++n;
      }
    }
    Txn(txn, s_).Add([column, copy = std::move(copy)](State& s) {
      for (const auto& u : copy) {
        if (std::string* v = Cell(s, column, u.key); v != nullptr && *v == u.old_value) *v = u.new_value;
      }
    });
    return n;
  }

 private:
  static std::int64_t IntKey(const std::string& key) { return key.empty() ? 0 : std::stoll(key); }
  static bool Room(const std::vector<SealedCell>& out, int limit) { return static_cast<int>(out.size()) < limit; }
  static std::string* Cell(State& s, SealedColumn column, const std::string& key) {
    switch (column) {
      case SealedColumn::kOutboxPayload: {
        auto it = s.outbox.find(IntKey(key));
        return it == s.outbox.end() ? nullptr : &it->second.payload;
      }
      case SealedColumn::kAttachmentData: {
        auto it = s.attachments.find(key);
        return it == s.attachments.end() ? nullptr : &it->second.data;
      }
      case SealedColumn::kUserTotpSecret: {
        auto it = s.users.find(IntKey(key));
        return it == s.users.end() ? nullptr : &it->second.totp_secret;
      }
    }
    return nullptr;
  }
  State& s_;
};

class MemKeyring final : public KeyringRepository {
 public:
  MemKeyring(State& s, bool read_only) : s_(s), read_only_(read_only) {}
  Status AddKeys(std::span<const WrappedKeyRecord> keys) override {
    if (read_only_) return Status::FailedPrecondition("store is open read-only");
    std::scoped_lock lock(s_.mu);
    for (const auto& k : keys) s_.keyring.emplace(k.customer.value(), k);
    return Status::Ok();
  }
  Status ReplaceKeys(std::span<const WrappedKeyRecord> keys) override {
    if (read_only_) return Status::FailedPrecondition("store is open read-only");
    std::scoped_lock lock(s_.mu);
    for (const auto& k : keys) {
      auto it = s_.keyring.find(k.customer.value());
      if (it != s_.keyring.end() && !it->second.wrapped.empty()) it->second = k;
    }
    return Status::Ok();
  }
  Result<std::optional<WrappedKeyRecord>> FindKey(CustomerId customer) override {
    std::shared_lock lock(s_.mu);
    auto it = s_.keyring.find(customer.value());
    if (it == s_.keyring.end()) return std::optional<WrappedKeyRecord>();
    return std::optional<WrappedKeyRecord>(it->second);
  }
  Status ScanKeys(const std::function<void(WrappedKeyRecord&&)>& fn) override {
    std::vector<WrappedKeyRecord> keys;
    {
      std::shared_lock lock(s_.mu);
      for (const auto& [c, k] : s_.keyring) keys.push_back(k);
    }
    for (auto& k : keys) fn(std::move(k));
    return Status::Ok();
  }
  Status DestroyKeys(std::span<const CustomerId> customers) override {
    if (read_only_) return Status::FailedPrecondition("store is open read-only");
    std::scoped_lock lock(s_.mu);
    for (CustomerId c : customers) s_.keyring.erase(c.value());
    return Status::Ok();
  }
  Status PutSetting(const std::string& name, const std::string& value) override {
    if (read_only_) return Status::FailedPrecondition("store is open read-only");
    std::scoped_lock lock(s_.mu);
    s_.privacy_settings[name] = value;
    return Status::Ok();
  }
  Result<std::optional<std::string>> Setting(const std::string& name) override {
    std::shared_lock lock(s_.mu);
    auto it = s_.privacy_settings.find(name);
    if (it == s_.privacy_settings.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }

 private:
  State& s_;
  bool read_only_;
};

class MemDpBudgets final : public DpBudgetRepository {
 public:
  explicit MemDpBudgets(State& s) : s_(s) {}
  Status SetBudget(const std::string& dataset, std::int64_t epsilon_micros, Millis /*now*/) override {
    if (epsilon_micros <= 0) return Status::InvalidArgument("a privacy budget must be above 0");
    std::scoped_lock lock(s_.mu);
    s_.dp_budgets[dataset] = epsilon_micros;
    return Status::Ok();
  }
  Result<std::optional<std::int64_t>> Budget(const std::string& dataset) override {
    std::scoped_lock lock(s_.mu);
    auto it = s_.dp_budgets.find(dataset);
    if (it == s_.dp_budgets.end()) return std::optional<std::int64_t>();
    return std::optional<std::int64_t>(it->second);
  }
  Result<std::int64_t> Spent(const std::string& dataset) override {
    std::scoped_lock lock(s_.mu);
    return SpentLocked(dataset);
  }
  Result<DpRelease> Spend(const DpRelease& release, std::int64_t default_budget_micros) override {
    if (release.epsilon_micros <= 0) return Status::InvalidArgument("a release must spend an epsilon above 0");
    std::scoped_lock lock(s_.mu);
    const std::int64_t spent = SpentLocked(release.dataset);
    auto it = s_.dp_budgets.find(release.dataset);
    const std::int64_t budget = it == s_.dp_budgets.end() ? default_budget_micros : it->second;
    if (spent + release.epsilon_micros > budget) {
      return DpBudgetExceeded(release.dataset, spent, budget, release.epsilon_micros);
    }
    DpRelease stored = release;
    stored.id = static_cast<std::int64_t>(s_.dp_releases.size()) + 1;
    s_.dp_releases.push_back(stored);
    return stored;
  }
  Result<std::vector<DpRelease>> Releases(const std::string& dataset) override {
    std::scoped_lock lock(s_.mu);
    std::vector<DpRelease> out;
    for (const DpRelease& r : s_.dp_releases) {
      if (r.dataset == dataset) out.push_back(r);
    }
    return out;
  }
  Result<std::vector<std::string>> Datasets() override {
    std::scoped_lock lock(s_.mu);
    std::set<std::string> names;
    for (const auto& [name, budget] : s_.dp_budgets) names.insert(name);
    for (const DpRelease& r : s_.dp_releases) names.insert(r.dataset);
    return std::vector<std::string>(names.begin(), names.end());
  }

 private:
  std::int64_t SpentLocked(const std::string& dataset) const {
    std::int64_t total = 0;
    for (const DpRelease& r : s_.dp_releases) {
      if (r.dataset == dataset) total += r.epsilon_micros;
    }
    return total;
  }
  State& s_;
};

class MemConsents final : public ConsentRepository {
 public:
  MemConsents(State& s, bool read_only) : s_(s), read_only_(read_only) {}
  Status Add(Transaction& txn, std::span<const ConsentRecord> records) override {
    std::vector<ConsentRecord> copy(records.begin(), records.end());
    Txn(txn, s_).Add([copy = std::move(copy)](State& s) mutable {
      for (auto& r : copy) {
        r.id = ++s.last_consent_id;
        s.consents.push_back(std::move(r));
      }
    });
    return Status::Ok();
  }
  Result<std::vector<ConsentRecord>> Record(std::span<const ConsentRecord> records) override {
    if (read_only_) return Status::FailedPrecondition("store is open read-only");
    std::scoped_lock lock(s_.mu);
    std::vector<ConsentRecord> out;
    for (const ConsentRecord& r : records) {
      ConsentRecord stored = r;
      stored.id = ++s_.last_consent_id;
      s_.consents.push_back(stored);
      out.push_back(std::move(stored));
    }
    return out;
  }
  Result<std::vector<ConsentRecord>> ForCustomers(std::span<const CustomerId> customers) override {
    std::shared_lock lock(s_.mu);
    std::vector<ConsentRecord> out;
    for (const ConsentRecord& r : s_.consents) {
      if (std::find(customers.begin(), customers.end(), r.customer) != customers.end()) out.push_back(r);
    }
    return out;
  }
  Status Scan(const std::function<void(ConsentRecord&&)>& fn) override {
    std::vector<ConsentRecord> all;
    {
      std::shared_lock lock(s_.mu);
      all = s_.consents;
    }
    for (auto& r : all) fn(std::move(r));
    return Status::Ok();
  }
  Result<std::int64_t> Count() override {
    std::shared_lock lock(s_.mu);
    return static_cast<std::int64_t>(s_.consents.size());
  }

 private:
  State& s_;
  bool read_only_;
};

// A lease's "session" is the lease object: destroying it frees the writer lock, and
// ExpireLeases ends it early (a lost database session).
class MemLease final : public WriterLease {
 public:
  MemLease(std::shared_ptr<State> state, std::int64_t epoch, std::uint64_t token)
      : state_(std::move(state)), epoch_(epoch), token_(token) {}
  ~MemLease() override {
    std::scoped_lock lock(state_->mu);
    if (state_->lease_holder == token_) state_->lease_holder = 0;
  }
  std::int64_t epoch() const override { return epoch_; }
  Status Check() override {
    std::scoped_lock lock(state_->mu);
    if (state_->epoch != epoch_) return Status::FailedPrecondition(FencedMessage(epoch_, state_->epoch));
    if (state_->lease_holder != token_) return Status::Unavailable("the writer lock's session has ended");
    return Status::Ok();
  }

 private:
  std::shared_ptr<State> state_;  // shared: a lease may outlive the store it came from
  std::int64_t epoch_;
  std::uint64_t token_;
};

class MemCluster final : public Cluster {
 public:
  explicit MemCluster(std::shared_ptr<State> state) : s_(std::move(state)) {}
  Result<std::unique_ptr<WriterLease>> TryAcquire(const std::string&) override {
    std::scoped_lock lock(s_->mu);
    if (s_->lease_holder != 0) return std::unique_ptr<WriterLease>();
    s_->lease_holder = s_->next_lease++;
    ++s_->epoch;
    return std::unique_ptr<WriterLease>(std::make_unique<MemLease>(s_, s_->epoch, s_->lease_holder));
  }
  Result<std::int64_t> CurrentEpoch() override {
    std::scoped_lock lock(s_->mu);
    return s_->epoch;
  }
  Status Heartbeat(const NodeRecord& node) override {
    if (node.id.empty()) return Status::InvalidArgument("a node needs an id");
    std::scoped_lock lock(s_->mu);
    NodeRecord& row = s_->nodes[node.id];
    row = node;
    row.heartbeat_at = NowMillis();
    return Status::Ok();
  }
  Result<std::vector<NodeRecord>> Nodes() override {
    std::vector<NodeRecord> out;
    std::scoped_lock lock(s_->mu);
    for (const auto& [id, n] : s_->nodes) out.push_back(n);
    return out;
  }
  Status Leave(const std::string& node_id) override {
    std::scoped_lock lock(s_->mu);
    s_->nodes.erase(node_id);
    return Status::Ok();
  }
  Result<ChangePoint> Committed() override {
    std::scoped_lock lock(s_->mu);
    return s_->committed;
  }
  Result<ChangePoint> WaitForChange(std::int64_t after_seq, std::chrono::milliseconds timeout) override {
    std::unique_lock lock(s_->mu);
    s_->changed.wait_for(lock, timeout, [&] { return s_->committed.seq > after_seq; });
    return s_->committed;
  }

 private:
  std::shared_ptr<State> s_;
};

// ---- the desk's channels ----

class MemChannels final : public ChannelRepository {
 public:
  explicit MemChannels(State& s) : s_(s) {}
  Status PutMessage(Transaction& txn, const ChannelMessageRecord& r) override {
    Txn(txn, s_).Add([r](State& s) { s.channel_messages[r.key] = r; });
    return Status::Ok();
  }
  Result<std::optional<ChannelMessageRecord>> FindMessage(const std::string& key) override {
    std::shared_lock lock(s_.mu);
    auto it = s_.channel_messages.find(key);
    if (it == s_.channel_messages.end()) return std::optional<ChannelMessageRecord>();
    return std::optional<ChannelMessageRecord>(it->second);
  }
  Result<std::optional<ChannelMessageRecord>> FindByMailId(const std::string& mail_id) override {
    std::shared_lock lock(s_.mu);
    std::optional<ChannelMessageRecord> out;
    for (const auto& [k, r] : s_.channel_messages) {
      if (!mail_id.empty() && r.mail_id == mail_id && (!out || r.at >= out->at)) out = r;
    }
    return out;
  }
  Status AddSurvey(Transaction& txn, const CsatSurveyRecord& r) override {
    MemoryTransaction& t = Txn(txn, s_);
    {
      std::shared_lock lock(s_.mu);
      if (s_.csat_surveys.count(r.id)) return Status::AlreadyExists("survey " + r.id + " exists");
    }
    t.Add([r](State& s) {
      if (s.csat_surveys.emplace(r.id, r).second) s.csat_order.push_back(r.id);
    });
    return Status::Ok();
  }
  Result<std::optional<CsatSurveyRecord>> FindSurvey(const std::string& id) override {
    std::shared_lock lock(s_.mu);
    auto it = s_.csat_surveys.find(id);
    if (it == s_.csat_surveys.end()) return std::optional<CsatSurveyRecord>();
    return std::optional<CsatSurveyRecord>(it->second);
  }
  Result<std::vector<CsatSurveyRecord>> Surveys(std::int64_t ticket) override {
    std::shared_lock lock(s_.mu);
    std::vector<CsatSurveyRecord> out;
    for (const std::string& id : s_.csat_order) {
      const CsatSurveyRecord& r = s_.csat_surveys.at(id);
      if (r.ticket == ticket) out.push_back(r);
    }
    return out;
  }
  // The open transaction holds txn_mu, so no other writer answers between this check and Commit.
  Status AnswerSurvey(Transaction& txn, const std::string& id, int score, const std::string& comment,
                      Millis at) override {
    MemoryTransaction& t = Txn(txn, s_);
    {
      std::shared_lock lock(s_.mu);
      auto it = s_.csat_surveys.find(id);
      if (it == s_.csat_surveys.end()) return Status::NotFound("no survey " + id);
      if (it->second.answered_at != 0) return Status::FailedPrecondition("the survey was answered already");
    }
    t.Add([id, score, comment, at](State& s) {
      CsatSurveyRecord& r = s.csat_surveys.at(id);
      if (r.answered_at != 0) return;
      r.answered_at = at;
      r.score = score;
      r.comment = comment;
    });
    return Status::Ok();
  }
  Status PutAttachment(Transaction& txn, const AttachmentRecord& a) override {
    Txn(txn, s_).Add([a](State& s) { s.attachments.emplace(a.hash, a); });
    return Status::Ok();
  }
  Result<std::optional<AttachmentRecord>> FindAttachment(const std::string& hash) override {
    std::shared_lock lock(s_.mu);
    auto it = s_.attachments.find(hash);
    if (it == s_.attachments.end()) return std::optional<AttachmentRecord>();
    return std::optional<AttachmentRecord>(it->second);
  }
  Status LinkAttachments(Transaction& txn, std::span<const MessageAttachmentRecord> links) override {
    std::vector<MessageAttachmentRecord> copy(links.begin(), links.end());
    Txn(txn, s_).Add([copy = std::move(copy)](State& s) {
      for (const auto& l : copy) {
        const bool known = std::any_of(s.message_attachments.begin(), s.message_attachments.end(), [&](const auto& m) {
          return m.message_key == l.message_key && m.hash == l.hash;
        });
        if (!known) s.message_attachments.push_back(l);
      }
    });
    return Status::Ok();
  }
  Result<std::vector<MessageAttachmentRecord>> MessageAttachments(const std::string& message_key) override {
    std::shared_lock lock(s_.mu);
    std::vector<MessageAttachmentRecord> out;
    for (const auto& m : s_.message_attachments) {
      if (m.message_key == message_key) out.push_back(m);
    }
    return out;
  }

 private:
  State& s_;
};

// ---- subject rights: suppression list, erasure, retention ----

class MemSuppressions final : public SuppressionRepository {
 public:
  explicit MemSuppressions(State& s) : s_(s) {}
  Status Add(Transaction& txn, std::span<const SuppressionRecord> entries) override {
    std::vector<SuppressionRecord> copy(entries.begin(), entries.end());
    Txn(txn, s_).Add([copy = std::move(copy)](State& s) {
      for (const auto& e : copy) {
        if (s.suppressions.emplace(e.value, e.key_version).second) {
          s.suppression_added[{e.value, e.key_version}] = e.added_at;
        }
      }
    });
    return Status::Ok();
  }
  Status Scan(const std::function<void(const SuppressionRecord&)>& fn) override {
    std::vector<SuppressionRecord> all;
    {
      std::scoped_lock lock(s_.mu);
      for (const auto& k : s_.suppressions) all.push_back({k.first, k.second, s_.suppression_added[k]});
    }
    for (const auto& e : all) fn(e);
    return Status::Ok();
  }
  Result<std::int64_t> Count() override {
    std::scoped_lock lock(s_.mu);
    return static_cast<std::int64_t>(s_.suppressions.size());
  }

 private:
  State& s_;
};

// Counts (apply = false) or removes (apply = true) everything of `ids` in `s`; s.mu held.
ErasureCounts EraseIn(State& s, const std::set<std::int64_t>& ids, bool apply) {
  ErasureCounts c;
  const auto has = [&](CustomerId id) { return ids.count(id.value()) > 0; };
  for (auto& e : s.events) {
    if (IsTombstone(e) || !has(e.customer)) continue;
    ++c.events;
    if (apply) {
      const std::int64_t seq = e.seq;
      e = EventRecord{};
      e.seq = seq;
      ++s.erased_events;
    }
  }
  const auto sweep = [&](auto& table, std::int64_t* n) {
    for (const auto& r : table) *n += has(r.customer) ? 1 : 0;
    if (apply) std::erase_if(table, [&](const auto& r) { return has(r.customer); });
  };
  sweep(s.orders, &c.orders);
  sweep(s.messages, &c.messages);
  sweep(s.surveys, &c.surveys);
  sweep(s.escalations, &c.escalations);
  for (std::int64_t id : ids) {
    c.profiles += static_cast<std::int64_t>(s.profiles.count(id));
    c.customers += static_cast<std::int64_t>(s.customers.count(id));
    if (auto it = s.identifiers_by_customer.find(id); it != s.identifiers_by_customer.end()) {
      c.identifiers += static_cast<std::int64_t>(it->second.size());
    }
  }
  std::set<std::int64_t> merges;
  for (const auto& [id, m] : s.merges) {
    if (has(m.winner) || has(m.loser)) merges.insert(id);
  }
  c.merges = static_cast<std::int64_t>(merges.size());
  for (const auto& [a, b] : s.merge_blocks) c.merge_blocks += ids.count(a) || ids.count(b) ? 1 : 0;
  for (const auto& r : s.consents) c.consents += has(r.customer) ? 1 : 0;
  // Their exposures in experiments whose unit is the customer (store/experiment_repository.h).
  const auto exposed = [&](const std::pair<std::int64_t, std::string>& key) {
    auto e = s.experiments.find(key.first);
    if (e == s.experiments.end() || e->second.unit != "customer") return false;
    for (std::int64_t id : ids) {
      if (key.second == std::to_string(id)) return true;
    }
    return false;
  };
  if (apply) std::erase_if(s.exposures, [&](const auto& kv) { return exposed(kv.first); });
  // The desk's tickets stay, de-identified (store/erasure_repository.h).
  std::set<std::int64_t> tickets;
  for (const auto& [number, t] : s.tickets) {
    if (has(t.customer)) tickets.insert(number);
  }
  const auto theirs = [&](std::int64_t ticket) { return tickets.count(ticket) > 0; };
  c.tickets = static_cast<std::int64_t>(tickets.size());
  for (const auto& m : s.ticket_messages) c.ticket_messages += theirs(m.ticket) ? 1 : 0;
  for (const auto& [key, value] : s.ticket_fields) c.ticket_fields += theirs(key.first) ? 1 : 0;
  for (const auto& l : s.message_attachments) c.attachments += theirs(l.ticket) ? 1 : 0;
  std::set<std::int64_t> deliveries;  // their replies' and surveys' outbox rows
  for (const auto& [key, m] : s.channel_messages) {
    if (theirs(m.ticket) && s.outbox.count(m.outbox_id)) deliveries.insert(m.outbox_id);
  }
  for (const auto& [id, survey] : s.csat_surveys) {
    if (theirs(survey.ticket) && s.outbox.count(survey.outbox_id)) deliveries.insert(survey.outbox_id);
  }
  c.deliveries = static_cast<std::int64_t>(deliveries.size());
  if (!apply) return c;
  for (std::int64_t d : deliveries) {
    s.outbox_keys.erase(s.outbox.at(d).idempotency_key);
    s.outbox.erase(d);
  }
  std::erase_if(s.consents, [&](const ConsentRecord& r) { return has(r.customer); });
  for (std::int64_t number : tickets) {
    TicketRecord& t = s.tickets.at(number);
    t.subject = kErasedText;
    ++t.version;
  }
  for (auto& m : s.ticket_messages) {
    if (theirs(m.ticket)) m.text = kErasedText;
  }
  std::erase_if(s.ticket_fields, [&](const auto& kv) { return theirs(kv.first.first); });
  std::set<std::string> kept_files;  // linked by a message of another ticket
  for (const auto& l : s.message_attachments) {
    if (!theirs(l.ticket)) kept_files.insert(l.hash);
  }
  for (const auto& l : s.message_attachments) {
    if (theirs(l.ticket) && !kept_files.count(l.hash)) s.attachments.erase(l.hash);
  }
  std::erase_if(s.message_attachments, [&](const MessageAttachmentRecord& l) { return theirs(l.ticket); });
  std::erase_if(s.ticket_tokens, [&](const auto& p) { return theirs(p.second); });
  for (auto& [id, survey] : s.csat_surveys) {
    if (theirs(survey.ticket) && !survey.comment.empty()) survey.comment = kErasedText;
  }
  for (auto& [key, m] : s.channel_messages) {
    if (theirs(m.ticket)) m.mail_id.clear();
  }
  for (std::int64_t id : ids) {
    s.profiles.erase(id);
    if (auto it = s.customers.find(id); it != s.customers.end()) {
      if (it->second.merged_into.valid()) s.customers_by_merged_into[it->second.merged_into.value()].erase(id);
      s.customers.erase(it);
    }
    s.customers_by_merged_into.erase(id);
    if (auto it = s.identifiers_by_customer.find(id); it != s.identifiers_by_customer.end()) {
      for (std::int64_t ident : it->second) {
        if (auto r = s.identifiers.find(ident); r != s.identifiers.end()) {
          s.identifier_by_key.erase(r->second.kind + '\0' + r->second.value);
          s.identifiers.erase(r);
        }
      }
      s.identifiers_by_customer.erase(it);
    }
  }
  for (std::int64_t m : merges) {
    const MergeRecord& rec = s.merges[m];
    s.merges_by_customer[rec.winner.value()].erase(m);
    s.merges_by_customer[rec.loser.value()].erase(m);
    s.merges.erase(m);
  }
  for (std::int64_t id : ids) s.merges_by_customer.erase(id);
  std::erase_if(s.merge_blocks, [&](const auto& p) { return ids.count(p.first) || ids.count(p.second); });
  return c;
}

class MemErasure final : public ErasureRepository {
 public:
  explicit MemErasure(State& s) : s_(s) {}
  Result<ErasureCounts> Erase(Transaction& txn, std::span<const CustomerId> customers) override {
    MemoryTransaction& t = Txn(txn, s_);
    std::set<std::int64_t> ids;
    for (CustomerId c : customers) {
      if (c.valid()) ids.insert(c.value());
    }
    ErasureCounts counts;
    {
      std::scoped_lock lock(s_.mu);
      counts = EraseIn(s_, ids, /*apply=*/false);
    }
    t.Add([ids = std::move(ids)](State& s) { EraseIn(s, ids, /*apply=*/true); });
    return counts;
  }
  Status Scrub() override { return Status::Ok(); }
  Result<std::int64_t> DeleteOlderThan(Transaction& txn, RetentionKind kind, Millis before, int limit) override {
    MemoryTransaction& t = Txn(txn, s_);
    const auto max = static_cast<std::int64_t>(std::max(limit, 1));
    std::int64_t n = 0;
    std::scoped_lock lock(s_.mu);
    // Counted now, removed at commit (the oldest first, as the SQL backends do).
    const auto plan = [&](const auto& table, auto ts) {
      std::int64_t k = 0;
      for (const auto& r : table) {
        if (k >= max) break;
        if (ts(r) < before) ++k;
      }
      return k;
    };
    const auto remove = [before, max](auto& table, auto ts) {
      std::int64_t k = 0;
      std::erase_if(table, [&](const auto& r) {
        if (k >= max || ts(r) >= before) return false;
        ++k;
        return true;
      });
    };
    switch (kind) {
      case RetentionKind::kMessages: {
        auto ts = [](const MessageRecord& r) { return r.timestamp; };
        n = plan(s_.messages, ts);
        t.Add([remove, ts](State& s) { remove(s.messages, ts); });
        break;
      }
      case RetentionKind::kSurveys: {
        auto ts = [](const SurveyRecord& r) { return r.timestamp; };
        n = plan(s_.surveys, ts);
        t.Add([remove, ts](State& s) { remove(s.surveys, ts); });
        break;
      }
      case RetentionKind::kOrders: {
        auto ts = [](const OrderRecord& r) { return r.timestamp; };
        n = plan(s_.orders, ts);
        t.Add([remove, ts](State& s) { remove(s.orders, ts); });
        break;
      }
      case RetentionKind::kEscalations: {
        auto ts = [](const EscalationRecord& r) { return r.at; };
        n = plan(s_.escalations, ts);
        t.Add([remove, ts](State& s) { remove(s.escalations, ts); });
        break;
      }
      case RetentionKind::kEvents: {
        // Tombstones, so seq numbers keep their meaning; never the last event (as the SQL
        // backends never delete the last chunk).
        std::vector<size_t> hit;
        for (size_t i = 0; i + 1 < s_.events.size() && static_cast<std::int64_t>(hit.size()) < max; ++i) {
          const EventRecord& e = s_.events[i];
          if (!IsTombstone(e) && e.timestamp < before) hit.push_back(i);
        }
        n = static_cast<std::int64_t>(hit.size());
        t.Add([hit = std::move(hit)](State& s) {
          for (size_t i : hit) {
            const std::int64_t seq = s.events[i].seq;
            s.events[i] = EventRecord{};
            s.events[i].seq = seq;
            ++s.erased_events;
          }
        });
        break;
      }
    }
    return n;
  }

 private:
  State& s_;
};

// ---- SLA policies, events and complaint tasks ----

class MemSla final : public SlaRepository {
 public:
  explicit MemSla(State& s) : s_(s) {}
  Result<std::vector<SlaPolicyRecord>> Policies() override {
    std::vector<SlaPolicyRecord> out;
    {
      std::shared_lock lock(s_.mu);
      for (const auto& [n, p] : s_.sla_policies) out.push_back(p);
    }
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.position < b.position; });
    return out;
  }
  Status PutPolicy(Transaction& txn, const SlaPolicyRecord& policy) override {
    Txn(txn, s_).Add([policy](State& s) { s.sla_policies[policy.name] = policy; });
    return Status::Ok();
  }
  Result<bool> DeletePolicy(Transaction& txn, const std::string& name) override {
    MemoryTransaction& t = Txn(txn, s_);
    {
      std::shared_lock lock(s_.mu);
      if (!s_.sla_policies.count(name)) return false;
    }
    t.Add([name](State& s) { s.sla_policies.erase(name); });
    return true;
  }
  // The open transaction holds txn_mu: no other writer adds an event between check and commit.
  Result<bool> AddEvent(Transaction& txn, const SlaEventRecord& event) override {
    MemoryTransaction& t = Txn(txn, s_);
    auto key = std::make_tuple(event.ticket, event.target, event.kind, event.cycle);
    {
      std::shared_lock lock(s_.mu);
      if (s_.sla_event_keys.count(key)) return false;
    }
    t.Add([event, key](State& s) {
      if (!s.sla_event_keys.insert(key).second) return;
      SlaEventRecord e = event;
      e.id = static_cast<std::int64_t>(s.sla_events.size()) + 1;
      s.sla_events.push_back(std::move(e));
    });
    return true;
  }
  Result<std::vector<SlaEventRecord>> Events(std::int64_t ticket) override {
    std::vector<SlaEventRecord> out;
    std::shared_lock lock(s_.mu);
    for (const auto& e : s_.sla_events) {
      if (e.ticket == ticket) out.push_back(e);
    }
    return out;
  }
  Status ScanEvents(std::int64_t from_ticket, const std::function<void(SlaEventRecord&&)>& fn) override {
    std::vector<SlaEventRecord> all;
    {
      std::shared_lock lock(s_.mu);
      for (const auto& e : s_.sla_events) {
        if (e.ticket >= from_ticket) all.push_back(e);
      }
    }
    std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.ticket < b.ticket; });
    for (auto& e : all) fn(std::move(e));
    return Status::Ok();
  }
  Result<std::int64_t> AddTask(Transaction& txn, const ComplaintTaskRecord& task) override {
    MemoryTransaction& t = Txn(txn, s_);
    std::int64_t id = 0;
    {
      std::scoped_lock lock(s_.mu);
      id = s_.next_task_id++;
    }
    ComplaintTaskRecord copy = task;
    copy.id = id;
    t.Add([copy = std::move(copy)](State& s) { s.complaint_tasks[copy.id] = copy; });
    return id;
  }
  Status CompleteTask(Transaction& txn, std::int64_t id, Millis at, const std::string& by) override {
    MemoryTransaction& t = Txn(txn, s_);
    {
      std::shared_lock lock(s_.mu);
      auto it = s_.complaint_tasks.find(id);
      if (it == s_.complaint_tasks.end()) return Status::NotFound("no task " + std::to_string(id));
      if (it->second.completed_at != 0) return Status::FailedPrecondition("task " + std::to_string(id) + " is done");
    }
    t.Add([id, at, by](State& s) {
      auto& task = s.complaint_tasks[id];
      task.completed_at = at;
      task.completed_by = by;
    });
    return Status::Ok();
  }
  Result<std::vector<ComplaintTaskRecord>> Tasks(std::int64_t ticket) override {
    std::vector<ComplaintTaskRecord> out;
    std::shared_lock lock(s_.mu);
    for (const auto& [id, t] : s_.complaint_tasks) {
      if (t.ticket == ticket) out.push_back(t);
    }
    return out;
  }
  Result<std::vector<ComplaintTaskRecord>> OpenTasks() override {
    std::vector<ComplaintTaskRecord> out;
    std::shared_lock lock(s_.mu);
    for (const auto& [id, t] : s_.complaint_tasks) {
      if (t.completed_at == 0) out.push_back(t);
    }
    return out;
  }

 private:
  State& s_;
};

// ---- the desk's measured facts and spans ----

class MemKpi final : public KpiRepository {
 public:
  explicit MemKpi(State& s) : s_(s) {}
  Status PutTicket(Transaction& txn, const KpiTicketRecord& ticket, std::span<const KpiSpanRecord> spans) override {
    std::vector<KpiSpanRecord> copy(spans.begin(), spans.end());
    for (auto& sp : copy) sp.ticket = ticket.ticket;
    Txn(txn, s_).Add([ticket, copy = std::move(copy)](State& s) {
      s.kpi_tickets[ticket.ticket] = ticket;
      auto it = s.kpi_spans.lower_bound({ticket.ticket, std::string(), std::numeric_limits<std::int32_t>::min()});
      while (it != s.kpi_spans.end() && std::get<0>(it->first) == ticket.ticket) it = s.kpi_spans.erase(it);
      for (const auto& sp : copy) s.kpi_spans[{sp.ticket, sp.kind, sp.seq}] = sp;
    });
    return Status::Ok();
  }
  Result<std::optional<KpiTicketRecord>> FindTicket(std::int64_t ticket) override {
    std::shared_lock lock(s_.mu);
    auto it = s_.kpi_tickets.find(ticket);
    if (it == s_.kpi_tickets.end()) return std::optional<KpiTicketRecord>();
    return std::optional<KpiTicketRecord>(it->second);
  }
  Result<std::vector<KpiSpanRecord>> Spans(std::int64_t ticket) override {
    std::vector<KpiSpanRecord> out;
    std::shared_lock lock(s_.mu);
    for (auto it = s_.kpi_spans.lower_bound({ticket, std::string(), std::numeric_limits<std::int32_t>::min()});
         it != s_.kpi_spans.end() && std::get<0>(it->first) == ticket; ++it) {
      out.push_back(it->second);
    }
    return out;
  }
  Status ScanTickets(Millis from, Millis to, const std::function<void(KpiTicketRecord&&)>& fn) override {
    std::vector<KpiTicketRecord> all;
    {
      std::shared_lock lock(s_.mu);
      for (const auto& [n, t] : s_.kpi_tickets) {
        if (In(t.created_at, from, to)) all.push_back(t);
      }
    }
    for (auto& t : all) fn(std::move(t));
    return Status::Ok();
  }
  Status ScanSpans(Millis from, Millis to, const std::function<void(KpiSpanRecord&&)>& fn) override {
    std::vector<KpiSpanRecord> all;
    {
      std::shared_lock lock(s_.mu);
      for (const auto& [k, sp] : s_.kpi_spans) {
        auto t = s_.kpi_tickets.find(sp.ticket);
        if (t != s_.kpi_tickets.end() && In(t->second.created_at, from, to)) all.push_back(sp);
      }
    }
    for (auto& sp : all) fn(std::move(sp));
    return Status::Ok();
  }
  Result<std::int64_t> Clear(Transaction& txn) override {
    std::int64_t n = 0;
    {
      std::shared_lock lock(s_.mu);
      n = static_cast<std::int64_t>(s_.kpi_tickets.size());
    }
    Txn(txn, s_).Add([](State& s) {
      s.kpi_tickets.clear();
      s.kpi_spans.clear();
    });
    return n;
  }

 private:
  static bool In(Millis t, Millis from, Millis to) { return (from == 0 || t >= from) && (to == 0 || t < to); }
  State& s_;
};

// ---- experiments and their exposures ----

class MemExperiments final : public ExperimentRepository {
 public:
  MemExperiments(State& s, bool read_only) : s_(s), read_only_(read_only) {}
  Result<ExperimentRecord> Create(const ExperimentRecord& experiment) override {
    if (read_only_) return ReadOnly();
    std::scoped_lock lock(s_.mu);
    for (const auto& [id, e] : s_.experiments) {
      if (e.name == experiment.name) return Status::AlreadyExists("an experiment named " + e.name + " exists");
    }
    ExperimentRecord stored = experiment;
    stored.id = s_.next_experiment_id++;
    s_.experiments[stored.id] = stored;
    return stored;
  }
  Result<ExperimentRecord> SetStatus(std::int64_t id, const std::string& from, const std::string& to,
                                     Millis at) override {
    if (read_only_) return ReadOnly();
    std::scoped_lock lock(s_.mu);
    auto it = s_.experiments.find(id);
    if (it == s_.experiments.end()) return Status::NotFound("no experiment " + std::to_string(id));
    ExperimentRecord& e = it->second;
    if (e.status != from) {
      return Status::FailedPrecondition("experiment " + std::to_string(id) + " is " + e.status + ", not " + from);
    }
    e.status = to;
    if (to == "running") e.started_at = at;
    if (to == "stopped") e.stopped_at = at;
    return e;
  }
  Result<std::optional<ExperimentRecord>> Find(std::int64_t id) override {
    std::shared_lock lock(s_.mu);
    auto it = s_.experiments.find(id);
    if (it == s_.experiments.end()) return std::optional<ExperimentRecord>();
    return std::optional<ExperimentRecord>(it->second);
  }
  Result<std::optional<ExperimentRecord>> FindByName(const std::string& name) override {
    std::shared_lock lock(s_.mu);
    for (const auto& [id, e] : s_.experiments) {
      if (e.name == name) return std::optional<ExperimentRecord>(e);
    }
    return std::optional<ExperimentRecord>();
  }
  Result<std::vector<ExperimentRecord>> List() override {
    std::shared_lock lock(s_.mu);
    std::vector<ExperimentRecord> out;
    for (const auto& [id, e] : s_.experiments) out.push_back(e);
    return out;
  }
  Result<ExposureRecord> Expose(const ExposureRecord& exposure) override {
    if (read_only_) return ReadOnly();
    std::scoped_lock lock(s_.mu);
    if (!s_.experiments.contains(exposure.experiment)) {
      return Status::NotFound("no experiment " + std::to_string(exposure.experiment));
    }
    auto [it, inserted] = s_.exposures.try_emplace({exposure.experiment, exposure.unit}, exposure);
    return it->second;
  }
  Result<std::optional<ExposureRecord>> FindExposure(std::int64_t experiment, const std::string& unit) override {
    std::shared_lock lock(s_.mu);
    auto it = s_.exposures.find({experiment, unit});
    if (it == s_.exposures.end()) return std::optional<ExposureRecord>();
    return std::optional<ExposureRecord>(it->second);
  }
  Status ScanExposures(std::int64_t experiment, const std::function<void(ExposureRecord&&)>& fn) override {
    std::vector<ExposureRecord> all;
    {
      std::shared_lock lock(s_.mu);
      for (auto it = s_.exposures.lower_bound({experiment, std::string()});
           it != s_.exposures.end() && it->first.first == experiment; ++it) {
        all.push_back(it->second);
      }
    }
    std::sort(all.begin(), all.end(), [](const ExposureRecord& a, const ExposureRecord& b) {
      return std::tie(a.exposed_at, a.unit) < std::tie(b.exposed_at, b.unit);
    });
    for (auto& e : all) fn(std::move(e));
    return Status::Ok();
  }
  Result<std::vector<ExposureRecord>> ExposuresOfUnits(const std::string& unit_kind,
                                                       const std::vector<std::string>& units) override {
    std::shared_lock lock(s_.mu);
    std::vector<ExposureRecord> out;
    for (const auto& [key, x] : s_.exposures) {
      if (Matches(key, unit_kind, units)) out.push_back(x);
    }
    return out;
  }
  Result<std::int64_t> EraseExposures(const std::string& unit_kind, const std::vector<std::string>& units) override {
    if (read_only_) return ReadOnly();
    std::scoped_lock lock(s_.mu);
    std::int64_t n = 0;
    for (auto it = s_.exposures.begin(); it != s_.exposures.end();) {
      if (Matches(it->first, unit_kind, units)) {
        it = s_.exposures.erase(it);
        ++n;
      } else {
        ++it;
      }
    }
    return n;
  }

 private:
  static Status ReadOnly() { return Status::FailedPrecondition("store is open read-only"); }
  // REQUIRES: s_.mu held.
  bool Matches(const std::pair<std::int64_t, std::string>& key, const std::string& unit_kind,
               const std::vector<std::string>& units) const {
    auto e = s_.experiments.find(key.first);
    return e != s_.experiments.end() && e->second.unit == unit_kind &&
           std::find(units.begin(), units.end(), key.second) != units.end();
  }
  State& s_;
  bool read_only_;
};

class MemoryStore final : public Store {
 public:
  // `shared`: opened by name, so other stores (nodes) may share it: it has a cluster().
  MemoryStore(std::shared_ptr<State> state, bool read_only, bool shared, std::int64_t fence_epoch)
      : state_(std::move(state)),
        read_only_(read_only),
        fence_epoch_(fence_epoch),
        cluster_(shared ? std::make_unique<MemCluster>(state_) : nullptr),
        events_(*state_),
        identity_(*state_),
        profiles_(*state_),
        activity_(*state_),
        escalations_(*state_),
        keys_(*state_),
        jobs_(*state_),
        segments_(*state_),
        users_(*state_),
        teams_(*state_),
        sessions_(*state_),
        audit_(*state_, read_only),
        signing_keys_(*state_, read_only),
        dp_budgets_(*state_),
        outbox_(*state_),
        consents_(*state_, read_only),
        tickets_(*state_),
        channels_(*state_),
        deskflow_(*state_),
        agents_(*state_),
        suppressions_(*state_),
        erasure_(*state_),
        sla_(*state_),
        keyring_(*state_, read_only),
        rekey_(*state_),
        kpi_(*state_),
        experiments_(*state_, read_only) {
    Provide<EventLog>(events_);
    Provide<IdentityRepository>(identity_);
    Provide<ProfileRepository>(profiles_);
    Provide<ActivityRepository>(activity_);
    Provide<EscalationRepository>(escalations_);
    Provide<ApiKeyRepository>(keys_);
    Provide<JobRepository>(jobs_);
    Provide<SegmentRepository>(segments_);
    Provide<UserRepository>(users_);
    Provide<TeamRepository>(teams_);
    Provide<SessionRepository>(sessions_);
    Provide<AuditRepository>(audit_);
    Provide<SigningKeyRepository>(signing_keys_);
    Provide<DpBudgetRepository>(dp_budgets_);
    Provide<OutboxRepository>(outbox_);
    Provide<ConsentRepository>(consents_);
    Provide<TicketRepository>(tickets_);
    Provide<ChannelRepository>(channels_);
    Provide<DeskflowRepository>(deskflow_);
    Provide<AgentRepository>(agents_);
    Provide<SuppressionRepository>(suppressions_);
    Provide<ErasureRepository>(erasure_);
    Provide<SlaRepository>(sla_);
    Provide<KeyringRepository>(keyring_);
    Provide<RekeyRepository>(rekey_);
    Provide<KpiRepository>(kpi_);
    Provide<ExperimentRepository>(experiments_);
  }
  Result<std::unique_ptr<Transaction>> Begin() override {
    if (read_only_) return Status::FailedPrecondition("store is open read-only");
    auto txn = std::make_unique<MemoryTransaction>(*state_, fence_epoch_);  // waits for the open one
    if (fence_epoch_ > 0) {
      std::scoped_lock lock(state_->mu);
      if (state_->epoch != fence_epoch_) return Status::FailedPrecondition(FencedMessage(fence_epoch_, state_->epoch));
    }
    return std::unique_ptr<Transaction>(std::move(txn));
  }
  Cluster* cluster() override { return cluster_.get(); }
  std::string_view backend() const override { return "memory"; }
  bool read_only() const override { return read_only_; }
  int schema_version() const override { return 0; }

 private:
  std::shared_ptr<State> state_;  // shared: stores opened by one name share their state
  bool read_only_;
  std::int64_t fence_epoch_;
  std::unique_ptr<MemCluster> cluster_;  // null for an unnamed store
  MemEventLog events_;
  MemIdentity identity_;
  MemProfiles profiles_;
  MemActivity activity_;
  MemEscalations escalations_;
  MemApiKeys keys_;
  MemJobs jobs_;
  MemSegments segments_;
  MemUsers users_;
  MemTeams teams_;
  MemSessions sessions_;
  MemAudit audit_;
  MemSigningKeys signing_keys_;
  MemDpBudgets dp_budgets_;
  MemOutbox outbox_;
  MemConsents consents_;
  MemTickets tickets_;
  MemChannels channels_;
  MemDeskflow deskflow_;
  MemAgents agents_;
  MemSuppressions suppressions_;
  MemErasure erasure_;
  MemSla sla_;
  MemKeyring keyring_;
  MemRekey rekey_;
  MemKpi kpi_;
  MemExperiments experiments_;
};

// The state registered under `name`, created on first use. Named stores live until the process
// exits, like a database outliving its connections.
std::shared_ptr<State> Named(const std::string& name) {
  static std::mutex mu;
  static auto* registry = new std::unordered_map<std::string, std::shared_ptr<State>>();  // NOLINT: never freed
  std::scoped_lock lock(mu);
  std::shared_ptr<State>& state = (*registry)[name];
  if (state == nullptr) state = std::make_shared<State>();
  return state;
}

}  // namespace

std::unique_ptr<Store> Open() {
  return std::make_unique<MemoryStore>(std::make_shared<State>(), false, /*shared=*/false, 0);
}

std::unique_ptr<Store> OpenShared(const std::string& name, bool read_only, std::int64_t fence_epoch) {
  return std::make_unique<MemoryStore>(Named(name), read_only, /*shared=*/true, read_only ? 0 : fence_epoch);
}

void ExpireLeases(const std::string& name) {
  std::shared_ptr<State> state = Named(name);
  std::scoped_lock lock(state->mu);
  state->lease_holder = 0;
}

}  // namespace touchpoint::store::memory
