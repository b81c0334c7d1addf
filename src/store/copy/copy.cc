// Copying one store into another through the repositories (store/copy.h).
#include <touchpoint/store/copy.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <utility>

#include <touchpoint/store/activity_repository.h>
#include <touchpoint/store/api_key_repository.h>
#include <touchpoint/store/audit_repository.h>
#include <touchpoint/store/dp_budget_repository.h>
#include <touchpoint/store/consent_repository.h>
#include <touchpoint/store/escalation_repository.h>
#include <touchpoint/store/event_log.h>
#include <touchpoint/store/identity_repository.h>
#include <touchpoint/store/job_repository.h>
#include <touchpoint/store/profile_repository.h>
#include <touchpoint/store/segment_repository.h>
#include <touchpoint/store/suppression_repository.h>
#include <touchpoint/store/team_repository.h>
#include <touchpoint/store/user_repository.h>

namespace touchpoint::store {
namespace {

std::string N(std::int64_t n) { return std::to_string(n); }

std::string HashHex(const MessageHash& h) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016" PRIx64 "%016" PRIx64, h.hi, h.lo);
  return buf;
}

// Appended to every refusal: what the user can do about it.
constexpr std::string_view kNotAPrefix =
    ": the target is not a copy of this source (migrate into an empty store, or into the one an "
    "earlier migrate of this source left)";

Status NotAPrefix(const std::string& what) { return Status::FailedPrecondition(what + std::string(kNotAPrefix)); }

// The event with this seq, nullopt when the log has none.
Result<std::optional<EventRecord>> EventAt(EventLog& log, std::int64_t seq) {
  std::optional<EventRecord> out;
  TP_RETURN_IF_ERROR(log.ScanFrom(seq, [&](EventRecord&& e) {
    if (e.seq == seq) out = std::move(e);
    return false;
  }));
  return out;
}

// Walks a job repository in id order, one record at a time (the contract has no scan: ids run
// from 1 to the newest job's, gaps skipped). Jobs created after Init are not visited.
class JobCursor {
 public:
  explicit JobCursor(JobRepository& repo) : repo_(repo) {}
  Status Init() {
    TP_ASSIGN_OR_RETURN(std::vector<JobRecord> newest, repo_.Recent(1));
    max_id_ = newest.empty() ? 0 : newest.front().id;
    return Status::Ok();
  }
  std::int64_t max_id() const { return max_id_; }
  // The next job; nullopt after the last.
  Result<std::optional<JobRecord>> Next() {
    while (next_id_ <= max_id_) {
      TP_ASSIGN_OR_RETURN(std::optional<JobRecord> job, repo_.Find(next_id_++));
      if (job) return job;
    }
    return std::optional<JobRecord>();
  }

 private:
  JobRepository& repo_;
  std::int64_t max_id_ = 0;
  std::int64_t next_id_ = 1;
};

Result<std::int64_t> CountJobs(JobRepository& repo) {
  JobCursor cursor(repo);
  TP_RETURN_IF_ERROR(cursor.Init());
  std::int64_t n = 0;
  for (;;) {
    TP_ASSIGN_OR_RETURN(std::optional<JobRecord> job, cursor.Next());
    if (!job) return n;
    ++n;
  }
}

// The same job (what never changes once created); its state, result and times may still differ.
bool SameJob(const JobRecord& a, const JobRecord& b) {
  return a.name == b.name && a.created_at == b.created_at && a.trigger == b.trigger && a.params_json == b.params_json;
}

bool EqualButId(JobRecord a, const JobRecord& b) {
  a.id = b.id;
  return a == b;
}

// Every count the verification compares, of one store.
struct Counts {
  std::int64_t events = 0;
  IdentityCounts identity;
  ActivityCounts activity;
  std::int64_t escalations = 0;
  std::int64_t consents = 0;
  std::int64_t keys = 0;
  std::int64_t jobs = 0;
  std::int64_t segments = 0;
  std::int64_t users = 0;
  std::int64_t teams = 0;
  std::int64_t audit_entries = 0;
  std::int64_t audit_checkpoints = 0;
  std::int64_t signing_keys = 0;
  std::int64_t dp_releases = 0;
  std::int64_t suppressions = 0;
  std::int64_t checkpoint = 0;
};

Result<Counts> ReadCounts(Store& s) {
  Counts c;
  TP_ASSIGN_OR_RETURN(c.events, s.Get<EventLog>().Count());
  TP_ASSIGN_OR_RETURN(c.identity, s.Get<IdentityRepository>().Counts());
  TP_ASSIGN_OR_RETURN(c.activity, s.Get<ActivityRepository>().Counts());
  TP_ASSIGN_OR_RETURN(c.escalations, s.Get<EscalationRepository>().Count());
  TP_ASSIGN_OR_RETURN(c.consents, s.Get<ConsentRepository>().Count());
  TP_ASSIGN_OR_RETURN(std::vector<ApiKeyRecord> keys, s.Get<ApiKeyRepository>().List());
  c.keys = static_cast<std::int64_t>(keys.size());
  TP_ASSIGN_OR_RETURN(c.jobs, CountJobs(s.Get<JobRepository>()));
  TP_ASSIGN_OR_RETURN(std::vector<SegmentRecord> segments, s.Get<SegmentRepository>().List());
  c.segments = static_cast<std::int64_t>(segments.size());
  TP_ASSIGN_OR_RETURN(std::vector<UserRecord> users, s.Get<UserRepository>().List());
  c.users = static_cast<std::int64_t>(users.size());
  TP_ASSIGN_OR_RETURN(std::vector<TeamRecord> teams, s.Get<TeamRepository>().List());
  c.teams = static_cast<std::int64_t>(teams.size());
  TP_ASSIGN_OR_RETURN(std::optional<AuditEntryRecord> head, s.Get<AuditRepository>().Head());
  c.audit_entries = head ? head->seq : 0;
  TP_ASSIGN_OR_RETURN(std::vector<AuditCheckpointRecord> checkpoints, s.Get<AuditRepository>().Checkpoints());
  c.audit_checkpoints = static_cast<std::int64_t>(checkpoints.size());
  TP_ASSIGN_OR_RETURN(std::vector<SigningKeyRecord> signing, s.Get<SigningKeyRepository>().List());
  c.signing_keys = static_cast<std::int64_t>(signing.size());
  auto& dp = s.Get<DpBudgetRepository>();
  TP_ASSIGN_OR_RETURN(const std::vector<std::string> datasets, dp.Datasets());
  for (const std::string& d : datasets) {
    TP_ASSIGN_OR_RETURN(const std::vector<DpRelease> releases, dp.Releases(d));
    c.dp_releases += static_cast<std::int64_t>(releases.size());
  }
  TP_ASSIGN_OR_RETURN(c.suppressions, s.Get<SuppressionRepository>().Count());
  TP_ASSIGN_OR_RETURN(c.checkpoint, s.Get<ProfileRepository>().Checkpoint());
  return c;
}

template <class R>
using Sink = std::function<void(R&&)>;
// Streams every row of a table into the sink.
template <class R>
using ScanFn = std::function<Status(const Sink<R>&)>;
// Writes a batch of rows inside a target transaction.
template <class R>
using WriteFn = std::function<Status(Transaction&, std::span<const R>)>;

class Copier {
 public:
  Copier(Store& from, Store& to, const CopyOptions& options, CopyProgress* progress)
      : from_(from), to_(to), options_(options), progress_(progress) {}

  Result<CopyReport> Run() {
    if (options_.batch_rows < 1) return Status::InvalidArgument("batch_rows must be at least 1");
    if (to_.read_only()) return Status::FailedPrecondition("the target store is open read-only");
    TP_RETURN_IF_ERROR(CheckTarget());
    TP_RETURN_IF_ERROR(CopyEvents());
    TP_RETURN_IF_ERROR(CopyIdentity());
    TP_RETURN_IF_ERROR(CopyProfiles());
    TP_RETURN_IF_ERROR(CopyActivityAndEscalations());
    TP_RETURN_IF_ERROR(CopyKeys());
    TP_RETURN_IF_ERROR(CopyJobs());
    TP_RETURN_IF_ERROR(CopySegments());
    TP_RETURN_IF_ERROR(CopyUsersAndTeams());
    TP_RETURN_IF_ERROR(CopyAudit());
    TP_RETURN_IF_ERROR(CopyPrivacyBudgets());
    TP_RETURN_IF_ERROR(CopySuppressions());
    TP_RETURN_IF_ERROR(Finish());
    TP_ASSIGN_OR_RETURN(CopyReport report, CompareCounts(from_, to_));
    report.rows_written = written_;
    if (const TableCount* m = report.FirstMismatch()) {
      return Status::Internal("the copy is not complete: " + m->table + ": " + N(m->source) + " in the source, " +
                              N(m->target) + " in the target");
    }
    TP_ASSIGN_OR_RETURN(const Millis source_newest, from_.Get<EventLog>().NewestEventAt());
    TP_ASSIGN_OR_RETURN(const Millis target_newest, to_.Get<EventLog>().NewestEventAt());
    if (source_newest != target_newest) {
      return Status::Internal("the copy is not complete: newest event time: " + N(source_newest) +
                              " in the source, " + N(target_newest) + " in the target");
    }
    return report;
  }

 private:
  // ---- before writing anything ----

  // Refuses a target that an earlier copy of this source cannot have left. The row-by-row check
  // of the append-only tables happens when each is copied, before its first write.
  Status CheckTarget() {
    EventLog& src = from_.Get<EventLog>();
    EventLog& dst = to_.Get<EventLog>();
    TP_ASSIGN_OR_RETURN(const std::int64_t source_last, src.LastSeq());
    TP_ASSIGN_OR_RETURN(const std::int64_t target_last, dst.LastSeq());
    if (target_last > source_last) {
      return NotAPrefix("the target holds " + N(target_last) + " events, the source only " + N(source_last));
    }
    // The first and the last event the target holds must be the source's (a 128-bit hash of
    // the message id each): a log is only appended to, so these two pin the whole prefix. Seqs
    // without an event (erased, or removed by retention) must be so in both logs.
    std::optional<EventRecord> target_first;
    TP_RETURN_IF_ERROR(dst.ScanFrom(1, [&](EventRecord&& e) {
      target_first = std::move(e);
      return false;
    }));
    std::optional<EventRecord> source_first;
    TP_RETURN_IF_ERROR(src.ScanFrom(1, [&](EventRecord&& e) {
      source_first = std::move(e);
      return false;
    }));
    if (target_first) {
      const std::int64_t seq = target_first->seq;
      if (!source_first || source_first->seq > seq) {
        return NotAPrefix("event " + N(seq) + " is in the target but not in the source (erased or never there)");
      }
      if (source_first->seq < seq) {
        return NotAPrefix("event " + N(source_first->seq) + " of the source is missing from the target");
      }
      if (!(source_first->hash == target_first->hash)) {
        return NotAPrefix("event " + N(seq) + " differs (message hash " + HashHex(source_first->hash) +
                          " in the source, " + HashHex(target_first->hash) + " in the target)");
      }
    }
    if (target_last > 0) {
      TP_ASSIGN_OR_RETURN(std::optional<EventRecord> s, EventAt(src, target_last));
      TP_ASSIGN_OR_RETURN(std::optional<EventRecord> t, EventAt(dst, target_last));
      if (s.has_value() != t.has_value()) {
        return NotAPrefix("event " + N(target_last) + " is " + (s ? "in the source but erased in the target"
                                                                    : "erased in the source but in the target"));
      }
      if (s && !(s->hash == t->hash)) {
        return NotAPrefix("event " + N(target_last) + " differs (message hash " + HashHex(s->hash) +
                          " in the source, " + HashHex(t->hash) + " in the target)");
      }
    }
    TP_ASSIGN_OR_RETURN(const Counts source, ReadCounts(from_));
    TP_ASSIGN_OR_RETURN(const Counts target, ReadCounts(to_));
    // A copy writes events first: a target without events but with other rows is not one.
    if (target_last == 0 && source_last > 0) {
      const std::int64_t others = target.identity.identifiers + target.identity.live_customers +
                                  target.activity.orders + target.activity.messages + target.activity.surveys +
                                  target.escalations;
      if (others > 0) {
        return NotAPrefix("the target holds no events but " + N(target.identity.live_customers) + " customers, " +
                          N(target.identity.identifiers) + " identifiers, " + N(target.activity.orders) +
                          " orders, " + N(target.activity.messages) + " messages, " + N(target.activity.surveys) +
                          " surveys and " + N(target.escalations) + " escalations");
      }
    }
    if (target.checkpoint > source.checkpoint) {
      return NotAPrefix("the target's profiles reflect events up to " + N(target.checkpoint) +
                        ", the source's only up to " + N(source.checkpoint));
    }
    // Tables that only grow: the target cannot hold more than the source.
    const TableCount grows[] = {{"identifiers", source.identity.identifiers, target.identity.identifiers},
                                {"orders", source.activity.orders, target.activity.orders},
                                {"messages", source.activity.messages, target.activity.messages},
                                {"surveys", source.activity.surveys, target.activity.surveys},
                                {"escalations", source.escalations, target.escalations},
                                {"consents", source.consents, target.consents},
                                {"api keys", source.keys, target.keys},
                                {"jobs", source.jobs, target.jobs}};
    for (const TableCount& g : grows) {
      if (g.target > g.source) {
        return NotAPrefix("the target holds " + N(g.target) + " " + g.table + ", the source only " + N(g.source));
      }
    }
    TP_RETURN_IF_ERROR(CheckKeys());
    TP_RETURN_IF_ERROR(CheckJobs());
    TP_RETURN_IF_ERROR(CheckSegments());
    TP_RETURN_IF_ERROR(CheckAudit());
    return CheckPrivacyBudgets();
  }

  // Each data set's ledger in the target is the source's first releases of it.
  Status CheckPrivacyBudgets() {
    DpBudgetRepository& src = from_.Get<DpBudgetRepository>();
    DpBudgetRepository& dst = to_.Get<DpBudgetRepository>();
    TP_ASSIGN_OR_RETURN(const std::vector<std::string> datasets, dst.Datasets());
    for (const std::string& d : datasets) {
      TP_ASSIGN_OR_RETURN(const std::vector<DpRelease> t, dst.Releases(d));
      TP_ASSIGN_OR_RETURN(const std::vector<DpRelease> s, src.Releases(d));
      for (size_t i = 0; i < t.size(); ++i) {
        if (i >= s.size() || !SameRelease(s[i], t[i])) {
          return NotAPrefix("privacy release " + N(static_cast<std::int64_t>(i + 1)) + " of data set '" + d +
                            "' in the target is not the source's");
        }
      }
    }
    return Status::Ok();
  }

  static bool SameRelease(const DpRelease& a, const DpRelease& b) {
    return a.dataset == b.dataset && a.report == b.report && a.epsilon_micros == b.epsilon_micros &&
           a.actor == b.actor && a.released_at == b.released_at;
  }

  // The target's audit chain is the source's first entries (its head entry has the source's
  // hash: each hash covers its predecessor's, so the head pins the whole chain), its checkpoints
  // the source's first ones, and its signing keys the source's.
  Status CheckAudit() {
    AuditRepository& src = from_.Get<AuditRepository>();
    AuditRepository& dst = to_.Get<AuditRepository>();
    TP_ASSIGN_OR_RETURN(const std::optional<AuditEntryRecord> head, dst.Head());
    if (head) {
      std::optional<AuditEntryRecord> same;
      TP_RETURN_IF_ERROR(src.Scan(head->seq - 1, [&](AuditEntryRecord&& e) {
        if (e.seq == head->seq) same = std::move(e);
        return false;
      }));
      if (!same || same->hash != head->hash) {
        return NotAPrefix("audit entry " + N(head->seq) + " of the target is not the source's");
      }
    }
    TP_ASSIGN_OR_RETURN(const std::vector<AuditCheckpointRecord> sc, src.Checkpoints());
    TP_ASSIGN_OR_RETURN(const std::vector<AuditCheckpointRecord> tc, dst.Checkpoints());
    for (size_t i = 0; i < tc.size(); ++i) {
      if (i >= sc.size() || !SameCheckpoint(sc[i], tc[i])) {
        return NotAPrefix("audit checkpoint " + N(static_cast<std::int64_t>(i + 1)) + " of the target is not the source's");
      }
    }
    TP_ASSIGN_OR_RETURN(const std::vector<SigningKeyRecord> sk, from_.Get<SigningKeyRepository>().List());
    TP_ASSIGN_OR_RETURN(const std::vector<SigningKeyRecord> tk, to_.Get<SigningKeyRepository>().List());
    for (const SigningKeyRecord& t : tk) {
      const bool known = std::any_of(sk.begin(), sk.end(), [&](const SigningKeyRecord& s) {
        return s.key_id == t.key_id && s.public_key == t.public_key;
      });
      if (!known) return NotAPrefix("signing key " + t.key_id + " of the target is not the source's");
    }
    return Status::Ok();
  }

  static bool SameCheckpoint(const AuditCheckpointRecord& a, const AuditCheckpointRecord& b) {
    return a.count == b.count && a.head_hash == b.head_hash && a.time == b.time && a.key_id == b.key_id &&
           a.signature == b.signature;
  }

  // Every key of the target is the source's key with that hash.
  Status CheckKeys() {
    TP_ASSIGN_OR_RETURN(std::vector<ApiKeyRecord> keys, to_.Get<ApiKeyRepository>().List());
    for (const ApiKeyRecord& t : keys) {
      TP_ASSIGN_OR_RETURN(std::optional<ApiKeyRecord> s, from_.Get<ApiKeyRepository>().FindByHash(t.key_hash));
      const std::string which = "API key " + N(t.id) + " (prefix " + t.prefix + ")";
      if (!s) return NotAPrefix(which + " of the target is not in the source");
      if (s->role != t.role || s->prefix != t.prefix || s->created_at != t.created_at) {
        return NotAPrefix(which + " has another role, prefix or creation time in the source");
      }
      if (t.revoked_at != 0 && s->revoked_at != t.revoked_at) {
        return NotAPrefix(which + " is revoked in the target but " +
                          (s->revoked_at == 0 ? std::string("active") : std::string("revoked at another time")) +
                          " in the source");
      }
    }
    return Status::Ok();
  }

  // The target's jobs are the source's first ones, in order.
  Status CheckJobs() {
    JobCursor src(from_.Get<JobRepository>());
    JobCursor dst(to_.Get<JobRepository>());
    TP_RETURN_IF_ERROR(src.Init());
    TP_RETURN_IF_ERROR(dst.Init());
    for (std::int64_t i = 1;; ++i) {
      TP_ASSIGN_OR_RETURN(std::optional<JobRecord> t, dst.Next());
      if (!t) return Status::Ok();
      TP_ASSIGN_OR_RETURN(std::optional<JobRecord> s, src.Next());
      if (!s || !SameJob(*s, *t)) {
        return NotAPrefix("job " + N(i) + " of the target (" + t->name + ", id " + N(t->id) + ") is not job " + N(i) +
                          " of the source" + (s ? " (" + s->name + ", id " + N(s->id) + ")" : std::string()));
      }
    }
  }

  Status CheckSegments() {
    TP_ASSIGN_OR_RETURN(std::vector<SegmentRecord> segments, to_.Get<SegmentRepository>().List());
    for (const SegmentRecord& t : segments) {
      TP_ASSIGN_OR_RETURN(std::optional<SegmentRecord> s, from_.Get<SegmentRepository>().Find(t.name));
      if (!s) return NotAPrefix("segment '" + t.name + "' of the target is not in the source");
    }
    return Status::Ok();
  }

  // ---- writing ----

  void Report(std::string_view table, std::int64_t done, std::int64_t total) {
    if (progress_ != nullptr) progress_->Update(table, done, total);
  }

  // Counts rows as written; stops the copy at CopyOptions::stop_after_rows.
  Status Wrote(std::int64_t rows) {
    written_ += rows;
    if (options_.stop_after_rows > 0 && written_ >= options_.stop_after_rows) {
      return Status::Unavailable("copy stopped after " + N(written_) + " rows (CopyOptions::stop_after_rows)");
    }
    return Status::Ok();
  }

  // Commits `write` in one target transaction and counts `rows` as written.
  Status CommitBatch(std::int64_t rows, const std::function<Status(Transaction&)>& write) {
    TP_ASSIGN_OR_RETURN(std::unique_ptr<Transaction> txn, to_.Begin());
    TP_RETURN_IF_ERROR(write(*txn));
    TP_RETURN_IF_ERROR(txn->Commit());
    return Wrote(rows);
  }

  size_t BatchCapacity() const { return static_cast<size_t>(std::min<std::int64_t>(options_.batch_rows, 4096)); }
  bool Full(size_t n) const { return static_cast<std::int64_t>(n) >= options_.batch_rows; }

  // Events keep the source's seq numbers (followers, the audit chain and resumption rely on
  // them): written with EventLog::AppendWithSeqs, so numbers the source's scan skips (erased
  // events, whose tombstones hold no personal data, and events removed by retention) hold no
  // event on the target either. The last batch carries the source's last seq, so erased events
  // at the end keep their numbers too.
  Status CopyEvents() {
    EventLog& src = from_.Get<EventLog>();
    EventLog& dst = to_.Get<EventLog>();
    TP_ASSIGN_OR_RETURN(const std::int64_t source_last, src.LastSeq());
    TP_ASSIGN_OR_RETURN(const std::int64_t target_last, dst.LastSeq());
    if (target_last > source_last) {
      return NotAPrefix("the target's event log ends at seq " + N(target_last) + ", the source's at " +
                        N(source_last));
    }
    std::int64_t done = target_last;
    Report("events", done, source_last);
    std::vector<EventRecord> batch;
    batch.reserve(BatchCapacity());
    // `through`: the seq the target's log must reach with this batch (the last event's, or the
    // source's last seq for the final batch).
    auto flush = [&](std::int64_t through) -> Status {
      if (batch.empty() && through <= done) return Status::Ok();
      const auto n = static_cast<std::int64_t>(batch.size());
      TP_RETURN_IF_ERROR(CommitBatch(n, [&](Transaction& txn) { return dst.AppendWithSeqs(txn, batch, through); }));
      TP_ASSIGN_OR_RETURN(const std::int64_t now_last, dst.LastSeq());
      if (now_last != through) {
        return Status::Internal("the target's event log ends at seq " + N(now_last) + " after the source's events up to " +
                                N(through) + " were copied");
      }
      done = through;
      batch.clear();
      Report("events", done, source_last);
      return Status::Ok();
    };
    Status failed;
    TP_RETURN_IF_ERROR(src.ScanFrom(target_last + 1, [&](EventRecord&& e) {
      if (e.seq > source_last) return false;  // appended since the copy began (it must not change)
      batch.push_back(std::move(e));
      if (Full(batch.size())) failed = flush(batch.back().seq);
      return failed.ok();
    }));
    TP_RETURN_IF_ERROR(failed);
    TP_RETURN_IF_ERROR(flush(source_last));
    Report("events", done, done);
    return Status::Ok();
  }

  // A table whose rows are upserted by id: every source row is written again (idempotent).
  template <class R>
  Status CopyUpserts(std::string_view table, std::int64_t total, const ScanFn<R>& scan, const WriteFn<R>& write) {
    std::int64_t done = 0;
    Report(table, 0, total);
    std::vector<R> batch;
    batch.reserve(BatchCapacity());
    auto flush = [&]() -> Status {
      if (batch.empty()) return Status::Ok();
      const auto n = static_cast<std::int64_t>(batch.size());
      TP_RETURN_IF_ERROR(CommitBatch(n, [&](Transaction& txn) { return write(txn, batch); }));
      done += n;
      batch.clear();
      Report(table, done, std::max(total, done));
      return Status::Ok();
    };
    Status failed;
    TP_RETURN_IF_ERROR(scan([&](R&& r) {
      if (!failed.ok()) return;
      batch.push_back(std::move(r));
      if (Full(batch.size())) failed = flush();
    }));
    TP_RETURN_IF_ERROR(failed);
    TP_RETURN_IF_ERROR(flush());
    Report(table, done, done);
    return Status::Ok();
  }

  // An append-only table without ids: the target's rows are the source's first ones (its last
  // row is compared with the source's at that position), the rest is appended in order.
  template <class R>
  Status CopyAppendOnly(std::string_view table, std::int64_t source_count, std::int64_t target_count,
                        const ScanFn<R>& scan_source, const ScanFn<R>& scan_target, const WriteFn<R>& write) {
    if (target_count > source_count) {
      return NotAPrefix("the target holds " + N(target_count) + " " + std::string(table) + ", the source only " +
                        N(source_count));
    }
    std::optional<R> target_last;
    if (target_count > 0) TP_RETURN_IF_ERROR(scan_target([&](R&& r) { target_last = std::move(r); }));
    std::int64_t done = target_count;
    std::int64_t index = 0;
    Report(table, done, source_count);
    std::vector<R> batch;
    batch.reserve(BatchCapacity());
    auto flush = [&]() -> Status {
      if (batch.empty()) return Status::Ok();
      const auto n = static_cast<std::int64_t>(batch.size());
      TP_RETURN_IF_ERROR(CommitBatch(n, [&](Transaction& txn) { return write(txn, batch); }));
      done += n;
      batch.clear();
      Report(table, done, std::max(source_count, done));
      return Status::Ok();
    };
    Status failed;
    TP_RETURN_IF_ERROR(scan_source([&](R&& r) {
      if (!failed.ok()) return;
      const std::int64_t i = index++;
      if (i < target_count) {
        if (i == target_count - 1 && !(target_last && *target_last == r)) {
          failed = NotAPrefix(std::string(table) + " row " + N(i + 1) + " differs between the source and the target");
        }
        return;
      }
      batch.push_back(std::move(r));
      if (Full(batch.size())) failed = flush();
    }));
    TP_RETURN_IF_ERROR(failed);
    if (index < target_count) {
      return NotAPrefix("the target holds " + N(target_count) + " " + std::string(table) + ", the source only " +
                        N(index));
    }
    TP_RETURN_IF_ERROR(flush());
    Report(table, done, done);
    return Status::Ok();
  }

  Status CopyIdentity() {
    IdentityRepository& src = from_.Get<IdentityRepository>();
    IdentityRepository& dst = to_.Get<IdentityRepository>();
    // Totals for the progress (cheap scans of small rows; identifiers have a count).
    std::int64_t customers = 0;
    std::int64_t merges = 0;
    std::int64_t blocks = 0;
    TP_RETURN_IF_ERROR(src.ScanCustomers([&](const CustomerRecord&) { ++customers; }));
    TP_RETURN_IF_ERROR(src.ScanMerges([&](MergeRecord&&) { ++merges; }));
    TP_RETURN_IF_ERROR(src.ScanMergeBlocks([&](CustomerId, CustomerId) { ++blocks; }));
    TP_ASSIGN_OR_RETURN(const IdentityCounts counts, src.Counts());
    customers_ = customers;

    TP_RETURN_IF_ERROR(CopyUpserts<CustomerRecord>(
        "customers", customers,
        [&](const Sink<CustomerRecord>& sink) {
          return src.ScanCustomers([&](const CustomerRecord& c) { sink(CustomerRecord(c)); });
        },
        [&](Transaction& txn, std::span<const CustomerRecord> rows) { return dst.PutCustomers(txn, rows); }));
    TP_RETURN_IF_ERROR(CopyUpserts<IdentifierRecord>(
        "identifiers", counts.identifiers, [&](const Sink<IdentifierRecord>& sink) { return src.ScanIdentifiers(sink); },
        [&](Transaction& txn, std::span<const IdentifierRecord> rows) { return dst.PutIdentifiers(txn, rows); }));
    TP_RETURN_IF_ERROR(CopyUpserts<MergeRecord>(
        "merges", merges, [&](const Sink<MergeRecord>& sink) { return src.ScanMerges(sink); },
        [&](Transaction& txn, std::span<const MergeRecord> rows) { return dst.PutMerges(txn, rows); }));
    return CopyUpserts<MergeBlock>(
        "merge blocks", blocks,
        [&](const Sink<MergeBlock>& sink) {
          return src.ScanMergeBlocks([&](CustomerId a, CustomerId b) { sink(MergeBlock(a, b)); });
        },
        [&](Transaction& txn, std::span<const MergeBlock> rows) { return dst.AddMergeBlocks(txn, rows); });
  }

  Status CopyProfiles() {
    ProfileRepository& src = from_.Get<ProfileRepository>();
    ProfileRepository& dst = to_.Get<ProfileRepository>();
    // One profile at most per customer: the customers are the progress' upper bound.
    return CopyUpserts<ProfileRecord>(
        "profiles", customers_, [&](const Sink<ProfileRecord>& sink) { return src.Scan(sink); },
        [&](Transaction& txn, std::span<const ProfileRecord> rows) { return dst.Put(txn, rows); });
  }

  Status CopyActivityAndEscalations() {
    ActivityRepository& src = from_.Get<ActivityRepository>();
    ActivityRepository& dst = to_.Get<ActivityRepository>();
    TP_ASSIGN_OR_RETURN(const ActivityCounts s, src.Counts());
    TP_ASSIGN_OR_RETURN(const ActivityCounts t, dst.Counts());
    TP_RETURN_IF_ERROR(CopyAppendOnly<OrderRecord>(
        "orders", s.orders, t.orders, [&](const Sink<OrderRecord>& sink) { return src.ScanOrders(sink); },
        [&](const Sink<OrderRecord>& sink) { return dst.ScanOrders(sink); },
        [&](Transaction& txn, std::span<const OrderRecord> rows) { return dst.AddOrders(txn, rows); }));
    TP_RETURN_IF_ERROR(CopyAppendOnly<MessageRecord>(
        "messages", s.messages, t.messages, [&](const Sink<MessageRecord>& sink) { return src.ScanMessages(sink); },
        [&](const Sink<MessageRecord>& sink) { return dst.ScanMessages(sink); },
        [&](Transaction& txn, std::span<const MessageRecord> rows) { return dst.AddMessages(txn, rows); }));
    TP_RETURN_IF_ERROR(CopyAppendOnly<SurveyRecord>(
        "surveys", s.surveys, t.surveys, [&](const Sink<SurveyRecord>& sink) { return src.ScanSurveys(sink); },
        [&](const Sink<SurveyRecord>& sink) { return dst.ScanSurveys(sink); },
        [&](Transaction& txn, std::span<const SurveyRecord> rows) { return dst.AddSurveys(txn, rows); }));

    EscalationRepository& esrc = from_.Get<EscalationRepository>();
    EscalationRepository& edst = to_.Get<EscalationRepository>();
    TP_ASSIGN_OR_RETURN(const std::int64_t es, esrc.Count());
    TP_ASSIGN_OR_RETURN(const std::int64_t et, edst.Count());
    TP_RETURN_IF_ERROR(CopyAppendOnly<EscalationRecord>(
        "escalations", es, et, [&](const Sink<EscalationRecord>& sink) { return esrc.Scan(sink); },
        [&](const Sink<EscalationRecord>& sink) { return edst.Scan(sink); },
        [&](Transaction& txn, std::span<const EscalationRecord> rows) { return edst.Add(txn, rows); }));

    // Consent decisions: append-only in recording order; the target assigns its own ids (compared
    // without them: a database's sequence may have gaps).
    ConsentRepository& csrc = from_.Get<ConsentRepository>();
    ConsentRepository& cdst = to_.Get<ConsentRepository>();
    TP_ASSIGN_OR_RETURN(const std::int64_t cs, csrc.Count());
    TP_ASSIGN_OR_RETURN(const std::int64_t ct, cdst.Count());
    const auto without_ids = [](ConsentRepository& repo) {
      return [&repo](const Sink<ConsentRecord>& sink) {
        return repo.Scan([&](ConsentRecord&& r) {
          r.id = 0;
          sink(std::move(r));
        });
      };
    };
    return CopyAppendOnly<ConsentRecord>(
        "consents", cs, ct, without_ids(csrc), without_ids(cdst),
        [&](Transaction& txn, std::span<const ConsentRecord> rows) { return cdst.Add(txn, rows); });
  }

  // Keys are their own small transactions (store/api_key_repository.h); the target assigns ids.
  Status CopyKeys() {
    ApiKeyRepository& src = from_.Get<ApiKeyRepository>();
    ApiKeyRepository& dst = to_.Get<ApiKeyRepository>();
    TP_ASSIGN_OR_RETURN(const std::vector<ApiKeyRecord> keys, src.List());
    const auto total = static_cast<std::int64_t>(keys.size());
    std::int64_t done = 0;
    Report("api keys", 0, total);
    for (const ApiKeyRecord& k : keys) {
      TP_ASSIGN_OR_RETURN(std::optional<ApiKeyRecord> existing, dst.FindByHash(k.key_hash));
      if (!existing) {
        TP_ASSIGN_OR_RETURN(ApiKeyRecord created, dst.Create(k.role, k.key_hash, k.prefix, k.created_at));
        TP_RETURN_IF_ERROR(Wrote(1));
        existing = created;
      }
      if (existing->revoked_at == 0 && k.revoked_at != 0) {
        TP_RETURN_IF_ERROR(dst.Revoke(std::to_string(existing->id), k.revoked_at));
        TP_RETURN_IF_ERROR(Wrote(1));
      }
      Report("api keys", ++done, total);
    }
    Report("api keys", done, done);
    return Status::Ok();
  }

  // Jobs are paired in id order (CheckJobs made sure the target's are the source's first ones):
  // a paired one is updated when its state moved on, the rest created. The target assigns ids.
  Status CopyJobs() {
    JobRepository& dst_repo = to_.Get<JobRepository>();
    JobCursor src(from_.Get<JobRepository>());
    JobCursor dst(dst_repo);
    TP_RETURN_IF_ERROR(src.Init());
    TP_RETURN_IF_ERROR(dst.Init());
    const std::int64_t total = src.max_id();  // ids are dense in practice: an upper bound
    std::int64_t done = 0;
    Report("jobs", 0, total);
    for (;;) {
      TP_ASSIGN_OR_RETURN(std::optional<JobRecord> s, src.Next());
      if (!s) break;
      TP_ASSIGN_OR_RETURN(std::optional<JobRecord> t, dst.Next());
      if (t) {
        if (!SameJob(*s, *t)) return NotAPrefix("job " + N(t->id) + " of the target is not the source's " + N(s->id));
        if (!EqualButId(*s, *t)) {
          JobRecord updated = *s;
          updated.id = t->id;
          TP_RETURN_IF_ERROR(dst_repo.Update(updated));
          TP_RETURN_IF_ERROR(Wrote(1));
        }
      } else {
        TP_RETURN_IF_ERROR(dst_repo.Create(*s).status());
        TP_RETURN_IF_ERROR(Wrote(1));
      }
      Report("jobs", ++done, std::max(total, done));
    }
    Report("jobs", done, done);
    return Status::Ok();
  }

  // Teams by name, then users by e-mail (created, or updated to the source's fields), then the
  // supervisors; ids are the target's own, so team and user ids are mapped.
  Status CopyUsersAndTeams() {
    TeamRepository& src_teams = from_.Get<TeamRepository>();
    TeamRepository& dst_teams = to_.Get<TeamRepository>();
    UserRepository& src_users = from_.Get<UserRepository>();
    UserRepository& dst_users = to_.Get<UserRepository>();
    TP_ASSIGN_OR_RETURN(const std::vector<TeamRecord> teams, src_teams.List());
    TP_ASSIGN_OR_RETURN(const std::vector<UserRecord> users, src_users.List());
    std::map<std::int64_t, std::int64_t> team_ids{{0, 0}};  // source id → target id
    std::map<std::int64_t, std::int64_t> user_ids;
    const auto total = static_cast<std::int64_t>(teams.size() + users.size());
    std::int64_t done = 0;
    Report("users and teams", 0, total);
    for (const TeamRecord& t : teams) {
      TP_ASSIGN_OR_RETURN(std::optional<TeamRecord> existing, dst_teams.FindByName(t.name));
      if (!existing) {
        TP_ASSIGN_OR_RETURN(existing, dst_teams.Create(t.name, t.created_at));
        TP_RETURN_IF_ERROR(Wrote(1));
      }
      team_ids[t.id] = existing->id;
      Report("users and teams", ++done, total);
    }
    for (const UserRecord& u : users) {
      UserRecord want = u;
      want.team_id = team_ids.count(u.team_id) ? team_ids[u.team_id] : 0;
      TP_ASSIGN_OR_RETURN(std::optional<UserRecord> existing, dst_users.FindByEmail(u.email));
      if (!existing) {
        TP_ASSIGN_OR_RETURN(existing, dst_users.Create(want));
        TP_RETURN_IF_ERROR(Wrote(1));
      } else {
        want.id = existing->id;
        want.created_at = existing->created_at;
        if (!(want == *existing)) {
          UserUpdate update;
          update.role = want.role;
          update.team_id = want.team_id;
          update.password_hash = want.password_hash;
          update.password_changed_at = want.password_changed_at;
          update.totp_secret = want.totp_secret;  // resets the step: advanced again below
          update.disabled_at = want.disabled_at;
          update.failed_logins = want.failed_logins;
          update.locked_until = want.locked_until;
          TP_RETURN_IF_ERROR(dst_users.Update(existing->id, update));
          TP_RETURN_IF_ERROR(dst_users.AdvanceTotpStep(existing->id, want.totp_last_step).status());
          TP_RETURN_IF_ERROR(Wrote(1));
        }
      }
      user_ids[u.id] = existing->id;
      Report("users and teams", ++done, total);
    }
    for (const TeamRecord& t : teams) {
      for (const std::int64_t supervisor : t.supervisors) {
        auto mapped = user_ids.find(supervisor);
        if (mapped == user_ids.end()) continue;  // a supervisor who is no user (deleted rows)
        TP_RETURN_IF_ERROR(dst_teams.AddSupervisor(team_ids[t.id], mapped->second));
      }
    }
    Report("users and teams", done, done);
    return Status::Ok();
  }

  // The audit chain keeps its seq numbers and hashes (so `audit verify` on the target checks the
  // same chain, and the checkpoint file written for the source still matches): entries are
  // appended after the target's head with the source's own hashes, in batches; then the
  // checkpoints the target lacks and the signing keys (old signatures stay verifiable).
  Status CopyAudit() {
    AuditRepository& src = from_.Get<AuditRepository>();
    AuditRepository& dst = to_.Get<AuditRepository>();
    TP_ASSIGN_OR_RETURN(const std::optional<AuditEntryRecord> source_head, src.Head());
    TP_ASSIGN_OR_RETURN(const std::optional<AuditEntryRecord> target_head, dst.Head());
    const std::int64_t total = source_head ? source_head->seq : 0;
    std::int64_t done = target_head ? target_head->seq : 0;
    Report("audit entries", done, total);
    std::vector<AuditEntryRecord> batch;
    std::map<std::int64_t, std::string> hashes;  // seq → the source's hash, for the batch
    Status failed = Status::Ok();
    const AuditChainFn keep = [&](std::string_view prev_hash, const AuditEntryRecord& e) -> std::string {
      // `hashes` holds exactly the batch's seqs, so a found seq indexes the batch.
      auto it = hashes.find(e.seq);
      if (it == hashes.end() || prev_hash != batch[static_cast<size_t>(e.seq - batch.front().seq)].prev_hash) {
        failed = Status::Internal("audit entry " + N(e.seq) + " would not keep the source's chain");
        return std::string(64, '0');
      }
      return it->second;
    };
    const auto flush = [&]() -> Status {
      if (batch.empty()) return Status::Ok();
      TP_ASSIGN_OR_RETURN(std::vector<AuditEntryRecord> stored, dst.Append(batch, keep));
      TP_RETURN_IF_ERROR(failed);
      if (stored.size() != batch.size() || stored.front().seq != batch.front().seq) {
        return Status::Internal("the target numbered audit entries differently from the source");
      }
      done += static_cast<std::int64_t>(batch.size());
      TP_RETURN_IF_ERROR(Wrote(static_cast<std::int64_t>(batch.size())));
      Report("audit entries", done, total);
      batch.clear();
      hashes.clear();
      return Status::Ok();
    };
    Status inner = Status::Ok();
    TP_RETURN_IF_ERROR(src.Scan(done, [&](AuditEntryRecord&& e) {
      hashes[e.seq] = e.hash;
      batch.push_back(std::move(e));
      if (Full(batch.size())) inner = flush();
      return inner.ok();
    }));
    TP_RETURN_IF_ERROR(inner);
    TP_RETURN_IF_ERROR(flush());
    Report("audit entries", done, done);

    TP_ASSIGN_OR_RETURN(const std::vector<AuditCheckpointRecord> sc, src.Checkpoints());
    TP_ASSIGN_OR_RETURN(const std::vector<AuditCheckpointRecord> tc, dst.Checkpoints());
    for (size_t i = tc.size(); i < sc.size(); ++i) {
      TP_RETURN_IF_ERROR(dst.AddCheckpoint(sc[i]).status());
      TP_RETURN_IF_ERROR(Wrote(1));
    }
    TP_ASSIGN_OR_RETURN(const std::vector<SigningKeyRecord> keys, from_.Get<SigningKeyRepository>().List());
    for (const SigningKeyRecord& k : keys) TP_RETURN_IF_ERROR(to_.Get<SigningKeyRepository>().Put(k));
    return Status::Ok();
  }

  // The differential-privacy ledger, data set by data set (the releases the target lacks, in the
  // source's order), then the budgets. Releases go first, recorded against an unlimited budget:
  // the source's budget may be below what was spent (a lowered budget refuses only new releases).
  Status CopyPrivacyBudgets() {
    DpBudgetRepository& src = from_.Get<DpBudgetRepository>();
    DpBudgetRepository& dst = to_.Get<DpBudgetRepository>();
    TP_ASSIGN_OR_RETURN(const std::vector<std::string> datasets, src.Datasets());
    for (const std::string& d : datasets) {
      TP_ASSIGN_OR_RETURN(const std::vector<DpRelease> s, src.Releases(d));
      TP_ASSIGN_OR_RETURN(const std::vector<DpRelease> t, dst.Releases(d));
      TP_ASSIGN_OR_RETURN(const std::optional<std::int64_t> target_budget, dst.Budget(d));
      if (target_budget && t.size() < s.size()) {
        // An earlier run finished this data set and the source released more since: lift the
        // target's budget while the missing releases are recorded; it is set again below.
        TP_RETURN_IF_ERROR(dst.SetBudget(d, std::numeric_limits<std::int64_t>::max() / 2, 0));
      }
      for (size_t i = t.size(); i < s.size(); ++i) {
        TP_RETURN_IF_ERROR(dst.Spend(s[i], std::numeric_limits<std::int64_t>::max() / 2).status());
        TP_RETURN_IF_ERROR(Wrote(1));
      }
      TP_ASSIGN_OR_RETURN(const std::optional<std::int64_t> budget, src.Budget(d));
      if (budget) TP_RETURN_IF_ERROR(dst.SetBudget(d, *budget, 0));
    }
    return Status::Ok();
  }

  // The erasure suppression list: a set, so every run adds every entry again (kept as it was).
  // Without it, events arriving later for an erased person would re-create them on the target.
  Status CopySuppressions() {
    SuppressionRepository& src = from_.Get<SuppressionRepository>();
    SuppressionRepository& dst = to_.Get<SuppressionRepository>();
    TP_ASSIGN_OR_RETURN(const std::int64_t total, src.Count());
    return CopyUpserts<SuppressionRecord>(
        "suppressions", total,
        [&](const Sink<SuppressionRecord>& sink) {
          return src.Scan([&](const SuppressionRecord& r) { sink(SuppressionRecord(r)); });
        },
        [&](Transaction& txn, std::span<const SuppressionRecord> rows) { return dst.Add(txn, rows); });
  }

  Status CopySegments() {
    SegmentRepository& dst = to_.Get<SegmentRepository>();
    TP_ASSIGN_OR_RETURN(const std::vector<SegmentRecord> segments, from_.Get<SegmentRepository>().List());
    const auto total = static_cast<std::int64_t>(segments.size());
    std::int64_t done = 0;
    Report("segments", 0, total);
    for (const SegmentRecord& s : segments) {
      TP_ASSIGN_OR_RETURN(std::optional<SegmentRecord> t, dst.Find(s.name));
      if (!t || !(*t == s)) {
        TP_RETURN_IF_ERROR(dst.Put(s));
        TP_RETURN_IF_ERROR(Wrote(1));
      }
      Report("segments", ++done, total);
    }
    Report("segments", done, done);
    return Status::Ok();
  }

  // Last: the profile checkpoint (every profile and event it covers is in the target now) and the
  // newest event time, in one transaction.
  Status Finish() {
    TP_ASSIGN_OR_RETURN(const std::int64_t checkpoint, from_.Get<ProfileRepository>().Checkpoint());
    TP_ASSIGN_OR_RETURN(const Millis newest, from_.Get<EventLog>().NewestEventAt());
    TP_ASSIGN_OR_RETURN(std::unique_ptr<Transaction> txn, to_.Begin());
    TP_RETURN_IF_ERROR(to_.Get<ProfileRepository>().SetCheckpoint(*txn, checkpoint));
    if (newest != 0) TP_RETURN_IF_ERROR(to_.Get<EventLog>().RaiseNewestEventAt(*txn, newest));
    return txn->Commit();
  }

  Store& from_;
  Store& to_;
  const CopyOptions options_;
  CopyProgress* progress_;
  std::int64_t written_ = 0;
  std::int64_t customers_ = 0;  // source customers (all, merged ones too)
};

}  // namespace

const TableCount* CopyReport::FirstMismatch() const {
  for (const TableCount& t : tables) {
    if (t.source != t.target) return &t;
  }
  return nullptr;
}

Result<CopyReport> CompareCounts(Store& from, Store& to) {
  TP_ASSIGN_OR_RETURN(const Counts s, ReadCounts(from));
  TP_ASSIGN_OR_RETURN(const Counts t, ReadCounts(to));
  CopyReport r;
  r.tables = {{"events", s.events, t.events},
              {"customers", s.identity.live_customers, t.identity.live_customers},
              {"identifiers", s.identity.identifiers, t.identity.identifiers},
              {"merges", s.identity.merges, t.identity.merges},
              {"orders", s.activity.orders, t.activity.orders},
              {"messages", s.activity.messages, t.activity.messages},
              {"surveys", s.activity.surveys, t.activity.surveys},
              {"escalations", s.escalations, t.escalations},
              {"consents", s.consents, t.consents},
              {"api keys", s.keys, t.keys},
              {"jobs", s.jobs, t.jobs},
              {"segments", s.segments, t.segments},
              {"users", s.users, t.users},
              {"teams", s.teams, t.teams},
              {"audit entries", s.audit_entries, t.audit_entries},
              {"audit checkpoints", s.audit_checkpoints, t.audit_checkpoints},
              {"signing keys", s.signing_keys, t.signing_keys},
              {"privacy releases", s.dp_releases, t.dp_releases},
              {"suppressions", s.suppressions, t.suppressions},
              {"profile checkpoint", s.checkpoint, t.checkpoint}};
  return r;
}

Result<CopyReport> CopyStore(Store& from, Store& to, const CopyOptions& options, CopyProgress* progress) {
  return Copier(from, to, options, progress).Run();
}

}  // namespace touchpoint::store
