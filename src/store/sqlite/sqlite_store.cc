// The SQLite adapter: the only code that sees sqlite3. One connection per store; the
// repositories below share it (store/sqlite/db.h) and write inside its one open transaction.
#include <sqlite3.h>

#include <algorithm>
#include <tuple>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <touchpoint/store/activity_repository.h>
#include <touchpoint/store/api_key_repository.h>
#include <touchpoint/store/audit_repository.h>
#include <touchpoint/store/channel_repository.h>
#include <touchpoint/store/consent_repository.h>
#include <touchpoint/store/deskflow_repository.h>
#include <touchpoint/store/dp_budget_repository.h>
#include <touchpoint/store/erasure_repository.h>
#include <touchpoint/store/escalation_repository.h>
#include <touchpoint/store/identifier_key.h>
#include <touchpoint/store/identity_repository.h>
#include <touchpoint/store/job_repository.h>
#include <touchpoint/store/keyring_repository.h>
#include <touchpoint/store/rekey_repository.h>
#include <touchpoint/store/outbox_repository.h>
#include <touchpoint/store/profile_repository.h>
#include <touchpoint/store/dp_budget_repository.h>
#include <touchpoint/store/segment_repository.h>
#include <touchpoint/store/session_repository.h>
#include <touchpoint/store/suppression_repository.h>
#include <touchpoint/store/team_repository.h>
#include <touchpoint/store/sla_repository.h>
#include <touchpoint/store/ticket_repository.h>
#include <touchpoint/store/user_repository.h>
#include <touchpoint/store/kpi_repository.h>
#include <touchpoint/store/experiment_repository.h>
#include <touchpoint/store/agent_repository.h>
#include <touchpoint/store/sqlite.h>

#include <touchpoint/store/chunk/event_chunk.h>
#include <touchpoint/store/list_columns.h>
#include "store/sqlite/db.h"
#include "store/sqlite/writer_lock.h"

namespace touchpoint::store::sqlite {
namespace {

constexpr int kSchemaVersion = 20;

// Migrations, applied in order; index i brings the schema from version i to i + 1. A migration
// that moves data also has code (SqliteStore::MigrateCode), run after its SQL in the same
// transaction.
const char* const kMigrations[] = {
    R"sql(
CREATE TABLE events(
  seq INTEGER PRIMARY KEY,
  hash_hi INTEGER NOT NULL, hash_lo INTEGER NOT NULL,
  message_id TEXT NOT NULL,
  customer_id INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  name TEXT NOT NULL,
  body TEXT NOT NULL);
CREATE TABLE customers(
  id INTEGER PRIMARY KEY,
  merged_into INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL);
CREATE INDEX customers_merged_into ON customers(merged_into) WHERE merged_into <> 0;
CREATE TABLE identifiers(
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL, value TEXT NOT NULL,
  customer_id INTEGER NOT NULL,
  blocked INTEGER NOT NULL DEFAULT 0,
  joins INTEGER NOT NULL DEFAULT 0,
  first_seen INTEGER NOT NULL,
  first_message_id TEXT NOT NULL,
  UNIQUE(kind, value));
CREATE INDEX identifiers_customer ON identifiers(customer_id);
CREATE TABLE merges(
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  winner INTEGER NOT NULL, loser INTEGER NOT NULL,
  bridge_identifier INTEGER NOT NULL,
  message_id TEXT NOT NULL,
  reason TEXT NOT NULL,
  undone_at INTEGER NOT NULL DEFAULT 0);
CREATE INDEX merges_winner ON merges(winner);
CREATE INDEX merges_loser ON merges(loser);
CREATE TABLE merge_blocks(a INTEGER NOT NULL, b INTEGER NOT NULL, PRIMARY KEY(a, b)) WITHOUT ROWID;
CREATE TABLE profiles(
  customer_id INTEGER PRIMARY KEY,
  data TEXT NOT NULL,
  updated_at INTEGER NOT NULL);
CREATE TABLE orders(
  seq INTEGER PRIMARY KEY,
  order_id TEXT NOT NULL,
  customer_id INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  total REAL NOT NULL,
  currency TEXT NOT NULL,
  channel TEXT NOT NULL,
  items TEXT NOT NULL);
CREATE TABLE messages(
  seq INTEGER PRIMARY KEY,
  message_id TEXT NOT NULL,
  customer_id INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  conversation_id TEXT NOT NULL,
  channel TEXT NOT NULL,
  author TEXT NOT NULL,
  direction TEXT NOT NULL,
  text TEXT NOT NULL,
  language TEXT NOT NULL,
  sentiment_label TEXT NOT NULL,
  sentiment_score REAL NOT NULL,
  intent TEXT NOT NULL,
  masked_text TEXT NOT NULL);
CREATE TABLE surveys(
  seq INTEGER PRIMARY KEY,
  message_id TEXT NOT NULL,
  customer_id INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  nps INTEGER, csat INTEGER,
  comment TEXT NOT NULL,
  touchpoint TEXT NOT NULL);
CREATE TABLE escalations(
  seq INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  customer_id INTEGER NOT NULL,
  conversation_id TEXT NOT NULL,
  message_id TEXT NOT NULL,
  rule TEXT NOT NULL, action TEXT NOT NULL, reason TEXT NOT NULL);
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE api_keys(
  id INTEGER PRIMARY KEY,
  role TEXT NOT NULL,
  key_hash TEXT NOT NULL UNIQUE,
  prefix TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER NOT NULL DEFAULT 0);
)sql",
    // 2: the event log moves into compressed chunks (store/chunk/event_chunk.h); the code step
    // copies version-1 rows over and drops the old table.
    R"sql(
CREATE TABLE event_chunks(
  first_seq INTEGER PRIMARY KEY,
  n INTEGER NOT NULL,
  codec INTEGER NOT NULL,
  raw_size INTEGER NOT NULL,
  min_ts INTEGER NOT NULL,
  max_ts INTEGER NOT NULL,
  hashes BLOB NOT NULL,
  data BLOB NOT NULL);
)sql",
    // 3: identifiers are found by a 64-bit hash of (kind, value) instead of a unique index on the
    // strings. That index took random inserts of ~50-byte keys in every commit (a tenth of bulk
    // ingest); the single writer's in-memory graph already keeps identifiers unique.
    R"sql(
CREATE TABLE identifiers_v3(
  id INTEGER PRIMARY KEY,
  key INTEGER NOT NULL,
  kind TEXT NOT NULL, value TEXT NOT NULL,
  customer_id INTEGER NOT NULL,
  blocked INTEGER NOT NULL DEFAULT 0,
  joins INTEGER NOT NULL DEFAULT 0,
  first_seen INTEGER NOT NULL,
  first_message_id TEXT NOT NULL);
INSERT INTO identifiers_v3(id, key, kind, value, customer_id, blocked, joins, first_seen, first_message_id)
  SELECT id, tp_identifier_key(kind, value), kind, value, customer_id, blocked, joins, first_seen,
         first_message_id FROM identifiers ORDER BY id;
DROP TABLE identifiers;
ALTER TABLE identifiers_v3 RENAME TO identifiers;
CREATE INDEX identifiers_key ON identifiers(key);
CREATE INDEX identifiers_customer ON identifiers(customer_id);
)sql",
    // 4: records of analytics jobs (store/job_repository.h) and saved segments
    // (store/segment_repository.h).
    R"sql(
CREATE TABLE jobs(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  state TEXT NOT NULL,
  params TEXT NOT NULL,
  result TEXT NOT NULL,
  error TEXT NOT NULL,
  trigger TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  finished_at INTEGER NOT NULL);
CREATE INDEX jobs_unfinished ON jobs(state) WHERE state IN ('queued', 'running');
CREATE TABLE segments(
  name TEXT PRIMARY KEY,
  rule TEXT NOT NULL,
  description TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL);
)sql",
    // 5: people who log in (store/user_repository.h), their teams (team_repository.h) and login
    // sessions (session_repository.h; only token hashes).
    R"sql(
CREATE TABLE teams(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL);
CREATE TABLE users(
  id INTEGER PRIMARY KEY,
  email TEXT NOT NULL COLLATE NOCASE UNIQUE,
  password_hash TEXT NOT NULL,
  role TEXT NOT NULL,
  team_id INTEGER NOT NULL DEFAULT 0,
  totp_secret TEXT NOT NULL DEFAULT '',
  totp_last_step INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  disabled_at INTEGER NOT NULL DEFAULT 0,
  password_changed_at INTEGER NOT NULL DEFAULT 0,
  failed_logins INTEGER NOT NULL DEFAULT 0,
  locked_until INTEGER NOT NULL DEFAULT 0);
CREATE TABLE team_supervisors(
  team_id INTEGER NOT NULL,
  user_id INTEGER NOT NULL,
  PRIMARY KEY(team_id, user_id)) WITHOUT ROWID;
CREATE TABLE sessions(
  id INTEGER PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,
  user_id INTEGER NOT NULL,
  csrf_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  revoked_at INTEGER NOT NULL DEFAULT 0);
CREATE INDEX sessions_user ON sessions(user_id);
)sql",
    // 6: the audit log's hash chain and signed checkpoints, and the installation's signing keys
    // (store/audit_repository.h).
    R"sql(
CREATE TABLE audit_entries(
  seq INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  details TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL);
CREATE TABLE audit_checkpoints(
  id INTEGER PRIMARY KEY,
  count INTEGER NOT NULL,
  head_hash TEXT NOT NULL,
  time INTEGER NOT NULL,
  key_id TEXT NOT NULL,
  signature TEXT NOT NULL);
CREATE TABLE signing_keys(
  key_id TEXT PRIMARY KEY,
  public_key TEXT NOT NULL,
  created_at INTEGER NOT NULL);
)sql",
    "SELECT 1  -- 7: PostgreSQL's event chunks (chunks here since version 2)",
    // 8: differential-privacy budgets and the ledger of releases (store/dp_budget_repository.h).
    R"sql(
CREATE TABLE dp_budgets(
  dataset TEXT PRIMARY KEY,
  epsilon_micros INTEGER NOT NULL,
  updated_at INTEGER NOT NULL);
CREATE TABLE dp_releases(
  id INTEGER PRIMARY KEY,
  dataset TEXT NOT NULL,
  report TEXT NOT NULL,
  epsilon_micros INTEGER NOT NULL,
  actor TEXT NOT NULL,
  released_at INTEGER NOT NULL);
CREATE INDEX dp_releases_dataset ON dp_releases(dataset, id);
)sql",
    // 9: the outbox's queue of outgoing deliveries (store/outbox_repository.h).
    R"sql(
CREATE TABLE outbox(
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  target TEXT NOT NULL,
  event TEXT NOT NULL,
  payload TEXT NOT NULL,
  idempotency_key TEXT NOT NULL UNIQUE,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  last_error TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  delivered_at INTEGER NOT NULL);
CREATE INDEX outbox_due ON outbox(kind, next_attempt_at) WHERE state IN ('pending', 'failed', 'delivering');
CREATE INDEX outbox_target_due ON outbox(kind, target, next_attempt_at)
  WHERE state IN ('pending', 'failed', 'delivering');
CREATE INDEX outbox_state ON outbox(state, id);
)sql",
    // 10: consent and preference decisions, append-only (store/consent_repository.h).
    R"sql(
CREATE TABLE consents(
  id INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL,
  purpose TEXT NOT NULL,
  channel TEXT NOT NULL,
  value TEXT NOT NULL,
  source TEXT NOT NULL,
  wording_version TEXT NOT NULL,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL);
CREATE INDEX consents_customer ON consents(customer_id, id);
)sql",
    // 11: the service desk's tickets, their threads, their append-only history and the desk's
    // feed cursor and number counter (store/ticket_repository.h).
    R"sql(
CREATE TABLE tickets(
  number INTEGER PRIMARY KEY,
  version INTEGER NOT NULL,
  customer_id INTEGER NOT NULL,
  status TEXT NOT NULL,
  priority TEXT NOT NULL,
  type TEXT NOT NULL,
  channel TEXT NOT NULL,
  skill TEXT NOT NULL,
  language TEXT NOT NULL,
  queue TEXT NOT NULL,
  assignee INTEGER NOT NULL,
  subject TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  last_message_at INTEGER NOT NULL,
  solved_at INTEGER NOT NULL,
  reopen_count INTEGER NOT NULL,
  merged_into INTEGER NOT NULL);
CREATE INDEX tickets_customer ON tickets(customer_id, number);
CREATE INDEX tickets_status ON tickets(status, number);
CREATE INDEX tickets_queue ON tickets(queue, number);
CREATE INDEX tickets_assignee ON tickets(assignee, number);
CREATE TABLE ticket_messages(
  id INTEGER PRIMARY KEY,
  ticket INTEGER NOT NULL,
  at INTEGER NOT NULL,
  author TEXT NOT NULL,
  agent INTEGER NOT NULL,
  channel TEXT NOT NULL,
  internal INTEGER NOT NULL,
  text TEXT NOT NULL,
  message_id TEXT NOT NULL,
  sentiment_label TEXT NOT NULL,
  sentiment_score REAL NOT NULL,
  intent TEXT NOT NULL);
CREATE INDEX ticket_messages_ticket ON ticket_messages(ticket, id);
CREATE TABLE ticket_history(
  id INTEGER PRIMARY KEY,
  ticket INTEGER NOT NULL,
  at INTEGER NOT NULL,
  actor_kind TEXT NOT NULL,
  actor TEXT NOT NULL,
  field TEXT NOT NULL,
  before TEXT NOT NULL,
  after TEXT NOT NULL);
CREATE INDEX ticket_history_ticket ON ticket_history(ticket, id);
CREATE TABLE desk_counters(
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL);
CREATE TABLE desk_cursors(
  name TEXT PRIMARY KEY,
  seq INTEGER NOT NULL);
)sql",
    // 12: subject rights (store/erasure_repository.h, store/suppression_repository.h): event chunks
    // count their tombstones (erased events) and list their customers, so an erasure decodes only
    // the chunks that name the person; the suppression list holds blind-index values only.
    R"sql(
ALTER TABLE event_chunks ADD COLUMN erased INTEGER NOT NULL DEFAULT 0;
ALTER TABLE event_chunks ADD COLUMN customers BLOB;
CREATE TABLE suppressions(
  value INTEGER NOT NULL,
  key_version INTEGER NOT NULL,
  added_at INTEGER NOT NULL,
  PRIMARY KEY(value, key_version)) WITHOUT ROWID;
)sql",
    // 13: nothing on SQLite. (On PostgreSQL, erased_customers: the change feed's erasures for
    // followers, which only a shared PostgreSQL store has.) Kept so both backends number alike.
    R"sql(
SELECT 1;
)sql",
    // 14: the service desk's agents and routing decisions (store/agent_repository.h).
    R"sql(
CREATE TABLE desk_agents(
  user_id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  skills TEXT NOT NULL,
  languages TEXT NOT NULL,
  attributes TEXT NOT NULL,
  capacity INTEGER NOT NULL,
  state TEXT NOT NULL,
  team TEXT NOT NULL,
  shift TEXT NOT NULL,
  state_changed_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL);
CREATE TABLE routing_decisions(
  id INTEGER PRIMARY KEY,
  ticket INTEGER NOT NULL,
  at INTEGER NOT NULL,
  policy TEXT NOT NULL,
  rule TEXT NOT NULL,
  agent INTEGER NOT NULL,
  detail TEXT NOT NULL);
CREATE INDEX routing_decisions_ticket ON routing_decisions(ticket, id);
)sql",
    // 15: SLA policies, fired SLA events (unique per ticket, target, kind, cycle) and the
    // complaint loop's tasks (store/sla_repository.h).
    R"sql(
CREATE TABLE sla_policies(
  name TEXT PRIMARY KEY,
  position INTEGER NOT NULL,
  body TEXT NOT NULL,
  updated_at INTEGER NOT NULL);
CREATE TABLE sla_events(
  id INTEGER PRIMARY KEY,
  ticket INTEGER NOT NULL,
  target TEXT NOT NULL,
  kind TEXT NOT NULL,
  cycle INTEGER NOT NULL,
  due_at INTEGER NOT NULL,
  fired_at INTEGER NOT NULL,
  policy TEXT NOT NULL,
  actions TEXT NOT NULL,
  UNIQUE(ticket, target, kind, cycle));
CREATE TABLE complaint_tasks(
  id INTEGER PRIMARY KEY,
  ticket INTEGER NOT NULL,
  kind TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  due_at INTEGER NOT NULL,
  completed_at INTEGER NOT NULL,
  completed_by TEXT NOT NULL);
CREATE INDEX complaint_tasks_ticket ON complaint_tasks(ticket, id);
CREATE INDEX complaint_tasks_open ON complaint_tasks(completed_at, id);
)sql",
    // 16: the service desk's repeat inquiries, tags, custom fields, full-text index and canned
    // replies (store/deskflow_repository.h).
    R"sql(
CREATE TABLE ticket_contacts(
  ticket INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL,
  intent TEXT NOT NULL,
  channel TEXT NOT NULL,
  at INTEGER NOT NULL,
  ordinal INTEGER NOT NULL,
  previous TEXT NOT NULL);
CREATE INDEX ticket_contacts_customer ON ticket_contacts(customer_id, at);
CREATE INDEX ticket_contacts_at ON ticket_contacts(at);
CREATE TABLE ticket_tags(
  tag TEXT NOT NULL,
  ticket INTEGER NOT NULL,
  PRIMARY KEY(tag, ticket)) WITHOUT ROWID;
CREATE INDEX ticket_tags_ticket ON ticket_tags(ticket, tag);
CREATE TABLE ticket_fields(
  ticket INTEGER NOT NULL,
  name TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY(ticket, name)) WITHOUT ROWID;
CREATE TABLE ticket_tokens(
  token INTEGER NOT NULL,
  ticket INTEGER NOT NULL,
  PRIMARY KEY(token, ticket)) WITHOUT ROWID;
CREATE TABLE canned_replies(
  name TEXT PRIMARY KEY,
  title TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL);
)sql",
    // 17: the desk's channels (store/channel_repository.h): a message's channel side (its
    // delivery, its Message-ID), CSAT surveys, and attachments stored once by SHA-256.
    R"sql(
CREATE TABLE channel_messages(
  key TEXT PRIMARY KEY,
  ticket INTEGER NOT NULL,
  direction TEXT NOT NULL,
  channel TEXT NOT NULL,
  outbox_id INTEGER NOT NULL,
  mail_id TEXT NOT NULL,
  at INTEGER NOT NULL);
CREATE INDEX channel_messages_mail_id ON channel_messages(mail_id, at);
CREATE TABLE csat_surveys(
  id TEXT PRIMARY KEY,
  seq INTEGER NOT NULL,
  ticket INTEGER NOT NULL,
  channel TEXT NOT NULL,
  outbox_id INTEGER NOT NULL,
  sent_at INTEGER NOT NULL,
  answered_at INTEGER NOT NULL,
  score INTEGER NOT NULL,
  comment TEXT NOT NULL);
CREATE INDEX csat_surveys_ticket ON csat_surveys(ticket, seq);
CREATE TABLE attachments(
  hash TEXT PRIMARY KEY,
  content_type TEXT NOT NULL,
  size INTEGER NOT NULL,
  data BLOB NOT NULL,
  created_at INTEGER NOT NULL);
CREATE TABLE message_attachments(
  seq INTEGER PRIMARY KEY,
  ticket INTEGER NOT NULL,
  message_key TEXT NOT NULL,
  hash TEXT NOT NULL,
  filename TEXT NOT NULL,
  content_type TEXT NOT NULL,
  size INTEGER NOT NULL,
  UNIQUE(message_key, hash));
)sql",
    // 18: encryption at rest: wrapped per-person data keys and the layer's settings
    // (store/keyring_repository.h); the search index by ticket, for an erasure's de-identification.
    R"sql(
CREATE TABLE keyring(
  customer_id INTEGER PRIMARY KEY,
  key_version INTEGER NOT NULL,
  wrapped TEXT NOT NULL);
CREATE TABLE privacy_settings(
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL);
CREATE INDEX ticket_tokens_ticket ON ticket_tokens(ticket);
)sql",
    // 19: the desk's measured facts and spans (store/kpi_repository.h, insight/kpi_facts.h):
    // one row per ticket with what KPIs group and count by, and every span of its clock.
    R"sql(
CREATE TABLE kpi_tickets(
  ticket INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  status TEXT NOT NULL,
  channel TEXT NOT NULL,
  queue TEXT NOT NULL,
  priority TEXT NOT NULL,
  type TEXT NOT NULL,
  intent TEXT NOT NULL,
  tier TEXT NOT NULL,
  team TEXT NOT NULL,
  agent INTEGER NOT NULL,
  policy TEXT NOT NULL,
  first_solved_at INTEGER NOT NULL,
  solved_at INTEGER NOT NULL,
  agent_replies INTEGER NOT NULL,
  reopened_at TEXT NOT NULL,
  escalated INTEGER NOT NULL,
  bot_first INTEGER NOT NULL,
  sentiment_count INTEGER NOT NULL,
  sentiment_sum REAL NOT NULL,
  sentiment_negative INTEGER NOT NULL,
  measured_at INTEGER NOT NULL);
CREATE INDEX kpi_tickets_created ON kpi_tickets(created_at);
CREATE TABLE kpi_spans(
  ticket INTEGER NOT NULL,
  kind TEXT NOT NULL,
  seq INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  start_at INTEGER NOT NULL,
  stop_at INTEGER NOT NULL,
  start_event TEXT NOT NULL,
  end_event TEXT NOT NULL,
  wall_seconds INTEGER NOT NULL,
  business_seconds INTEGER NOT NULL,
  target_seconds INTEGER NOT NULL,
  met INTEGER NOT NULL,
  PRIMARY KEY(ticket, kind, seq)) WITHOUT ROWID;
CREATE INDEX kpi_spans_created ON kpi_spans(created_at, ticket);
)sql",
    // 20: experiments and their exposures (store/experiment_repository.h, insight/experiments.h).
    R"sql(
CREATE TABLE experiments(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL,
  unit TEXT NOT NULL,
  variants TEXT NOT NULL,
  weights TEXT NOT NULL,
  coverage REAL NOT NULL,
  salt TEXT NOT NULL,
  metrics TEXT NOT NULL,
  directions TEXT NOT NULL,
  pre_period_days INTEGER NOT NULL,
  sequential_tuning REAL NOT NULL,
  alpha REAL NOT NULL,
  correction TEXT NOT NULL,
  status TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  stopped_at INTEGER NOT NULL,
  created_by TEXT NOT NULL);
CREATE TABLE experiment_exposures(
  experiment INTEGER NOT NULL,
  unit TEXT NOT NULL,
  variant TEXT NOT NULL,
  exposed_at INTEGER NOT NULL,
  PRIMARY KEY(experiment, unit)) WITHOUT ROWID;
CREATE INDEX experiment_exposures_unit ON experiment_exposures(unit);
)sql",
};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kSchemaVersion);

// tp_identifier_key(kind, value) for SQL (the schema-3 migration).
void IdentifierKeySql(sqlite3_context* ctx, int /*argc*/, sqlite3_value** argv) {
  auto text = [](sqlite3_value* v) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_value_text(v));
    return std::string_view(p ? p : "", static_cast<size_t>(sqlite3_value_bytes(v)));
  };
  sqlite3_result_int64(ctx, IdentifierKey(text(argv[0]), text(argv[1])));
}

// ---- event log ----

class SqliteEventLog final : public EventLog {
 public:
  SqliteEventLog(Db& db, int compression_level)
      : db_(db), codec_(compression_level), prepare_codec_(compression_level) {}

  Status Init() {
    Stmt st(db_.raw(), "SELECT coalesce(max(first_seq + n), 1) FROM event_chunks");
    if (!st.ok() || st.Step() != SQLITE_ROW) return db_.Error("read the event log's end");
    next_seq_ = st.Int(0);
    return Status::Ok();
  }

  struct PreparedChunks final : PreparedEvents {
    const SqliteEventLog* log = nullptr;
    std::vector<EncodedChunk> chunks;
    size_t events = 0;  // how many events were encoded (a span of another size is re-encoded)
  };

  std::unique_ptr<PreparedEvents> Prepare(std::span<const EventRecord> events) {
    if (db_.read_only() || events.empty()) return nullptr;
    std::scoped_lock lock(prepare_mu_);
    auto p = std::make_unique<PreparedChunks>();
    p->log = this;
    ForEachChunk(events, [&](std::span<const EventRecord> run) {
      prepare_codec_.Encode(run, p->chunks.emplace_back());
      return Status::Ok();
    }).ok();
    p->events = events.size();
    return p;
  }

  Status Append(Transaction& txn, std::span<EventRecord> events, const PreparedEvents* prepared) override {
    db_.RequireTxn(txn);
    if (events.empty()) return Status::Ok();
    if (!txn_open_) {
      txn_open_ = true;
      txn_seq_ = next_seq_;
      db_.OnTxnEnd([this](bool committed) {
        if (committed) next_seq_ = txn_seq_;
        txn_open_ = false;
      });
    }
    return InsertEvents(events, &txn_seq_, prepared);
  }

  // One chunk per run of consecutive seqs (a skipped number is a gap between chunks, as retention
  // leaves them); the numbers after the last event up to last_seq become chunks of tombstones.
  Status AppendWithSeqs(Transaction& txn, std::span<const EventRecord> events, std::int64_t last_seq) override {
    db_.RequireTxn(txn);
    if (!txn_open_) {
      txn_open_ = true;
      txn_seq_ = next_seq_;
      db_.OnTxnEnd([this](bool committed) {
        if (committed) next_seq_ = txn_seq_;
        txn_open_ = false;
      });
    }
    std::vector<EventRecord> run;
    auto flush = [&]() -> Status {
      if (run.empty()) return Status::Ok();
      std::int64_t seq = run.front().seq;
      TP_RETURN_IF_ERROR(InsertEvents(run, &seq, nullptr));
      txn_seq_ = seq;
      run.clear();
      return Status::Ok();
    };
    for (const EventRecord& e : events) {
      const std::int64_t expected = run.empty() ? txn_seq_ : run.back().seq + 1;
      if (e.seq < expected) {
        return Status::InvalidArgument("event seq " + std::to_string(e.seq) + " is not above the log's last " +
                                       std::to_string(expected - 1));
      }
      if (e.seq != expected) TP_RETURN_IF_ERROR(flush());
      run.push_back(e);
    }
    TP_RETURN_IF_ERROR(flush());
    while (txn_seq_ <= last_seq) {
      const std::int64_t n = std::min<std::int64_t>(last_seq - txn_seq_ + 1, static_cast<std::int64_t>(kMaxChunkEvents));
      run.assign(static_cast<size_t>(n), EventRecord{});
      std::int64_t seq = txn_seq_;
      TP_RETURN_IF_ERROR(InsertChunk(run, nullptr, &seq, /*erased=*/static_cast<int>(n)));
      txn_seq_ = seq;
    }
    return Status::Ok();
  }

  Status RaiseNewestEventAt(Transaction& txn, Millis at) override {
    db_.RequireTxn(txn);
    Stmt& st = db_.Prepared("INSERT INTO meta(key, value) VALUES('newest_event_at', ?1) "
                            "ON CONFLICT(key) DO UPDATE SET value = max(CAST(value AS INTEGER), ?1)");
    st.Reset();
    st.Bind(1, at);
    if (st.Step() != SQLITE_DONE) return db_.Error("update newest event time");
    return Status::Ok();
  }

  Status ScanHashes(const std::function<void(const MessageHash&)>& fn) override {
    Stmt st(db_.raw(), "SELECT hashes FROM event_chunks ORDER BY first_seq");
    if (!st.ok()) return db_.Error("prepare scan hashes");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      std::string_view h = st.Blob(0);
      for (size_t i = 0; i + 16 <= h.size(); i += 16) {
        const MessageHash hash = ReadHash(h.data() + i);
        if (hash.hi != 0 || hash.lo != 0) fn(hash);  // (0, 0): an erased event's tombstone
      }
    }
    return rc == SQLITE_DONE ? Status::Ok() : db_.Error("scan hashes");
  }

  Status ScanFrom(std::int64_t from_seq, const std::function<bool(EventRecord&&)>& fn) override {
    // The chunk holding from_seq starts at or before it (a rowid seek, not a scan of every
    // chunk); earlier events of that chunk are skipped.
    Stmt st(db_.raw(), "SELECT first_seq, n, codec, raw_size, hashes, data FROM event_chunks WHERE first_seq >= "
                       "coalesce((SELECT max(first_seq) FROM event_chunks WHERE first_seq <= ?1), 0) "
                       "ORDER BY first_seq");
    if (!st.ok()) return db_.Error("prepare scan events");
    st.Bind(1, from_seq);
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      bool stopped = false;
      TP_RETURN_IF_ERROR(scan_codec_.Decode(
          st.Int(0), static_cast<int>(st.Int(1)), static_cast<int>(st.Int(2)), st.Int(3), st.Blob(4), st.Blob(5),
          [&](EventRecord&& e) { return e.seq < from_seq || fn(std::move(e)); }, &stopped));
      if (stopped) return Status::Ok();
    }
    return rc == SQLITE_DONE ? Status::Ok() : db_.Error("scan events");
  }

  Result<std::int64_t> LastSeq() override {
    return db_.QueryInt("SELECT coalesce(max(first_seq + n), 1) - 1 FROM event_chunks");
  }
  Result<Millis> NewestEventAt() override {
    return db_.QueryInt("SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'newest_event_at'");
  }
  Result<std::int64_t> Count() override {
    return db_.QueryInt("SELECT coalesce(sum(n - erased), 0) FROM event_chunks");
  }

  // Version 1 → 2: copies the row-per-event log into chunks, then drops it. Inside the
  // migration's transaction.
  Status MigrateEventsToChunks() {
    migrating_v2_ = true;
    struct Done {
      bool* flag;
      ~Done() { *flag = false; }
    } done{&migrating_v2_};
    std::int64_t seq = 1;
    {
      Stmt st(db_.raw(), "SELECT seq, hash_hi, hash_lo, message_id, customer_id, ts, kind, name, body "
                         "FROM events ORDER BY seq");
      if (!st.ok()) return db_.Error("prepare read of version-1 events");
      std::vector<EventRecord> buf;
      int rc;
      while ((rc = st.Step()) == SQLITE_ROW) {
        EventRecord e;
        e.hash = {static_cast<std::uint64_t>(st.Int(1)), static_cast<std::uint64_t>(st.Int(2))};
        e.message_id = st.Text(3);
        e.customer = CustomerId(st.Int(4));
        e.timestamp = st.Int(5);
        e.kind = static_cast<EventKind>(st.Int(6));
        e.name = st.Text(7);
        e.body = st.Text(8);
        buf.push_back(std::move(e));
        if (buf.size() == kMaxChunkEvents) {
          TP_RETURN_IF_ERROR(InsertEvents(buf, &seq, nullptr));
          buf.clear();
        }
      }
      if (rc != SQLITE_DONE) return db_.Error("read version-1 events");
      if (!buf.empty()) TP_RETURN_IF_ERROR(InsertEvents(buf, &seq, nullptr));
    }
    // Version-1 writers rewrote profiles on every commit: they reflect every event copied.
    TP_RETURN_IF_ERROR(db_.Exec("INSERT OR REPLACE INTO meta(key, value) VALUES('profile_checkpoint', '" +
                                std::to_string(seq - 1) + "')"));
    return db_.Exec("DROP TABLE events");
  }

 private:
  // Writes `events` as one chunk numbered from *seq (encoded ahead by Prepare when `encoded` is
  // given and matches); advances *seq.
  // `erased`: how many of the events are tombstones (store copy's trailing erased numbers).
  Status InsertChunk(std::span<EventRecord> events, const EncodedChunk* encoded, std::int64_t* seq, int erased = 0) {
    if (encoded == nullptr || encoded->n != static_cast<int>(events.size())) {
      codec_.Encode(events, chunk_);
      encoded = &chunk_;
    }
    const EncodedChunk& chunk = *encoded;
    Millis min_ts = events.front().timestamp;
    Millis max_ts = min_ts;
    for (EventRecord& e : events) {
      e.seq = (*seq)++;
      min_ts = std::min(min_ts, e.timestamp);
      max_ts = std::max(max_ts, e.timestamp);
    }
    customers_ = CustomerSetOf(events);
    // The schema-2 migration runs before schema 9 added the customers column.
    Stmt& st = migrating_v2_
                   ? db_.Prepared("INSERT INTO event_chunks(first_seq, n, codec, raw_size, min_ts, max_ts, hashes, "
                                  "data) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
                   : db_.Prepared("INSERT INTO event_chunks(first_seq, n, codec, raw_size, min_ts, max_ts, hashes, "
                                  "data, customers) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    st.Reset();
    st.Bind(1, events.front().seq).Bind(2, chunk.n).Bind(3, static_cast<int>(chunk.codec)).Bind(4, chunk.raw_size)
        .Bind(5, min_ts).Bind(6, max_ts).BindBlob(7, chunk.hashes).BindBlob(8, chunk.data);
    if (!migrating_v2_) st.BindBlob(9, customers_);
    if (st.Step() != SQLITE_DONE) return db_.Error("insert event chunk");
    if (erased > 0) {
      Stmt& mark = db_.Prepared("UPDATE event_chunks SET erased = ?2 WHERE first_seq = ?1");
      mark.Reset();
      mark.Bind(1, events.front().seq).Bind(2, erased);
      if (mark.Step() != SQLITE_DONE) return db_.Error("mark erased events");
    }
    return Status::Ok();
  }

  Status InsertEvents(std::span<EventRecord> events, std::int64_t* seq, const PreparedEvents* prepared) {
    const auto* p = dynamic_cast<const PreparedChunks*>(prepared);
    if (p != nullptr && (p->log != this || p->events != events.size())) p = nullptr;  // stale: encode afresh
    size_t k = 0;
    return ForEachChunk(events, [&](std::span<EventRecord> run) {
      const EncodedChunk* encoded = p != nullptr && k < p->chunks.size() ? &p->chunks[k] : nullptr;
      ++k;
      return InsertChunk(run, encoded, seq);
    });
  }

 public:
  // Encryption at rest (store.h, ChunkSealer): every codec of the log seals and opens with it.
  void SetSealer(ChunkSealer* sealer) {
    codec_.set_sealer(sealer);
    prepare_codec_.set_sealer(sealer);
    scan_codec_.set_sealer(sealer);
  }

 private:
  Db& db_;
  EventChunkCodec codec_;       // Append's (the committing thread)
  EncodedChunk chunk_;          // scratch for InsertChunk
  std::string customers_;       // scratch for InsertChunk
  bool migrating_v2_ = false;   // inside MigrateEventsToChunks (no customers column yet)
  std::mutex prepare_mu_;       // Prepare's own codec, apart from Append's
  EventChunkCodec prepare_codec_;
  EventChunkCodec scan_codec_{1};
  std::int64_t next_seq_ = 1;   // seq of the next event written (committed state)
  std::int64_t txn_seq_ = 1;    // next seq inside the open transaction
  bool txn_open_ = false;
};

// ---- identity ----

IdentifierRecord ReadIdentifier(Stmt& st) {
  IdentifierRecord r;
  r.id = IdentifierId(st.Int(0));
  r.kind = st.Text(1);
  r.value = st.Text(2);
  r.customer = CustomerId(st.Int(3));
  r.blocked = st.Int(4) != 0;
  r.joins = static_cast<int>(st.Int(5));
  r.first_seen = st.Int(6);
  r.first_message_id = st.Text(7);
  return r;
}

MergeRecord ReadMerge(Stmt& st) {
  MergeRecord m;
  m.id = MergeId(st.Int(0));
  m.at = st.Int(1);
  m.winner = CustomerId(st.Int(2));
  m.loser = CustomerId(st.Int(3));
  m.bridge = IdentifierId(st.Int(4));
  m.message_id = st.Text(5);
  m.reason = st.Text(6);
  m.undone_at = st.Int(7);
  return m;
}

class SqliteIdentity final : public IdentityRepository {
 public:
  explicit SqliteIdentity(Db& db) : db_(db) {}

  Status PutCustomers(Transaction& txn, std::span<const CustomerRecord> customers) override {
    db_.RequireTxn(txn);
    Stmt& st = db_.Prepared("INSERT INTO customers(id, merged_into, created_at) VALUES(?1, ?2, ?3) "
                            "ON CONFLICT(id) DO UPDATE SET merged_into = excluded.merged_into");
    for (const CustomerRecord& c : customers) {
      st.Reset();
      st.Bind(1, c.id.value()).Bind(2, c.merged_into.value()).Bind(3, c.created_at);
      if (st.Step() != SQLITE_DONE) return db_.Error("upsert customer");
    }
    return Status::Ok();
  }

  Status PutIdentifiers(Transaction& txn, std::span<const IdentifierRecord> identifiers) override {
    db_.RequireTxn(txn);
    // Upserts keep a changed identifier's row (and index entries) in place; INSERT OR REPLACE
    // would delete and re-insert it. kind, value and first sighting never change.
    Stmt& st = db_.Prepared("INSERT INTO identifiers(id, key, kind, value, customer_id, blocked, joins, "
                            "first_seen, first_message_id) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
                            "ON CONFLICT(id) DO UPDATE SET customer_id = excluded.customer_id, "
                            "blocked = excluded.blocked, joins = excluded.joins");
    for (const IdentifierRecord& r : identifiers) {
      st.Reset();
      st.Bind(1, r.id.value()).Bind(2, r.lookup_key != 0 ? r.lookup_key : IdentifierKey(r.kind, r.value))
          .Bind(3, r.kind).Bind(4, r.value)
          .Bind(5, r.customer.value()).Bind(6, r.blocked ? 1 : 0).Bind(7, r.joins).Bind(8, r.first_seen)
          .Bind(9, r.first_message_id);
      if (st.Step() != SQLITE_DONE) return db_.Error("upsert identifier");
    }
    return Status::Ok();
  }

  Status PutMerges(Transaction& txn, std::span<const MergeRecord> merges) override {
    db_.RequireTxn(txn);
    Stmt& st = db_.Prepared("INSERT OR REPLACE INTO merges(id, at, winner, loser, bridge_identifier, message_id, "
                            "reason, undone_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    for (const MergeRecord& m : merges) {
      st.Reset();
      st.Bind(1, m.id.value()).Bind(2, m.at).Bind(3, m.winner.value()).Bind(4, m.loser.value())
          .Bind(5, m.bridge.value()).Bind(6, m.message_id).Bind(7, m.reason).Bind(8, m.undone_at);
      if (st.Step() != SQLITE_DONE) return db_.Error("upsert merge");
    }
    return Status::Ok();
  }

  Status AddMergeBlocks(Transaction& txn, std::span<const MergeBlock> blocks) override {
    db_.RequireTxn(txn);
    Stmt& st = db_.Prepared("INSERT OR IGNORE INTO merge_blocks(a, b) VALUES(?1, ?2)");
    for (const auto& [a, b] : blocks) {
      st.Reset();
      st.Bind(1, a.value()).Bind(2, b.value());
      if (st.Step() != SQLITE_DONE) return db_.Error("insert merge block");
    }
    return Status::Ok();
  }

  Status ScanIdentifiers(const std::function<void(IdentifierRecord&&)>& fn) override {
    Stmt st(db_.raw(), "SELECT id, kind, value, customer_id, blocked, joins, first_seen, first_message_id "
                       "FROM identifiers ORDER BY id");
    if (!st.ok()) return db_.Error("prepare scan identifiers");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) fn(ReadIdentifier(st));
    return rc == SQLITE_DONE ? Status::Ok() : db_.Error("scan identifiers");
  }

  Status ScanCustomers(const std::function<void(const CustomerRecord&)>& fn) override {
    Stmt st(db_.raw(), "SELECT id, merged_into, created_at FROM customers ORDER BY id");
    if (!st.ok()) return db_.Error("prepare scan customers");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) fn(CustomerRecord{CustomerId(st.Int(0)), CustomerId(st.Int(1)), st.Int(2)});
    return rc == SQLITE_DONE ? Status::Ok() : db_.Error("scan customers");
  }

  Status ScanMerges(const std::function<void(MergeRecord&&)>& fn) override {
    Stmt st(db_.raw(), "SELECT id, at, winner, loser, bridge_identifier, message_id, reason, undone_at "
                       "FROM merges ORDER BY id");
    if (!st.ok()) return db_.Error("prepare scan merges");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) fn(ReadMerge(st));
    return rc == SQLITE_DONE ? Status::Ok() : db_.Error("scan merges");
  }

  Status ScanMergeBlocks(const std::function<void(CustomerId, CustomerId)>& fn) override {
    Stmt st(db_.raw(), "SELECT a, b FROM merge_blocks ORDER BY a, b");
    if (!st.ok()) return db_.Error("prepare scan merge blocks");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) fn(CustomerId(st.Int(0)), CustomerId(st.Int(1)));
    return rc == SQLITE_DONE ? Status::Ok() : db_.Error("scan merge blocks");
  }

  Result<std::optional<IdentifierRecord>> FindIdentifier(const std::string& kind, const std::string& value) override {
    Stmt& st = db_.Prepared("SELECT id, kind, value, customer_id, blocked, joins, first_seen, "
                            "first_message_id FROM identifiers WHERE key = ?1 AND kind = ?2 AND value = ?3");
    st.Reset();
    ResetOnExit done(st);
    st.Bind(1, IdentifierKey(kind, value)).Bind(2, kind).Bind(3, value);
    int rc = st.Step();
    if (rc == SQLITE_ROW) return std::optional<IdentifierRecord>(ReadIdentifier(st));
    if (rc == SQLITE_DONE) return std::optional<IdentifierRecord>();
    return db_.Error("find identifier");
  }

  Result<std::vector<IdentifierRecord>> FindIdentifiersByKey(const std::string& kind,
                                                             std::int64_t lookup_key) override {
    Stmt& st = db_.Prepared("SELECT id, kind, value, customer_id, blocked, joins, first_seen, "
                            "first_message_id FROM identifiers WHERE key = ?1 AND kind = ?2 ORDER BY id");
    st.Reset();
    st.Bind(1, lookup_key).Bind(2, kind);
    std::vector<IdentifierRecord> out;
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) out.push_back(ReadIdentifier(st));
    if (rc != SQLITE_DONE) return db_.Error("find identifiers by key");
    return out;
  }

  Result<std::optional<CustomerRecord>> FindCustomer(CustomerId id) override {
    Stmt& st = db_.Prepared("SELECT id, merged_into, created_at FROM customers WHERE id = ?1");
    st.Reset();
    ResetOnExit done(st);
    st.Bind(1, id.value());
    int rc = st.Step();
    if (rc == SQLITE_ROW) {
      return std::optional<CustomerRecord>(CustomerRecord{CustomerId(st.Int(0)), CustomerId(st.Int(1)), st.Int(2)});
    }
    if (rc == SQLITE_DONE) return std::optional<CustomerRecord>();
    return db_.Error("find customer");
  }

  Result<std::vector<IdentifierRecord>> IdentifiersOf(std::span<const CustomerId> customers) override {
    std::vector<IdentifierRecord> out;
    Stmt& st = db_.Prepared("SELECT id, kind, value, customer_id, blocked, joins, first_seen, "
                            "first_message_id FROM identifiers WHERE customer_id = ?1 ORDER BY id");
    for (CustomerId c : customers) {
      st.Reset();
      st.Bind(1, c.value());
      int rc;
      while ((rc = st.Step()) == SQLITE_ROW) out.push_back(ReadIdentifier(st));
      if (rc != SQLITE_DONE) return db_.Error("identifiers of customer");
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    return out;
  }

  Result<std::vector<CustomerId>> CustomersMergedInto(CustomerId id) override {
    std::vector<CustomerId> out;
    Stmt& st = db_.Prepared("SELECT id FROM customers WHERE merged_into = ?1 ORDER BY id");
    st.Reset();
    st.Bind(1, id.value());
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) out.emplace_back(st.Int(0));
    if (rc != SQLITE_DONE) return db_.Error("customers merged into");
    return out;
  }

  Result<std::vector<MergeRecord>> MergesInvolving(std::span<const CustomerId> customers) override {
    std::vector<MergeRecord> out;
    Stmt& st = db_.Prepared("SELECT id, at, winner, loser, bridge_identifier, message_id, reason, "
                            "undone_at FROM merges WHERE winner = ?1 OR loser = ?1 ORDER BY id");
    std::unordered_map<std::int64_t, bool> seen;
    for (CustomerId c : customers) {
      st.Reset();
      st.Bind(1, c.value());
      int rc;
      while ((rc = st.Step()) == SQLITE_ROW) {
        MergeRecord m = ReadMerge(st);
        if (seen.emplace(m.id.value(), true).second) out.push_back(std::move(m));
      }
      if (rc != SQLITE_DONE) return db_.Error("merges involving");
    }
    std::sort(out.begin(), out.end(), [](const MergeRecord& a, const MergeRecord& b) { return a.id < b.id; });
    return out;
  }

  Result<std::vector<IdentifierRecord>> BlockedIdentifiers() override {
    std::vector<IdentifierRecord> out;
    Stmt st(db_.raw(), "SELECT id, kind, value, customer_id, blocked, joins, first_seen, "
                       "first_message_id FROM identifiers WHERE blocked <> 0 ORDER BY id");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) out.push_back(ReadIdentifier(st));
    if (rc != SQLITE_DONE) return db_.Error("blocked identifiers");
    return out;
  }

  Result<IdentityCounts> Counts() override {
    IdentityCounts c;
    TP_ASSIGN_OR_RETURN(c.live_customers, db_.QueryInt("SELECT count(*) FROM customers WHERE merged_into = 0"));
    TP_ASSIGN_OR_RETURN(c.identifiers, db_.QueryInt("SELECT count(*) FROM identifiers"));
    TP_ASSIGN_OR_RETURN(c.merges, db_.QueryInt("SELECT count(*) FROM merges WHERE undone_at = 0"));
    return c;
  }

 private:
  Db& db_;
};

// ---- profiles ----

class SqliteProfiles final : public ProfileRepository {
 public:
  explicit SqliteProfiles(Db& db) : db_(db) {}

  Status Put(Transaction& txn, std::span<const ProfileRecord> profiles) override {
    db_.RequireTxn(txn);
    Stmt& st = db_.Prepared("INSERT INTO profiles(customer_id, data, updated_at) VALUES(?1, ?2, ?3) "
                            "ON CONFLICT(customer_id) DO UPDATE SET data = excluded.data, "
                            "updated_at = excluded.updated_at");
    for (const ProfileRecord& p : profiles) {
      st.Reset();
      st.Bind(1, p.customer.value()).Bind(2, p.data).Bind(3, p.updated_at);
      if (st.Step() != SQLITE_DONE) return db_.Error("upsert profile");
    }
    return Status::Ok();
  }

  Status SetCheckpoint(Transaction& txn, std::int64_t seq) override {
    db_.RequireTxn(txn);
    Stmt& st = db_.Prepared("INSERT INTO meta(key, value) VALUES('profile_checkpoint', ?1) "
                            "ON CONFLICT(key) DO UPDATE SET value = ?1");
    st.Reset();
    st.Bind(1, seq);
    if (st.Step() != SQLITE_DONE) return db_.Error("update profile checkpoint");
    return Status::Ok();
  }

  Status Scan(const std::function<void(ProfileRecord&&)>& fn) override {
    Stmt st(db_.raw(), "SELECT customer_id, data, updated_at FROM profiles ORDER BY customer_id");
    if (!st.ok()) return db_.Error("prepare scan profiles");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) fn(ProfileRecord{CustomerId(st.Int(0)), st.Text(1), st.Int(2)});
    return rc == SQLITE_DONE ? Status::Ok() : db_.Error("scan profiles");
  }

  Result<std::optional<ProfileRecord>> Find(CustomerId id) override {
    Stmt& st = db_.Prepared("SELECT customer_id, data, updated_at FROM profiles WHERE customer_id = ?1");
    st.Reset();
    st.Bind(1, id.value());
    int rc = st.Step();
    if (rc == SQLITE_ROW) {
      ProfileRecord found{CustomerId(st.Int(0)), st.Text(1), st.Int(2)};
      // Reset now: a cached statement left on its row keeps the connection's read snapshot open,
      // and that connection's next BEGIN IMMEDIATE fails ("database is locked") once another
      // connection has written (the desk's routing reads profiles on the desk's connection).
      st.Reset();
      return std::optional<ProfileRecord>(std::move(found));
    }
    if (rc == SQLITE_DONE) return std::optional<ProfileRecord>();
    return db_.Error("find profile");
  }

  Result<std::int64_t> Checkpoint() override {
    return db_.QueryInt("SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'profile_checkpoint'");
  }

 private:
  Db& db_;
};

// ---- orders, messages, surveys ----

class SqliteActivity final : public ActivityRepository {
 public:
  explicit SqliteActivity(Db& db) : db_(db) {}

  Status AddOrders(Transaction& txn, std::span<const OrderRecord> orders) override {
    db_.RequireTxn(txn);
    Stmt& st = db_.Prepared("INSERT INTO orders(order_id, customer_id, ts, total, currency, channel, items) "
                            "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    for (const OrderRecord& o : orders) {
      st.Reset();
      st.Bind(1, o.order_id).Bind(2, o.customer.value()).Bind(3, o.timestamp).Bind(4, o.total)
          .Bind(5, o.currency).Bind(6, o.channel).Bind(7, o.items_json);
      if (st.Step() != SQLITE_DONE) return db_.Error("insert order");
    }
    return Status::Ok();
  }

  Status AddMessages(Transaction& txn, std::span<const MessageRecord> messages) override {
    db_.RequireTxn(txn);
    Stmt& st = db_.Prepared("INSERT INTO messages(message_id, customer_id, ts, conversation_id, channel, author, "
                            "direction, text, language, sentiment_label, sentiment_score, intent, masked_text) "
                            "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
    for (const MessageRecord& m : messages) {
      st.Reset();
      st.Bind(1, m.message_id).Bind(2, m.customer.value()).Bind(3, m.timestamp).Bind(4, m.conversation_id)
          .Bind(5, m.channel).Bind(6, m.author).Bind(7, m.direction).Bind(8, m.text).Bind(9, m.language)
          .Bind(10, m.sentiment_label).Bind(11, m.sentiment_score).Bind(12, m.intent).Bind(13, m.masked_text);
      if (st.Step() != SQLITE_DONE) return db_.Error("insert message");
    }
    return Status::Ok();
  }

  Status AddSurveys(Transaction& txn, std::span<const SurveyRecord> surveys) override {
    db_.RequireTxn(txn);
    Stmt& st = db_.Prepared("INSERT INTO surveys(message_id, customer_id, ts, nps, csat, comment, touchpoint) "
                            "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    for (const SurveyRecord& s : surveys) {
      st.Reset();
      st.Bind(1, s.message_id).Bind(2, s.customer.value()).Bind(3, s.timestamp);
      if (s.nps >= 0) st.Bind(4, s.nps); else st.BindNull(4);
      if (s.csat >= 0) st.Bind(5, s.csat); else st.BindNull(5);
      st.Bind(6, s.comment).Bind(7, s.touchpoint);
      if (st.Step() != SQLITE_DONE) return db_.Error("insert survey");
    }
    return Status::Ok();
  }

  Status ScanOrders(const std::function<void(OrderRecord&&)>& fn) override {
    Stmt st(db_.raw(), "SELECT order_id, customer_id, ts, total, currency, channel, items FROM orders ORDER BY seq");
    if (!st.ok()) return db_.Error("prepare scan orders");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      fn(OrderRecord{st.Text(0), CustomerId(st.Int(1)), st.Int(2), st.Real(3), st.Text(4), st.Text(5), st.Text(6)});
    }
    return rc == SQLITE_DONE ? Status::Ok() : db_.Error("scan orders");
  }

  Status ScanMessages(const std::function<void(MessageRecord&&)>& fn) override {
    Stmt st(db_.raw(), "SELECT message_id, customer_id, ts, conversation_id, channel, author, direction, "
                       "text, language, sentiment_label, sentiment_score, intent, masked_text "
                       "FROM messages ORDER BY seq");
    if (!st.ok()) return db_.Error("prepare scan messages");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      MessageRecord m;
      m.message_id = st.Text(0);
      m.customer = CustomerId(st.Int(1));
      m.timestamp = st.Int(2);
      m.conversation_id = st.Text(3);
      m.channel = st.Text(4);
      m.author = st.Text(5);
      m.direction = st.Text(6);
      m.text = st.Text(7);
      m.language = st.Text(8);
      m.sentiment_label = st.Text(9);
      m.sentiment_score = st.Real(10);
      m.intent = st.Text(11);
      m.masked_text = st.Text(12);
      fn(std::move(m));
    }
    return rc == SQLITE_DONE ? Status::Ok() : db_.Error("scan messages");
  }

  Status ScanSurveys(const std::function<void(SurveyRecord&&)>& fn) override {
    Stmt st(db_.raw(), "SELECT message_id, customer_id, ts, nps, csat, comment, touchpoint FROM surveys ORDER BY seq");
    if (!st.ok()) return db_.Error("prepare scan surveys");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      fn(SurveyRecord{st.Text(0), CustomerId(st.Int(1)), st.Int(2), st.IsNull(3) ? -1 : static_cast<int>(st.Int(3)),
                      st.IsNull(4) ? -1 : static_cast<int>(st.Int(4)), st.Text(5), st.Text(6)});
    }
    return rc == SQLITE_DONE ? Status::Ok() : db_.Error("scan surveys");
  }

  Result<ActivityCounts> Counts() override {
    ActivityCounts c;
    TP_ASSIGN_OR_RETURN(c.orders, db_.QueryInt("SELECT count(*) FROM orders"));
    TP_ASSIGN_OR_RETURN(c.messages, db_.QueryInt("SELECT count(*) FROM messages"));
    TP_ASSIGN_OR_RETURN(c.surveys, db_.QueryInt("SELECT count(*) FROM surveys"));
    return c;
  }

 private:
  Db& db_;
};

// ---- escalations ----

class SqliteEscalations final : public EscalationRepository {
 public:
  explicit SqliteEscalations(Db& db) : db_(db) {}

  Status Add(Transaction& txn, std::span<const EscalationRecord> escalations) override {
    db_.RequireTxn(txn);
    Stmt& st = db_.Prepared("INSERT INTO escalations(at, customer_id, conversation_id, message_id, rule, action, "
                            "reason) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    for (const EscalationRecord& e : escalations) {
      st.Reset();
      st.Bind(1, e.at).Bind(2, e.customer.value()).Bind(3, e.conversation_id).Bind(4, e.message_id)
          .Bind(5, e.rule).Bind(6, e.action).Bind(7, e.reason);
      if (st.Step() != SQLITE_DONE) return db_.Error("insert escalation");
    }
    return Status::Ok();
  }

  Status Scan(const std::function<void(EscalationRecord&&)>& fn) override {
    Stmt st(db_.raw(), "SELECT at, customer_id, conversation_id, message_id, rule, action, reason "
                       "FROM escalations ORDER BY seq");
    if (!st.ok()) return db_.Error("prepare scan escalations");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      fn(EscalationRecord{st.Int(0), CustomerId(st.Int(1)), st.Text(2), st.Text(3), st.Text(4), st.Text(5),
                          st.Text(6)});
    }
    return rc == SQLITE_DONE ? Status::Ok() : db_.Error("scan escalations");
  }

  Result<std::int64_t> Count() override { return db_.QueryInt("SELECT count(*) FROM escalations"); }

 private:
  Db& db_;
};

// ---- the service desk's tickets (writes inside the open transaction) ----

class SqliteTickets final : public TicketRepository {
 public:
  explicit SqliteTickets(Db& db) : db_(db) {}

  Result<std::int64_t> NextNumber(Transaction& txn) override {
    db_.RequireTxn(txn);
    Stmt& up = db_.Prepared("INSERT INTO desk_counters(name, value) VALUES('ticket', 1) "
                            "ON CONFLICT(name) DO UPDATE SET value = value + 1");
    up.Reset();
    if (up.Step() != SQLITE_DONE) return db_.Error("next ticket number");
    return db_.QueryInt("SELECT value FROM desk_counters WHERE name = 'ticket'");
  }

  Status Create(Transaction& txn, const TicketRecord& t) override {
    db_.RequireTxn(txn);
    Stmt& st = db_.Prepared(
        "INSERT INTO tickets(number, version, customer_id, status, priority, type, channel, skill, language, queue, "
        "assignee, subject, created_at, updated_at, last_message_at, solved_at, reopen_count, merged_into) "
        "VALUES(?1, 1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)");
    st.Reset();
    BindFields(st, t);
    const int rc = st.Step();
    if (rc == SQLITE_CONSTRAINT) return Status::AlreadyExists("ticket " + std::to_string(t.number) + " exists");
    if (rc != SQLITE_DONE) return db_.Error("insert ticket");
    return Status::Ok();
  }

  Status Update(Transaction& txn, const TicketRecord& t, std::int64_t expected_version) override {
    db_.RequireTxn(txn);
    Stmt& st = db_.Prepared(
        "UPDATE tickets SET version = ?18 + 1, customer_id = ?2, status = ?3, priority = ?4, type = ?5, channel = ?6, "
        "skill = ?7, language = ?8, queue = ?9, assignee = ?10, subject = ?11, created_at = ?12, updated_at = ?13, "
        "last_message_at = ?14, solved_at = ?15, reopen_count = ?16, merged_into = ?17 "
        "WHERE number = ?1 AND version = ?18");
    st.Reset();
    BindFields(st, t);
    st.Bind(18, expected_version);
    if (st.Step() != SQLITE_DONE) return db_.Error("update ticket");
    if (sqlite3_changes(db_.raw()) == 0) {
      Stmt& ex = db_.Prepared("SELECT count(*) FROM tickets WHERE number = ?1");
      ex.Reset();
      ResetOnExit done(ex);
      ex.Bind(1, t.number);
      if (ex.Step() != SQLITE_ROW) return db_.Error("find ticket");
      const std::int64_t exists = ex.Int(0);
      ex.Reset();
      if (exists == 0) return Status::NotFound("no ticket " + std::to_string(t.number));
      return Status::FailedPrecondition("ticket " + std::to_string(t.number) + " changed concurrently");
    }
    return Status::Ok();
  }

  Result<std::optional<TicketRecord>> Find(std::int64_t number) override {
    Stmt st(db_.raw(), (std::string(kSelect) + " WHERE number = ?1").c_str());
    st.Bind(1, number);
    return One(st);
  }

  Result<std::optional<TicketRecord>> FindActive(CustomerId customer) override {
    Stmt st(db_.raw(), (std::string(kSelect) +
                        " WHERE customer_id = ?1 AND status <> 'closed' AND merged_into = 0 ORDER BY number DESC LIMIT 1")
                           .c_str());
    st.Bind(1, customer.value());
    return One(st);
  }

  Result<std::vector<TicketRecord>> List(const TicketFilter& f) override {
    Stmt st(db_.raw(), (std::string(kSelect) +
                        " WHERE (?1 = '' OR status = ?1) AND (?2 = '' OR queue = ?2) AND (?3 < 0 OR assignee = ?3) "
                        "AND (?4 = 0 OR customer_id = ?4) AND (?5 = 0 OR number < ?5) ORDER BY number DESC LIMIT ?6")
                           .c_str());
    if (!st.ok()) return db_.Error("prepare list tickets");
    st.Bind(1, f.status).Bind(2, f.queue).Bind(3, f.assignee).Bind(4, f.customer.value()).Bind(5, f.before)
        .Bind(6, f.limit);
    std::vector<TicketRecord> out;
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) out.push_back(Read(st));
    if (rc != SQLITE_DONE) return db_.Error("list tickets");
    return out;
  }

  Status Scan(const std::function<void(TicketRecord&&)>& fn) override {
    Stmt st(db_.raw(), (std::string(kSelect) + " ORDER BY number").c_str());
    if (!st.ok()) return db_.Error("prepare scan tickets");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) fn(Read(st));
    return rc == SQLITE_DONE ? Status::Ok() : db_.Error("scan tickets");
  }

  Status AddMessages(Transaction& txn, std::span<const TicketMessageRecord> messages) override {
    db_.RequireTxn(txn);
    Stmt& st = db_.Prepared(
        "INSERT INTO ticket_messages(ticket, at, author, agent, channel, internal, text, message_id, sentiment_label, "
        "sentiment_score, intent) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
    for (const TicketMessageRecord& m : messages) {
      st.Reset();
      st.Bind(1, m.ticket).Bind(2, m.at).Bind(3, m.author).Bind(4, m.agent).Bind(5, m.channel)
          .Bind(6, m.internal ? 1 : 0).Bind(7, m.text).Bind(8, m.message_id).Bind(9, m.sentiment_label)
          .Bind(10, m.sentiment_score).Bind(11, m.intent);
      if (st.Step() != SQLITE_DONE) return db_.Error("insert ticket message");
    }
    return Status::Ok();
  }

  Result<std::vector<TicketMessageRecord>> Messages(std::int64_t ticket) override {
    Stmt st(db_.raw(), "SELECT id, ticket, at, author, agent, channel, internal, text, message_id, sentiment_label, "
                       "sentiment_score, intent FROM ticket_messages WHERE ticket = ?1 ORDER BY id");
    if (!st.ok()) return db_.Error("prepare ticket messages");
    st.Bind(1, ticket);
    std::vector<TicketMessageRecord> out;
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      out.push_back(TicketMessageRecord{st.Int(0), st.Int(1), st.Int(2), st.Text(3), st.Int(4), st.Text(5),
                                        st.Int(6) != 0, st.Text(7), st.Text(8), st.Text(9), st.Real(10), st.Text(11)});
    }
    if (rc != SQLITE_DONE) return db_.Error("ticket messages");
    return out;
  }

  Status MoveMessages(Transaction& txn, std::int64_t from, std::int64_t to) override {
    db_.RequireTxn(txn);
    Stmt& st = db_.Prepared("UPDATE ticket_messages SET ticket = ?2 WHERE ticket = ?1");
    st.Reset();
    st.Bind(1, from).Bind(2, to);
    return st.Step() == SQLITE_DONE ? Status::Ok() : db_.Error("move ticket messages");
  }

  Status AddHistory(Transaction& txn, std::span<const TicketHistoryRecord> rows) override {
    db_.RequireTxn(txn);
    Stmt& st = db_.Prepared("INSERT INTO ticket_history(ticket, at, actor_kind, actor, field, before, after) "
                            "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    for (const TicketHistoryRecord& h : rows) {
      st.Reset();
      st.Bind(1, h.ticket).Bind(2, h.at).Bind(3, h.actor_kind).Bind(4, h.actor).Bind(5, h.field).Bind(6, h.before)
          .Bind(7, h.after);
      if (st.Step() != SQLITE_DONE) return db_.Error("insert ticket history");
    }
    return Status::Ok();
  }

  Result<std::vector<TicketHistoryRecord>> History(std::int64_t ticket) override {
    std::vector<TicketHistoryRecord> out;
    TP_RETURN_IF_ERROR(ScanHistoryWhere(" WHERE ticket = ?1 ORDER BY id", ticket,
                                        [&](TicketHistoryRecord&& h) { out.push_back(std::move(h)); }));
    return out;
  }

  Status ScanHistory(const std::function<void(TicketHistoryRecord&&)>& fn) override {
    return ScanHistoryWhere(" WHERE ?1 = ?1 ORDER BY ticket, id", 0, fn);
  }

  Result<std::optional<std::int64_t>> Cursor(const std::string& name) override {
    Stmt st(db_.raw(), "SELECT seq FROM desk_cursors WHERE name = ?1");
    st.Bind(1, name);
    const int rc = st.Step();
    if (rc == SQLITE_ROW) return std::optional<std::int64_t>(st.Int(0));
    if (rc == SQLITE_DONE) return std::optional<std::int64_t>();
    return db_.Error("read desk cursor");
  }

  Status SetCursor(Transaction& txn, const std::string& name, std::int64_t seq) override {
    db_.RequireTxn(txn);
    Stmt& st = db_.Prepared("INSERT INTO desk_cursors(name, seq) VALUES(?1, ?2) "
                            "ON CONFLICT(name) DO UPDATE SET seq = excluded.seq");
    st.Reset();
    st.Bind(1, name).Bind(2, seq);
    return st.Step() == SQLITE_DONE ? Status::Ok() : db_.Error("set desk cursor");
  }

 private:
  static constexpr const char* kSelect =
      "SELECT number, version, customer_id, status, priority, type, channel, skill, language, queue, assignee, "
      "subject, created_at, updated_at, last_message_at, solved_at, reopen_count, merged_into FROM tickets";

  static void BindFields(Stmt& st, const TicketRecord& t) {
    st.Bind(1, t.number).Bind(2, t.customer.value()).Bind(3, t.status).Bind(4, t.priority).Bind(5, t.type)
        .Bind(6, t.channel).Bind(7, t.skill).Bind(8, t.language).Bind(9, t.queue).Bind(10, t.assignee)
        .Bind(11, t.subject).Bind(12, t.created_at).Bind(13, t.updated_at).Bind(14, t.last_message_at)
        .Bind(15, t.solved_at).Bind(16, static_cast<std::int64_t>(t.reopen_count)).Bind(17, t.merged_into);
  }
  static TicketRecord Read(Stmt& st) {
    return TicketRecord{st.Int(0),  st.Int(1),  CustomerId(st.Int(2)), st.Text(3),  st.Text(4),  st.Text(5),
                        st.Text(6), st.Text(7), st.Text(8),            st.Text(9),  st.Int(10),  st.Text(11),
                        st.Int(12), st.Int(13), st.Int(14),            st.Int(15),  static_cast<std::int32_t>(st.Int(16)),
                        st.Int(17)};
  }
  Result<std::optional<TicketRecord>> One(Stmt& st) {
    if (!st.ok()) return db_.Error("prepare find ticket");
    const int rc = st.Step();
    if (rc == SQLITE_ROW) return std::optional<TicketRecord>(Read(st));
    if (rc == SQLITE_DONE) return std::optional<TicketRecord>();
    return db_.Error("find ticket");
  }
  Status ScanHistoryWhere(const char* where, std::int64_t ticket, const std::function<void(TicketHistoryRecord&&)>& fn) {
    Stmt st(db_.raw(), (std::string("SELECT id, ticket, at, actor_kind, actor, field, before, after FROM ticket_history") +
                        where)
                           .c_str());
    if (!st.ok()) return db_.Error("prepare ticket history");
    st.Bind(1, ticket);
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      fn(TicketHistoryRecord{st.Int(0), st.Int(1), st.Int(2), st.Text(3), st.Text(4), st.Text(5), st.Text(6),
                             st.Text(7)});
    }
    return rc == SQLITE_DONE ? Status::Ok() : db_.Error("ticket history");
  }

  Db& db_;
};

// ---- the service desk's agents and routing decisions ----

// Lists of names (skills, languages, attributes) are one text column (touchpoint/store/list_columns.h).

class SqliteAgents final : public AgentRepository {
 public:
  explicit SqliteAgents(Db& db) : db_(db) {}

  Status Put(Transaction& txn, const AgentRecord& a) override {
    db_.RequireTxn(txn);
    Stmt& st = db_.Prepared(
        "INSERT INTO desk_agents(user_id, name, skills, languages, attributes, capacity, state, team, shift, "
        "state_changed_at, created_at, updated_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
        "ON CONFLICT(user_id) DO UPDATE SET name = excluded.name, skills = excluded.skills, "
        "languages = excluded.languages, attributes = excluded.attributes, capacity = excluded.capacity, "
        "state = excluded.state, team = excluded.team, shift = excluded.shift, "
        "state_changed_at = excluded.state_changed_at, created_at = excluded.created_at, "
        "updated_at = excluded.updated_at");
    st.Reset();
    // Bound text is not copied (SQLITE_STATIC): the joined lists live until Step.
    const std::string skills = JoinNames(a.skills), languages = JoinNames(a.languages),
                      attributes = JoinNames(a.attributes);
    st.Bind(1, a.user_id).Bind(2, a.name).Bind(3, skills).Bind(4, languages)
        .Bind(5, attributes).Bind(6, static_cast<std::int64_t>(a.capacity)).Bind(7, a.state)
        .Bind(8, a.team).Bind(9, a.shift).Bind(10, a.state_changed_at).Bind(11, a.created_at).Bind(12, a.updated_at);
    return st.Step() == SQLITE_DONE ? Status::Ok() : db_.Error("put agent");
  }

  Result<std::optional<AgentRecord>> Find(std::int64_t user_id) override {
    Stmt st(db_.raw(), (std::string(kSelect) + " WHERE user_id = ?1").c_str());
    if (!st.ok()) return db_.Error("prepare find agent");
    st.Bind(1, user_id);
    const int rc = st.Step();
    if (rc == SQLITE_ROW) return std::optional<AgentRecord>(Read(st));
    if (rc == SQLITE_DONE) return std::optional<AgentRecord>();
    return db_.Error("find agent");
  }

  Result<std::vector<AgentRecord>> List() override {
    Stmt st(db_.raw(), (std::string(kSelect) + " ORDER BY user_id").c_str());
    if (!st.ok()) return db_.Error("prepare list agents");
    std::vector<AgentRecord> out;
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) out.push_back(Read(st));
    if (rc != SQLITE_DONE) return db_.Error("list agents");
    return out;
  }

  Status AddDecision(Transaction& txn, const RoutingDecisionRecord& d) override {
    db_.RequireTxn(txn);
    Stmt& st = db_.Prepared("INSERT INTO routing_decisions(ticket, at, policy, rule, agent, detail) "
                            "VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
    st.Reset();
    st.Bind(1, d.ticket).Bind(2, d.at).Bind(3, d.policy).Bind(4, d.rule).Bind(5, d.agent).Bind(6, d.detail);
    return st.Step() == SQLITE_DONE ? Status::Ok() : db_.Error("insert routing decision");
  }

  Result<std::vector<RoutingDecisionRecord>> Decisions(std::int64_t ticket) override {
    Stmt st(db_.raw(), "SELECT id, ticket, at, policy, rule, agent, detail FROM routing_decisions "
                       "WHERE ticket = ?1 ORDER BY id");
    if (!st.ok()) return db_.Error("prepare routing decisions");
    st.Bind(1, ticket);
    std::vector<RoutingDecisionRecord> out;
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      out.push_back(RoutingDecisionRecord{st.Int(0), st.Int(1), st.Int(2), st.Text(3), st.Text(4), st.Int(5),
                                          st.Text(6)});
    }
    if (rc != SQLITE_DONE) return db_.Error("routing decisions");
    return out;
  }

  Result<std::map<std::int64_t, std::int32_t>> OpenLoads() override {
    Stmt st(db_.raw(), "SELECT assignee, count(*) FROM tickets WHERE assignee <> 0 AND merged_into = 0 AND "
                       "status IN ('new', 'open', 'pending_customer', 'pending_third_party') GROUP BY assignee");
    if (!st.ok()) return db_.Error("prepare agent loads");
    std::map<std::int64_t, std::int32_t> out;
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) out[st.Int(0)] = static_cast<std::int32_t>(st.Int(1));
    if (rc != SQLITE_DONE) return db_.Error("agent loads");
    return out;
  }

  Result<std::vector<WaitingTicket>> Waiting() override {
    Stmt st(db_.raw(), "SELECT number, customer_id, status, priority, skill, language, queue, created_at FROM tickets "
                       "WHERE assignee = 0 AND merged_into = 0 AND "
                       "status IN ('new', 'open', 'pending_customer', 'pending_third_party') ORDER BY number");
    if (!st.ok()) return db_.Error("prepare waiting tickets");
    std::vector<WaitingTicket> out;
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      out.push_back(WaitingTicket{st.Int(0), CustomerId(st.Int(1)), st.Text(2), st.Text(3), st.Text(4), st.Text(5),
                                  st.Text(6), st.Int(7)});
    }
    if (rc != SQLITE_DONE) return db_.Error("waiting tickets");
    return out;
  }

 private:
  static constexpr const char* kSelect =
      "SELECT user_id, name, skills, languages, attributes, capacity, state, team, shift, state_changed_at, "
      "created_at, updated_at FROM desk_agents";
  static AgentRecord Read(Stmt& st) {
    return AgentRecord{st.Int(0),  st.Text(1),  SplitNames(st.Text(2)), SplitNames(st.Text(3)),
                       SplitNames(st.Text(4)), static_cast<std::int32_t>(st.Int(5)), st.Text(6), st.Text(7),
                       st.Text(8), st.Int(9),  st.Int(10), st.Int(11)};
  }
  Db& db_;
};

// ---- SLA policies, events and complaint tasks (writes inside the open transaction) ----

class SqliteSla final : public SlaRepository {
 public:
  explicit SqliteSla(Db& db) : db_(db) {}

  Result<std::vector<SlaPolicyRecord>> Policies() override {
    Stmt st(db_.raw(), "SELECT name, position, body, updated_at FROM sla_policies ORDER BY position, name");
    if (!st.ok()) return db_.Error("prepare sla policies");
    std::vector<SlaPolicyRecord> out;
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) out.push_back(SlaPolicyRecord{st.Text(0), st.Int(1), st.Text(2), st.Int(3)});
    if (rc != SQLITE_DONE) return db_.Error("sla policies");
    return out;
  }
  Status PutPolicy(Transaction& txn, const SlaPolicyRecord& p) override {
    db_.RequireTxn(txn);
    Stmt& st = db_.Prepared("INSERT INTO sla_policies(name, position, body, updated_at) VALUES(?1, ?2, ?3, ?4) "
                            "ON CONFLICT(name) DO UPDATE SET position = excluded.position, body = excluded.body, "
                            "updated_at = excluded.updated_at");
    st.Reset();
    st.Bind(1, p.name).Bind(2, p.position).Bind(3, p.body).Bind(4, p.updated_at);
    return st.Step() == SQLITE_DONE ? Status::Ok() : db_.Error("put sla policy");
  }
  Result<bool> DeletePolicy(Transaction& txn, const std::string& name) override {
    db_.RequireTxn(txn);
    Stmt& st = db_.Prepared("DELETE FROM sla_policies WHERE name = ?1");
    st.Reset();
    st.Bind(1, name);
    if (st.Step() != SQLITE_DONE) return db_.Error("delete sla policy");
    return sqlite3_changes(db_.raw()) > 0;
  }

  Result<bool> AddEvent(Transaction& txn, const SlaEventRecord& e) override {
    db_.RequireTxn(txn);
    Stmt& st = db_.Prepared(
        "INSERT INTO sla_events(ticket, target, kind, cycle, due_at, fired_at, policy, actions) "
        "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(ticket, target, kind, cycle) DO NOTHING");
    st.Reset();
    st.Bind(1, e.ticket).Bind(2, e.target).Bind(3, e.kind).Bind(4, e.cycle).Bind(5, e.due_at).Bind(6, e.fired_at)
        .Bind(7, e.policy).Bind(8, e.actions);
    if (st.Step() != SQLITE_DONE) return db_.Error("insert sla event");
    return sqlite3_changes(db_.raw()) > 0;
  }
  Result<std::vector<SlaEventRecord>> Events(std::int64_t ticket) override {
    std::vector<SlaEventRecord> out;
    TP_RETURN_IF_ERROR(ScanWhere(" WHERE ticket = ?1 ORDER BY id", ticket,
                                 [&](SlaEventRecord&& e) { out.push_back(std::move(e)); }));
    return out;
  }
  Status ScanEvents(std::int64_t from_ticket, const std::function<void(SlaEventRecord&&)>& fn) override {
    return ScanWhere(" WHERE ticket >= ?1 ORDER BY ticket, id", from_ticket, fn);
  }

  Result<std::int64_t> AddTask(Transaction& txn, const ComplaintTaskRecord& t) override {
    db_.RequireTxn(txn);
    Stmt& st = db_.Prepared(
        "INSERT INTO complaint_tasks(ticket, kind, created_at, due_at, completed_at, completed_by) "
        "VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
    st.Reset();
    st.Bind(1, t.ticket).Bind(2, t.kind).Bind(3, t.created_at).Bind(4, t.due_at).Bind(5, t.completed_at)
        .Bind(6, t.completed_by);
    if (st.Step() != SQLITE_DONE) return db_.Error("insert complaint task");
    return static_cast<std::int64_t>(sqlite3_last_insert_rowid(db_.raw()));
  }
  Status CompleteTask(Transaction& txn, std::int64_t id, Millis at, const std::string& by) override {
    db_.RequireTxn(txn);
    Stmt& st = db_.Prepared(
        "UPDATE complaint_tasks SET completed_at = ?2, completed_by = ?3 WHERE id = ?1 AND completed_at = 0");
    st.Reset();
    st.Bind(1, id).Bind(2, at).Bind(3, by);
    if (st.Step() != SQLITE_DONE) return db_.Error("complete task");
    if (sqlite3_changes(db_.raw()) > 0) return Status::Ok();
    std::vector<ComplaintTaskRecord> found;
    TP_RETURN_IF_ERROR(TasksWhere(" WHERE id = ?1", id, found));
    if (found.empty()) return Status::NotFound("no task " + std::to_string(id));
    return Status::FailedPrecondition("task " + std::to_string(id) + " is done");
  }
  Result<std::vector<ComplaintTaskRecord>> Tasks(std::int64_t ticket) override {
    std::vector<ComplaintTaskRecord> out;
    TP_RETURN_IF_ERROR(TasksWhere(" WHERE ticket = ?1 ORDER BY id", ticket, out));
    return out;
  }
  Result<std::vector<ComplaintTaskRecord>> OpenTasks() override {
    std::vector<ComplaintTaskRecord> out;
    TP_RETURN_IF_ERROR(TasksWhere(" WHERE completed_at = ?1 ORDER BY id", 0, out));
    return out;
  }

 private:
  Status ScanWhere(const char* where, std::int64_t arg, const std::function<void(SlaEventRecord&&)>& fn) {
    Stmt st(db_.raw(), (std::string("SELECT id, ticket, target, kind, cycle, due_at, fired_at, policy, actions "
                                    "FROM sla_events") + where).c_str());
    if (!st.ok()) return db_.Error("prepare sla events");
    st.Bind(1, arg);
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      fn(SlaEventRecord{st.Int(0), st.Int(1), st.Text(2), st.Text(3), st.Int(4), st.Int(5), st.Int(6), st.Text(7),
                        st.Text(8)});
    }
    return rc == SQLITE_DONE ? Status::Ok() : db_.Error("sla events");
  }
  Status TasksWhere(const char* where, std::int64_t arg, std::vector<ComplaintTaskRecord>& out) {
    Stmt st(db_.raw(), (std::string("SELECT id, ticket, kind, created_at, due_at, completed_at, completed_by "
                                    "FROM complaint_tasks") + where).c_str());
    if (!st.ok()) return db_.Error("prepare complaint tasks");
    st.Bind(1, arg);
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      out.push_back(ComplaintTaskRecord{st.Int(0), st.Int(1), st.Text(2), st.Int(3), st.Int(4), st.Int(5), st.Text(6)});
    }
    return rc == SQLITE_DONE ? Status::Ok() : db_.Error("complaint tasks");
  }

  Db& db_;
};

// ---- the service desk's repeat contacts, tags, fields, search tokens, canned replies ----

class SqliteDeskflow final : public DeskflowRepository {
 public:
  explicit SqliteDeskflow(Db& db) : db_(db) {}

  Status PutContact(Transaction& txn, const TicketContactRecord& c) override {
    db_.RequireTxn(txn);
    Stmt& st = db_.Prepared(
        "INSERT OR REPLACE INTO ticket_contacts(ticket, customer_id, intent, channel, at, ordinal, previous) "
        "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    st.Reset();
    // Bound text is not copied (SQLITE_STATIC): the joined list lives until Step.
    const std::string previous = JoinNumbers(c.previous);
    st.Bind(1, c.ticket).Bind(2, c.customer.value()).Bind(3, c.intent).Bind(4, c.channel).Bind(5, c.at)
        .Bind(6, static_cast<std::int64_t>(c.ordinal)).Bind(7, previous);
    return st.Step() == SQLITE_DONE ? Status::Ok() : db_.Error("put ticket contact");
  }

  Result<std::optional<TicketContactRecord>> FindContact(std::int64_t ticket) override {
    std::optional<TicketContactRecord> out;
    TP_RETURN_IF_ERROR(ScanWhere(" WHERE ticket = ?1", ticket, 0, [&](TicketContactRecord&& c) { out = std::move(c); }));
    return out;
  }

  Result<std::vector<TicketContactRecord>> Contacts(CustomerId customer, Millis since) override {
    std::vector<TicketContactRecord> out;
    TP_RETURN_IF_ERROR(ScanWhere(" WHERE customer_id = ?1 AND at >= ?2 ORDER BY at, ticket", customer.value(), since,
                                 [&](TicketContactRecord&& c) { out.push_back(std::move(c)); }));
    return out;
  }

  Status ScanContacts(Millis from, Millis to, const std::function<void(TicketContactRecord&&)>& fn) override {
    return ScanWhere(" WHERE at >= ?1 AND (?2 = 0 OR at < ?2) ORDER BY ticket", from, to, fn);
  }

  Status AddTag(Transaction& txn, std::int64_t ticket, const std::string& tag) override {
    db_.RequireTxn(txn);
    Stmt& st = db_.Prepared("INSERT OR IGNORE INTO ticket_tags(tag, ticket) VALUES(?1, ?2)");
    st.Reset();
    st.Bind(1, tag).Bind(2, ticket);
    return st.Step() == SQLITE_DONE ? Status::Ok() : db_.Error("add ticket tag");
  }

  Status RemoveTag(Transaction& txn, std::int64_t ticket, const std::string& tag) override {
    db_.RequireTxn(txn);
    Stmt& st = db_.Prepared("DELETE FROM ticket_tags WHERE tag = ?1 AND ticket = ?2");
    st.Reset();
    st.Bind(1, tag).Bind(2, ticket);
    return st.Step() == SQLITE_DONE ? Status::Ok() : db_.Error("remove ticket tag");
  }

  Result<std::vector<std::string>> Tags(std::int64_t ticket) override {
    Stmt st(db_.raw(), "SELECT tag FROM ticket_tags WHERE ticket = ?1 ORDER BY tag");
    if (!st.ok()) return db_.Error("prepare ticket tags");
    st.Bind(1, ticket);
    std::vector<std::string> out;
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) out.push_back(st.Text(0));
    if (rc != SQLITE_DONE) return db_.Error("ticket tags");
    return out;
  }

  Result<std::vector<std::int64_t>> TicketsWithTag(const std::string& tag, std::int64_t before, int limit) override {
    Stmt st(db_.raw(),
            "SELECT ticket FROM ticket_tags WHERE tag = ?1 AND (?2 = 0 OR ticket < ?2) ORDER BY ticket DESC LIMIT ?3");
    if (!st.ok()) return db_.Error("prepare tickets with tag");
    st.Bind(1, tag).Bind(2, before).Bind(3, limit);
    return Numbers(st, "tickets with tag");
  }

  Status SetField(Transaction& txn, std::int64_t ticket, const std::string& name, const std::string& value) override {
    db_.RequireTxn(txn);
    Stmt& st = value.empty() ? db_.Prepared("DELETE FROM ticket_fields WHERE ticket = ?1 AND name = ?2")
                             : db_.Prepared("INSERT OR REPLACE INTO ticket_fields(ticket, name, value) VALUES(?1, ?2, ?3)");
    st.Reset();
    st.Bind(1, ticket).Bind(2, name);
    if (!value.empty()) st.Bind(3, value);
    return st.Step() == SQLITE_DONE ? Status::Ok() : db_.Error("set ticket field");
  }

  Result<std::vector<std::pair<std::string, std::string>>> Fields(std::int64_t ticket) override {
    Stmt st(db_.raw(), "SELECT name, value FROM ticket_fields WHERE ticket = ?1 ORDER BY name");
    if (!st.ok()) return db_.Error("prepare ticket fields");
    st.Bind(1, ticket);
    std::vector<std::pair<std::string, std::string>> out;
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) out.emplace_back(st.Text(0), st.Text(1));
    if (rc != SQLITE_DONE) return db_.Error("ticket fields");
    return out;
  }

  Status AddTokens(Transaction& txn, std::int64_t ticket, std::span<const std::int64_t> tokens) override {
    db_.RequireTxn(txn);
    Stmt& st = db_.Prepared("INSERT OR IGNORE INTO ticket_tokens(token, ticket) VALUES(?1, ?2)");
    for (std::int64_t t : tokens) {
      st.Reset();
      st.Bind(1, t).Bind(2, ticket);
      if (st.Step() != SQLITE_DONE) return db_.Error("add ticket token");
    }
    return Status::Ok();
  }

  Result<std::vector<std::int64_t>> TicketsWithToken(std::int64_t token, std::int64_t before, int limit) override {
    Stmt st(db_.raw(),
            "SELECT ticket FROM ticket_tokens WHERE token = ?1 AND (?2 = 0 OR ticket < ?2) ORDER BY ticket DESC LIMIT ?3");
    if (!st.ok()) return db_.Error("prepare tickets with token");
    st.Bind(1, token).Bind(2, before).Bind(3, limit);
    return Numbers(st, "tickets with token");
  }

  Status PutCanned(Transaction& txn, const CannedReplyRecord& c) override {
    db_.RequireTxn(txn);
    Stmt& st = db_.Prepared(
        "INSERT OR REPLACE INTO canned_replies(name, title, body, created_at, updated_at) VALUES(?1, ?2, ?3, ?4, ?5)");
    st.Reset();
    st.Bind(1, c.name).Bind(2, c.title).Bind(3, c.body).Bind(4, c.created_at).Bind(5, c.updated_at);
    return st.Step() == SQLITE_DONE ? Status::Ok() : db_.Error("put canned reply");
  }

  Result<std::optional<CannedReplyRecord>> FindCanned(const std::string& name) override {
    Stmt st(db_.raw(), "SELECT name, title, body, created_at, updated_at FROM canned_replies WHERE name = ?1");
    if (!st.ok()) return db_.Error("prepare canned reply");
    st.Bind(1, name);
    const int rc = st.Step();
    if (rc == SQLITE_ROW) {
      return std::optional<CannedReplyRecord>(CannedReplyRecord{st.Text(0), st.Text(1), st.Text(2), st.Int(3), st.Int(4)});
    }
    if (rc == SQLITE_DONE) return std::optional<CannedReplyRecord>();
    return db_.Error("canned reply");
  }

  Result<std::vector<CannedReplyRecord>> ListCanned() override {
    Stmt st(db_.raw(), "SELECT name, title, body, created_at, updated_at FROM canned_replies ORDER BY name");
    if (!st.ok()) return db_.Error("prepare canned replies");
    std::vector<CannedReplyRecord> out;
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      out.push_back(CannedReplyRecord{st.Text(0), st.Text(1), st.Text(2), st.Int(3), st.Int(4)});
    }
    if (rc != SQLITE_DONE) return db_.Error("canned replies");
    return out;
  }

  Status DeleteCanned(Transaction& txn, const std::string& name) override {
    db_.RequireTxn(txn);
    Stmt& st = db_.Prepared("DELETE FROM canned_replies WHERE name = ?1");
    st.Reset();
    st.Bind(1, name);
    if (st.Step() != SQLITE_DONE) return db_.Error("delete canned reply");
    if (sqlite3_changes(db_.raw()) == 0) return Status::NotFound("no canned reply " + name);
    return Status::Ok();
  }

 private:
  Result<std::vector<std::int64_t>> Numbers(Stmt& st, const char* what) {
    std::vector<std::int64_t> out;
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) out.push_back(st.Int(0));
    if (rc != SQLITE_DONE) return db_.Error(what);
    return out;
  }
  Status ScanWhere(const char* where, std::int64_t a, std::int64_t b,
                   const std::function<void(TicketContactRecord&&)>& fn) {
    Stmt st(db_.raw(), (std::string("SELECT ticket, customer_id, intent, channel, at, ordinal, previous FROM "
                                    "ticket_contacts") +
                        where)
                           .c_str());
    if (!st.ok()) return db_.Error("prepare ticket contacts");
    st.Bind(1, a);
    if (std::string_view(where).find("?2") != std::string_view::npos) st.Bind(2, b);
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      fn(TicketContactRecord{st.Int(0), CustomerId(st.Int(1)), st.Text(2), st.Text(3), st.Int(4),
                             static_cast<std::int32_t>(st.Int(5)), SplitNumbers(st.Text(6))});
    }
    return rc == SQLITE_DONE ? Status::Ok() : db_.Error("ticket contacts");
  }

  Db& db_;
};

// ---- API keys (their own small transactions) ----

class SqliteApiKeys final : public ApiKeyRepository {
 public:
  explicit SqliteApiKeys(Db& db) : db_(db) {}

  Result<ApiKeyRecord> Create(const std::string& role, const std::string& key_hash, const std::string& prefix,
                              Millis now) override {
    if (db_.read_only()) return Status::FailedPrecondition("store is open read-only");
    Stmt st(db_.raw(), "INSERT INTO api_keys(role, key_hash, prefix, created_at) VALUES(?1, ?2, ?3, ?4)");
    st.Bind(1, role).Bind(2, key_hash).Bind(3, prefix).Bind(4, now);
    const int rc = st.Step();
    if (rc == SQLITE_CONSTRAINT) return Status::AlreadyExists("a key with this hash exists");
    if (rc != SQLITE_DONE) return db_.Error("create key");
    return ApiKeyRecord{sqlite3_last_insert_rowid(db_.raw()), role, key_hash, prefix, now, 0};
  }

  Result<std::vector<ApiKeyRecord>> List() override {
    std::vector<ApiKeyRecord> out;
    Stmt st(db_.raw(), "SELECT id, role, key_hash, prefix, created_at, revoked_at FROM api_keys ORDER BY id");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) out.push_back(Read(st));
    if (rc != SQLITE_DONE) return db_.Error("list keys");
    return out;
  }

  Result<std::optional<ApiKeyRecord>> FindByHash(const std::string& key_hash) override {
    Stmt& st = db_.Prepared("SELECT id, role, key_hash, prefix, created_at, revoked_at FROM api_keys "
                            "WHERE key_hash = ?1");
    st.Reset();
    ResetOnExit done(st);
    st.Bind(1, key_hash);
    int rc = st.Step();
    std::optional<ApiKeyRecord> out;
    if (rc == SQLITE_ROW) out = Read(st);
    st.Reset();
    if (rc == SQLITE_ROW || rc == SQLITE_DONE) return out;
    return db_.Error("find key");
  }

  Status Revoke(const std::string& id_or_prefix, Millis now) override {
    if (db_.read_only()) return Status::FailedPrecondition("store is open read-only");
    Stmt st(db_.raw(), "UPDATE api_keys SET revoked_at = ?2 WHERE revoked_at = 0 AND "
                       "(CAST(id AS TEXT) = ?1 OR prefix = ?1)");
    st.Bind(1, id_or_prefix).Bind(2, now);
    if (st.Step() != SQLITE_DONE) return db_.Error("revoke key");
    if (sqlite3_changes(db_.raw()) == 0) {
      return Status::NotFound("no active key with id or prefix '" + id_or_prefix + "'");
    }
    return Status::Ok();
  }

 private:
  static ApiKeyRecord Read(Stmt& st) { return ApiKeyRecord{st.Int(0), st.Text(1), st.Text(2), st.Text(3), st.Int(4), st.Int(5)}; }
  Db& db_;
};

// ---- jobs ----

class SqliteJobs final : public JobRepository {
 public:
  explicit SqliteJobs(Db& db) : db_(db) {}

  Result<JobRecord> Create(const JobRecord& job) override {
    if (db_.read_only()) return Status::FailedPrecondition("store is open read-only");
    Stmt st(db_.raw(), "INSERT INTO jobs(name, state, params, result, error, trigger, created_at, started_at, "
                       "finished_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    Bind(st, job);
    if (st.Step() != SQLITE_DONE) return db_.Error("create job");
    JobRecord out = job;
    out.id = sqlite3_last_insert_rowid(db_.raw());
    return out;
  }

  Status Update(const JobRecord& job) override {
    if (db_.read_only()) return Status::FailedPrecondition("store is open read-only");
    Stmt st(db_.raw(), "UPDATE jobs SET name = ?1, state = ?2, params = ?3, result = ?4, error = ?5, trigger = ?6, "
                       "created_at = ?7, started_at = ?8, finished_at = ?9 WHERE id = ?10");
    Bind(st, job);
    st.Bind(10, job.id);
    if (st.Step() != SQLITE_DONE) return db_.Error("update job");
    if (sqlite3_changes(db_.raw()) == 0) return Status::NotFound("no job with id " + std::to_string(job.id));
    return Status::Ok();
  }

  Result<std::optional<JobRecord>> Find(std::int64_t id) override {
    Stmt st(db_.raw(), "SELECT id, name, state, params, result, error, trigger, created_at, started_at, finished_at "
                       "FROM jobs WHERE id = ?1");
    st.Bind(1, id);
    int rc = st.Step();
    if (rc == SQLITE_ROW) return std::optional<JobRecord>(Read(st));
    if (rc == SQLITE_DONE) return std::optional<JobRecord>();
    return db_.Error("find job");
  }

  Result<std::vector<JobRecord>> Recent(int limit) override {
    Stmt st(db_.raw(), "SELECT id, name, state, params, result, error, trigger, created_at, started_at, finished_at "
                       "FROM jobs ORDER BY id DESC LIMIT ?1");
    st.Bind(1, limit);
    return ReadAll(st);
  }

  Result<std::vector<JobRecord>> Unfinished() override {
    Stmt st(db_.raw(), "SELECT id, name, state, params, result, error, trigger, created_at, started_at, finished_at "
                       "FROM jobs WHERE state IN ('queued', 'running') ORDER BY id");
    return ReadAll(st);
  }

 private:
  static void Bind(Stmt& st, const JobRecord& j) {
    st.Bind(1, j.name).Bind(2, j.state).Bind(3, j.params_json).Bind(4, j.result_json).Bind(5, j.error)
        .Bind(6, j.trigger).Bind(7, j.created_at).Bind(8, j.started_at).Bind(9, j.finished_at);
  }
  static JobRecord Read(Stmt& st) {
    JobRecord j;
    j.id = st.Int(0);
    j.name = st.Text(1);
    j.state = st.Text(2);
    j.params_json = st.Text(3);
    j.result_json = st.Text(4);
    j.error = st.Text(5);
    j.trigger = st.Text(6);
    j.created_at = st.Int(7);
    j.started_at = st.Int(8);
    j.finished_at = st.Int(9);
    return j;
  }
  Result<std::vector<JobRecord>> ReadAll(Stmt& st) {
    std::vector<JobRecord> out;
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) out.push_back(Read(st));
    if (rc != SQLITE_DONE) return db_.Error("read jobs");
    return out;
  }
  Db& db_;
};

// ---- segments ----

class SqliteSegments final : public SegmentRepository {
 public:
  explicit SqliteSegments(Db& db) : db_(db) {}

  Status Put(const SegmentRecord& s) override {
    if (db_.read_only()) return Status::FailedPrecondition("store is open read-only");
    Stmt st(db_.raw(), "INSERT INTO segments(name, rule, description, created_at, updated_at) "
                       "VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(name) DO UPDATE SET rule = excluded.rule, "
                       "description = excluded.description, updated_at = excluded.updated_at");
    st.Bind(1, s.name).Bind(2, s.rule).Bind(3, s.description).Bind(4, s.created_at).Bind(5, s.updated_at);
    if (st.Step() != SQLITE_DONE) return db_.Error("put segment");
    return Status::Ok();
  }

  Status Delete(const std::string& name) override {
    if (db_.read_only()) return Status::FailedPrecondition("store is open read-only");
    Stmt st(db_.raw(), "DELETE FROM segments WHERE name = ?1");
    st.Bind(1, name);
    if (st.Step() != SQLITE_DONE) return db_.Error("delete segment");
    if (sqlite3_changes(db_.raw()) == 0) return Status::NotFound("no segment named '" + name + "'");
    return Status::Ok();
  }

  Result<std::optional<SegmentRecord>> Find(const std::string& name) override {
    Stmt st(db_.raw(), "SELECT name, rule, description, created_at, updated_at FROM segments WHERE name = ?1");
    st.Bind(1, name);
    int rc = st.Step();
    if (rc == SQLITE_ROW) return std::optional<SegmentRecord>(Read(st));
    if (rc == SQLITE_DONE) return std::optional<SegmentRecord>();
    return db_.Error("find segment");
  }

  Result<std::vector<SegmentRecord>> List() override {
    Stmt st(db_.raw(), "SELECT name, rule, description, created_at, updated_at FROM segments ORDER BY name");
    std::vector<SegmentRecord> out;
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) out.push_back(Read(st));
    if (rc != SQLITE_DONE) return db_.Error("list segments");
    return out;
  }

 private:
  static SegmentRecord Read(Stmt& st) { return SegmentRecord{st.Text(0), st.Text(1), st.Text(2), st.Int(3), st.Int(4)}; }
  Db& db_;
};

// ---- users, teams, sessions (their own small transactions) ----

class SqliteUsers final : public UserRepository {
 public:
  explicit SqliteUsers(Db& db) : db_(db) {}

  Result<UserRecord> Create(const UserRecord& u) override {
    if (db_.read_only()) return Status::FailedPrecondition("store is open read-only");
    Stmt st(db_.raw(), "INSERT INTO users(email, password_hash, role, team_id, totp_secret, totp_last_step, created_at, "
                       "disabled_at, password_changed_at, failed_logins, locked_until) "
                       "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
    st.Bind(1, u.email).Bind(2, u.password_hash).Bind(3, u.role).Bind(4, u.team_id).Bind(5, u.totp_secret)
        .Bind(6, u.totp_last_step).Bind(7, u.created_at).Bind(8, u.disabled_at).Bind(9, u.password_changed_at)
        .Bind(10, u.failed_logins).Bind(11, u.locked_until);
    const int rc = st.Step();
    if (rc == SQLITE_CONSTRAINT) return Status::AlreadyExists("a user with this e-mail exists");
    if (rc != SQLITE_DONE) return db_.Error("create user");
    UserRecord out = u;
    out.id = sqlite3_last_insert_rowid(db_.raw());
    return out;
  }

  Result<std::optional<UserRecord>> Find(std::int64_t id) override {
    Stmt st(db_.raw(), (std::string(kSelect) + " WHERE id = ?1").c_str());
    st.Bind(1, id);
    return One(st);
  }

  Result<std::optional<UserRecord>> FindByEmail(const std::string& email) override {
    Stmt st(db_.raw(), (std::string(kSelect) + " WHERE email = ?1").c_str());  // the column is NOCASE
    st.Bind(1, email);
    return One(st);
  }

  Result<std::vector<UserRecord>> List() override {
    Stmt st(db_.raw(), (std::string(kSelect) + " ORDER BY id").c_str());
    std::vector<UserRecord> out;
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) out.push_back(Read(st));
    if (rc != SQLITE_DONE) return db_.Error("list users");
    return out;
  }

  Status Update(std::int64_t id, const UserUpdate& c) override {
    if (db_.read_only()) return Status::FailedPrecondition("store is open read-only");
    std::string sql = "UPDATE users SET id = id";
    int n = 1;
    const auto col = [&](const char* name) { sql += std::string(", ") + name + " = ?" + std::to_string(++n); };
    if (c.role) col("role");
    if (c.team_id) col("team_id");
    if (c.password_hash) col("password_hash");
    if (c.password_changed_at) col("password_changed_at");
    if (c.totp_secret) {
      col("totp_secret");
      sql += ", totp_last_step = 0";
    }
    if (c.disabled_at) col("disabled_at");
    if (c.failed_logins) col("failed_logins");
    if (c.locked_until) col("locked_until");
    sql += " WHERE id = ?1";
    Stmt st(db_.raw(), sql.c_str());
    st.Bind(1, id);
    int i = 1;
    if (c.role) st.Bind(++i, *c.role);
    if (c.team_id) st.Bind(++i, *c.team_id);
    if (c.password_hash) st.Bind(++i, *c.password_hash);
    if (c.password_changed_at) st.Bind(++i, *c.password_changed_at);
    if (c.totp_secret) st.Bind(++i, *c.totp_secret);
    if (c.disabled_at) st.Bind(++i, *c.disabled_at);
    if (c.failed_logins) st.Bind(++i, *c.failed_logins);
    if (c.locked_until) st.Bind(++i, *c.locked_until);
    if (st.Step() != SQLITE_DONE) return db_.Error("update user");
    if (sqlite3_changes(db_.raw()) == 0) return Status::NotFound("no user with id " + std::to_string(id));
    return Status::Ok();
  }

  Result<bool> AdvanceTotpStep(std::int64_t id, std::int64_t step) override {
    if (db_.read_only()) return Status::FailedPrecondition("store is open read-only");
    Stmt st(db_.raw(), "UPDATE users SET totp_last_step = ?2 WHERE id = ?1 AND totp_last_step < ?2");
    st.Bind(1, id).Bind(2, step);
    if (st.Step() != SQLITE_DONE) return db_.Error("advance totp step");
    if (sqlite3_changes(db_.raw()) > 0) return true;
    TP_ASSIGN_OR_RETURN(auto user, Find(id));
    if (!user) return Status::NotFound("no user with id " + std::to_string(id));
    return false;
  }

  Result<int> AddFailedLogin(std::int64_t id) override {
    if (db_.read_only()) return Status::FailedPrecondition("store is open read-only");
    Stmt st(db_.raw(), "UPDATE users SET failed_logins = failed_logins + 1 WHERE id = ?1 RETURNING failed_logins");
    st.Bind(1, id);
    const int rc = st.Step();
    if (rc == SQLITE_ROW) {
      const int n = static_cast<int>(st.Int(0));
      st.Step();
      return n;
    }
    if (rc == SQLITE_DONE) return Status::NotFound("no user with id " + std::to_string(id));
    return db_.Error("count failed login");
  }

 private:
  static constexpr const char* kSelect =
      "SELECT id, email, password_hash, role, team_id, totp_secret, totp_last_step, created_at, disabled_at, "
      "password_changed_at, failed_logins, locked_until FROM users";
  static UserRecord Read(Stmt& st) {
    UserRecord u;
    u.id = st.Int(0);
    u.email = st.Text(1);
    u.password_hash = st.Text(2);
    u.role = st.Text(3);
    u.team_id = st.Int(4);
    u.totp_secret = st.Text(5);
    u.totp_last_step = st.Int(6);
    u.created_at = st.Int(7);
    u.disabled_at = st.Int(8);
    u.password_changed_at = st.Int(9);
    u.failed_logins = static_cast<int>(st.Int(10));
    u.locked_until = st.Int(11);
    return u;
  }
  Result<std::optional<UserRecord>> One(Stmt& st) {
    const int rc = st.Step();
    if (rc == SQLITE_ROW) return std::optional<UserRecord>(Read(st));
    if (rc == SQLITE_DONE) return std::optional<UserRecord>();
    return db_.Error("find user");
  }
  Db& db_;
};

class SqliteTeams final : public TeamRepository {
 public:
  explicit SqliteTeams(Db& db) : db_(db) {}

  Result<TeamRecord> Create(const std::string& name, Millis now) override {
    if (db_.read_only()) return Status::FailedPrecondition("store is open read-only");
    Stmt st(db_.raw(), "INSERT INTO teams(name, created_at) VALUES(?1, ?2)");
    st.Bind(1, name).Bind(2, now);
    const int rc = st.Step();
    if (rc == SQLITE_CONSTRAINT) return Status::AlreadyExists("a team named '" + name + "' exists");
    if (rc != SQLITE_DONE) return db_.Error("create team");
    return TeamRecord{sqlite3_last_insert_rowid(db_.raw()), name, now, {}};
  }

  Result<std::optional<TeamRecord>> Find(std::int64_t id) override {
    Stmt st(db_.raw(), "SELECT id, name, created_at FROM teams WHERE id = ?1");
    st.Bind(1, id);
    return One(st);
  }

  Result<std::optional<TeamRecord>> FindByName(const std::string& name) override {
    Stmt st(db_.raw(), "SELECT id, name, created_at FROM teams WHERE name = ?1");
    st.Bind(1, name);
    return One(st);
  }

  Result<std::vector<TeamRecord>> List() override {
    Stmt st(db_.raw(), "SELECT id, name, created_at FROM teams ORDER BY id");
    std::vector<TeamRecord> out;
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) out.push_back(TeamRecord{st.Int(0), st.Text(1), st.Int(2), {}});
    if (rc != SQLITE_DONE) return db_.Error("list teams");
    for (TeamRecord& t : out) {
      TP_ASSIGN_OR_RETURN(t.supervisors, Supervisors(t.id));
    }
    return out;
  }

  Status AddSupervisor(std::int64_t team_id, std::int64_t user_id) override {
    if (db_.read_only()) return Status::FailedPrecondition("store is open read-only");
    TP_ASSIGN_OR_RETURN(auto team, Find(team_id));
    if (!team) return Status::NotFound("no team with id " + std::to_string(team_id));
    Stmt st(db_.raw(), "INSERT OR IGNORE INTO team_supervisors(team_id, user_id) VALUES(?1, ?2)");
    st.Bind(1, team_id).Bind(2, user_id);
    if (st.Step() != SQLITE_DONE) return db_.Error("add supervisor");
    return Status::Ok();
  }

  Status RemoveSupervisor(std::int64_t team_id, std::int64_t user_id) override {
    if (db_.read_only()) return Status::FailedPrecondition("store is open read-only");
    Stmt st(db_.raw(), "DELETE FROM team_supervisors WHERE team_id = ?1 AND user_id = ?2");
    st.Bind(1, team_id).Bind(2, user_id);
    if (st.Step() != SQLITE_DONE) return db_.Error("remove supervisor");
    if (sqlite3_changes(db_.raw()) == 0) {
      return Status::NotFound("user " + std::to_string(user_id) + " does not supervise this team");
    }
    return Status::Ok();
  }

 private:
  Result<std::vector<std::int64_t>> Supervisors(std::int64_t team_id) {
    Stmt st(db_.raw(), "SELECT user_id FROM team_supervisors WHERE team_id = ?1 ORDER BY user_id");
    st.Bind(1, team_id);
    std::vector<std::int64_t> out;
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) out.push_back(st.Int(0));
    if (rc != SQLITE_DONE) return db_.Error("list supervisors");
    return out;
  }
  Result<std::optional<TeamRecord>> One(Stmt& st) {
    const int rc = st.Step();
    if (rc == SQLITE_DONE) return std::optional<TeamRecord>();
    if (rc != SQLITE_ROW) return db_.Error("find team");
    TeamRecord t{st.Int(0), st.Text(1), st.Int(2), {}};
    TP_ASSIGN_OR_RETURN(t.supervisors, Supervisors(t.id));
    return std::optional<TeamRecord>(std::move(t));
  }
  Db& db_;
};

class SqliteSessions final : public SessionRepository {
 public:
  explicit SqliteSessions(Db& db) : db_(db) {}

  Result<SessionRecord> Create(const SessionRecord& x) override {
    if (db_.read_only()) return Status::FailedPrecondition("store is open read-only");
    Stmt st(db_.raw(), "INSERT INTO sessions(token_hash, user_id, csrf_hash, created_at, last_seen_at, revoked_at) "
                       "VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
    st.Bind(1, x.token_hash).Bind(2, x.user_id).Bind(3, x.csrf_hash).Bind(4, x.created_at).Bind(5, x.last_seen_at)
        .Bind(6, x.revoked_at);
    const int rc = st.Step();
    if (rc == SQLITE_CONSTRAINT) return Status::AlreadyExists("a session with this token hash exists");
    if (rc != SQLITE_DONE) return db_.Error("create session");
    SessionRecord out = x;
    out.id = sqlite3_last_insert_rowid(db_.raw());
    return out;
  }

  Result<std::optional<SessionRecord>> FindByHash(const std::string& token_hash) override {
    Stmt& st = db_.Prepared("SELECT id, token_hash, user_id, csrf_hash, created_at, last_seen_at, revoked_at "
                            "FROM sessions WHERE token_hash = ?1");
    st.Reset();
    ResetOnExit done(st);
    st.Bind(1, token_hash);
    const int rc = st.Step();
    std::optional<SessionRecord> out;
    if (rc == SQLITE_ROW) {
      out = SessionRecord{st.Int(0), st.Text(1), st.Int(2), st.Text(3), st.Int(4), st.Int(5), st.Int(6)};
    }
    st.Reset();
    if (rc == SQLITE_ROW || rc == SQLITE_DONE) return out;
    return db_.Error("find session");
  }

  Status Touch(std::int64_t id, Millis now) override {
    return Change("UPDATE sessions SET last_seen_at = max(last_seen_at, ?2) WHERE id = ?1", id, now, "touch session");
  }

  Status Revoke(std::int64_t id, Millis now) override {
    return Change("UPDATE sessions SET revoked_at = CASE WHEN revoked_at = 0 THEN ?2 ELSE revoked_at END WHERE id = ?1",
                  id, now, "revoke session");
  }

  Result<std::int64_t> RevokeForUser(std::int64_t user_id, Millis now) override {
    if (db_.read_only()) return Status::FailedPrecondition("store is open read-only");
    Stmt st(db_.raw(), "UPDATE sessions SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at = 0");
    st.Bind(1, user_id).Bind(2, now);
    if (st.Step() != SQLITE_DONE) return db_.Error("revoke sessions");
    return static_cast<std::int64_t>(sqlite3_changes(db_.raw()));
  }

  Result<std::int64_t> DeleteExpired(Millis created_before, Millis seen_before) override {
    if (db_.read_only()) return Status::FailedPrecondition("store is open read-only");
    Stmt st(db_.raw(), "DELETE FROM sessions WHERE revoked_at <> 0 OR created_at < ?1 OR last_seen_at < ?2");
    st.Bind(1, created_before).Bind(2, seen_before);
    if (st.Step() != SQLITE_DONE) return db_.Error("delete expired sessions");
    return static_cast<std::int64_t>(sqlite3_changes(db_.raw()));
  }

 private:
  Status Change(const char* sql, std::int64_t id, Millis now, const char* what) {
    if (db_.read_only()) return Status::FailedPrecondition("store is open read-only");
    Stmt st(db_.raw(), sql);
    st.Bind(1, id).Bind(2, now);
    if (st.Step() != SQLITE_DONE) return db_.Error(what);
    if (sqlite3_changes(db_.raw()) == 0) return Status::NotFound("no session with id " + std::to_string(id));
    return Status::Ok();
  }
  Db& db_;
};

// ---- the audit log (its own small transactions) ----

class SqliteAudit final : public AuditRepository {
 public:
  explicit SqliteAudit(Db& db) : db_(db) {}

  Result<std::vector<AuditEntryRecord>> Append(std::span<const AuditEntryRecord> entries,
                                               const AuditChainFn& chain) override {
    if (db_.read_only()) return Status::FailedPrecondition("store is open read-only");
    if (db_.in_txn()) return Status::FailedPrecondition("audit entries are appended outside other transactions");
    // BEGIN IMMEDIATE takes the database's write lock before the head is read: another
    // connection (process) appending waits here (busy_timeout), so the chain has one order.
    TP_ASSIGN_OR_RETURN(std::unique_ptr<Transaction> txn, db_.Begin());
    std::int64_t seq = 0;
    std::string prev(64, '0');
    {
      Stmt st(db_.raw(), "SELECT seq, hash FROM audit_entries ORDER BY seq DESC LIMIT 1");
      const int rc = st.Step();
      if (rc == SQLITE_ROW) {
        seq = st.Int(0);
        prev = st.Text(1);
      } else if (rc != SQLITE_DONE) {
        return db_.Error("read the audit head");
      }
    }
    std::vector<AuditEntryRecord> out;
    out.reserve(entries.size());
    Stmt ins(db_.raw(), "INSERT INTO audit_entries(seq, time, actor, action, target, details, prev_hash, hash) "
                        "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    for (const AuditEntryRecord& in : entries) {
      AuditEntryRecord e = in;
      e.seq = ++seq;
      e.prev_hash = prev;
      e.hash = chain(prev, e);
      prev = e.hash;
      ins.Reset();
      ins.Bind(1, e.seq).Bind(2, e.time).Bind(3, e.actor).Bind(4, e.action).Bind(5, e.target)
          .Bind(6, e.details_json).Bind(7, e.prev_hash).Bind(8, e.hash);
      if (ins.Step() != SQLITE_DONE) return db_.Error("append audit entry");
      out.push_back(std::move(e));
    }
    TP_RETURN_IF_ERROR(txn->Commit());
    return out;
  }

  Result<std::optional<AuditEntryRecord>> Head() override {
    Stmt st(db_.raw(), (std::string(kSelect) + " ORDER BY seq DESC LIMIT 1").c_str());
    const int rc = st.Step();
    if (rc == SQLITE_ROW) return std::optional<AuditEntryRecord>(Read(st));
    if (rc == SQLITE_DONE) return std::optional<AuditEntryRecord>();
    return db_.Error("read the audit head");
  }

  Status Scan(std::int64_t after, const std::function<bool(AuditEntryRecord&&)>& fn) override {
    Stmt st(db_.raw(), (std::string(kSelect) + " WHERE seq > ?1 ORDER BY seq").c_str());
    st.Bind(1, after);
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      if (!fn(Read(st))) return Status::Ok();
    }
    if (rc != SQLITE_DONE) return db_.Error("scan the audit log");
    return Status::Ok();
  }

  Result<std::vector<AuditEntryRecord>> Query(const AuditQuery& q) override {
    Stmt st(db_.raw(), (std::string(kSelect) +
                        " WHERE (?1 = '' OR actor = ?1) AND (?2 = '' OR action = ?2) AND (?3 = 0 OR time >= ?3) "
                        "AND (?4 = 0 OR time < ?4) AND (?5 = 0 OR seq < ?5) ORDER BY seq DESC LIMIT ?6")
                           .c_str());
    st.Bind(1, q.actor).Bind(2, q.action).Bind(3, q.from).Bind(4, q.to).Bind(5, q.before_seq).Bind(6, q.limit);
    std::vector<AuditEntryRecord> out;
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) out.push_back(Read(st));
    if (rc != SQLITE_DONE) return db_.Error("query the audit log");
    return out;
  }

  Result<AuditCheckpointRecord> AddCheckpoint(const AuditCheckpointRecord& c) override {
    if (db_.read_only()) return Status::FailedPrecondition("store is open read-only");
    Stmt st(db_.raw(), "INSERT INTO audit_checkpoints(count, head_hash, time, key_id, signature) "
                       "VALUES(?1, ?2, ?3, ?4, ?5)");
    st.Bind(1, c.count).Bind(2, c.head_hash).Bind(3, c.time).Bind(4, c.key_id).Bind(5, c.signature);
    if (st.Step() != SQLITE_DONE) return db_.Error("add audit checkpoint");
    AuditCheckpointRecord out = c;
    out.id = sqlite3_last_insert_rowid(db_.raw());
    return out;
  }

  Result<std::vector<AuditCheckpointRecord>> Checkpoints() override {
    Stmt st(db_.raw(), "SELECT id, count, head_hash, time, key_id, signature FROM audit_checkpoints ORDER BY id");
    std::vector<AuditCheckpointRecord> out;
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      out.push_back(AuditCheckpointRecord{st.Int(0), st.Int(1), st.Text(2), st.Int(3), st.Text(4), st.Text(5)});
    }
    if (rc != SQLITE_DONE) return db_.Error("read audit checkpoints");
    return out;
  }

 private:
  static constexpr const char* kSelect =
      "SELECT seq, time, actor, action, target, details, prev_hash, hash FROM audit_entries";
  static AuditEntryRecord Read(Stmt& st) {
    return AuditEntryRecord{st.Int(0),  st.Int(1),  st.Text(2), st.Text(3),
                            st.Text(4), st.Text(5), st.Text(6), st.Text(7)};
  }
  Db& db_;
};

class SqliteSigningKeys final : public SigningKeyRepository {
 public:
  explicit SqliteSigningKeys(Db& db) : db_(db) {}

  Status Put(const SigningKeyRecord& key) override {
    if (db_.read_only()) return Status::FailedPrecondition("store is open read-only");
    Stmt st(db_.raw(), "INSERT INTO signing_keys(key_id, public_key, created_at) VALUES(?1, ?2, ?3) "
                       "ON CONFLICT(key_id) DO NOTHING");
    st.Bind(1, key.key_id).Bind(2, key.public_key).Bind(3, key.created_at);
    if (st.Step() != SQLITE_DONE) return db_.Error("record signing key");
    if (sqlite3_changes(db_.raw()) > 0) return Status::Ok();
    Stmt check(db_.raw(), "SELECT public_key FROM signing_keys WHERE key_id = ?1");
    check.Bind(1, key.key_id);
    if (check.Step() != SQLITE_ROW) return db_.Error("read signing key");
    if (check.Text(0) != key.public_key) {
      return Status::AlreadyExists("another public key is recorded under key id " + key.key_id);
    }
    return Status::Ok();
  }

  Result<std::vector<SigningKeyRecord>> List() override {
    Stmt st(db_.raw(), "SELECT key_id, public_key, created_at FROM signing_keys ORDER BY created_at, key_id");
    std::vector<SigningKeyRecord> out;
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) out.push_back(SigningKeyRecord{st.Text(0), st.Text(1), st.Int(2)});
    if (rc != SQLITE_DONE) return db_.Error("list signing keys");
    return out;
  }

 private:
  Db& db_;
};

// ---- encryption at rest: the keyring ----

// Master key rotation's rewrites (store/rekey_repository.h).
class SqliteRekey final : public RekeyRepository {
 public:
  explicit SqliteRekey(Db& db) : db_(db) {}
  Result<std::vector<IdentifierRecord>> IdentifiersAfter(IdentifierId after, int limit) override {
    Stmt st(db_.raw(), "SELECT id, key, kind, value, customer_id, blocked, joins, first_seen, first_message_id "
                       "FROM identifiers WHERE id > ?1 ORDER BY id LIMIT ?2");
    if (!st.ok()) return db_.Error("prepare identifiers after");
    st.Bind(1, after.value()).Bind(2, limit);
    std::vector<IdentifierRecord> out;
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      IdentifierRecord r;
      r.id = IdentifierId(st.Int(0));
      r.lookup_key = st.Int(1);
      r.kind = st.Text(2);
      r.value = st.Text(3);
      r.customer = CustomerId(st.Int(4));
      r.blocked = st.Int(5) != 0;
      r.joins = static_cast<int>(st.Int(6));
      r.first_seen = st.Int(7);
      r.first_message_id = st.Text(8);
      out.push_back(std::move(r));
    }
    if (rc != SQLITE_DONE) return db_.Error("read identifiers after");
    return out;
  }
  Status SetIdentifierKeys(Transaction& txn, std::span<const IdentifierRecord> identifiers) override {
    db_.RequireTxn(txn);
    Stmt& st = db_.Prepared("UPDATE identifiers SET key = ?2 WHERE id = ?1");
    for (const IdentifierRecord& r : identifiers) {
      st.Reset();
      st.Bind(1, r.id.value()).Bind(2, r.lookup_key);
      if (st.Step() != SQLITE_DONE) return db_.Error("set identifier key");
    }
    return Status::Ok();
  }
  Result<std::vector<SealedCell>> CellsAfter(SealedColumn column, const std::string& after, int limit) override {
    const char* sql = nullptr;
    switch (column) {
      case SealedColumn::kOutboxPayload:
        sql = "SELECT id, idempotency_key, payload FROM outbox WHERE id > ?1 ORDER BY id LIMIT ?2";
        break;
      case SealedColumn::kAttachmentData:
        sql = "SELECT hash, hash, data FROM attachments WHERE hash > ?1 ORDER BY hash LIMIT ?2";
        break;
      case SealedColumn::kUserTotpSecret:
        sql = "SELECT id, email, totp_secret FROM users WHERE id > ?1 AND totp_secret <> '' ORDER BY id LIMIT ?2";
        break;
    }
    Stmt st(db_.raw(), sql);
    if (!st.ok()) return db_.Error("prepare sealed cells");
    if (column == SealedColumn::kAttachmentData) {
      st.Bind(1, after);
    } else {
      st.Bind(1, static_cast<std::int64_t>(after.empty() ? 0 : std::stoll(after)));
    }
    st.Bind(2, limit);
    std::vector<SealedCell> out;
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      SealedCell c;
      c.key = column == SealedColumn::kAttachmentData ? st.Text(0) : std::to_string(st.Int(0));
      c.row = st.Text(1);
      c.value = column == SealedColumn::kAttachmentData ? std::string(st.Blob(2)) : st.Text(2);
      out.push_back(std::move(c));
    }
    if (rc != SQLITE_DONE) return db_.Error("read sealed cells");
    return out;
  }
  Result<std::int64_t> ReplaceCells(Transaction& txn, SealedColumn column,
                                    std::span<const SealedCellUpdate> updates) override {
    db_.RequireTxn(txn);
    const char* sql = nullptr;
    switch (column) {
      case SealedColumn::kOutboxPayload:
        sql = "UPDATE outbox SET payload = ?2 WHERE id = ?1 AND payload = ?3";
        break;
      case SealedColumn::kAttachmentData:
        sql = "UPDATE attachments SET data = ?2 WHERE hash = ?1 AND data = ?3";
        break;
      case SealedColumn::kUserTotpSecret:
        sql = "UPDATE users SET totp_secret = ?2 WHERE id = ?1 AND totp_secret = ?3";
        break;
    }
    Stmt st(db_.raw(), sql);
    if (!st.ok()) return db_.Error("prepare replace sealed cells");
    std::int64_t n = 0;
    for (const SealedCellUpdate& u : updates) {
      st.Reset();
      if (column == SealedColumn::kAttachmentData) {
        st.Bind(1, u.key).BindBlob(2, u.new_value).BindBlob(3, u.old_value);
      } else {
        st.Bind(1, static_cast<std::int64_t>(std::stoll(u.key))).Bind(2, u.new_value).Bind(3, u.old_value);
      }
      if (st.Step() != SQLITE_DONE) return db_.Error("replace sealed cell");
      n += sqlite3_changes(db_.raw());
    }
    return n;
  }

 private:
  Db& db_;
};

class SqliteKeyring final : public KeyringRepository {
 public:
  explicit SqliteKeyring(Db& db) : db_(db) {}

  Status AddKeys(std::span<const WrappedKeyRecord> keys) override {
    return Write(keys, "INSERT INTO keyring(customer_id, key_version, wrapped) VALUES(?1, ?2, ?3) "
                       "ON CONFLICT(customer_id) DO NOTHING");
  }
  Status ReplaceKeys(std::span<const WrappedKeyRecord> keys) override {
    return Write(keys, "UPDATE keyring SET key_version = ?2, wrapped = ?3 WHERE customer_id = ?1 AND wrapped <> ''");
  }
  Result<std::optional<WrappedKeyRecord>> FindKey(CustomerId customer) override {
    Stmt& st = db_.Prepared("SELECT customer_id, key_version, wrapped FROM keyring WHERE customer_id = ?1");
    st.Reset();
    ResetOnExit done(st);
    st.Bind(1, customer.value());
    const int rc = st.Step();
    if (rc == SQLITE_ROW) {
      return std::optional<WrappedKeyRecord>(
          WrappedKeyRecord{CustomerId(st.Int(0)), static_cast<int>(st.Int(1)), st.Text(2)});
    }
    if (rc == SQLITE_DONE) return std::optional<WrappedKeyRecord>();
    return db_.Error("find data key");
  }
  Status ScanKeys(const std::function<void(WrappedKeyRecord&&)>& fn) override {
    Stmt st(db_.raw(), "SELECT customer_id, key_version, wrapped FROM keyring ORDER BY customer_id");
    if (!st.ok()) return db_.Error("prepare scan keyring");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      fn(WrappedKeyRecord{CustomerId(st.Int(0)), static_cast<int>(st.Int(1)), st.Text(2)});
    }
    return rc == SQLITE_DONE ? Status::Ok() : db_.Error("scan keyring");
  }
  Status DestroyKeys(std::span<const CustomerId> customers) override {
    if (db_.read_only()) return Status::FailedPrecondition("store is open read-only");
    if (db_.in_txn()) return Status::FailedPrecondition("the keyring must not join another transaction");
    // secure_delete: the freed cells are overwritten with zeros, not left in free pages.
    TP_RETURN_IF_ERROR(db_.Exec("PRAGMA secure_delete = ON"));
    TP_ASSIGN_OR_RETURN(auto txn, db_.Begin());
    Stmt st(db_.raw(), "DELETE FROM keyring WHERE customer_id = ?1");
    for (CustomerId c : customers) {
      st.Reset();
      st.Bind(1, c.value());
      if (st.Step() != SQLITE_DONE) return db_.Error("destroy data key");
    }
    TP_RETURN_IF_ERROR(txn->Commit());
    // The WAL still holds the pages that had the keys: fold it in and truncate it.
    return db_.Exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  Status PutSetting(const std::string& name, const std::string& value) override {
    if (db_.read_only()) return Status::FailedPrecondition("store is open read-only");
    Stmt st(db_.raw(), "INSERT INTO privacy_settings(name, value) VALUES(?1, ?2) "
                       "ON CONFLICT(name) DO UPDATE SET value = excluded.value");
    st.Bind(1, name).Bind(2, value);
    if (st.Step() != SQLITE_DONE) return db_.Error("put privacy setting");
    return Status::Ok();
  }
  Result<std::optional<std::string>> Setting(const std::string& name) override {
    Stmt st(db_.raw(), "SELECT value FROM privacy_settings WHERE name = ?1");
    st.Bind(1, name);
    const int rc = st.Step();
    if (rc == SQLITE_ROW) return std::optional<std::string>(st.Text(0));
    if (rc == SQLITE_DONE) return std::optional<std::string>();
    return db_.Error("read privacy setting");
  }

 private:
  Status Write(std::span<const WrappedKeyRecord> keys, const char* sql) {
    if (keys.empty()) return Status::Ok();
    if (db_.read_only()) return Status::FailedPrecondition("store is open read-only");
    if (db_.in_txn()) return Status::FailedPrecondition("the keyring must not join another transaction");
    TP_ASSIGN_OR_RETURN(auto txn, db_.Begin());
    Stmt st(db_.raw(), sql);
    for (const WrappedKeyRecord& k : keys) {
      st.Reset();
      st.Bind(1, k.customer.value()).Bind(2, k.key_version).Bind(3, k.wrapped);
      if (st.Step() != SQLITE_DONE) return db_.Error("write data key");
    }
    return txn->Commit();
  }
  Db& db_;
};

// ---- differential-privacy budgets ----

class SqliteDpBudgets final : public DpBudgetRepository {
 public:
  explicit SqliteDpBudgets(Db& db) : db_(db) {}

  Status SetBudget(const std::string& dataset, std::int64_t epsilon_micros, Millis now) override {
    if (db_.read_only()) return Status::FailedPrecondition("store is open read-only");
    if (epsilon_micros <= 0) return Status::InvalidArgument("a privacy budget must be above 0");
    Stmt st(db_.raw(), "INSERT INTO dp_budgets(dataset, epsilon_micros, updated_at) VALUES(?1, ?2, ?3) "
                       "ON CONFLICT(dataset) DO UPDATE SET epsilon_micros = excluded.epsilon_micros, "
                       "updated_at = excluded.updated_at");
    st.Bind(1, dataset).Bind(2, epsilon_micros).Bind(3, now);
    if (st.Step() != SQLITE_DONE) return db_.Error("set privacy budget");
    return Status::Ok();
  }

  Result<std::optional<std::int64_t>> Budget(const std::string& dataset) override {
    Stmt st(db_.raw(), "SELECT epsilon_micros FROM dp_budgets WHERE dataset = ?1");
    st.Bind(1, dataset);
    const int rc = st.Step();
    if (rc == SQLITE_ROW) return std::optional<std::int64_t>(st.Int(0));
    if (rc == SQLITE_DONE) return std::optional<std::int64_t>();
    return db_.Error("read privacy budget");
  }

  Result<std::int64_t> Spent(const std::string& dataset) override {
    Stmt st(db_.raw(), "SELECT COALESCE(SUM(epsilon_micros), 0) FROM dp_releases WHERE dataset = ?1");
    st.Bind(1, dataset);
    if (st.Step() != SQLITE_ROW) return db_.Error("read privacy spend");
    return st.Int(0);
  }

  Result<DpRelease> Spend(const DpRelease& release, std::int64_t default_budget_micros) override {
    if (db_.read_only()) return Status::FailedPrecondition("store is open read-only");
    if (release.epsilon_micros <= 0) return Status::InvalidArgument("a release must spend an epsilon above 0");
    if (db_.in_txn()) return Status::FailedPrecondition("a privacy spend must not join another transaction");
    // BEGIN IMMEDIATE: the database's write lock, so two processes cannot both pass the check.
    TP_ASSIGN_OR_RETURN(auto txn, db_.Begin());
    TP_ASSIGN_OR_RETURN(std::optional<std::int64_t> configured, Budget(release.dataset));
    TP_ASSIGN_OR_RETURN(std::int64_t spent, Spent(release.dataset));
    const std::int64_t budget = configured.value_or(default_budget_micros);
    if (spent + release.epsilon_micros > budget) {
      return DpBudgetExceeded(release.dataset, spent, budget, release.epsilon_micros);  // rolls back
    }
    Stmt st(db_.raw(), "INSERT INTO dp_releases(dataset, report, epsilon_micros, actor, released_at) "
                       "VALUES(?1, ?2, ?3, ?4, ?5)");
    st.Bind(1, release.dataset).Bind(2, release.report).Bind(3, release.epsilon_micros).Bind(4, release.actor)
        .Bind(5, release.released_at);
    if (st.Step() != SQLITE_DONE) return db_.Error("record privacy spend");
    DpRelease stored = release;
    stored.id = sqlite3_last_insert_rowid(db_.raw());
    TP_RETURN_IF_ERROR(txn->Commit());
    return stored;
  }

  Result<std::vector<DpRelease>> Releases(const std::string& dataset) override {
    Stmt st(db_.raw(), "SELECT id, dataset, report, epsilon_micros, actor, released_at FROM dp_releases "
                       "WHERE dataset = ?1 ORDER BY id");
    st.Bind(1, dataset);
    std::vector<DpRelease> out;
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      out.push_back(DpRelease{st.Int(0), st.Text(1), st.Text(2), st.Int(3), st.Text(4), st.Int(5)});
    }
    if (rc != SQLITE_DONE) return db_.Error("list privacy releases");
    return out;
  }

  Result<std::vector<std::string>> Datasets() override {
    Stmt st(db_.raw(), "SELECT dataset FROM dp_budgets UNION SELECT dataset FROM dp_releases ORDER BY 1");
    std::vector<std::string> out;
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) out.push_back(st.Text(0));
    if (rc != SQLITE_DONE) return db_.Error("list privacy data sets");
    return out;
  }

 private:
  Db& db_;
};

// ---- the outbox's deliveries ----

#define TP_OUTBOX_COLUMNS \
  "id, kind, target, event, payload, idempotency_key, state, attempts, next_attempt_at, last_error, created_at, " \
  "delivered_at"

class SqliteOutbox final : public OutboxRepository {
 public:
  explicit SqliteOutbox(Db& db) : db_(db) {}

  Result<std::int64_t> Enqueue(Transaction& txn, const Delivery& d) override {
    db_.RequireTxn(txn);
    if (d.idempotency_key.empty()) return Status::InvalidArgument("a delivery needs an idempotency key");
    if (d.target.empty()) return Status::InvalidArgument("a delivery needs a target");
    Stmt& ins = db_.Prepared(
        "INSERT INTO outbox(kind, target, event, payload, idempotency_key, state, attempts, next_attempt_at, "
        "last_error, created_at, delivered_at) VALUES(?1, ?2, ?3, ?4, ?5, 'pending', 0, ?6, '', ?7, 0) "
        "ON CONFLICT(idempotency_key) DO NOTHING");
    ins.Reset();
    const std::string kind(DeliveryKindName(d.kind));
    ins.Bind(1, kind).Bind(2, d.target).Bind(3, d.event).Bind(4, d.payload).Bind(5, d.idempotency_key)
        .Bind(6, d.next_attempt_at).Bind(7, d.created_at);
    if (ins.Step() != SQLITE_DONE) return db_.Error("enqueue delivery");
    if (sqlite3_changes(db_.raw()) == 1) return sqlite3_last_insert_rowid(db_.raw());
    Stmt& find = db_.Prepared("SELECT id FROM outbox WHERE idempotency_key = ?1");
    find.Reset();
    ResetOnExit done(find);
    find.Bind(1, d.idempotency_key);
    if (find.Step() != SQLITE_ROW) return db_.Error("find delivery by key");
    return find.Int(0);
  }

  Result<std::vector<Delivery>> Claim(DeliveryKind kind, const std::string& target, Millis now, Millis claim_until,
                                      int limit) override {
    TP_RETURN_IF_ERROR(Writable());
    // One statement: atomic against every other connection (SQLite's write lock).
    Stmt& st = db_.Prepared(
        "UPDATE outbox SET state = 'delivering', attempts = attempts + 1, next_attempt_at = ?4 WHERE id IN ("
        "SELECT id FROM outbox WHERE kind = ?1 AND (?2 = '' OR target = ?2) "
        "AND state IN ('pending', 'failed', 'delivering') AND next_attempt_at <= ?3 "
        "ORDER BY next_attempt_at, id LIMIT ?5) RETURNING " TP_OUTBOX_COLUMNS);
    st.Reset();
    const std::string k(DeliveryKindName(kind));
    st.Bind(1, k).Bind(2, target).Bind(3, now).Bind(4, claim_until).Bind(5, limit);
    std::vector<Delivery> out;
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) out.push_back(Read(st));
    if (rc != SQLITE_DONE) {
      Status s = db_.Error("claim deliveries");
      st.Reset();
      return s;
    }
    st.Reset();
    std::sort(out.begin(), out.end(), [](const Delivery& a, const Delivery& b) { return a.id < b.id; });
    return out;
  }

  Status Finish(std::span<const DeliveryOutcome> outcomes) override {
    TP_RETURN_IF_ERROR(Writable());
    if (outcomes.empty()) return Status::Ok();
    TP_ASSIGN_OR_RETURN(auto txn, db_.Begin());
    Stmt& st = db_.Prepared(
        "UPDATE outbox SET state = ?2, next_attempt_at = ?3, last_error = ?4, "
        "attempts = attempts - CASE WHEN ?2 = 'pending' THEN 1 ELSE 0 END, "
        "delivered_at = CASE WHEN ?2 = 'delivered' THEN ?5 ELSE delivered_at END "
        "WHERE id = ?1 AND state = 'delivering'");
    for (const DeliveryOutcome& o : outcomes) {
      st.Reset();
      const std::string state(DeliveryStateName(o.state));
      st.Bind(1, o.id).Bind(2, state).Bind(3, o.next_attempt_at).Bind(4, o.error).Bind(5, o.at);
      if (st.Step() != SQLITE_DONE) {
        Status s = db_.Error("record delivery outcome");
        st.Reset();
        return s;
      }
    }
    st.Reset();
    return txn->Commit();
  }

  Result<std::int64_t> ReleaseClaims(Millis now) override {
    TP_RETURN_IF_ERROR(Writable());
    Stmt st(db_.raw(), "UPDATE outbox SET next_attempt_at = ?1 WHERE state = 'delivering'");
    st.Bind(1, now);
    if (st.Step() != SQLITE_DONE) return db_.Error("release delivery claims");
    return static_cast<std::int64_t>(sqlite3_changes(db_.raw()));
  }

  Result<std::int64_t> Retry(std::int64_t id, Millis now) override {
    TP_RETURN_IF_ERROR(Writable());
    Stmt st(db_.raw(), id > 0 ? "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?1 "
                                "WHERE id = ?2 AND state IN ('dead', 'failed')"
                              : "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?1 "
                                "WHERE state = 'dead'");
    st.Bind(1, now);
    if (id > 0) st.Bind(2, id);
    if (st.Step() != SQLITE_DONE) return db_.Error("retry deliveries");
    const std::int64_t n = sqlite3_changes(db_.raw());
    if (id > 0 && n == 0) return Status::NotFound("no dead or failed delivery with id " + std::to_string(id));
    return n;
  }

  Result<std::optional<Delivery>> Find(std::int64_t id) override {
    Stmt st(db_.raw(), "SELECT " TP_OUTBOX_COLUMNS " FROM outbox WHERE id = ?1");
    st.Bind(1, id);
    const int rc = st.Step();
    if (rc == SQLITE_ROW) return std::optional<Delivery>(Read(st));
    if (rc == SQLITE_DONE) return std::optional<Delivery>();
    return db_.Error("find delivery");
  }

  Result<std::vector<Delivery>> List(const DeliveryQuery& q) override {
    Stmt st(db_.raw(), "SELECT " TP_OUTBOX_COLUMNS " FROM outbox WHERE (?1 = '' OR state = ?1) AND (?2 = '' OR kind = ?2) "
                       "AND (?3 = '' OR target = ?3) AND (?4 <= 0 OR id < ?4) ORDER BY id DESC LIMIT ?5");
    const std::string state = q.state ? std::string(DeliveryStateName(*q.state)) : std::string();
    const std::string kind = q.kind ? std::string(DeliveryKindName(*q.kind)) : std::string();
    st.Bind(1, state).Bind(2, kind).Bind(3, q.target).Bind(4, q.before_id).Bind(5, q.limit);
    std::vector<Delivery> out;
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) out.push_back(Read(st));
    if (rc != SQLITE_DONE) return db_.Error("list deliveries");
    return out;
  }

  Result<std::array<std::int64_t, kDeliveryStateCount>> CountByState() override {
    Stmt st(db_.raw(), "SELECT state, count(*) FROM outbox GROUP BY state");
    std::array<std::int64_t, kDeliveryStateCount> out{};
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      if (auto s = ParseDeliveryState(st.Text(0))) out[static_cast<size_t>(*s)] = st.Int(1);
    }
    if (rc != SQLITE_DONE) return db_.Error("count deliveries");
    return out;
  }

  Result<std::optional<Millis>> NextDue(DeliveryKind kind, const std::string& target) override {
    Stmt st(db_.raw(), "SELECT min(next_attempt_at) FROM outbox WHERE kind = ?1 AND (?2 = '' OR target = ?2) "
                       "AND state IN ('pending', 'failed', 'delivering')");
    const std::string k(DeliveryKindName(kind));
    st.Bind(1, k).Bind(2, target);
    if (st.Step() != SQLITE_ROW) return db_.Error("next due delivery");
    if (st.IsNull(0)) return std::optional<Millis>();
    return std::optional<Millis>(st.Int(0));
  }

  Result<std::int64_t> PruneDelivered(Millis before) override {
    TP_RETURN_IF_ERROR(Writable());
    Stmt st(db_.raw(), "DELETE FROM outbox WHERE state = 'delivered' AND delivered_at < ?1");
    st.Bind(1, before);
    if (st.Step() != SQLITE_DONE) return db_.Error("prune deliveries");
    return static_cast<std::int64_t>(sqlite3_changes(db_.raw()));
  }

 private:
  static Delivery Read(Stmt& st) {
    Delivery d;
    d.id = st.Int(0);
    d.kind = ParseDeliveryKind(st.Text(1)).value_or(DeliveryKind::kWebhook);
    d.target = st.Text(2);
    d.event = st.Text(3);
    d.payload = st.Text(4);
    d.idempotency_key = st.Text(5);
    d.state = ParseDeliveryState(st.Text(6)).value_or(DeliveryState::kPending);
    d.attempts = static_cast<int>(st.Int(7));
    d.next_attempt_at = st.Int(8);
    d.last_error = st.Text(9);
    d.created_at = st.Int(10);
    d.delivered_at = st.Int(11);
    return d;
  }
  Status Writable() const {
    if (db_.read_only()) return Status::FailedPrecondition("store is open read-only");
    if (db_.in_txn()) return Status::FailedPrecondition("an outbox update must not join another transaction");
    return Status::Ok();
  }
  Db& db_;
};
#undef TP_OUTBOX_COLUMNS

// ---- consents (append-only) ----

class SqliteConsents final : public ConsentRepository {
 public:
  explicit SqliteConsents(Db& db) : db_(db) {}

  Status Add(Transaction& txn, std::span<const ConsentRecord> records) override {
    db_.RequireTxn(txn);
    return Insert(records, nullptr);
  }

  Result<std::vector<ConsentRecord>> Record(std::span<const ConsentRecord> records) override {
    if (db_.read_only()) return Status::FailedPrecondition("store is open read-only");
    if (db_.in_txn()) return Status::FailedPrecondition("a consent record must not join another transaction");
    TP_ASSIGN_OR_RETURN(auto txn, db_.Begin());
    std::vector<ConsentRecord> out;
    TP_RETURN_IF_ERROR(Insert(records, &out));
    TP_RETURN_IF_ERROR(txn->Commit());
    return out;
  }

  Result<std::vector<ConsentRecord>> ForCustomers(std::span<const CustomerId> customers) override {
    std::vector<ConsentRecord> out;
    const std::string sql = std::string(kSelect) + " WHERE customer_id = ?1";
    Stmt st(db_.raw(), sql.c_str());
    if (!st.ok()) return db_.Error("prepare read consents");
    for (CustomerId c : customers) {
      st.Reset();
      st.Bind(1, c.value());
      int rc;
      while ((rc = st.Step()) == SQLITE_ROW) out.push_back(Row(st));
      if (rc != SQLITE_DONE) return db_.Error("read consents");
    }
    std::sort(out.begin(), out.end(), [](const ConsentRecord& a, const ConsentRecord& b) { return a.id < b.id; });
    return out;
  }

  Status Scan(const std::function<void(ConsentRecord&&)>& fn) override {
    const std::string sql = std::string(kSelect) + " ORDER BY id";
    Stmt st(db_.raw(), sql.c_str());
    if (!st.ok()) return db_.Error("prepare scan consents");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) fn(Row(st));
    return rc == SQLITE_DONE ? Status::Ok() : db_.Error("scan consents");
  }

  Result<std::int64_t> Count() override { return db_.QueryInt("SELECT count(*) FROM consents"); }

 private:
  static constexpr std::string_view kSelect =
      "SELECT id, customer_id, purpose, channel, value, source, wording_version, at, actor FROM consents";
  static ConsentRecord Row(Stmt& st) {
    return ConsentRecord{st.Int(0),  CustomerId(st.Int(1)), st.Text(2), st.Text(3), st.Text(4),
                         st.Text(5), st.Text(6),            st.Int(7),  st.Text(8)};
  }
  // REQUIRES: a transaction is open. Fills *stored (when given) with the rows and their ids.
  Status Insert(std::span<const ConsentRecord> records, std::vector<ConsentRecord>* stored) {
    Stmt& st = db_.Prepared("INSERT INTO consents(customer_id, purpose, channel, value, source, wording_version, "
                            "at, actor) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    for (const ConsentRecord& r : records) {
      st.Reset();
      st.Bind(1, r.customer.value()).Bind(2, r.purpose).Bind(3, r.channel).Bind(4, r.value).Bind(5, r.source)
          .Bind(6, r.wording_version).Bind(7, r.at).Bind(8, r.actor);
      if (st.Step() != SQLITE_DONE) return db_.Error("insert consent");
      if (stored != nullptr) {
        ConsentRecord copy = r;
        copy.id = sqlite3_last_insert_rowid(db_.raw());
        stored->push_back(std::move(copy));
      }
    }
    return Status::Ok();
  }
  Db& db_;
};

// ---- subject rights: suppression list, erasure, retention ----

class SqliteSuppressions final : public SuppressionRepository {
 public:
  explicit SqliteSuppressions(Db& db) : db_(db) {}
  Status Add(Transaction& txn, std::span<const SuppressionRecord> entries) override {
    db_.RequireTxn(txn);
    Stmt& st = db_.Prepared("INSERT OR IGNORE INTO suppressions(value, key_version, added_at) VALUES(?1, ?2, ?3)");
    for (const SuppressionRecord& e : entries) {
      st.Reset();
      st.Bind(1, e.value).Bind(2, e.key_version).Bind(3, e.added_at);
      if (st.Step() != SQLITE_DONE) return db_.Error("add suppression entry");
    }
    return Status::Ok();
  }
  Status Scan(const std::function<void(const SuppressionRecord&)>& fn) override {
    Stmt st(db_.raw(), "SELECT value, key_version, added_at FROM suppressions ORDER BY value, key_version");
    if (!st.ok()) return db_.Error("prepare scan suppressions");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      fn(SuppressionRecord{st.Int(0), static_cast<int>(st.Int(1)), st.Int(2)});
    }
    return rc == SQLITE_DONE ? Status::Ok() : db_.Error("scan suppressions");
  }
  Result<std::int64_t> Count() override { return db_.QueryInt("SELECT count(*) FROM suppressions"); }

 private:
  Db& db_;
};

// "(1,2,3)": customer ids are integers, so the list is safe to splice into SQL.
std::string IdList(std::span<const std::int64_t> ids) {
  std::string out = "(";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) out.push_back(',');
    out += std::to_string(ids[i]);
  }
  out.push_back(')');
  return out;
}

class SqliteErasure final : public ErasureRepository {
 public:
  SqliteErasure(Db& db, int compression_level) : db_(db), compression_level_(compression_level) {}

  Result<ErasureCounts> Erase(Transaction& txn, std::span<const CustomerId> customers) override {
    db_.RequireTxn(txn);
    ErasureCounts counts;
    std::vector<std::int64_t> ids;
    for (CustomerId c : customers) {
      if (c.valid()) ids.push_back(c.value());
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    if (ids.empty()) return counts;
    // Freed pages and cells are overwritten with zeros from here on (Scrub turns it off again
    // after the commit): what is deleted does not linger in free space of the database file.
    TP_RETURN_IF_ERROR(db_.Exec("PRAGMA secure_delete=ON"));
    TP_ASSIGN_OR_RETURN(counts.events, EraseEvents(ids));
    const std::string in = IdList(ids);
    auto del = [&](const std::string& sql) -> Result<std::int64_t> {
      TP_RETURN_IF_ERROR(db_.Exec(sql));
      return static_cast<std::int64_t>(sqlite3_changes64(db_.raw()));
    };
    TP_ASSIGN_OR_RETURN(counts.orders, del("DELETE FROM orders WHERE customer_id IN " + in));
    TP_ASSIGN_OR_RETURN(counts.messages, del("DELETE FROM messages WHERE customer_id IN " + in));
    TP_ASSIGN_OR_RETURN(counts.surveys, del("DELETE FROM surveys WHERE customer_id IN " + in));
    TP_ASSIGN_OR_RETURN(counts.escalations, del("DELETE FROM escalations WHERE customer_id IN " + in));
    TP_ASSIGN_OR_RETURN(counts.profiles, del("DELETE FROM profiles WHERE customer_id IN " + in));
    TP_ASSIGN_OR_RETURN(counts.identifiers, del("DELETE FROM identifiers WHERE customer_id IN " + in));
    TP_ASSIGN_OR_RETURN(counts.merges, del("DELETE FROM merges WHERE winner IN " + in + " OR loser IN " + in));
    TP_ASSIGN_OR_RETURN(counts.merge_blocks, del("DELETE FROM merge_blocks WHERE a IN " + in + " OR b IN " + in));
    TP_ASSIGN_OR_RETURN(counts.customers, del("DELETE FROM customers WHERE id IN " + in));
    TP_ASSIGN_OR_RETURN(counts.consents, del("DELETE FROM consents WHERE customer_id IN " + in));
    {  // their exposures in experiments whose unit is the customer (units are decimal text)
      std::string units = "(";
      for (size_t i = 0; i < ids.size(); ++i) units += (i ? ",'" : "'") + std::to_string(ids[i]) + "'";
      units += ")";
      TP_RETURN_IF_ERROR(del("DELETE FROM experiment_exposures WHERE unit IN " + units +
                                                " AND experiment IN (SELECT id FROM experiments WHERE unit = "
                                                "'customer')").status());
    }
    // The desk's tickets stay, de-identified (store/erasure_repository.h).
    const std::string tickets = "(SELECT number FROM tickets WHERE customer_id IN " + in + ")";
    const std::string erased = std::string("'") + kErasedText + "'";
    TP_ASSIGN_OR_RETURN(counts.ticket_messages,
                        del("UPDATE ticket_messages SET text = " + erased + " WHERE ticket IN " + tickets));
    TP_ASSIGN_OR_RETURN(counts.ticket_fields, del("DELETE FROM ticket_fields WHERE ticket IN " + tickets));
    // Files only their messages link go with the links.
    TP_RETURN_IF_ERROR(del("DELETE FROM attachments WHERE hash IN (SELECT hash FROM message_attachments WHERE ticket "
                           "IN " + tickets + ") AND hash NOT IN (SELECT hash FROM message_attachments WHERE ticket "
                           "NOT IN " + tickets + ")").status());
    TP_ASSIGN_OR_RETURN(counts.attachments, del("DELETE FROM message_attachments WHERE ticket IN " + tickets));
    TP_RETURN_IF_ERROR(del("DELETE FROM ticket_tokens WHERE ticket IN " + tickets).status());
    TP_ASSIGN_OR_RETURN(counts.deliveries,
                        del("DELETE FROM outbox WHERE id IN (SELECT outbox_id FROM channel_messages WHERE ticket IN " +
                            tickets + ") OR id IN (SELECT outbox_id FROM csat_surveys WHERE ticket IN " + tickets + ")"));
    TP_RETURN_IF_ERROR(
        del("UPDATE csat_surveys SET comment = " + erased + " WHERE comment <> '' AND ticket IN " + tickets).status());
    TP_RETURN_IF_ERROR(del("UPDATE channel_messages SET mail_id = '' WHERE ticket IN " + tickets).status());
    TP_ASSIGN_OR_RETURN(counts.tickets, del("UPDATE tickets SET subject = " + erased +
                                            ", version = version + 1 WHERE customer_id IN " + in));
    return counts;
  }

  Status Scrub() override {
    if (db_.in_txn()) return Status::FailedPrecondition("scrub inside a transaction");
    TP_RETURN_IF_ERROR(db_.Exec("PRAGMA secure_delete=OFF"));
    int log_frames = 0;
    int checkpointed = 0;
    const int rc = sqlite3_wal_checkpoint_v2(db_.raw(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log_frames,
                                             &checkpointed);
    if (rc != SQLITE_OK) {
      return Status::Unavailable(std::string("the WAL could not be truncated yet (") + sqlite3_errstr(rc) +
                                 "): readers hold it; it is folded in at the next checkpoint");
    }
    return Status::Ok();
  }

  Result<std::int64_t> DeleteOlderThan(Transaction& txn, RetentionKind kind, Millis before, int limit) override {
    db_.RequireTxn(txn);
    const std::string lim = std::to_string(std::max(limit, 1));
    const std::string cut = std::to_string(before);
    auto del = [&](const std::string& table, const char* ts) -> Result<std::int64_t> {
      TP_RETURN_IF_ERROR(db_.Exec("DELETE FROM " + table + " WHERE seq IN (SELECT seq FROM " + table + " WHERE " +
                                  ts + " < " + cut + " ORDER BY seq LIMIT " + lim + ")"));
      return static_cast<std::int64_t>(sqlite3_changes64(db_.raw()));
    };
    switch (kind) {
      case RetentionKind::kMessages: return del("messages", "ts");
      case RetentionKind::kSurveys: return del("surveys", "ts");
      case RetentionKind::kOrders: return del("orders", "ts");
      case RetentionKind::kEscalations: return del("escalations", "at");
      case RetentionKind::kEvents: break;
    }
    // Whole chunks whose newest event is older, never the last chunk (it numbers the next seq).
    Stmt st(db_.raw(),
            "SELECT first_seq, n - erased FROM event_chunks WHERE max_ts < ?1 AND first_seq < "
            "(SELECT max(first_seq) FROM event_chunks) ORDER BY first_seq");
    if (!st.ok()) return db_.Error("prepare retention scan");
    st.Bind(1, before);
    std::vector<std::int64_t> chunks;
    std::int64_t events = 0;
    int rc;
    while (events < limit && (rc = st.Step()) == SQLITE_ROW) {
      chunks.push_back(st.Int(0));
      events += st.Int(1);
    }
    if (chunks.empty()) return std::int64_t{0};
    TP_RETURN_IF_ERROR(db_.Exec("DELETE FROM event_chunks WHERE first_seq IN " + IdList(chunks)));
    return events;
  }

 private:
  // Tombstones the events of `ids` (sorted) in every chunk that names one of them.
  Result<std::int64_t> EraseEvents(const std::vector<std::int64_t>& ids) {
    std::vector<std::int64_t> candidates;
    {
      Stmt st(db_.raw(), "SELECT first_seq, customers FROM event_chunks WHERE n > erased ORDER BY first_seq");
      if (!st.ok()) return db_.Error("prepare erasure scan");
      int rc;
      while ((rc = st.Step()) == SQLITE_ROW) {
        if (st.IsNull(1) || CustomerSetIntersects(st.Blob(1), ids)) candidates.push_back(st.Int(0));
      }
      if (rc != SQLITE_DONE) return db_.Error("erasure scan");
    }
    // Chunks are read here, rewritten on ErasureThreads() threads a wave at a time (the rewrite
    // is CPU: zstd both ways), and written here in order (docs/performance.md, "erasure").
    const size_t threads = ErasureThreads();
    std::int64_t erased = 0;
    Stmt get(db_.raw(), "SELECT n, codec, raw_size, hashes, data FROM event_chunks WHERE first_seq = ?1");
    Stmt put(db_.raw(),
             "UPDATE event_chunks SET codec = ?2, raw_size = ?3, min_ts = ?4, max_ts = ?5, hashes = ?6, data = ?7, "
             "erased = erased + ?8, customers = ?9 WHERE first_seq = ?1");
    if (!get.ok() || !put.ok()) return db_.Error("prepare chunk rewrite");
    std::vector<ChunkErasure> wave(threads * 2);
    for (size_t begin = 0; begin < candidates.size(); begin += wave.size()) {
      const size_t count = std::min(wave.size(), candidates.size() - begin);
      for (size_t k = 0; k < count; ++k) {
        ChunkErasure& job = wave[k];
        job.first_seq = candidates[begin + k];
        get.Reset();
        get.Bind(1, job.first_seq);
        if (get.Step() != SQLITE_ROW) return db_.Error("read event chunk");
        job.n = static_cast<int>(get.Int(0));
        job.codec = static_cast<int>(get.Int(1));
        job.raw_size = get.Int(2);
        job.hashes.assign(get.Blob(3));
        job.data.assign(get.Blob(4));
        get.Reset();
      }
      EraseFromAll(std::span<ChunkErasure>(wave.data(), count), ids, threads, codecs_, compression_level_,
                   sealer_);
      for (size_t k = 0; k < count; ++k) {
        ChunkErasure& job = wave[k];
        TP_RETURN_IF_ERROR(job.status);
        const EventChunkCodec::Rewritten& r = job.result;
        if (r.removed == 0) continue;
        put.Reset();
        put.Bind(1, job.first_seq).Bind(2, static_cast<int>(job.out.codec)).Bind(3, job.out.raw_size)
            .Bind(4, r.min_ts).Bind(5, r.max_ts).BindBlob(6, job.out.hashes).BindBlob(7, job.out.data)
            .Bind(8, r.removed).BindBlob(9, r.customers);
        if (put.Step() != SQLITE_DONE) return db_.Error("rewrite event chunk");
        erased += r.removed;
      }
    }
    return erased;
  }

  Db& db_;
  int compression_level_;
  std::vector<std::unique_ptr<EventChunkCodec>> codecs_;  // EraseFromAll's, kept between erasures
  ChunkSealer* sealer_ = nullptr;                         // encryption at rest (SetSealer)

 public:
  void SetSealer(ChunkSealer* sealer) { sealer_ = sealer; }
};

// ---- the desk's channels ----

class SqliteChannels final : public ChannelRepository {
 public:
  explicit SqliteChannels(Db& db) : db_(db) {}

  Status PutMessage(Transaction& txn, const ChannelMessageRecord& r) override {
    db_.RequireTxn(txn);
    Stmt& st = db_.Prepared(
        "INSERT OR REPLACE INTO channel_messages(key, ticket, direction, channel, outbox_id, mail_id, at) "
        "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    st.Reset();
    st.Bind(1, r.key).Bind(2, r.ticket).Bind(3, r.direction).Bind(4, r.channel).Bind(5, r.outbox_id)
        .Bind(6, r.mail_id).Bind(7, r.at);
    return st.Step() == SQLITE_DONE ? Status::Ok() : db_.Error("put channel message");
  }
  Result<std::optional<ChannelMessageRecord>> FindMessage(const std::string& key) override {
    return OneMessage("WHERE key = ?1", key);
  }
  Result<std::optional<ChannelMessageRecord>> FindByMailId(const std::string& mail_id) override {
    if (mail_id.empty()) return std::optional<ChannelMessageRecord>();
    return OneMessage("WHERE mail_id = ?1 ORDER BY at DESC LIMIT 1", mail_id);
  }

  Status AddSurvey(Transaction& txn, const CsatSurveyRecord& r) override {
    db_.RequireTxn(txn);
    // seq numbers surveys in insertion order: the next rowid (SQLite's max(rowid) is one B-tree
    // step; max(seq) would read the whole csat_surveys_ticket index on every survey sent).
    Stmt& st = db_.Prepared(
        "INSERT INTO csat_surveys(id, seq, ticket, channel, outbox_id, sent_at, answered_at, score, comment) "
        "VALUES(?1, (SELECT coalesce(max(rowid), 0) + 1 FROM csat_surveys), ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    st.Reset();
    st.Bind(1, r.id).Bind(2, r.ticket).Bind(3, r.channel).Bind(4, r.outbox_id).Bind(5, r.sent_at)
        .Bind(6, r.answered_at).Bind(7, r.score).Bind(8, r.comment);
    const int rc = st.Step();
    if (rc == SQLITE_CONSTRAINT) return Status::AlreadyExists("survey " + r.id + " exists");
    return rc == SQLITE_DONE ? Status::Ok() : db_.Error("add survey");
  }
  Result<std::optional<CsatSurveyRecord>> FindSurvey(const std::string& id) override {
    TP_ASSIGN_OR_RETURN(auto all, Surveys("WHERE id = ?1", id));
    if (all.empty()) return std::optional<CsatSurveyRecord>();
    return std::optional<CsatSurveyRecord>(std::move(all.front()));
  }
  Result<std::vector<CsatSurveyRecord>> Surveys(std::int64_t ticket) override {
    return Surveys("WHERE ticket = ?1 ORDER BY seq", std::to_string(ticket));
  }
  Status AnswerSurvey(Transaction& txn, const std::string& id, int score, const std::string& comment,
                      Millis at) override {
    db_.RequireTxn(txn);
    Stmt& st = db_.Prepared(
        "UPDATE csat_surveys SET answered_at = ?2, score = ?3, comment = ?4 WHERE id = ?1 AND answered_at = 0");
    st.Reset();
    st.Bind(1, id).Bind(2, at).Bind(3, score).Bind(4, comment);
    if (st.Step() != SQLITE_DONE) return db_.Error("answer survey");
    if (sqlite3_changes(db_.raw()) == 0) {
      TP_ASSIGN_OR_RETURN(auto found, FindSurvey(id));
      if (!found) return Status::NotFound("no survey " + id);
      return Status::FailedPrecondition("the survey was answered already");
    }
    return Status::Ok();
  }

  Status PutAttachment(Transaction& txn, const AttachmentRecord& a) override {
    db_.RequireTxn(txn);
    Stmt& st = db_.Prepared(
        "INSERT OR IGNORE INTO attachments(hash, content_type, size, data, created_at) VALUES(?1, ?2, ?3, ?4, ?5)");
    st.Reset();
    st.Bind(1, a.hash).Bind(2, a.content_type).Bind(3, a.size).BindBlob(4, a.data).Bind(5, a.created_at);
    return st.Step() == SQLITE_DONE ? Status::Ok() : db_.Error("put attachment");
  }
  Result<std::optional<AttachmentRecord>> FindAttachment(const std::string& hash) override {
    Stmt st(db_.raw(), "SELECT hash, content_type, size, data, created_at FROM attachments WHERE hash = ?1");
    if (!st.ok()) return db_.Error("prepare find attachment");
    st.Bind(1, hash);
    const int rc = st.Step();
    if (rc == SQLITE_DONE) return std::optional<AttachmentRecord>();
    if (rc != SQLITE_ROW) return db_.Error("find attachment");
    return std::optional<AttachmentRecord>(
        AttachmentRecord{st.Text(0), st.Text(1), st.Int(2), std::string(st.Blob(3)), st.Int(4)});
  }
  Status LinkAttachments(Transaction& txn, std::span<const MessageAttachmentRecord> links) override {
    db_.RequireTxn(txn);
    Stmt& st = db_.Prepared(
        "INSERT OR IGNORE INTO message_attachments(ticket, message_key, hash, filename, content_type, size) "
        "VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
    for (const MessageAttachmentRecord& l : links) {
      st.Reset();
      st.Bind(1, l.ticket).Bind(2, l.message_key).Bind(3, l.hash).Bind(4, l.filename).Bind(5, l.content_type)
          .Bind(6, l.size);
      if (st.Step() != SQLITE_DONE) return db_.Error("link attachment");
    }
    return Status::Ok();
  }
  Result<std::vector<MessageAttachmentRecord>> MessageAttachments(const std::string& message_key) override {
    Stmt st(db_.raw(),
            "SELECT ticket, message_key, hash, filename, content_type, size FROM message_attachments "
            "WHERE message_key = ?1 ORDER BY seq");
    if (!st.ok()) return db_.Error("prepare message attachments");
    st.Bind(1, message_key);
    std::vector<MessageAttachmentRecord> out;
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      out.push_back(MessageAttachmentRecord{st.Int(0), st.Text(1), st.Text(2), st.Text(3), st.Text(4), st.Int(5)});
    }
    if (rc != SQLITE_DONE) return db_.Error("message attachments");
    return out;
  }

 private:
  Result<std::optional<ChannelMessageRecord>> OneMessage(const std::string& where, const std::string& arg) {
    Stmt st(db_.raw(),
            ("SELECT key, ticket, direction, channel, outbox_id, mail_id, at FROM channel_messages " + where).c_str());
    if (!st.ok()) return db_.Error("prepare find channel message");
    st.Bind(1, arg);
    const int rc = st.Step();
    if (rc == SQLITE_DONE) return std::optional<ChannelMessageRecord>();
    if (rc != SQLITE_ROW) return db_.Error("find channel message");
    return std::optional<ChannelMessageRecord>(
        ChannelMessageRecord{st.Text(0), st.Int(1), st.Text(2), st.Text(3), st.Int(4), st.Text(5), st.Int(6)});
  }
  Result<std::vector<CsatSurveyRecord>> Surveys(const std::string& where, const std::string& arg) {
    Stmt st(db_.raw(), ("SELECT id, ticket, channel, outbox_id, sent_at, answered_at, score, comment "
                        "FROM csat_surveys " + where).c_str());
    if (!st.ok()) return db_.Error("prepare surveys");
    st.Bind(1, arg);
    std::vector<CsatSurveyRecord> out;
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      out.push_back(CsatSurveyRecord{st.Text(0), st.Int(1), st.Text(2), st.Int(3), st.Int(4), st.Int(5),
                                     static_cast<int>(st.Int(6)), st.Text(7)});
    }
    if (rc != SQLITE_DONE) return db_.Error("surveys");
    return out;
  }
  Db& db_;
};

// ---- the desk's measured facts and spans ----

class SqliteKpi final : public KpiRepository {
 public:
  explicit SqliteKpi(Db& db) : db_(db) {}

  Status PutTicket(Transaction& txn, const KpiTicketRecord& t, std::span<const KpiSpanRecord> spans) override {
    db_.RequireTxn(txn);
    Stmt& put = db_.Prepared(
        "INSERT OR REPLACE INTO kpi_tickets(ticket, customer_id, created_at, status, channel, queue, priority, type, "
        "intent, tier, team, agent, policy, first_solved_at, solved_at, agent_replies, reopened_at, escalated, "
        "bot_first, sentiment_count, sentiment_sum, sentiment_negative, measured_at) "
        "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)");
    put.Reset();
    const std::string reopened = JoinNumbers(t.reopened_at);
    put.Bind(1, t.ticket).Bind(2, t.customer.value()).Bind(3, t.created_at).Bind(4, t.status).Bind(5, t.channel)
        .Bind(6, t.queue).Bind(7, t.priority).Bind(8, t.type).Bind(9, t.intent).Bind(10, t.tier).Bind(11, t.team)
        .Bind(12, t.agent).Bind(13, t.policy).Bind(14, t.first_solved_at).Bind(15, t.solved_at)
        .Bind(16, static_cast<std::int64_t>(t.agent_replies)).Bind(17, reopened).Bind(18, t.escalated ? 1 : 0)
        .Bind(19, t.bot_first ? 1 : 0).Bind(20, static_cast<std::int64_t>(t.sentiment_count)).Bind(21, t.sentiment_sum)
        .Bind(22, static_cast<std::int64_t>(t.sentiment_negative)).Bind(23, t.measured_at);
    if (put.Step() != SQLITE_DONE) return db_.Error("put kpi ticket");
    Stmt& del = db_.Prepared("DELETE FROM kpi_spans WHERE ticket = ?1");
    del.Reset();
    del.Bind(1, t.ticket);
    if (del.Step() != SQLITE_DONE) return db_.Error("delete kpi spans");
    Stmt& add = db_.Prepared(
        "INSERT INTO kpi_spans(ticket, kind, seq, created_at, start_at, stop_at, start_event, end_event, wall_seconds, "
        "business_seconds, target_seconds, met) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
    for (const KpiSpanRecord& sp : spans) {
      add.Reset();
      add.Bind(1, t.ticket).Bind(2, sp.kind).Bind(3, static_cast<std::int64_t>(sp.seq)).Bind(4, t.created_at)
          .Bind(5, sp.start).Bind(6, sp.stop).Bind(7, sp.start_event).Bind(8, sp.end_event).Bind(9, sp.wall_seconds)
          .Bind(10, sp.business_seconds).Bind(11, sp.target_seconds).Bind(12, static_cast<std::int64_t>(sp.met));
      if (add.Step() != SQLITE_DONE) return db_.Error("insert kpi span");
    }
    return Status::Ok();
  }
  Result<std::optional<KpiTicketRecord>> FindTicket(std::int64_t ticket) override {
    std::optional<KpiTicketRecord> out;
    TP_RETURN_IF_ERROR(TicketsWhere(" WHERE ticket = ?1", ticket, 0, [&](KpiTicketRecord&& t) { out = std::move(t); }));
    return out;
  }
  Result<std::vector<KpiSpanRecord>> Spans(std::int64_t ticket) override {
    std::vector<KpiSpanRecord> out;
    TP_RETURN_IF_ERROR(SpansWhere(" WHERE ticket = ?1 ORDER BY kind, seq", ticket, 0,
                                  [&](KpiSpanRecord&& s) { out.push_back(std::move(s)); }));
    return out;
  }
  Status ScanTickets(Millis from, Millis to, const std::function<void(KpiTicketRecord&&)>& fn) override {
    return TicketsWhere(" WHERE created_at >= ?1 AND created_at < ?2 ORDER BY ticket", from, Upper(to), fn);
  }
  Status ScanSpans(Millis from, Millis to, const std::function<void(KpiSpanRecord&&)>& fn) override {
    return SpansWhere(" WHERE created_at >= ?1 AND created_at < ?2 ORDER BY ticket, kind, seq", from, Upper(to), fn);
  }
  Result<std::int64_t> Clear(Transaction& txn) override {
    db_.RequireTxn(txn);
    TP_ASSIGN_OR_RETURN(std::int64_t n, db_.QueryInt("SELECT count(*) FROM kpi_tickets"));
    TP_RETURN_IF_ERROR(db_.Exec("DELETE FROM kpi_spans; DELETE FROM kpi_tickets;"));
    return n;
  }

 private:
  static std::int64_t Upper(Millis to) { return to == 0 ? std::numeric_limits<std::int64_t>::max() : to; }
  Status TicketsWhere(const char* where, std::int64_t a, std::int64_t b, const std::function<void(KpiTicketRecord&&)>& fn) {
    Stmt st(db_.raw(), (std::string("SELECT ticket, customer_id, created_at, status, channel, queue, priority, type, "
                                    "intent, tier, team, agent, policy, first_solved_at, solved_at, agent_replies, "
                                    "reopened_at, escalated, bot_first, sentiment_count, sentiment_sum, "
                                    "sentiment_negative, measured_at FROM kpi_tickets") + where).c_str());
    if (!st.ok()) return db_.Error("prepare kpi tickets");
    st.Bind(1, a);
    if (b != 0) st.Bind(2, b);
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      KpiTicketRecord t;
      t.ticket = st.Int(0);
      t.customer = CustomerId(st.Int(1));
      t.created_at = st.Int(2);
      t.status = st.Text(3);
      t.channel = st.Text(4);
      t.queue = st.Text(5);
      t.priority = st.Text(6);
      t.type = st.Text(7);
      t.intent = st.Text(8);
      t.tier = st.Text(9);
      t.team = st.Text(10);
      t.agent = st.Int(11);
      t.policy = st.Text(12);
      t.first_solved_at = st.Int(13);
      t.solved_at = st.Int(14);
      t.agent_replies = static_cast<std::int32_t>(st.Int(15));
      t.reopened_at = SplitNumbers(st.Text(16));
      t.escalated = st.Int(17) != 0;
      t.bot_first = st.Int(18) != 0;
      t.sentiment_count = static_cast<std::int32_t>(st.Int(19));
      t.sentiment_sum = st.Real(20);
      t.sentiment_negative = static_cast<std::int32_t>(st.Int(21));
      t.measured_at = st.Int(22);
      fn(std::move(t));
    }
    return rc == SQLITE_DONE ? Status::Ok() : db_.Error("kpi tickets");
  }
  Status SpansWhere(const char* where, std::int64_t a, std::int64_t b, const std::function<void(KpiSpanRecord&&)>& fn) {
    Stmt st(db_.raw(), (std::string("SELECT ticket, kind, seq, start_at, stop_at, start_event, end_event, wall_seconds, "
                                    "business_seconds, target_seconds, met FROM kpi_spans") + where).c_str());
    if (!st.ok()) return db_.Error("prepare kpi spans");
    st.Bind(1, a);
    if (b != 0) st.Bind(2, b);
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      fn(KpiSpanRecord{st.Int(0), st.Text(1), static_cast<std::int32_t>(st.Int(2)), st.Int(3), st.Int(4), st.Text(5),
                       st.Text(6), st.Int(7), st.Int(8), st.Int(9), static_cast<std::int32_t>(st.Int(10))});
    }
    return rc == SQLITE_DONE ? Status::Ok() : db_.Error("kpi spans");
  }

  Db& db_;
};

// ---- experiments and their exposures ----

class SqliteExperiments final : public ExperimentRepository {
 public:
  explicit SqliteExperiments(Db& db) : db_(db) {}

  Result<ExperimentRecord> Create(const ExperimentRecord& e) override {
    TP_RETURN_IF_ERROR(Writable());
    std::vector<std::string> variants, metrics, directions;
    std::vector<double> weights;
    for (const auto& v : e.variants) {
      variants.push_back(v.name);
      weights.push_back(v.weight);
    }
    for (const auto& m : e.metrics) {
      metrics.push_back(m.metric);
      directions.push_back(m.direction);
    }
    const std::string vs = JoinNames(variants), ws = JoinReals(weights), ms = JoinNames(metrics),
                      ds = JoinNames(directions);
    Stmt st(db_.raw(),
            "INSERT INTO experiments(name, description, unit, variants, weights, coverage, salt, metrics, directions, "
            "pre_period_days, sequential_tuning, alpha, correction, status, created_at, started_at, stopped_at, "
            "created_by) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18) "
            "ON CONFLICT(name) DO NOTHING");
    st.Bind(1, e.name).Bind(2, e.description).Bind(3, e.unit).Bind(4, vs).Bind(5, ws).Bind(6, e.coverage)
        .Bind(7, e.salt).Bind(8, ms).Bind(9, ds).Bind(10, static_cast<std::int64_t>(e.pre_period_days))
        .Bind(11, e.sequential_tuning).Bind(12, e.alpha).Bind(13, e.correction).Bind(14, e.status)
        .Bind(15, e.created_at).Bind(16, e.started_at).Bind(17, e.stopped_at).Bind(18, e.created_by);
    if (st.Step() != SQLITE_DONE) return db_.Error("create experiment");
    if (sqlite3_changes(db_.raw()) == 0) return Status::AlreadyExists("an experiment named " + e.name + " exists");
    ExperimentRecord stored = e;
    stored.id = sqlite3_last_insert_rowid(db_.raw());
    return stored;
  }
  Result<ExperimentRecord> SetStatus(std::int64_t id, const std::string& from, const std::string& to,
                                     Millis at) override {
    TP_RETURN_IF_ERROR(Writable());
    Stmt st(db_.raw(),
            "UPDATE experiments SET status = ?3, started_at = CASE WHEN ?3 = 'running' THEN ?4 ELSE started_at END, "
            "stopped_at = CASE WHEN ?3 = 'stopped' THEN ?4 ELSE stopped_at END WHERE id = ?1 AND status = ?2");
    st.Bind(1, id).Bind(2, from).Bind(3, to).Bind(4, at);
    if (st.Step() != SQLITE_DONE) return db_.Error("change experiment status");
    const bool changed = sqlite3_changes(db_.raw()) > 0;
    TP_ASSIGN_OR_RETURN(std::optional<ExperimentRecord> now, Find(id));
    if (!now) return Status::NotFound("no experiment " + std::to_string(id));
    if (!changed) {
      return Status::FailedPrecondition("experiment " + std::to_string(id) + " is " + now->status + ", not " + from);
    }
    return *now;
  }
  Result<std::optional<ExperimentRecord>> Find(std::int64_t id) override {
    std::optional<ExperimentRecord> out;
    TP_RETURN_IF_ERROR(Where(" WHERE id = ?1", [&](Stmt& st) { st.Bind(1, id); },
                             [&](ExperimentRecord&& e) { out = std::move(e); }));
    return out;
  }
  Result<std::optional<ExperimentRecord>> FindByName(const std::string& name) override {
    std::optional<ExperimentRecord> out;
    TP_RETURN_IF_ERROR(Where(" WHERE name = ?1", [&](Stmt& st) { st.Bind(1, name); },
                             [&](ExperimentRecord&& e) { out = std::move(e); }));
    return out;
  }
  Result<std::vector<ExperimentRecord>> List() override {
    std::vector<ExperimentRecord> out;
    TP_RETURN_IF_ERROR(Where(" ORDER BY id", [](Stmt&) {}, [&](ExperimentRecord&& e) { out.push_back(std::move(e)); }));
    return out;
  }

  Result<ExposureRecord> Expose(const ExposureRecord& x) override {
    TP_RETURN_IF_ERROR(Writable());
    Stmt st(db_.raw(),
            "INSERT INTO experiment_exposures(experiment, unit, variant, exposed_at) "
            "SELECT ?1, ?2, ?3, ?4 WHERE EXISTS(SELECT 1 FROM experiments WHERE id = ?1) "
            "ON CONFLICT(experiment, unit) DO NOTHING");
    st.Bind(1, x.experiment).Bind(2, x.unit).Bind(3, x.variant).Bind(4, x.exposed_at);
    if (st.Step() != SQLITE_DONE) return db_.Error("record exposure");
    if (sqlite3_changes(db_.raw()) > 0) return x;
    TP_ASSIGN_OR_RETURN(std::optional<ExposureRecord> first, FindExposure(x.experiment, x.unit));
    if (!first) return Status::NotFound("no experiment " + std::to_string(x.experiment));
    return *first;
  }
  Result<std::optional<ExposureRecord>> FindExposure(std::int64_t experiment, const std::string& unit) override {
    Stmt st(db_.raw(),
            "SELECT experiment, unit, variant, exposed_at FROM experiment_exposures WHERE experiment = ?1 AND unit = ?2");
    st.Bind(1, experiment).Bind(2, unit);
    const int rc = st.Step();
    if (rc == SQLITE_ROW) return std::optional<ExposureRecord>(Read(st));
    if (rc == SQLITE_DONE) return std::optional<ExposureRecord>();
    return db_.Error("read exposure");
  }
  Status ScanExposures(std::int64_t experiment, const std::function<void(ExposureRecord&&)>& fn) override {
    Stmt st(db_.raw(), "SELECT experiment, unit, variant, exposed_at FROM experiment_exposures WHERE experiment = ?1 "
                       "ORDER BY exposed_at, unit");
    st.Bind(1, experiment);
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) fn(Read(st));
    return rc == SQLITE_DONE ? Status::Ok() : db_.Error("scan exposures");
  }
  Result<std::vector<ExposureRecord>> ExposuresOfUnits(const std::string& unit_kind,
                                                       const std::vector<std::string>& units) override {
    std::vector<ExposureRecord> out;
    Stmt st(db_.raw(), "SELECT x.experiment, x.unit, x.variant, x.exposed_at FROM experiment_exposures x "
                       "JOIN experiments e ON e.id = x.experiment WHERE x.unit = ?1 AND e.unit = ?2");
    for (const std::string& unit : units) {
      st.Reset();
      st.Bind(1, unit).Bind(2, unit_kind);
      int rc;
      while ((rc = st.Step()) == SQLITE_ROW) out.push_back(Read(st));
      if (rc != SQLITE_DONE) return db_.Error("read exposures");
    }
    std::sort(out.begin(), out.end(), [](const ExposureRecord& a, const ExposureRecord& b) {
      return std::tie(a.experiment, a.unit) < std::tie(b.experiment, b.unit);
    });
    return out;
  }
  Result<std::int64_t> EraseExposures(const std::string& unit_kind, const std::vector<std::string>& units) override {
    TP_RETURN_IF_ERROR(Writable());
    if (db_.in_txn()) return Status::FailedPrecondition("erasing exposures must not join another transaction");
    TP_ASSIGN_OR_RETURN(auto txn, db_.Begin());
    Stmt st(db_.raw(), "DELETE FROM experiment_exposures WHERE unit = ?1 AND experiment IN "
                       "(SELECT id FROM experiments WHERE unit = ?2)");
    std::int64_t n = 0;
    for (const std::string& unit : units) {
      st.Reset();
      st.Bind(1, unit).Bind(2, unit_kind);
      if (st.Step() != SQLITE_DONE) return db_.Error("erase exposures");
      n += sqlite3_changes(db_.raw());
    }
    TP_RETURN_IF_ERROR(txn->Commit());
    return n;
  }

 private:
  Status Writable() {
    if (db_.read_only()) return Status::FailedPrecondition("store is open read-only");
    return Status::Ok();
  }
  static ExposureRecord Read(Stmt& st) { return ExposureRecord{st.Int(0), st.Text(1), st.Text(2), st.Int(3)}; }
  Status Where(const char* where, const std::function<void(Stmt&)>& bind,
               const std::function<void(ExperimentRecord&&)>& fn) {
    Stmt st(db_.raw(), (std::string("SELECT id, name, description, unit, variants, weights, coverage, salt, metrics, "
                                    "directions, pre_period_days, sequential_tuning, alpha, correction, status, "
                                    "created_at, started_at, stopped_at, created_by FROM experiments") + where).c_str());
    if (!st.ok()) return db_.Error("prepare experiments");
    bind(st);
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      ExperimentRecord e;
      e.id = st.Int(0);
      e.name = st.Text(1);
      e.description = st.Text(2);
      e.unit = st.Text(3);
      const std::vector<std::string> names = SplitNames(st.Text(4));
      const std::vector<double> weights = SplitReals(st.Text(5));
      for (size_t i = 0; i < names.size(); ++i) e.variants.push_back({names[i], i < weights.size() ? weights[i] : 0});
      e.coverage = st.Real(6);
      e.salt = st.Text(7);
      const std::vector<std::string> metrics = SplitNames(st.Text(8));
      const std::vector<std::string> directions = SplitNames(st.Text(9));
      for (size_t i = 0; i < metrics.size(); ++i) {
        e.metrics.push_back({metrics[i], i < directions.size() ? directions[i] : ""});
      }
      e.pre_period_days = static_cast<std::int32_t>(st.Int(10));
      e.sequential_tuning = st.Real(11);
      e.alpha = st.Real(12);
      e.correction = st.Text(13);
      e.status = st.Text(14);
      e.created_at = st.Int(15);
      e.started_at = st.Int(16);
      e.stopped_at = st.Int(17);
      e.created_by = st.Text(18);
      fn(std::move(e));
    }
    return rc == SQLITE_DONE ? Status::Ok() : db_.Error("experiments");
  }

  Db& db_;
};

// ---- the store ----

class SqliteStore final : public Store, public Maintenance {
 public:
  SqliteStore(sqlite3* db, Options options, std::unique_ptr<WriterLock> lock)
      : options_(std::move(options)),
        lock_(std::move(lock)),
        db_(db, options_.read_only),
        events_(db_, options_.event_compression_level),
        identity_(db_),
        profiles_(db_),
        activity_(db_),
        escalations_(db_),
        keys_(db_),
        jobs_(db_),
        segments_(db_),
        users_(db_),
        teams_(db_),
        sessions_(db_),
        audit_(db_),
        signing_keys_(db_),
        dp_budgets_(db_),
        outbox_(db_),
        consents_(db_),
        tickets_(db_),
        channels_(db_),
        deskflow_(db_),
        agents_(db_),
        suppressions_(db_),
        erasure_(db_, options_.event_compression_level),
        sla_(db_),
        keyring_(db_),
        rekey_(db_),
        kpi_(db_),
        experiments_(db_) {
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
  ~SqliteStore() override {
    if (!options_.read_only && !db_.in_txn()) {
      // Fold the WAL back into the main file so a copy of the .db alone is complete.
      sqlite3_wal_checkpoint_v2(db_.raw(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    }
  }

  Status Init() {
    TP_RETURN_IF_ERROR(db_.Exec("PRAGMA busy_timeout=5000"));
    if (sqlite3_create_function_v2(db_.raw(), "tp_identifier_key", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr,
                                   IdentifierKeySql, nullptr, nullptr, nullptr) != SQLITE_OK) {
      return db_.Error("register tp_identifier_key");
    }
    if (options_.read_only) {
      TP_RETURN_IF_ERROR(db_.Exec("PRAGMA query_only=1"));
    } else {
      // 16 KiB pages: events are a few hundred bytes; larger pages cut per-page overhead (about
      // 30 % faster bulk inserts measured here). Only takes effect on a new database.
      TP_RETURN_IF_ERROR(db_.Exec("PRAGMA page_size=16384"));
      TP_RETURN_IF_ERROR(db_.Exec("PRAGMA journal_mode=WAL"));
      TP_RETURN_IF_ERROR(db_.Exec(options_.synchronous == "normal" ? "PRAGMA synchronous=NORMAL"
                                                                    : "PRAGMA synchronous=FULL"));
      // Checkpoints every 2,000 pages (32 MiB) on the committer, which has time to spare; at
      // 10,000 the last one, at close, took ~0.3 s of a 1 M-event ingest on its own.
      TP_RETURN_IF_ERROR(db_.Exec("PRAGMA wal_autocheckpoint=2000"));
    }
    TP_RETURN_IF_ERROR(db_.Exec("PRAGMA cache_size=-" + std::to_string(options_.cache_mib * 1024)));
    TP_RETURN_IF_ERROR(db_.Exec("PRAGMA temp_store=MEMORY"));
    TP_RETURN_IF_ERROR(Migrate());
    return events_.Init();
  }

  Result<std::unique_ptr<Transaction>> Begin() override { return db_.Begin(); }
  Maintenance* maintenance() override { return options_.read_only ? nullptr : this; }
  std::string_view backend() const override { return "sqlite"; }
  bool read_only() const override { return options_.read_only; }
  int schema_version() const override { return version_; }
  bool SealEventChunks(std::shared_ptr<ChunkSealer> sealer) override {
    sealer_ = std::move(sealer);
    events_.SetSealer(sealer_.get());
    erasure_.SetSealer(sealer_.get());
    return true;
  }

  std::unique_ptr<PreparedEvents> PrepareEvents(std::span<const EventRecord> events) override {
    return events_.Prepare(events);
  }
  void FoldLog() override {
    if (!options_.read_only && !db_.in_txn()) {
      sqlite3_wal_checkpoint_v2(db_.raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    }
  }

 private:
  Status Migrate() {
    if (options_.read_only) {
      Stmt st(db_.raw(), "SELECT version FROM schema_version");
      if (!st.ok() || st.Step() != SQLITE_ROW) {
        return Status::FailedPrecondition("the data directory holds no Touchpoint database yet");
      }
      version_ = static_cast<int>(st.Int(0));
      if (version_ > kSchemaVersion) return TooNew();
      if (version_ < kSchemaVersion) {
        // Only a writer migrates; the queries below are written for the current layout.
        return Status::FailedPrecondition(
            "database schema version " + std::to_string(version_) + " predates this binary's (" +
            std::to_string(kSchemaVersion) +
            "); start `touchpoint serve` or run `touchpoint ingest` once to upgrade it");
      }
      return Status::Ok();
    }
    TP_RETURN_IF_ERROR(db_.Exec("CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)"));
    {
      Stmt st(db_.raw(), "SELECT version FROM schema_version");
      version_ = st.ok() && st.Step() == SQLITE_ROW ? static_cast<int>(st.Int(0)) : 0;
    }
    if (version_ > kSchemaVersion) return TooNew();
    while (version_ < kSchemaVersion) {
      TP_RETURN_IF_ERROR(db_.Exec("BEGIN IMMEDIATE"));
      Status s = db_.Exec(kMigrations[version_]);
      if (s.ok() && version_ + 1 == 2) s = events_.MigrateEventsToChunks();
      if (s.ok()) s = db_.Exec("DELETE FROM schema_version");
      if (s.ok()) s = db_.Exec("INSERT INTO schema_version(version) VALUES(" + std::to_string(version_ + 1) + ")");
      if (!s.ok()) {
        db_.Exec("ROLLBACK").ok();
        return s.WithContext("migration to schema version " + std::to_string(version_ + 1));
      }
      TP_RETURN_IF_ERROR(db_.Exec("COMMIT"));
      ++version_;
    }
    return Status::Ok();
  }

  Status TooNew() {
    return Status::FailedPrecondition("database schema version " + std::to_string(version_) +
                                      " is newer than this binary supports (" + std::to_string(kSchemaVersion) +
                                      "); upgrade touchpoint");
  }

  Options options_;
  std::unique_ptr<WriterLock> lock_;  // released after the connection closes (members die in reverse)
  Db db_;
  std::shared_ptr<ChunkSealer> sealer_;  // encryption at rest (SealEventChunks), before its users
  SqliteEventLog events_;
  SqliteIdentity identity_;
  SqliteProfiles profiles_;
  SqliteActivity activity_;
  SqliteEscalations escalations_;
  SqliteApiKeys keys_;
  SqliteJobs jobs_;
  SqliteSegments segments_;
  SqliteUsers users_;
  SqliteTeams teams_;
  SqliteSessions sessions_;
  SqliteAudit audit_;
  SqliteSigningKeys signing_keys_;
  SqliteDpBudgets dp_budgets_;
  SqliteOutbox outbox_;
  SqliteConsents consents_;
  SqliteTickets tickets_;
  SqliteChannels channels_;
  SqliteDeskflow deskflow_;
  SqliteAgents agents_;
  SqliteSuppressions suppressions_;
  SqliteErasure erasure_;
  SqliteSla sla_;
  SqliteKeyring keyring_;
  SqliteRekey rekey_;
  SqliteKpi kpi_;
  SqliteExperiments experiments_;
  int version_ = 0;
};

}  // namespace

int CurrentSchemaVersion() { return kSchemaVersion; }

Result<std::unique_ptr<Store>> Open(const Options& options) {
  std::unique_ptr<WriterLock> lock;
  if (!options.read_only && !options.lock_purpose.empty()) {
    std::string dir = std::filesystem::path(options.path).parent_path().string();
    if (dir.empty()) dir = ".";
    TP_ASSIGN_OR_RETURN(lock, WriterLock::Acquire(dir, options.lock_purpose));
  } else if (!options.read_only) {
    std::error_code ec;
    const auto dir = std::filesystem::path(options.path).parent_path();
    if (!dir.empty()) std::filesystem::create_directories(dir, ec);
    if (ec) return Status::Unavailable("cannot create directory " + dir.string() + ": " + ec.message());
  }
  sqlite3* db = nullptr;
  const int flags = options.read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  // SQLite's global allocation statistics take a mutex on every malloc and free (~5 % of a
  // commit's CPU here); nothing reads them. Must precede the library's initialisation, so it
  // is a no-op (SQLITE_MISUSE, ignored) if something else initialised SQLite first.
  static std::once_flag configured;
  std::call_once(configured, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
  int rc = sqlite3_open_v2(options.path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return Status::Unavailable("cannot open database " + options.path + ": " + msg);
  }
  auto store = std::make_unique<SqliteStore>(db, options, std::move(lock));
  Status s = store->Init();
  if (!s.ok()) return s.WithContext(options.path);
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace touchpoint::store::sqlite
