#include <touchpoint/pipeline/engine.h>

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>
#include <touchpoint/core/thread_annotations.h>
#include <touchpoint/ingest/parser.h>
#include <touchpoint/profile/profile.h>
#include <touchpoint/store/consent_repository.h>
#include <touchpoint/store/identity_repository.h>
#include <touchpoint/store/profile_repository.h>
#include <touchpoint/text/analyzer.h>

#include "pipeline/consent_traits.h"
#include "pipeline/customer_ref.h"

namespace touchpoint::pipeline {
namespace {

// Open-addressing set of 128-bit message hashes: 16 bytes a slot, no per-entry allocation, so
// ten million ids cost ~320 MB at the 0.5 load factor rather than ~500 MB in a node-based set.
class HashSet {
 public:
  // Returns false when the hash was present already.
  bool Insert(store::MessageHash h) {
    if (h.hi == 0 && h.lo == 0) h.lo = 1;  // (0, 0) marks an empty slot
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    size_t i = static_cast<size_t>(h.lo) & (slots_.size() - 1);
    for (;;) {
      store::MessageHash& s = slots_[i];
      if (s.hi == 0 && s.lo == 0) {
        s = h;
        ++size_;
        return true;
      }
      if (s == h) return false;
      i = (i + 1) & (slots_.size() - 1);
    }
  }
  size_t size() const { return size_; }
  // The table is tens of MB: a probe is a cache miss (70 % of the writer's own time in a bulk
  // load). Prefetching the slot of an event a few ahead hides it behind the current one's work.
  void Prefetch(const store::MessageHash& h) const {
    // Unconditional: GCC 12 at -O2 drops a prefetch guarded by a branch.
    __builtin_prefetch(slots_.data() + (static_cast<size_t>(h.lo) & (slots_.size() - 1)), 0, 3);
  }

 private:
  void Grow() {
    std::vector<store::MessageHash> old = std::move(slots_);
    slots_.assign(old.empty() ? 1024 : old.size() * 2, store::MessageHash{});
    size_ = 0;
    for (const auto& h : old) {
      if (h.hi != 0 || h.lo != 0) Insert(h);
    }
  }
  std::vector<store::MessageHash> slots_ = std::vector<store::MessageHash>(1024);  // never empty
  size_t size_ = 0;
};

profile::Activity ToActivity(const ingest::Event& e) {
  profile::Activity a;
  a.at = e.timestamp;
  a.channel = e.channel;
  a.traits = e.traits;
  if (e.kind == store::EventKind::kIdentify) {
    a.kind = profile::Activity::Kind::kIdentify;
  } else if (e.order) {
    a.kind = profile::Activity::Kind::kOrder;
    a.order_total = e.order->total;
  } else if (e.view) {
    a.kind = profile::Activity::Kind::kView;
    a.dwell_seconds = e.view->dwell_seconds;
  } else if (e.message) {
    a.kind = profile::Activity::Kind::kMessage;
    if (a.channel.empty()) a.channel = e.message->channel;
    a.inbound_message = e.message->inbound && e.message->author == "customer";
    a.has_sentiment = !e.message->sentiment_label.empty();
    a.sentiment = e.message->sentiment_score;
    a.sentiment_label = e.message->sentiment_label;
    a.intent = e.message->intent;
  } else if (e.survey) {
    a.kind = profile::Activity::Kind::kSurvey;
    a.nps = e.survey->nps;
    a.csat = e.survey->csat;
  }
  return a;
}

// A subject-rights erasure on its way to the store: decided (and applied to memory) by the
// writer, written by the committer in a transaction of its own after the batch's records.
struct ErasureJob {
  std::vector<CustomerId> members;
  std::vector<store::SuppressionRecord> suppressed;
  std::function<Status(std::span<const CustomerId>)> shred;
  std::int64_t merges_in_force = 0;  // for the engine's merge count
  store::ErasureCounts counts;       // filled by the committer before the caller is answered
};

// Everything one group commit writes, in one store transaction. Upserts replace by key.
struct Batch {
  std::vector<store::EventRecord> events;
  std::vector<store::IdentifierRecord> identifiers;
  std::vector<store::CustomerRecord> customers;
  std::vector<store::MergeRecord> merges;
  std::vector<store::MergeBlock> merge_blocks;
  std::vector<store::ProfileRecord> profiles;
  std::vector<store::OrderRecord> orders;
  std::vector<store::MessageRecord> messages;
  std::vector<store::SurveyRecord> surveys;
  std::vector<store::ConsentRecord> consents;  // identify traits' decisions (pipeline/consent_traits.h)
  Millis newest_event_at = 0;  // raises the stored high-water mark when larger
  // True when the stored profiles, with this batch's, reflect every event up to and including
  // this batch's last event (the store records that seq as the profile checkpoint).
  bool profile_checkpoint = false;
  // The backend's ahead-of-time encoding of `events` (store::Maintenance), made by the writer.
  std::unique_ptr<store::PreparedEvents> prepared;
  // For the post-commit hook, parallel to `events`: the live customer and the event's records.
  struct EventMeta {
    CustomerId live;
    double revenue = 0;  // messages: the live customer's lifetime revenue
    std::int32_t order = -1;
    std::int32_t message = -1;
    std::int32_t survey = -1;
    std::int32_t consent_begin = 0;  // the event's decisions: consents[begin, begin + count)
    std::int32_t consent_count = 0;
  };
  std::vector<EventMeta> meta;
  std::vector<std::string> normalized;  // per message: the folded text of its analysis
  // Erasures decided in this batch, each committed in its own transaction after the records.
  std::vector<std::shared_ptr<ErasureJob>> erasures;
  bool has_records() const {
    return !(events.empty() && identifiers.empty() && customers.empty() && merges.empty() && profiles.empty() &&
             orders.empty() && messages.empty() && surveys.empty() && merge_blocks.empty() && consents.empty() &&
             !profile_checkpoint);
  }
  bool empty() const { return !has_records() && erasures.empty(); }
};

struct Pending {
  std::vector<ingest::Event> events;
  // A control operation (tags, splits) run on the writer thread in order with the events: it
  // changes memory and adds what it changed to the batch, under state_mu. A non-OK status goes
  // back to its caller and must leave memory and batch untouched.
  std::function<Status(Batch&)> op;
  std::promise<Result<SubmitResult>> done;
};

// What the writer hands the committer: one transaction and the submissions it acknowledges.
struct Commit {
  Batch batch;
  std::vector<std::unique_ptr<Pending>> work;
  std::vector<Result<SubmitResult>> results;  // per work item; non-OK ones are answered as is
};

}  // namespace

struct Engine::Impl {
  std::unique_ptr<store::Store> store;
  store::EventLog* event_log = nullptr;
  store::IdentityRepository* identity_repo = nullptr;
  store::ProfileRepository* profile_repo = nullptr;
  store::ActivityRepository* activity_repo = nullptr;
  store::ConsentRepository* consent_repo = nullptr;
  store::ErasureRepository* erasure_repo = nullptr;
  store::SuppressionRepository* suppression_repo = nullptr;
  EngineOptions options;
  const Clock* clock = &SystemClock::Instance();

  // Two threads share the write path: the writer applies submissions to memory and builds a
  // batch; the committer writes the previous batch to the store meanwhile, then acknowledges
  // its submissions. Batches are committed in the order they were built, so a checkpoint in a
  // batch covers exactly the events up to it. Tags and splits travel through the same queue.
  // A third thread, the hook, hands committed batches to observers.
  std::mutex store_mu;  // the committer, and readers of the store (Orders, Messages)
  std::int64_t last_seq TP_GUARDED_BY(store_mu) = 0;  // of the last committed event
  // Guards everything below up to the queue: held exclusively by the writer while it changes
  // it, shared by readers. (The writer alone mutates, so it reads without the lock.)
  mutable std::shared_mutex state_mu;
  identity::IdentityGraph graph TP_GUARDED_BY(state_mu);
  // One accumulator per *original* customer (the customer an event's anchor identifier was
  // first seen with); a live customer's profile is the fold of its members' (Collect). Merges
  // therefore move nothing and a split only re-homes members: no event is ever replayed for
  // identity changes.
  std::unordered_map<std::int64_t, profile::Profile> profiles TP_GUARDED_BY(state_mu);
  HashSet seen;                    // writer thread only
  std::int64_t batches_built = 0;  // by the writer loop (writer thread only)
  EngineStats stats TP_GUARDED_BY(state_mu);
  Millis newest TP_GUARDED_BY(state_mu) = 0;
  // Blind-index values of erased people's identifiers (the suppression list). Changed by the
  // writer under state_mu; read by the writer without it.
  std::unordered_set<std::int64_t> suppressed TP_GUARDED_BY(state_mu);
  // Incremented (under state_mu, exclusively) by every erasure: profiles were removed, so
  // pointers into `profiles` taken before may dangle (ForEach checks it).
  std::atomic<std::uint64_t> erasures{0};
  // Profiles are derived from events, so they are written at checkpoints (every
  // profile_checkpoint_ms, at Stop, and with tags) rather than on every commit; a restart
  // replays the events after the last checkpoint. `dirty`: changed since it (writer thread only).
  std::unordered_set<std::int64_t> dirty;
  std::chrono::steady_clock::time_point last_checkpoint = std::chrono::steady_clock::now();

  std::mutex queue_mu;
  std::condition_variable queue_cv;
  std::condition_variable space_cv;
  std::deque<std::unique_ptr<Pending>> queue TP_GUARDED_BY(queue_mu);
  size_t queued_events TP_GUARDED_BY(queue_mu) = 0;
  bool stopping TP_GUARDED_BY(queue_mu) = false;
  // Set once a commit failed: the engine refuses writes from then on.
  Status failure TP_GUARDED_BY(state_mu);

  std::thread writer;

  std::mutex commit_mu;
  std::condition_variable commit_cv;
  std::deque<std::unique_ptr<Commit>> commits TP_GUARDED_BY(commit_mu);  // built, not yet committed (at most 2)
  bool writer_done TP_GUARDED_BY(commit_mu) = false;
  std::thread committer;

  // The post-commit hook: observers, and committed batches waiting for them (at most 2).
  std::vector<std::shared_ptr<CommitObserver>> observers;  // set before events flow
  std::mutex hook_mu;
  std::condition_variable hook_cv;
  std::deque<std::unique_ptr<Commit>> hook_queue TP_GUARDED_BY(hook_mu);
  bool committer_done TP_GUARDED_BY(hook_mu) = false;
  std::thread hook;

  explicit Impl(identity::GraphOptions g) : graph(g) {}

  Status Load() {
    event_log = &store->Get<store::EventLog>();
    identity_repo = &store->Get<store::IdentityRepository>();
    profile_repo = &store->Get<store::ProfileRepository>();
    activity_repo = &store->Get<store::ActivityRepository>();
    consent_repo = &store->Get<store::ConsentRepository>();
    erasure_repo = &store->Get<store::ErasureRepository>();
    suppression_repo = &store->Get<store::SuppressionRepository>();
    TP_RETURN_IF_ERROR(suppression_repo->Scan([&](const store::SuppressionRecord& r) { suppressed.insert(r.value); }));
    TP_RETURN_IF_ERROR(graph.Load(*identity_repo));
    TP_RETURN_IF_ERROR(event_log->ScanHashes([&](const store::MessageHash& h) { seen.Insert(h); }));
    Status bad;
    TP_RETURN_IF_ERROR(profile_repo->Scan([&](store::ProfileRecord&& r) {
      auto p = profile::Profile::Parse(r.data);
      if (!p.ok()) {
        bad = p.status().WithContext("customer " + std::to_string(r.customer.value()));
        return;
      }
      profiles.emplace(r.customer.value(), std::move(*p));
    }));
    TP_RETURN_IF_ERROR(bad);
    // Events after the checkpoint are replayed into the profiles.
    TP_ASSIGN_OR_RETURN(std::int64_t checkpoint, profile_repo->Checkpoint());
    ingest::Parser parser;
    TP_RETURN_IF_ERROR(event_log->ScanFrom(checkpoint + 1, [&](store::EventRecord&& rec) {
      auto ev = parser.ParseMessage(rec.body);
      if (!ev.ok()) return true;  // stored events were valid when accepted
      ev->timestamp = rec.timestamp;
      if (ev->message && options.analyze_message) options.analyze_message(*ev->message);
      profiles[rec.customer.value()].Apply(ToActivity(*ev));
      dirty.insert(rec.customer.value());
      return true;
    }));
    TP_ASSIGN_OR_RETURN(stats.events, event_log->Count());
    TP_ASSIGN_OR_RETURN(store::ActivityCounts activity, activity_repo->Counts());
    stats.messages = activity.messages;
    stats.surveys = activity.surveys;
    stats.orders = activity.orders;
    TP_ASSIGN_OR_RETURN(store::IdentityCounts identity, identity_repo->Counts());
    stats.merges = identity.merges;
    TP_ASSIGN_OR_RETURN(newest, event_log->NewestEventAt());
    TP_ASSIGN_OR_RETURN(std::int64_t last, event_log->LastSeq());
    std::scoped_lock lock(store_mu);
    last_seq = last;
    return Status::Ok();
  }

  // Writes one batch: its records in one transaction, then each erasure in one of its own.
  // store_mu held.
  Status Write(Batch& b) {
    if (b.has_records()) TP_RETURN_IF_ERROR(WriteRecords(b));
    for (auto& job : b.erasures) TP_RETURN_IF_ERROR(WriteErasure(*job));
    return Status::Ok();
  }

  // One erasure, all or nothing: the person's rows, their suppression entries, and the shred
  // callback (their data keys) before the commit. Then the freed bytes are scrubbed where the
  // backend can (a failure there is not the erasure's: the next checkpoint finishes it).
  Status WriteErasure(ErasureJob& job) {
    TP_ASSIGN_OR_RETURN(std::unique_ptr<store::Transaction> txn, store->Begin());
    TP_ASSIGN_OR_RETURN(job.counts, erasure_repo->Erase(*txn, job.members));
    TP_RETURN_IF_ERROR(suppression_repo->Add(*txn, job.suppressed));
    if (job.shred) TP_RETURN_IF_ERROR(job.shred(job.members).WithContext("destroying the person's data keys"));
    TP_RETURN_IF_ERROR(txn->Commit());
    (void)erasure_repo->Scrub();
    return Status::Ok();
  }

  // Writes one batch's records in one transaction. store_mu held.
  Status WriteRecords(Batch& b) {
    TP_ASSIGN_OR_RETURN(std::unique_ptr<store::Transaction> txn, store->Begin());
    if (!b.events.empty()) TP_RETURN_IF_ERROR(event_log->Append(*txn, b.events, b.prepared.get()));
    if (!b.customers.empty()) TP_RETURN_IF_ERROR(identity_repo->PutCustomers(*txn, b.customers));
    if (!b.identifiers.empty()) TP_RETURN_IF_ERROR(identity_repo->PutIdentifiers(*txn, b.identifiers));
    if (!b.merges.empty()) TP_RETURN_IF_ERROR(identity_repo->PutMerges(*txn, b.merges));
    if (!b.merge_blocks.empty()) TP_RETURN_IF_ERROR(identity_repo->AddMergeBlocks(*txn, b.merge_blocks));
    if (!b.profiles.empty()) TP_RETURN_IF_ERROR(profile_repo->Put(*txn, b.profiles));
    if (!b.orders.empty()) TP_RETURN_IF_ERROR(activity_repo->AddOrders(*txn, b.orders));
    if (!b.messages.empty()) TP_RETURN_IF_ERROR(activity_repo->AddMessages(*txn, b.messages));
    if (!b.surveys.empty()) TP_RETURN_IF_ERROR(activity_repo->AddSurveys(*txn, b.surveys));
    if (!b.consents.empty()) TP_RETURN_IF_ERROR(consent_repo->Add(*txn, b.consents));
    const std::int64_t end_seq = b.events.empty() ? last_seq : b.events.back().seq;
    if (b.profile_checkpoint) TP_RETURN_IF_ERROR(profile_repo->SetCheckpoint(*txn, end_seq));
    if (b.newest_event_at != 0) TP_RETURN_IF_ERROR(event_log->RaiseNewestEventAt(*txn, b.newest_event_at));
    TP_RETURN_IF_ERROR(txn->Commit());
    last_seq = end_seq;
    return Status::Ok();
  }

  // Hands a committed batch to the hook thread (waits while two are waiting there).
  void HandToHook(std::unique_ptr<Commit> c) {
    std::unique_lock lock(hook_mu);
    hook_cv.wait(lock, [&] { return hook_queue.size() < 2; });
    hook_queue.push_back(std::move(c));
    lock.unlock();
    hook_cv.notify_all();
  }

  void HookLoop() {
    std::vector<CommittedEvent> events;
    for (;;) {
      std::unique_ptr<Commit> c;
      {
        std::unique_lock lock(hook_mu);
        hook_cv.wait(lock, [&] { return committer_done || !hook_queue.empty(); });
        if (hook_queue.empty()) {
          lock.unlock();
          for (const auto& o : observers) o->OnStop();
          return;
        }
        c = std::move(hook_queue.front());
        hook_queue.pop_front();
      }
      hook_cv.notify_all();
      const Batch& b = c->batch;
      events.clear();
      events.reserve(b.events.size());
      for (size_t i = 0; i < b.events.size(); ++i) {
        const store::EventRecord& e = b.events[i];
        const Batch::EventMeta& m = b.meta[i];
        CommittedEvent ce;
        ce.seq = e.seq;
        ce.customer = m.live;
        ce.customer_revenue = m.revenue;
        ce.original = e.customer;
        ce.timestamp = e.timestamp;
        ce.kind = e.kind;
        ce.message_id = e.message_id;
        ce.name = e.name;
        if (m.order >= 0) ce.order = &b.orders[static_cast<size_t>(m.order)];
        if (m.survey >= 0) ce.survey = &b.surveys[static_cast<size_t>(m.survey)];
        if (m.consent_count > 0) {
          ce.consents = std::span<const store::ConsentRecord>(b.consents).subspan(
              static_cast<size_t>(m.consent_begin), static_cast<size_t>(m.consent_count));
        }
        if (m.message >= 0) {
          ce.message = &b.messages[static_cast<size_t>(m.message)];
          ce.normalized_text = b.normalized[static_cast<size_t>(m.message)];
        }
        events.push_back(ce);
      }
      if (!events.empty()) {
        for (const auto& o : observers) o->OnCommitted(events);
      }
      // The batch and the consumed events are freed here, off the writer's path.
    }
  }

  void WriterLoop() {
    for (;;) {
      std::vector<std::unique_ptr<Pending>> work;
      {
        std::unique_lock lock(queue_mu);
        // Wakes at least once per checkpoint interval so changed profiles are written while idle
        // (with profile_checkpoint_ms = 0 every batch writes them: nothing is left to wake for).
        const auto work_or_stop = [&] { return stopping || !queue.empty(); };
        if (options.profile_checkpoint_ms > 0) {
          queue_cv.wait_for(lock, std::chrono::milliseconds(options.profile_checkpoint_ms), work_or_stop);
        } else {
          queue_cv.wait(lock, work_or_stop);
        }
        if (queue.empty() && stopping) break;  // drained
        // Bulk loads (min_batch_events > 0) wait a little for a bigger batch: fewer, larger
        // commits write less. Not the first batch: the writer would idle while the first
        // 10,000 events are parsed.
        if (options.min_batch_events > 0 && batches_built > 0) {
          queue_cv.wait_for(lock, std::chrono::milliseconds(options.max_linger_ms), [&] {
            return stopping || queued_events >= options.min_batch_events;
          });
        }
        size_t n = 0;
        while (!queue.empty() && (work.empty() || n + queue.front()->events.size() <= options.max_batch_events)) {
          n += queue.front()->events.size();
          work.push_back(std::move(queue.front()));
          queue.pop_front();
        }
        queued_events -= n;
      }
      space_cv.notify_all();
      ++batches_built;
      Process(std::move(work), /*force_checkpoint=*/false);
    }
    Process({}, /*force_checkpoint=*/true);
    {
      std::scoped_lock lock(commit_mu);
      writer_done = true;
    }
    commit_cv.notify_all();
  }

  // Hands a built batch to the committer; waits while two are already waiting (bounds memory,
  // and keeps acknowledgements close behind the work).
  void HandOff(std::unique_ptr<Commit> c) {
    std::unique_lock lock(commit_mu);
    commit_cv.wait(lock, [&] { return commits.size() < 2; });
    commits.push_back(std::move(c));
    lock.unlock();
    commit_cv.notify_all();
  }

  void CommitterLoop() {
    for (;;) {
      std::unique_ptr<Commit> c;
      {
        std::unique_lock lock(commit_mu);
        commit_cv.wait(lock, [&] { return writer_done || !commits.empty(); });
        if (commits.empty()) return;
        c = std::move(commits.front());
        commits.pop_front();
      }
      commit_cv.notify_all();
      Status status;
      {
        std::shared_lock state(state_mu);
        status = failure;
      }
      if (status.ok() && !c->batch.empty()) {
        std::scoped_lock lock(store_mu);
        status = Write(c->batch);
      }
      if (status.ok() && !c->batch.erasures.empty()) {
        std::unique_lock state(state_mu);
        for (const auto& job : c->batch.erasures) {
          stats.events -= job->counts.events;
          stats.messages -= job->counts.messages;
          stats.surveys -= job->counts.surveys;
          stats.orders -= job->counts.orders;
          stats.merges -= job->merges_in_force;
        }
      }
      if (!status.ok()) {
        std::unique_lock state(state_mu);
        if (failure.ok()) {
          failure = status.WithContext("commit failed; restart touchpoint to reload from the last commit");
        }
        status = failure;
      }
      for (size_t i = 0; i < c->work.size(); ++i) {
        if (!c->results[i].ok() || status.ok()) {
          c->work[i]->done.set_value(std::move(c->results[i]));
        } else {
          c->work[i]->done.set_value(status);
        }
      }
      // Stopping, and nothing waits but the final profile checkpoint the writer is building:
      // fold the log now, so that closing the store copies only that batch (a 1 M-event ingest
      // spent ~0.14 s in the checkpoint at close, alone on one thread).
      if (status.ok() && StopRequested()) {
        bool idle;
        {
          std::scoped_lock lock(commit_mu);
          idle = commits.empty() && !writer_done;
        }
        if (idle) {
          std::scoped_lock lock(store_mu);
          if (store::Maintenance* m = store->maintenance()) m->FoldLog();
        }
      }
      if (status.ok() && !observers.empty() && !c->batch.events.empty()) HandToHook(std::move(c));
      // Otherwise the batch and the consumed events are freed here, off the writer's path.
    }
  }

  bool StopRequested() {
    std::scoped_lock lock(queue_mu);
    return stopping;
  }

  // Adds every changed profile to the batch and marks it a checkpoint. Writer thread only (it
  // reads profiles, which only the writer changes, and owns `dirty`).
  void AddCheckpoint(Batch& batch) {
    // In id order: the rows then append to the profiles table's B-tree instead of landing at
    // random places in it (fewer pages dirtied, so a smaller commit and WAL checkpoint).
    std::vector<std::int64_t> ids(dirty.begin(), dirty.end());
    std::sort(ids.begin(), ids.end());
    batch.profiles.reserve(batch.profiles.size() + ids.size());
    for (std::int64_t c : ids) {
      auto it = profiles.find(c);
      if (it == profiles.end()) continue;
      batch.profiles.push_back(store::ProfileRecord{CustomerId(c), it->second.Serialize(), newest});
    }
    batch.profile_checkpoint = true;
    dirty.clear();
    last_checkpoint = std::chrono::steady_clock::now();
  }

  // The live customer's profile: the fold of its members' accumulators, its own first (so its
  // tags win). state_mu held (shared is enough).
  profile::Profile Fold(CustomerId root) const {
    profile::Profile out;
    auto own = profiles.find(root.value());
    if (own != profiles.end()) out = own->second;
    for (CustomerId m : graph.Members(root)) {
      if (m == root) continue;
      auto it = profiles.find(m.value());
      if (it != profiles.end()) out.Absorb(it->second);
    }
    return out;
  }

  double Revenue(CustomerId root) const {
    if (!graph.HasMerged(root)) {  // most customers: no member list to build (once per message)
      auto it = profiles.find(root.value());
      return it != profiles.end() ? it->second.revenue() : 0;
    }
    double sum = 0;
    for (CustomerId m : graph.Members(root)) {
      auto it = profiles.find(m.value());
      if (it != profiles.end()) sum += it->second.revenue();
    }
    return sum;
  }

  // Identity changes only touch the graph's tables: profiles are per original customer. state_mu held.
  void ApplyGraphChanges(identity::GraphChanges& ch, Batch& batch) {
    for (auto& r : ch.identifiers) batch.identifiers.push_back(std::move(r));
    for (auto& r : ch.customers) batch.customers.push_back(r);
    for (auto& r : ch.merges) batch.merges.push_back(std::move(r));
    for (auto& r : ch.merge_blocks) batch.merge_blocks.push_back(r);
    stats.merges += static_cast<std::int64_t>(ch.profile_merges.size());
  }

  // Consumes the event's strings (the event is not used afterwards).
  void AppendRecords(ingest::Event& e, const identity::Resolution& r, Batch& batch) {
    store::EventRecord rec;
    rec.hash = e.hash;
    rec.message_id = e.message_id;
    rec.customer = r.anchor_original;
    rec.timestamp = e.timestamp;
    rec.kind = e.kind;
    rec.name = std::move(e.name);
    rec.body = std::move(e.body);
    batch.events.push_back(std::move(rec));
    Batch::EventMeta& meta = batch.meta.emplace_back();
    meta.live = r.customer;
    if (e.kind == store::EventKind::kIdentify && !e.traits.empty()) {
      meta.consent_begin = static_cast<std::int32_t>(batch.consents.size());
      meta.consent_count = static_cast<std::int32_t>(
          ConsentRecordsFromTraits(e.traits, r.anchor_original, e.timestamp, e.message_id, &batch.consents));
    }
    if (e.order) {
      meta.order = static_cast<std::int32_t>(batch.orders.size());
      nlohmann::json items = nlohmann::json::array();
      for (const auto& l : e.order->products) {
        items.push_back({{"product_id", l.product_id}, {"category", l.category}, {"price", l.price}, {"quantity", l.quantity}});
      }
      batch.orders.push_back(store::OrderRecord{e.order->order_id, r.anchor_original, e.timestamp, e.order->total,
                                                e.order->currency, e.channel, items.dump()});
      ++stats.orders;
    }
    if (e.message) {
      auto& m = *e.message;
      meta.message = static_cast<std::int32_t>(batch.messages.size());
      // Here, on the writer, which reads the profiles without a lock: a consumer asking the
      // engine per message took the shared lock ~200 k times in a 1 M-event load, against the
      // writer's exclusive slices (+15 % ingest CPU).
      meta.revenue = Revenue(r.customer);
      batch.normalized.push_back(std::move(m.normalized_text));
      batch.messages.push_back(store::MessageRecord{e.message_id, r.anchor_original, e.timestamp, m.conversation_id,
                                                    m.channel, m.author, m.inbound ? "in" : "out", std::move(m.text),
                                                    m.language, m.sentiment_label, m.sentiment_score, m.intent,
                                                    std::move(m.masked_text)});
      ++stats.messages;
    }
    if (e.survey) {
      meta.survey = static_cast<std::int32_t>(batch.surveys.size());
      batch.surveys.push_back(store::SurveyRecord{e.message_id, r.anchor_original, e.timestamp, e.survey->nps,
                                                  e.survey->csat, e.survey->comment, e.survey->touchpoint});
      ++stats.surveys;
    }
  }

  // Applies the submissions to memory and hands the batch to the committer.
  // Every mutation of the in-memory state happens on this thread, so it reads that state without
  // a lock and takes state_mu exclusively only while it changes it, a slice of events at a time:
  // readers (GET /v1/customers) wait at most one slice, never a whole 25 k-event batch or a
  // checkpoint's serialisation.
  void Process(std::vector<std::unique_ptr<Pending>> work, bool force_checkpoint) {
    constexpr size_t kSlice = 256;
    constexpr size_t kPrefetchAhead = 4;  // events: enough to cover a memory access
    auto c = std::make_unique<Commit>();
    c->results.assign(work.size(), Result<SubmitResult>(SubmitResult{}));
    Batch& batch = c->batch;
    Status failed;
    {
      std::shared_lock state(state_mu);
      failed = failure;
    }
    if (!failed.ok()) {
      for (auto& r : c->results) r = failed;
    } else {
      identity::GraphChanges changes;
      size_t total = 0;
      for (const auto& p : work) total += p->events.size();
      batch.events.reserve(total);
      batch.meta.reserve(total);
      for (size_t i = 0; i < work.size(); ++i) {
        if (work[i]->op) {
          std::unique_lock state(state_mu);
          Status s = work[i]->op(batch);
          if (!s.ok()) c->results[i] = s;
          continue;
        }
        SubmitResult& result = *c->results[i];
        std::vector<ingest::Event>& events = work[i]->events;
        for (size_t begin = 0; begin < events.size(); begin += kSlice) {
          std::unique_lock state(state_mu);
          const size_t end = std::min(events.size(), begin + kSlice);
          for (size_t k = begin; k < end; ++k) {
            ingest::Event& e = events[k];
            if (k + kPrefetchAhead < events.size()) {
              seen.Prefetch(events[k + kPrefetchAhead].hash);
              graph.Prefetch(events[k + kPrefetchAhead].identifiers);
            }
            if (!suppressed.empty() && Suppressed(e)) {
              ++result.suppressed;
              ++stats.suppressed_events;
              continue;
            }
            if (!seen.Insert(e.hash)) {
              ++result.duplicates;
              continue;
            }
            changes.Clear();
            identity::Resolution r =
                graph.Resolve(e.identifiers, e.is_alias, e.timestamp, e.message_id, &changes);
            ApplyGraphChanges(changes, batch);
            profiles[r.anchor_original.value()].Apply(ToActivity(e));
            dirty.insert(r.anchor_original.value());
            AppendRecords(e, r, batch);
            if (e.timestamp > newest) newest = e.timestamp;
            ++result.accepted;
            ++stats.events;
          }
        }
      }
      const bool due = std::chrono::steady_clock::now() - last_checkpoint >=
                       std::chrono::milliseconds(options.profile_checkpoint_ms);
      if ((force_checkpoint || due) && !dirty.empty()) AddCheckpoint(batch);  // reads only: no lock
      batch.newest_event_at = newest;
    }
    if (batch.empty() && work.empty()) return;
    c->work = std::move(work);
    if (store::Maintenance* m = store->maintenance(); m != nullptr && !c->batch.events.empty()) {
      c->batch.prepared = m->PrepareEvents(c->batch.events);  // compression here, so the committer only writes
    }
    HandOff(std::move(c));
  }

  // Whether an event carries an identifier of an erased person. Only identifiers the graph does
  // not know can be (an erasure removed theirs from it), so known ones cost no hash. Writer.
  bool Suppressed(const ingest::Event& e) const {
    if (!options.suppression_key) return false;
    for (const identity::Identifier& id : e.identifiers) {
      if (graph.Lookup(id)) continue;
      if (suppressed.count(options.suppression_key(identity::KindName(id.kind), id.value).value)) return true;
      if (options.older_suppression_keys) {
        for (std::int64_t v : options.older_suppression_keys(identity::KindName(id.kind), id.value)) {
          if (suppressed.count(v)) return true;
        }
      }
    }
    return false;
  }

  // The erasure of the person `ref` names, decided on the writer thread (state_mu held
  // exclusively): memory forgets them now, the committer removes their rows (WriteErasure).
  Status EraseOnWriter(const ErasureRequest& request, Batch& batch, ErasureResult* out,
                       std::shared_ptr<ErasureJob>* job_out) {
    if (!options.suppression_key) {
      return Status::FailedPrecondition(
          "erasure needs the master key (its blind-index key makes the suppression list): none is configured");
    }
    TP_ASSIGN_OR_RETURN(CustomerData d, Collect(request.ref));
    auto job = std::make_shared<ErasureJob>();
    job->members.push_back(d.id);
    job->members.insert(job->members.end(), d.merged.begin(), d.merged.end());
    std::sort(job->members.begin(), job->members.end());
    job->shred = request.shred;
    const Millis now = clock->Now();
    for (const auto& m : d.identifiers) {
      const std::string_view kind = identity::KindName(m.identifier.kind);
      store::SuppressionRecord key = options.suppression_key(kind, m.identifier.value);
      key.added_at = now;
      job->suppressed.push_back(key);
      out->identifier_kinds.emplace_back(kind);
    }
    std::sort(job->suppressed.begin(), job->suppressed.end(), [](const auto& a, const auto& b) {
      return a.value != b.value ? a.value < b.value : a.key_version < b.key_version;
    });
    job->suppressed.erase(std::unique(job->suppressed.begin(), job->suppressed.end(),
                                      [](const auto& a, const auto& b) {
                                        return a.value == b.value && a.key_version == b.key_version;
                                      }),
                          job->suppressed.end());
    for (const auto& m : d.merges) job->merges_in_force += m.undone_at == 0 ? 1 : 0;
    // Memory forgets them (the writer holds state_mu exclusively).
    graph.Erase(job->members);
    for (CustomerId m : job->members) {
      profiles.erase(m.value());
      dirty.erase(m.value());
    }
    for (const auto& s : job->suppressed) suppressed.insert(s.value);
    erasures.fetch_add(1);
    out->customer = d.id;
    out->members = job->members;
    out->suppressed = job->suppressed;
    out->at = now;
    batch.erasures.push_back(job);
    *job_out = std::move(job);
    return Status::Ok();
  }

  // Runs `op` on the writer thread in order with submitted events; ready once its changes are
  // durable (or with the op's own error, nothing written).
  Status RunOnWriter(std::function<Status(Batch&)> op) {
    auto pending = std::make_unique<Pending>();
    pending->op = std::move(op);
    auto future = pending->done.get_future();
    {
      std::scoped_lock lock(queue_mu);
      if (stopping) return Status::Unavailable("the engine is stopping");
      queue.push_back(std::move(pending));
    }
    queue_cv.notify_one();
    return future.get().status();
  }

  Result<CustomerData> Collect(std::string_view ref) const {
    TP_ASSIGN_OR_RETURN(Ref r, ParseRef(ref));
    CustomerId root;
    if (r.is_id) {
      root = graph.Find(r.id);
      if (!profiles.count(root.value()) && graph.IdentifiersOf(root).empty()) {
        return Status::NotFound("no customer with id " + std::to_string(r.id.value()));
      }
    } else {
      auto found = graph.Lookup(r.identifier);
      if (!found) {
        return Status::NotFound("no customer has " + std::string(identity::KindName(r.identifier.kind)) + ":" +
                                r.identifier.value);
      }
      root = *found;
    }
    CustomerData d;
    d.id = root;
    d.identifiers = graph.IdentifiersOf(root);
    std::vector<CustomerId> members = graph.Members(root);
    for (CustomerId m : members) {
      if (m != root) d.merged.push_back(m);
    }
    d.profile = Fold(root);
    d.merges = graph.MergesOf(members);
    return d;
  }
};

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Engine::~Engine() { Stop(); }

void Engine::CloseForExit(std::unique_ptr<Engine> engine) {
  if (engine == nullptr) return;
  engine->Stop();
  {
    std::scoped_lock lock(engine->impl_->store_mu);
    engine->impl_->store.reset();
  }
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  engine.reset();  // LeakSanitizer would report the deliberate leak
#else
  (void)engine.release();  // NOLINT: deliberately left to the process's exit
#endif
}

Result<std::unique_ptr<Engine>> Engine::Open(std::unique_ptr<store::Store> store, EngineOptions options) {
  auto impl = std::make_unique<Impl>(identity::GraphOptions{options.max_customers_per_identifier});
  impl->store = std::move(store);
  impl->options = std::move(options);
  if (impl->options.clock != nullptr) impl->clock = impl->options.clock;
  TP_RETURN_IF_ERROR(impl->Load());
  impl->stats.customers = impl->graph.live_customers();
  Impl* raw = impl.get();
  impl->hook = std::thread([raw] {
    pthread_setname_np(pthread_self(), "tp-hook");
    raw->HookLoop();
  });
  impl->committer = std::thread([raw] {
    pthread_setname_np(pthread_self(), "tp-commit");
    raw->CommitterLoop();
    {
      std::scoped_lock lock(raw->hook_mu);
      raw->committer_done = true;
    }
    raw->hook_cv.notify_all();
  });
  impl->writer = std::thread([raw] {
    pthread_setname_np(pthread_self(), "tp-writer");  // shows in top -H, perf and gdb
    raw->WriterLoop();
  });
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

std::future<Result<SubmitResult>> Engine::SubmitAsync(std::vector<ingest::Event> events) {
  if (impl_->options.analyze_message) {
    for (auto& e : events) {
      if (e.message) impl_->options.analyze_message(*e.message);
    }
  }
  auto pending = std::make_unique<Pending>();
  pending->events = std::move(events);
  auto future = pending->done.get_future();
  {
    std::unique_lock lock(impl_->queue_mu);
    if (impl_->stopping) {
      pending->done.set_value(Status::Unavailable("the engine is stopping"));
      return future;
    }
    impl_->space_cv.wait(lock, [&] {
      return impl_->queued_events < impl_->options.max_queued_events || impl_->stopping;
    });
    impl_->queued_events += pending->events.size();
    impl_->queue.push_back(std::move(pending));
  }
  impl_->queue_cv.notify_one();
  return future;
}

Result<CustomerData> Engine::Find(std::string_view ref) const {
  std::shared_lock lock(impl_->state_mu);
  return impl_->Collect(ref);
}

Status Engine::Split(MergeId merge) {
  Impl* impl = impl_.get();
  return impl->RunOnWriter([impl, merge](Batch& batch) {
    identity::GraphChanges changes;
    TP_RETURN_IF_ERROR(impl->graph.Split(merge, impl->clock->Now(), &changes));
    impl->ApplyGraphChanges(changes, batch);
    impl->stats.merges -= 1;
    return Status::Ok();
  });
}

Result<ErasureResult> Engine::Erase(const ErasureRequest& request) {
  Impl* impl = impl_.get();
  auto out = std::make_shared<ErasureResult>();
  auto job = std::make_shared<std::shared_ptr<ErasureJob>>();
  TP_RETURN_IF_ERROR(impl->RunOnWriter([impl, &request, out, job](Batch& batch) {
    return impl->EraseOnWriter(request, batch, out.get(), job.get());
  }));
  out->counts = (*job)->counts;  // written by the committer before the answer
  return std::move(*out);
}

Result<std::vector<Engine::OrderRow>> Engine::Orders(bool with_items, store::ActivityRepository* from) {
  std::vector<OrderRow> rows;
  const auto scan = [&](store::ActivityRepository& repo) {
    return repo.ScanOrders([&](store::OrderRecord&& o) {
      OrderRow row{o.customer, std::move(o.order_id), o.timestamp, o.total, std::move(o.channel), {}};
      if (with_items) {
        // Written by this engine (AppendRecords); a record that does not parse has no items.
        auto items = nlohmann::json::parse(o.items_json, nullptr, /*allow_exceptions=*/false);
        if (items.is_array()) {
          for (const auto& it : items) {
            if (!it.is_object()) continue;
            row.items.push_back(OrderItem{it.value("product_id", ""), it.value("category", ""),
                                          it.value("price", 0.0), it.value("quantity", 0.0)});
          }
        }
      }
      rows.push_back(std::move(row));
    });
  };
  if (from != nullptr) {
    TP_RETURN_IF_ERROR(scan(*from));  // another connection: commits go on meanwhile
  } else {
    std::scoped_lock lock(impl_->store_mu);
    TP_RETURN_IF_ERROR(scan(*impl_->activity_repo));
  }
  std::shared_lock state(impl_->state_mu);
  for (auto& r : rows) r.customer = impl_->graph.Find(r.customer);
  return rows;
}

Result<std::vector<Engine::MessageRow>> Engine::Messages(store::ActivityRepository* from) {
  std::vector<MessageRow> rows;
  const auto scan = [&](store::ActivityRepository& repo) {
    return repo.ScanMessages([&](store::MessageRecord&& m) {
      rows.push_back(MessageRow{m.customer, m.timestamp, std::move(m.conversation_id), std::move(m.channel),
                                std::move(m.author), m.direction == "in", std::move(m.intent),
                                std::move(m.sentiment_label), m.sentiment_score});
    });
  };
  if (from != nullptr) {
    TP_RETURN_IF_ERROR(scan(*from));
  } else {
    std::scoped_lock lock(impl_->store_mu);
    TP_RETURN_IF_ERROR(scan(*impl_->activity_repo));
  }
  std::shared_lock state(impl_->state_mu);
  for (auto& r : rows) r.customer = impl_->graph.Find(r.customer);
  return rows;
}

std::vector<Engine::CustomerRow> Engine::Customers() const {
  std::shared_lock state(impl_->state_mu);
  std::unordered_map<std::int64_t, Millis> first;  // live root → earliest first_seen of its members
  for (const auto& [original, p] : impl_->profiles) {
    if (p.first_seen() == 0 && p.last_seen() == 0) continue;  // tags only, no event
    const std::int64_t root = impl_->graph.Find(CustomerId(original)).value();
    auto [it, inserted] = first.emplace(root, p.first_seen());
    if (!inserted) it->second = std::min(it->second, p.first_seen());
  }
  std::vector<CustomerRow> rows;
  rows.reserve(first.size());
  for (const auto& [root, at] : first) rows.push_back(CustomerRow{CustomerId(root), at});
  std::sort(rows.begin(), rows.end(), [](const CustomerRow& a, const CustomerRow& b) { return a.customer < b.customer; });
  return rows;
}

Status Engine::SetTags(
    const std::vector<std::pair<CustomerId, std::vector<std::pair<std::string, std::string>>>>& tags) {
  Impl* impl = impl_.get();
  return impl->RunOnWriter([impl, &tags](Batch& batch) {
    for (const auto& [customer, values] : tags) {
      if (impl->graph.Find(customer) != customer) continue;
      if (!impl->profiles.count(customer.value()) && impl->graph.IdentifiersOf(customer).empty()) continue;
      // Onto the customer's own accumulator: it comes first in the fold, so these tags win.
      profile::Profile& p = impl->profiles[customer.value()];
      for (const auto& [name, value] : values) p.SetTag(name, value);
      impl->dirty.insert(customer.value());
    }
    impl->AddCheckpoint(batch);  // tags are not derived from events: write them now
    return Status::Ok();
  });
}

std::string Engine::SharedIdentifiersJson() const {
  std::shared_lock lock(impl_->state_mu);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& m : impl_->graph.SharedIdentifiers()) {
    out.push_back({{"identifier", std::string(identity::KindName(m.identifier.kind)) + ":" + m.identifier.value},
                   {"customers_seen_with", m.joins + 2},
                   {"first_seen", FormatTimestamp(m.first_seen)}});
  }
  return out.dump();
}

EngineStats Engine::Stats() const {
  std::shared_lock lock(impl_->state_mu);
  EngineStats s = impl_->stats;
  s.customers = impl_->graph.live_customers();
  s.identifiers = impl_->graph.identifier_count();
  s.shared_identifiers = static_cast<std::int64_t>(impl_->graph.SharedIdentifiers().size());
  s.suppression_entries = static_cast<std::int64_t>(impl_->suppressed.size());
  return s;
}

Millis Engine::newest_event_at() const {
  std::shared_lock lock(impl_->state_mu);
  return impl_->newest;
}

void Engine::Stop() {
  {
    std::scoped_lock lock(impl_->queue_mu);
    if (impl_->stopping && !impl_->writer.joinable() && !impl_->hook.joinable()) return;
    impl_->stopping = true;
  }
  impl_->queue_cv.notify_all();
  impl_->space_cv.notify_all();
  if (impl_->writer.joinable()) impl_->writer.join();
  if (impl_->committer.joinable()) impl_->committer.join();
  if (impl_->hook.joinable()) impl_->hook.join();
}

void Engine::Subscribe(std::shared_ptr<CommitObserver> observer) {
  TP_CHECK(observer != nullptr, "Subscribe(nullptr)");
  // Before events flow (documented): the hook thread reads the list without a lock.
  impl_->observers.push_back(std::move(observer));
}


Result<EngineOptions> DefaultEngineOptions(int max_customers_per_identifier, bool with_text) {
  EngineOptions o;
  o.max_customers_per_identifier = max_customers_per_identifier;
  if (!with_text) return o;
  TP_ASSIGN_OR_RETURN(std::unique_ptr<text::Analyzer> created, text::Analyzer::Create(text::AnalyzerOptions{}));
  std::shared_ptr<text::Analyzer> analyzer = std::move(created);
  o.analyze_message = [analyzer](ingest::MessagePayload& m) {
    text::MessageAnalysis a = analyzer->Analyze(m.text);
    m.language = std::move(a.language);
    m.sentiment_label = std::move(a.sentiment_label);
    m.sentiment_score = a.sentiment_score;
    m.intent = std::move(a.intent);
    m.intent_confidence = a.intent_confidence;
    m.masked_text = std::move(a.masked_text);
    m.normalized_text = std::move(a.normalized);
  };
  return o;
}

// ---- read-only path ----

namespace {

Result<CustomerData> CollectFromStore(store::Store& st, std::string_view ref) {
  store::IdentityRepository& store = st.Get<store::IdentityRepository>();
  store::ProfileRepository& profiles = st.Get<store::ProfileRepository>();
  TP_ASSIGN_OR_RETURN(Ref r, ParseRef(ref));
  CustomerId start;
  if (r.is_id) {
    start = r.id;
  } else {
    TP_ASSIGN_OR_RETURN(auto rec, store.FindIdentifier(std::string(identity::KindName(r.identifier.kind)),
                                                       r.identifier.value));
    if (!rec) {
      return Status::NotFound("no customer has " + std::string(identity::KindName(r.identifier.kind)) + ":" +
                              r.identifier.value);
    }
    start = rec->customer;
  }
  // Up to the live root.
  CustomerId root = start;
  for (int guard = 0; guard < 100000; ++guard) {
    TP_ASSIGN_OR_RETURN(auto c, store.FindCustomer(root));
    if (!c) return Status::NotFound("no customer with id " + std::to_string(root.value()));
    if (!c->merged_into.valid()) break;
    root = c->merged_into;
  }
  // Down to every customer merged into it.
  std::vector<CustomerId> members{root};
  for (size_t i = 0; i < members.size(); ++i) {
    TP_ASSIGN_OR_RETURN(auto children, store.CustomersMergedInto(members[i]));
    members.insert(members.end(), children.begin(), children.end());
  }
  CustomerData d;
  d.id = root;
  TP_ASSIGN_OR_RETURN(auto ids, store.IdentifiersOf(members));
  for (auto& rec : ids) {
    auto kind = identity::ParseKind(rec.kind);
    if (!kind) continue;
    d.identifiers.push_back(identity::IdentityGraph::MemberIdentifier{
        identity::Identifier{*kind, rec.value}, rec.blocked, rec.id, rec.first_seen, rec.first_message_id,
        rec.customer, rec.joins});
  }
  std::sort(d.identifiers.begin(), d.identifiers.end(),
            [](const auto& a, const auto& b) { return a.id < b.id; });
  for (CustomerId m : members) {
    if (m != root) d.merged.push_back(m);
  }
  // Profiles are stored at checkpoints: a member merged in since still has its own, and events
  // after the checkpoint are replayed (without text analysis: at most one checkpoint interval of
  // messages lacks sentiment here; the serving engine's view has it).
  for (CustomerId m : members) {
    TP_ASSIGN_OR_RETURN(auto prof, profiles.Find(m));
    if (!prof) continue;
    TP_ASSIGN_OR_RETURN(profile::Profile p, profile::Profile::Parse(prof->data));
    d.profile.Absorb(p);
  }
  TP_ASSIGN_OR_RETURN(std::int64_t checkpoint, profiles.Checkpoint());
  std::unordered_set<std::int64_t> member_set;
  for (CustomerId m : members) member_set.insert(m.value());
  ingest::Parser parser;
  TP_RETURN_IF_ERROR(st.Get<store::EventLog>().ScanFrom(checkpoint + 1, [&](store::EventRecord&& rec) {
    if (!member_set.count(rec.customer.value())) return true;
    auto ev = parser.ParseMessage(rec.body);
    if (!ev.ok()) return true;
    ev->timestamp = rec.timestamp;
    d.profile.Apply(ToActivity(*ev));
    return true;
  }));
  TP_ASSIGN_OR_RETURN(d.merges, store.MergesInvolving(members));
  return d;
}

class StoreView final : public CustomerView {
 public:
  explicit StoreView(store::Store& store) : store_(store) {}
  Result<CustomerData> Find(std::string_view ref) const override { return CollectFromStore(store_, ref); }
  Result<Millis> NewestEventAt() const override { return store_.Get<store::EventLog>().NewestEventAt(); }

 private:
  store::Store& store_;
};

}  // namespace

std::unique_ptr<CustomerView> StoreCustomerView(store::Store& store) { return std::make_unique<StoreView>(store); }

// ---- profile::ProfileSource ----

namespace {

// Calls fn with the profile of the live customer `root` (the fold of its members, its own
// first) and returns true, or returns false when none of its members has an accumulator. A
// customer nobody was merged into (most) is passed as stored, without a copy. state_mu held.
template <typename Fn>
bool VisitLive(const identity::IdentityGraph& graph,
               const std::unordered_map<std::int64_t, profile::Profile>& profiles, CustomerId root, Fn&& fn) {
  if (!graph.HasMerged(root)) {
    auto it = profiles.find(root.value());
    if (it == profiles.end()) return false;
    fn(it->second);
    return true;
  }
  profile::Profile folded;
  bool any = false;
  auto own = profiles.find(root.value());
  if (own != profiles.end()) {
    folded = own->second;
    any = true;
  }
  for (CustomerId m : graph.Members(root)) {
    if (m == root) continue;
    auto it = profiles.find(m.value());
    if (it == profiles.end()) continue;
    folded.Absorb(it->second);
    any = true;
  }
  if (any) fn(folded);
  return any;
}

}  // namespace

void Engine::ForEach(const std::function<void(CustomerId, const profile::Profile&)>& fn) const {
  // The live customers that hold an accumulator, each with its own accumulator when it has one
  // (unordered_map nodes never move, and profiles are removed only by an erasure, which the
  // `erasures` count reveals: the pointer is used only while it has not changed).
  // Collected bucket by bucket, a slice of buckets per shared hold: walking a million profiles
  // in one hold kept the writer waiting ~0.15 s. A rehash between slices (the table grew) starts
  // over; after two, the walk is done in one hold. Customers added meanwhile may be missed.
  std::vector<std::pair<std::int64_t, const profile::Profile*>> roots;
  constexpr size_t kBucketSlice = 16384;
  // An erasure removes profiles: after one, the pointers taken below are not used.
  const std::uint64_t erasures = impl_->erasures.load();
  for (int attempt = 0;; ++attempt) {
    roots.clear();
    size_t buckets = 0;
    bool rehashed = false;
    for (size_t b = 0;;) {
      std::shared_lock lock(impl_->state_mu);
      const auto& profiles = impl_->profiles;
      if (b == 0) {
        buckets = profiles.bucket_count();
        roots.reserve(profiles.size());
      } else if (profiles.bucket_count() != buckets) {
        rehashed = true;
        break;
      }
      const size_t end = attempt >= 2 ? buckets : std::min(buckets, b + kBucketSlice);
      for (; b < end; ++b) {
        for (auto it = profiles.begin(b); it != profiles.end(b); ++it) {
          const std::int64_t root = impl_->graph.Find(CustomerId(it->first)).value();
          roots.emplace_back(root, root == it->first ? &it->second : nullptr);
        }
      }
      if (b >= buckets) break;
    }
    if (!rehashed) break;
  }
  // By id; of a root listed by several members, its own accumulator first.
  std::sort(roots.begin(), roots.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : (a.second != nullptr && b.second == nullptr);
  });
  const auto same_root = [](const auto& a, const auto& b) { return a.first == b.first; };
  roots.erase(std::unique(roots.begin(), roots.end(), same_root), roots.end());
  constexpr size_t kSlice = 2048;
  for (size_t begin = 0; begin < roots.size(); begin += kSlice) {
    const size_t end = std::min(roots.size(), begin + kSlice);
    std::shared_lock lock(impl_->state_mu);
    for (size_t i = begin; i < end; ++i) {
      const CustomerId c(roots[i].first);
      if (impl_->graph.Find(c) != c) continue;  // merged away since the list was taken
      if (roots[i].second != nullptr && !impl_->graph.HasMerged(c) && impl_->erasures.load() == erasures) {
        fn(c, *roots[i].second);  // most customers: their own accumulator, no second lookup
      } else {
        VisitLive(impl_->graph, impl_->profiles, c, [&](const profile::Profile& p) { fn(c, p); });
      }
    }
  }
}

bool Engine::With(CustomerId customer, const std::function<void(const profile::Profile&)>& fn) const {
  if (!customer.valid()) return false;
  std::shared_lock lock(impl_->state_mu);
  if (impl_->graph.Find(customer) != customer) return false;
  return VisitLive(impl_->graph, impl_->profiles, customer, fn);
}

std::vector<CustomerId> Engine::MergedInto(CustomerId customer) const {
  std::vector<CustomerId> out;
  if (!customer.valid()) return out;
  std::shared_lock lock(impl_->state_mu);
  if (impl_->graph.Find(customer) != customer || !impl_->graph.HasMerged(customer)) return out;
  for (CustomerId m : impl_->graph.Members(customer)) {
    if (m != customer) out.push_back(m);
  }
  return out;
}

Millis Engine::as_of() const { return newest_event_at(); }

}  // namespace touchpoint::pipeline
