// The PostgreSQL adapter: the only code (with pg.h) that sees libpq. One connection per store;
// the repositories share it and write inside its one open transaction. Bulk paths: events and
// the other append-only rows go in with COPY, the identity tables and profiles with one upsert
// per table and commit (arrays unnested), scans stream through cursors.
//
// Several nodes (store/cluster.h): the writer lock is a session advisory lock held on a
// connection of its own; each election increments tp_cluster.epoch, and every write transaction
// of a fenced store ends with an UPDATE of that row conditioned on its epoch — the row lock
// orders it against the next election's UPDATE, so once a new epoch is committed the old
// writer's commits fail ("fenced"), and no two epochs' commits interleave.
#include <touchpoint/store/postgres.h>

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <tuple>
#include <atomic>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>

#include <touchpoint/store/activity_repository.h>
#include <touchpoint/store/api_key_repository.h>
#include <touchpoint/store/audit_repository.h>
#include <touchpoint/store/channel_repository.h>
#include <touchpoint/store/consent_repository.h>
#include <touchpoint/store/deskflow_repository.h>
#include <touchpoint/store/dp_budget_repository.h>
#include <touchpoint/store/cluster.h>
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

#include <touchpoint/store/chunk/event_chunk.h>
#include <touchpoint/store/list_columns.h>
#include "store/postgres/pg.h"

namespace touchpoint::store::postgres {
namespace {

constexpr int kSchemaVersion = 20;
// zstd level of the event chunks (store/chunk/event_chunk.h), as SQLite's default.
constexpr int kEventCompressionLevel = 1;
// Advisory lock keys (one namespace per database): the writer, and schema migrations.
constexpr std::int64_t kWriterLockKey = 0x7470'0001;
constexpr std::int64_t kMigrationLockKey = 0x7470'0002;
constexpr std::int64_t kAuditLockKey = 0x7470'0003;  // serialises audit appends (one chain order)
// Serialises privacy-budget spends (transaction-scoped).
constexpr std::int64_t kDpSpendLockKey = 0x7470'0005;
// Database time in epoch milliseconds.
constexpr const char* kNowMs = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

// Migrations, applied in order; index i brings the schema from version i to i + 1. The version
// numbers are SQLite's (store/sqlite), so one number names one logical schema on both backends;
// SQLite's version 3 changed only its physical layout (hashed identifier keys), which
// PostgreSQL's version 1 has in its own form; PostgreSQL took SQLite's event chunks (SQLite's
// version 2) in its version 7.
const char* const kMigrations[] = {
    R"sql(
CREATE TABLE events(
  seq bigint PRIMARY KEY,
  hash_hi bigint NOT NULL, hash_lo bigint NOT NULL,
  message_id text NOT NULL,
  customer_id bigint NOT NULL,
  ts bigint NOT NULL,
  kind smallint NOT NULL,
  name text NOT NULL,
  body text NOT NULL,
  epoch bigint NOT NULL DEFAULT 0);
CREATE TABLE customers(
  id bigint PRIMARY KEY,
  merged_into bigint NOT NULL DEFAULT 0,
  created_at bigint NOT NULL,
  changed bigint NOT NULL DEFAULT 0);
CREATE INDEX customers_merged_into ON customers(merged_into) WHERE merged_into <> 0;
CREATE INDEX customers_changed ON customers(changed);
CREATE TABLE identifiers(
  id bigint PRIMARY KEY,
  key bigint NOT NULL,
  kind text NOT NULL, value text NOT NULL,
  customer_id bigint NOT NULL,
  blocked boolean NOT NULL DEFAULT false,
  joins integer NOT NULL DEFAULT 0,
  first_seen bigint NOT NULL,
  first_message_id text NOT NULL,
  changed bigint NOT NULL DEFAULT 0);
CREATE INDEX identifiers_key ON identifiers(key);
CREATE INDEX identifiers_changed ON identifiers(changed);
CREATE INDEX identifiers_customer ON identifiers(customer_id);
CREATE INDEX identifiers_blocked ON identifiers(id) WHERE blocked;
CREATE TABLE merges(
  id bigint PRIMARY KEY,
  at bigint NOT NULL,
  winner bigint NOT NULL, loser bigint NOT NULL,
  bridge_identifier bigint NOT NULL,
  message_id text NOT NULL,
  reason text NOT NULL,
  undone_at bigint NOT NULL DEFAULT 0,
  changed bigint NOT NULL DEFAULT 0);
CREATE INDEX merges_changed ON merges(changed);
CREATE INDEX merges_winner ON merges(winner);
CREATE INDEX merges_loser ON merges(loser);
CREATE TABLE merge_blocks(a bigint NOT NULL, b bigint NOT NULL, PRIMARY KEY(a, b));
CREATE TABLE profiles(
  customer_id bigint PRIMARY KEY,
  data text NOT NULL,
  updated_at bigint NOT NULL,
  changed bigint NOT NULL DEFAULT 0);
CREATE INDEX profiles_changed ON profiles(changed);
CREATE TABLE orders(
  seq bigserial PRIMARY KEY,
  order_id text NOT NULL,
  customer_id bigint NOT NULL,
  ts bigint NOT NULL,
  total double precision NOT NULL,
  currency text NOT NULL,
  channel text NOT NULL,
  items text NOT NULL);
CREATE TABLE messages(
  seq bigserial PRIMARY KEY,
  message_id text NOT NULL,
  customer_id bigint NOT NULL,
  ts bigint NOT NULL,
  conversation_id text NOT NULL,
  channel text NOT NULL,
  author text NOT NULL,
  direction text NOT NULL,
  text text NOT NULL,
  language text NOT NULL,
  sentiment_label text NOT NULL,
  sentiment_score double precision NOT NULL,
  intent text NOT NULL,
  masked_text text NOT NULL);
CREATE TABLE surveys(
  seq bigserial PRIMARY KEY,
  message_id text NOT NULL,
  customer_id bigint NOT NULL,
  ts bigint NOT NULL,
  nps integer, csat integer,
  comment text NOT NULL,
  touchpoint text NOT NULL);
CREATE TABLE escalations(
  seq bigserial PRIMARY KEY,
  at bigint NOT NULL,
  customer_id bigint NOT NULL,
  conversation_id text NOT NULL,
  message_id text NOT NULL,
  rule text NOT NULL, action text NOT NULL, reason text NOT NULL);
CREATE TABLE meta(key text PRIMARY KEY, value bigint NOT NULL);
CREATE TABLE api_keys(
  id bigserial PRIMARY KEY,
  role text NOT NULL,
  key_hash text NOT NULL UNIQUE,
  prefix text NOT NULL,
  created_at bigint NOT NULL,
  revoked_at bigint NOT NULL DEFAULT 0);
CREATE TABLE tp_cluster(
  id integer PRIMARY KEY CHECK (id = 1),
  epoch bigint NOT NULL,
  committed_seq bigint NOT NULL,
  committed_epoch bigint NOT NULL,
  committed_at bigint NOT NULL,
  changes bigint NOT NULL);
INSERT INTO tp_cluster VALUES (1, 0, 0, 0, 0, 0);
CREATE TABLE tp_elections(
  epoch bigint PRIMARY KEY,
  node_id text NOT NULL,
  at bigint NOT NULL);
CREATE TABLE tp_nodes(
  id text PRIMARY KEY,
  address text NOT NULL,
  role text NOT NULL,
  epoch bigint NOT NULL,
  heartbeat_at bigint NOT NULL);
)sql",
    "SELECT 1  -- 2: SQLite's event chunks (events are rows here)",
    "SELECT 1  -- 3: SQLite's hashed identifier keys (in version 1 here)",
    // 4: records of analytics jobs and saved segments.
    R"sql(
CREATE TABLE jobs(
  id bigserial PRIMARY KEY,
  name text NOT NULL,
  state text NOT NULL,
  params text NOT NULL,
  result text NOT NULL,
  error text NOT NULL,
  trigger text NOT NULL,
  created_at bigint NOT NULL,
  started_at bigint NOT NULL,
  finished_at bigint NOT NULL);
CREATE INDEX jobs_unfinished ON jobs(state) WHERE state IN ('queued', 'running');
CREATE TABLE segments(
  name text PRIMARY KEY,
  rule text NOT NULL,
  description text NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL);
)sql",
    // 5: people who log in, their teams and login sessions (only token hashes). E-mails are
    // unique ignoring case (privacy stores them lower-cased; the index makes it a rule).
    R"sql(
CREATE TABLE teams(
  id bigserial PRIMARY KEY,
  name text NOT NULL UNIQUE,
  created_at bigint NOT NULL);
CREATE TABLE users(
  id bigserial PRIMARY KEY,
  email text NOT NULL,
  password_hash text NOT NULL,
  role text NOT NULL,
  team_id bigint NOT NULL DEFAULT 0,
  totp_secret text NOT NULL DEFAULT '',
  totp_last_step bigint NOT NULL DEFAULT 0,
  created_at bigint NOT NULL,
  disabled_at bigint NOT NULL DEFAULT 0,
  password_changed_at bigint NOT NULL DEFAULT 0,
  failed_logins integer NOT NULL DEFAULT 0,
  locked_until bigint NOT NULL DEFAULT 0);
CREATE UNIQUE INDEX users_email ON users(lower(email));
CREATE TABLE team_supervisors(
  team_id bigint NOT NULL,
  user_id bigint NOT NULL,
  PRIMARY KEY(team_id, user_id));
CREATE TABLE sessions(
  id bigserial PRIMARY KEY,
  token_hash text NOT NULL UNIQUE,
  user_id bigint NOT NULL,
  csrf_hash text NOT NULL,
  created_at bigint NOT NULL,
  last_seen_at bigint NOT NULL,
  revoked_at bigint NOT NULL DEFAULT 0);
CREATE INDEX sessions_user ON sessions(user_id);
)sql",
    // 6: the audit log's hash chain and signed checkpoints, and the installation's signing keys
    // (store/audit_repository.h).
    R"sql(
CREATE TABLE IF NOT EXISTS audit_entries(
  seq bigint PRIMARY KEY,
  time bigint NOT NULL,
  actor text NOT NULL,
  action text NOT NULL,
  target text NOT NULL,
  details text NOT NULL,
  prev_hash text NOT NULL,
  hash text NOT NULL);
CREATE TABLE IF NOT EXISTS audit_checkpoints(
  id bigserial PRIMARY KEY,
  count bigint NOT NULL,
  head_hash text NOT NULL,
  time bigint NOT NULL,
  key_id text NOT NULL,
  signature text NOT NULL);
CREATE TABLE IF NOT EXISTS signing_keys(
  key_id text PRIMARY KEY,
  public_key text NOT NULL,
  created_at bigint NOT NULL);
)sql",
    // 7: the event log moves into compressed chunks (store/chunk/event_chunk.h), one row per run
    // of events of one commit; the code step (PgEventLog::MigrateRowsToChunks) copies the version-6
    // rows over and drops `events`. The bytes are zstd already: stored out of line uncompressed
    // (EXTERNAL), not recompressed by TOAST. The exclusion constraint keeps seq ranges disjoint,
    // as the row layout's primary key kept seqs unique.
    R"sql(
CREATE TABLE event_chunks(
  first_seq bigint PRIMARY KEY,
  n integer NOT NULL CHECK (n > 0),
  codec smallint NOT NULL,
  raw_size bigint NOT NULL,
  min_ts bigint NOT NULL,
  max_ts bigint NOT NULL,
  epoch bigint NOT NULL,
  hashes bytea NOT NULL,
  data bytea NOT NULL,
  CONSTRAINT event_chunks_disjoint EXCLUDE USING gist (int8range(first_seq, first_seq + n) WITH &&));
ALTER TABLE event_chunks ALTER COLUMN hashes SET STORAGE EXTERNAL, ALTER COLUMN data SET STORAGE EXTERNAL;
)sql",
    // 8: differential-privacy budgets and the ledger of releases (store/dp_budget_repository.h).
    R"sql(
CREATE TABLE dp_budgets(
  dataset text PRIMARY KEY,
  epsilon_micros bigint NOT NULL,
  updated_at bigint NOT NULL);
CREATE TABLE dp_releases(
  id bigserial PRIMARY KEY,
  dataset text NOT NULL,
  report text NOT NULL,
  epsilon_micros bigint NOT NULL,
  actor text NOT NULL,
  released_at bigint NOT NULL);
CREATE INDEX dp_releases_dataset ON dp_releases(dataset, id);
)sql",
    // 9: the outbox's queue of outgoing deliveries (store/outbox_repository.h).
    R"sql(
CREATE TABLE outbox(
  id bigserial PRIMARY KEY,
  kind text NOT NULL,
  target text NOT NULL,
  event text NOT NULL,
  payload text NOT NULL,
  idempotency_key text NOT NULL UNIQUE,
  state text NOT NULL,
  attempts integer NOT NULL,
  next_attempt_at bigint NOT NULL,
  last_error text NOT NULL,
  created_at bigint NOT NULL,
  delivered_at bigint NOT NULL);
CREATE INDEX outbox_due ON outbox(kind, next_attempt_at) WHERE state IN ('pending', 'failed', 'delivering');
CREATE INDEX outbox_target_due ON outbox(kind, target, next_attempt_at)
  WHERE state IN ('pending', 'failed', 'delivering');
CREATE INDEX outbox_state ON outbox(state, id);
)sql",
    // 10: consent and preference decisions, append-only (store/consent_repository.h).
    R"sql(
CREATE TABLE consents(
  id bigserial PRIMARY KEY,
  customer_id bigint NOT NULL,
  purpose text NOT NULL,
  channel text NOT NULL,
  value text NOT NULL,
  source text NOT NULL,
  wording_version text NOT NULL,
  at bigint NOT NULL,
  actor text NOT NULL);
CREATE INDEX consents_customer ON consents(customer_id, id);
)sql",
    // 11: the service desk's tickets, their threads, their append-only history and the desk's
    // feed cursor (store/ticket_repository.h). Ticket numbers come from a sequence: never reused.
    R"sql(
CREATE SEQUENCE ticket_numbers;
CREATE TABLE tickets(
  number bigint PRIMARY KEY,
  version bigint NOT NULL,
  customer_id bigint NOT NULL,
  status text NOT NULL,
  priority text NOT NULL,
  type text NOT NULL,
  channel text NOT NULL,
  skill text NOT NULL,
  language text NOT NULL,
  queue text NOT NULL,
  assignee bigint NOT NULL,
  subject text NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  last_message_at bigint NOT NULL,
  solved_at bigint NOT NULL,
  reopen_count integer NOT NULL,
  merged_into bigint NOT NULL);
CREATE INDEX tickets_customer ON tickets(customer_id, number);
CREATE INDEX tickets_status ON tickets(status, number);
CREATE INDEX tickets_queue ON tickets(queue, number);
CREATE INDEX tickets_assignee ON tickets(assignee, number);
CREATE TABLE ticket_messages(
  id bigserial PRIMARY KEY,
  ticket bigint NOT NULL,
  at bigint NOT NULL,
  author text NOT NULL,
  agent bigint NOT NULL,
  channel text NOT NULL,
  internal boolean NOT NULL,
  text text NOT NULL,
  message_id text NOT NULL,
  sentiment_label text NOT NULL,
  sentiment_score double precision NOT NULL,
  intent text NOT NULL);
CREATE INDEX ticket_messages_ticket ON ticket_messages(ticket, id);
CREATE TABLE ticket_history(
  id bigserial PRIMARY KEY,
  ticket bigint NOT NULL,
  at bigint NOT NULL,
  actor_kind text NOT NULL,
  actor text NOT NULL,
  field text NOT NULL,
  before text NOT NULL,
  after text NOT NULL);
CREATE INDEX ticket_history_ticket ON ticket_history(ticket, id);
CREATE TABLE desk_cursors(
  name text PRIMARY KEY,
  seq bigint NOT NULL);
)sql",
    // 12: subject rights (store/erasure_repository.h, store/suppression_repository.h): event chunks
    // count their tombstones (erased events) and list their customers, so an erasure decodes only
    // the chunks that name the person; the suppression list holds blind-index values only.
    R"sql(
ALTER TABLE event_chunks ADD COLUMN IF NOT EXISTS erased integer NOT NULL DEFAULT 0;
ALTER TABLE event_chunks ADD COLUMN IF NOT EXISTS customers bytea;
ALTER TABLE event_chunks ALTER COLUMN customers SET STORAGE EXTERNAL;
CREATE TABLE IF NOT EXISTS suppressions(
  value bigint NOT NULL,
  key_version integer NOT NULL,
  added_at bigint NOT NULL,
  PRIMARY KEY(value, key_version));
)sql",
    // 13: erasures in the change feed (store/change_feed.h): the customer ids an erasure removed,
    // with the erasure's change number, so that followers' warm copies forget them too. Ids only.
    R"sql(
CREATE TABLE IF NOT EXISTS erased_customers(
  customer_id bigint PRIMARY KEY,
  changed bigint NOT NULL);
CREATE INDEX IF NOT EXISTS erased_customers_changed ON erased_customers(changed);
)sql",
    // 14: the service desk's agents and routing decisions (store/agent_repository.h).
    R"sql(
CREATE TABLE IF NOT EXISTS desk_agents(
  user_id bigint PRIMARY KEY,
  name text NOT NULL,
  skills text NOT NULL,
  languages text NOT NULL,
  attributes text NOT NULL,
  capacity integer NOT NULL,
  state text NOT NULL,
  team text NOT NULL,
  shift text NOT NULL,
  state_changed_at bigint NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL);
CREATE TABLE IF NOT EXISTS routing_decisions(
  id bigserial PRIMARY KEY,
  ticket bigint NOT NULL,
  at bigint NOT NULL,
  policy text NOT NULL,
  rule text NOT NULL,
  agent bigint NOT NULL,
  detail text NOT NULL);
CREATE INDEX IF NOT EXISTS routing_decisions_ticket ON routing_decisions(ticket, id);
)sql",
    // 15: SLA policies, fired SLA events (unique per ticket, target, kind, cycle) and the
    // complaint loop's tasks (store/sla_repository.h).
    R"sql(
CREATE TABLE IF NOT EXISTS sla_policies(
  name text PRIMARY KEY,
  position bigint NOT NULL,
  body text NOT NULL,
  updated_at bigint NOT NULL);
CREATE TABLE IF NOT EXISTS sla_events(
  id bigserial PRIMARY KEY,
  ticket bigint NOT NULL,
  target text NOT NULL,
  kind text NOT NULL,
  cycle bigint NOT NULL,
  due_at bigint NOT NULL,
  fired_at bigint NOT NULL,
  policy text NOT NULL,
  actions text NOT NULL,
  UNIQUE(ticket, target, kind, cycle));
CREATE TABLE IF NOT EXISTS complaint_tasks(
  id bigserial PRIMARY KEY,
  ticket bigint NOT NULL,
  kind text NOT NULL,
  created_at bigint NOT NULL,
  due_at bigint NOT NULL,
  completed_at bigint NOT NULL,
  completed_by text NOT NULL);
CREATE INDEX IF NOT EXISTS complaint_tasks_ticket ON complaint_tasks(ticket, id);
CREATE INDEX IF NOT EXISTS complaint_tasks_open ON complaint_tasks(completed_at, id);
)sql",
    // 16: the service desk's repeat inquiries, tags, custom fields, full-text index and canned
    // replies (store/deskflow_repository.h).
    R"sql(
CREATE TABLE IF NOT EXISTS ticket_contacts(
  ticket bigint PRIMARY KEY,
  customer_id bigint NOT NULL,
  intent text NOT NULL,
  channel text NOT NULL,
  at bigint NOT NULL,
  ordinal integer NOT NULL,
  previous text NOT NULL);
CREATE INDEX IF NOT EXISTS ticket_contacts_customer ON ticket_contacts(customer_id, at);
CREATE INDEX IF NOT EXISTS ticket_contacts_at ON ticket_contacts(at);
CREATE TABLE IF NOT EXISTS ticket_tags(
  tag text NOT NULL,
  ticket bigint NOT NULL,
  PRIMARY KEY(tag, ticket));
CREATE INDEX IF NOT EXISTS ticket_tags_ticket ON ticket_tags(ticket, tag);
CREATE TABLE IF NOT EXISTS ticket_fields(
  ticket bigint NOT NULL,
  name text NOT NULL,
  value text NOT NULL,
  PRIMARY KEY(ticket, name));
CREATE TABLE IF NOT EXISTS ticket_tokens(
  token bigint NOT NULL,
  ticket bigint NOT NULL,
  PRIMARY KEY(token, ticket));
CREATE TABLE IF NOT EXISTS canned_replies(
  name text PRIMARY KEY,
  title text NOT NULL,
  body text NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL);
)sql",
    // 17: the desk's channels (store/channel_repository.h): a message's channel side (its
    // delivery, its Message-ID), CSAT surveys, and attachments stored once by SHA-256.
    R"sql(
CREATE TABLE IF NOT EXISTS channel_messages(
  key text PRIMARY KEY,
  ticket bigint NOT NULL,
  direction text NOT NULL,
  channel text NOT NULL,
  outbox_id bigint NOT NULL,
  mail_id text NOT NULL,
  at bigint NOT NULL);
CREATE INDEX IF NOT EXISTS channel_messages_mail_id ON channel_messages(mail_id, at);
CREATE TABLE IF NOT EXISTS csat_surveys(
  id text PRIMARY KEY,
  seq bigserial,
  ticket bigint NOT NULL,
  channel text NOT NULL,
  outbox_id bigint NOT NULL,
  sent_at bigint NOT NULL,
  answered_at bigint NOT NULL,
  score integer NOT NULL,
  comment text NOT NULL);
CREATE INDEX IF NOT EXISTS csat_surveys_ticket ON csat_surveys(ticket, seq);
CREATE TABLE IF NOT EXISTS attachments(
  hash text PRIMARY KEY,
  content_type text NOT NULL,
  size bigint NOT NULL,
  data bytea NOT NULL,
  created_at bigint NOT NULL);
ALTER TABLE attachments ALTER COLUMN data SET STORAGE EXTERNAL;
CREATE TABLE IF NOT EXISTS message_attachments(
  seq bigserial PRIMARY KEY,
  ticket bigint NOT NULL,
  message_key text NOT NULL,
  hash text NOT NULL,
  filename text NOT NULL,
  content_type text NOT NULL,
  size bigint NOT NULL,
  UNIQUE(message_key, hash));
)sql",
    // 18: encryption at rest: wrapped per-person data keys and the layer's settings
    // (store/keyring_repository.h); the search index by ticket, for an erasure's de-identification.
    R"sql(
CREATE TABLE IF NOT EXISTS keyring(
  customer_id bigint PRIMARY KEY,
  key_version integer NOT NULL,
  wrapped text NOT NULL);
CREATE TABLE IF NOT EXISTS privacy_settings(
  name text PRIMARY KEY,
  value text NOT NULL);
CREATE INDEX IF NOT EXISTS ticket_tokens_ticket ON ticket_tokens(ticket);
)sql",
    // 19: the desk's measured facts and spans (store/kpi_repository.h, insight/kpi_facts.h):
    // one row per ticket with what KPIs group and count by, and every span of its clock.
    R"sql(
CREATE TABLE IF NOT EXISTS kpi_tickets(
  ticket bigint PRIMARY KEY,
  customer_id bigint NOT NULL,
  created_at bigint NOT NULL,
  status text NOT NULL,
  channel text NOT NULL,
  queue text NOT NULL,
  priority text NOT NULL,
  type text NOT NULL,
  intent text NOT NULL,
  tier text NOT NULL,
  team text NOT NULL,
  agent bigint NOT NULL,
  policy text NOT NULL,
  first_solved_at bigint NOT NULL,
  solved_at bigint NOT NULL,
  agent_replies integer NOT NULL,
  reopened_at text NOT NULL,
  escalated boolean NOT NULL,
  bot_first boolean NOT NULL,
  sentiment_count integer NOT NULL,
  sentiment_sum double precision NOT NULL,
  sentiment_negative integer NOT NULL,
  measured_at bigint NOT NULL);
CREATE INDEX IF NOT EXISTS kpi_tickets_created ON kpi_tickets(created_at);
CREATE TABLE IF NOT EXISTS kpi_spans(
  ticket bigint NOT NULL,
  kind text NOT NULL,
  seq integer NOT NULL,
  created_at bigint NOT NULL,
  start_at bigint NOT NULL,
  stop_at bigint NOT NULL,
  start_event text NOT NULL,
  end_event text NOT NULL,
  wall_seconds bigint NOT NULL,
  business_seconds bigint NOT NULL,
  target_seconds bigint NOT NULL,
  met integer NOT NULL,
  PRIMARY KEY(ticket, kind, seq));
CREATE INDEX IF NOT EXISTS kpi_spans_created ON kpi_spans(created_at, ticket);
)sql",
    // 20: experiments and their exposures (store/experiment_repository.h, insight/experiments.h).
    R"sql(
CREATE TABLE IF NOT EXISTS experiments(
  id bigserial PRIMARY KEY,
  name text NOT NULL UNIQUE,
  description text NOT NULL,
  unit text NOT NULL,
  variants text NOT NULL,
  weights text NOT NULL,
  coverage double precision NOT NULL,
  salt text NOT NULL,
  metrics text NOT NULL,
  directions text NOT NULL,
  pre_period_days integer NOT NULL,
  sequential_tuning double precision NOT NULL,
  alpha double precision NOT NULL,
  correction text NOT NULL,
  status text NOT NULL,
  created_at bigint NOT NULL,
  started_at bigint NOT NULL,
  stopped_at bigint NOT NULL,
  created_by text NOT NULL);
CREATE TABLE IF NOT EXISTS experiment_exposures(
  experiment bigint NOT NULL,
  unit text NOT NULL,
  variant text NOT NULL,
  exposed_at bigint NOT NULL,
  PRIMARY KEY(experiment, unit));
CREATE INDEX IF NOT EXISTS experiment_exposures_unit ON experiment_exposures(unit);
)sql",
};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kSchemaVersion);

Status ReadOnlyError() { return Status::FailedPrecondition("store is open read-only"); }

// The error of a writer whose epoch a later election superseded (`now`: the stored epoch, 0 when
// unknown): it must stop writing; nothing of the refused transaction was committed.
Status Fenced(std::int64_t mine, std::int64_t now) {
  return Status::FailedPrecondition("fenced: this writer's epoch " + std::to_string(mine) + " was superseded" +
                                    (now > 0 ? " by epoch " + std::to_string(now) : std::string()) +
                                    "; another node writes now, nothing more is committed here");
}

// The state shared by a store's repositories: its connection and the one open transaction.
class Session {
 public:
  Session(std::unique_ptr<Conn> conn, bool read_only) : conn_(std::move(conn)), read_only_(read_only) {}
  Conn& conn() { return *conn_; }
  bool read_only() const { return read_only_; }
  bool in_txn() const { return txn_ != nullptr; }
  void RequireTxn(const Transaction& txn) const {
    TP_CHECK(&txn == txn_, "a write joined a transaction of another store (or none)");
  }
  void SetTxn(const Transaction* txn) { txn_ = txn; }
  // Runs `fn(committed)` when the open transaction ends.
  void OnTxnEnd(std::function<void(bool)> fn) { on_end_.push_back(std::move(fn)); }
  // The change number of the open transaction (store/change_feed.h), drawn on first use: rows
  // of the identity and profile tables it writes carry it. Drawing it locks tp_cluster's row
  // until the commit, so numbers are drawn in commit order and a follower that read every row
  // up to N never sees an N-1 appear later.
  Result<std::int64_t> ChangeNumber() {
    if (change_ == 0) {
      TP_ASSIGN_OR_RETURN(change_,
                          conn_->QueryInt("UPDATE tp_cluster SET changes = changes + 1 WHERE id = 1 RETURNING changes"));
    }
    return change_;
  }
  void EndTxn(bool committed) {
    auto fns = std::move(on_end_);
    on_end_.clear();
    txn_ = nullptr;
    change_ = 0;
    for (auto& fn : fns) fn(committed);
  }

 private:
  std::unique_ptr<Conn> conn_;
  bool read_only_;
  const Transaction* txn_ = nullptr;
  std::int64_t change_ = 0;
  std::vector<std::function<void(bool)>> on_end_;
};

// ---- event log ----

// Events are stored as SQLite stores them (store/chunk/event_chunk.h): one event_chunks row per
// run of up to kMaxChunkEvents events of one Append, its records zstd-compressed, written by
// binary COPY. A row per event (schema 1–4) made the server parse ~400 bytes of COPY text and
// write ~565 bytes of heap plus WAL per event, as much CPU as Touchpoint's whole ingest. Each
// chunk row carries its writer's epoch (the fencing proof: one chunk is one writer's commit).
constexpr const char* kCopyChunks =
    "COPY event_chunks(first_seq, n, codec, raw_size, min_ts, max_ts, epoch, hashes, data, customers) FROM STDIN "
    "(FORMAT binary)";
// The schema-7 migration's (before schema 9 added the customers column).
constexpr const char* kCopyChunksV7 =
    "COPY event_chunks(first_seq, n, codec, raw_size, min_ts, max_ts, epoch, hashes, data) FROM STDIN "
    "(FORMAT binary)";
// An erasure's rewritten chunks (store/erasure_repository.h).
constexpr const char* kCopyRewrittenChunks =
    "COPY event_chunks(first_seq, n, codec, raw_size, min_ts, max_ts, epoch, hashes, data, erased, customers) "
    "FROM STDIN (FORMAT binary)";

struct PreparedChunks final : PreparedEvents {
  const void* log = nullptr;
  size_t events = 0;  // how many events were encoded (a span of another size is re-encoded)
  std::vector<EncodedChunk> chunks;
};

class PgEventLog final : public EventLog {
 public:
  PgEventLog(Session& s, int compression_level)
      : s_(s), codec_(compression_level), prepare_codec_(compression_level) {}

  Status Init() {
    TP_ASSIGN_OR_RETURN(std::int64_t last, LastSeq());
    next_seq_ = last + 1;
    return Status::Ok();
  }
  void set_epoch(std::int64_t epoch) { epoch_ = epoch; }
  // The last seq appended in the open transaction (0 when it appended nothing).
  std::int64_t txn_last_seq() const { return txn_open_ ? txn_seq_ - 1 : 0; }

  // Encodes (compresses) the chunks ahead, on the caller's thread (the engine's writer), so the
  // committing thread only sends them. Safe to call while Append runs on another thread.
  std::unique_ptr<PreparedEvents> Prepare(std::span<const EventRecord> events) {
    if (s_.read_only() || events.empty()) return nullptr;
    std::scoped_lock lock(prepare_mu_);
    auto p = std::make_unique<PreparedChunks>();
    p->log = this;
    (void)ForEachChunk(events, [&](std::span<const EventRecord> run) {
      prepare_codec_.Encode(run, p->chunks.emplace_back());
      return Status::Ok();
    });
    p->events = events.size();
    return p;
  }

  Status Append(Transaction& txn, std::span<EventRecord> events, const PreparedEvents* prepared) override {
    s_.RequireTxn(txn);
    if (events.empty()) return Status::Ok();
    if (!txn_open_) {
      txn_open_ = true;
      txn_seq_ = next_seq_;
      s_.OnTxnEnd([this](bool committed) {
        if (committed) next_seq_ = txn_seq_;
        txn_open_ = false;
      });
    }
    const auto* p = dynamic_cast<const PreparedChunks*>(prepared);
    if (p != nullptr && (p->log != this || p->events != events.size())) p = nullptr;  // stale: encode afresh
    BinaryCopyRows rows;
    size_t k = 0;
    TP_RETURN_IF_ERROR(ForEachChunk(events, [&](std::span<EventRecord> run) {
      const EncodedChunk* encoded = p != nullptr && k < p->chunks.size() ? &p->chunks[k] : nullptr;
      ++k;
      if (encoded == nullptr || encoded->n != static_cast<int>(run.size())) {
        codec_.Encode(run, chunk_);
        encoded = &chunk_;
      }
      AddChunk(run, *encoded, epoch_, &txn_seq_, rows, /*with_customers=*/true);
      return Status::Ok();
    }));
    return s_.conn().CopyIn(kCopyChunks, rows.Finish());
  }

  // One chunk per run of consecutive seqs (a skipped number is a gap between chunks, as retention
  // leaves them); the numbers after the last event up to last_seq become chunks of tombstones.
  Status AppendWithSeqs(Transaction& txn, std::span<const EventRecord> events, std::int64_t last_seq) override {
    s_.RequireTxn(txn);
    if (!txn_open_) {
      txn_open_ = true;
      txn_seq_ = next_seq_;
      s_.OnTxnEnd([this](bool committed) {
        if (committed) next_seq_ = txn_seq_;
        txn_open_ = false;
      });
    }
    BinaryCopyRows rows;
    bool any = false;
    std::vector<EventRecord> run;
    auto flush = [&]() -> Status {
      if (run.empty()) return Status::Ok();
      std::int64_t seq = run.front().seq;
      TP_RETURN_IF_ERROR(ForEachChunk(std::span<EventRecord>(run), [&](std::span<EventRecord> part) {
        codec_.Encode(part, chunk_);
        AddChunk(part, chunk_, epoch_, &seq, rows, /*with_customers=*/true);
        return Status::Ok();
      }));
      txn_seq_ = seq;
      any = true;
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
    if (any) TP_RETURN_IF_ERROR(s_.conn().CopyIn(kCopyChunks, rows.Finish()));
    if (txn_seq_ > last_seq) return Status::Ok();
    BinaryCopyRows erased;
    while (txn_seq_ <= last_seq) {
      const std::int64_t n = std::min<std::int64_t>(last_seq - txn_seq_ + 1, static_cast<std::int64_t>(kMaxChunkEvents));
      run.assign(static_cast<size_t>(n), EventRecord{});
      codec_.Encode(run, chunk_);
      const std::int64_t first = txn_seq_;
      txn_seq_ += n;
      erased.Row(11).Int8(first).Int4(chunk_.n).Int2(static_cast<std::int16_t>(chunk_.codec)).Int8(chunk_.raw_size)
          .Int8(0).Int8(0).Int8(epoch_).Bytes(chunk_.hashes).Bytes(chunk_.data).Int4(static_cast<std::int32_t>(n))
          .Bytes(CustomerSetOf(run));
    }
    return s_.conn().CopyIn(kCopyRewrittenChunks, erased.Finish());
  }

  Status RaiseNewestEventAt(Transaction& txn, Millis at) override {
    s_.RequireTxn(txn);
    return s_.conn()
        .Query("INSERT INTO meta(key, value) VALUES('newest_event_at', $1) ON CONFLICT(key) DO UPDATE "
               "SET value = greatest(meta.value, excluded.value)",
               Params().Add(at))
        .status();
  }

  Status ScanHashes(const std::function<void(const MessageHash&)>& fn) override {
    return s_.conn().Scan("SELECT hashes FROM event_chunks ORDER BY first_seq", {}, [&](const PgResult& r, int i) {
      std::string_view h = r.Get(i, 0);
      for (size_t j = 0; j + 16 <= h.size(); j += 16) {
        const MessageHash hash = ReadHash(h.data() + j);
        if (hash.hi != 0 || hash.lo != 0) fn(hash);  // (0, 0): an erased event's tombstone
      }
      return true;
    }, 64, /*binary=*/true);
  }

  Status ScanFrom(std::int64_t from_seq, const std::function<bool(EventRecord&&)>& fn) override {
    // The chunk holding from_seq starts at or before it (an index seek, not a scan of every
    // chunk); earlier events of that chunk are skipped.
    Status decoded = Status::Ok();
    TP_RETURN_IF_ERROR(s_.conn().Scan(
        "SELECT first_seq, n, codec, raw_size, hashes, data FROM event_chunks WHERE first_seq >= "
        "coalesce((SELECT max(first_seq) FROM event_chunks WHERE first_seq <= $1), 0) ORDER BY first_seq",
        Params().Add(from_seq), [&](const PgResult& r, int i) {
          bool stopped = false;
          decoded = scan_codec_.Decode(
              r.BinaryInt(i, 0), static_cast<int>(r.BinaryInt(i, 1)), static_cast<int>(r.BinaryInt(i, 2)),
              r.BinaryInt(i, 3), r.Get(i, 4), r.Get(i, 5),
              [&](EventRecord&& e) { return e.seq < from_seq || fn(std::move(e)); }, &stopped);
          return decoded.ok() && !stopped;
        }, 8, /*binary=*/true));
    return decoded;
  }

  // By the primary key's index: the last chunk, not a sum over all of them.
  Result<std::int64_t> LastSeq() override {
    return s_.conn().QueryInt("SELECT first_seq + n - 1 FROM event_chunks ORDER BY first_seq DESC LIMIT 1");
  }
  Result<Millis> NewestEventAt() override {
    return s_.conn().QueryInt("SELECT value FROM meta WHERE key = 'newest_event_at'");
  }
  Result<std::int64_t> Count() override {
    return s_.conn().QueryInt("SELECT coalesce(sum(n - erased), 0) FROM event_chunks");
  }

  // Schema 6 → 7: copies the row-per-event table into chunks (same seq numbers; a chunk never
  // spans two epochs or a gap in seq), then drops it. Inside the migration's transaction.
  Status MigrateRowsToChunks() {
    std::vector<EventRecord> run;
    std::int64_t run_epoch = 0;
    std::int64_t copied = 0;
    Status flushed = Status::Ok();
    auto flush = [&]() -> Status {
      if (run.empty()) return Status::Ok();
      BinaryCopyRows rows;
      std::int64_t seq = run.front().seq;
      TP_RETURN_IF_ERROR(ForEachChunk(std::span<EventRecord>(run), [&](std::span<EventRecord> part) {
        codec_.Encode(part, chunk_);
        AddChunk(part, chunk_, run_epoch, &seq, rows, /*with_customers=*/false);
        return Status::Ok();
      }));
      copied += static_cast<std::int64_t>(run.size());
      run.clear();
      return s_.conn().CopyIn(kCopyChunksV7, rows.Finish());
    };
    TP_RETURN_IF_ERROR(s_.conn().Scan(
        "SELECT seq, hash_hi, hash_lo, message_id, customer_id, ts, kind, name, body, epoch FROM events ORDER BY seq",
        {}, [&](const PgResult& r, int i) {
          EventRecord e;
          e.seq = r.Int(i, 0);
          e.hash = {static_cast<std::uint64_t>(r.Int(i, 1)), static_cast<std::uint64_t>(r.Int(i, 2))};
          e.message_id = r.Text(i, 3);
          e.customer = CustomerId(r.Int(i, 4));
          e.timestamp = r.Int(i, 5);
          e.kind = static_cast<EventKind>(r.Int(i, 6));
          e.name = r.Text(i, 7);
          e.body = r.Text(i, 8);
          const std::int64_t epoch = r.Int(i, 9);
          if (!run.empty() && (epoch != run_epoch || e.seq != run.back().seq + 1 || run.size() == kMaxChunkEvents)) {
            flushed = flush();
            if (!flushed.ok()) return false;
          }
          if (run.empty()) run_epoch = epoch;
          run.push_back(std::move(e));
          return true;
        }, 5'000));
    TP_RETURN_IF_ERROR(flushed);
    TP_RETURN_IF_ERROR(flush());
    TP_ASSIGN_OR_RETURN(std::int64_t rows, s_.conn().QueryInt("SELECT count(*) FROM events"));
    if (rows != copied) {
      return Status::Internal("copied " + std::to_string(copied) + " of " + std::to_string(rows) +
                              " events into chunks");
    }
    return s_.conn().Exec("DROP TABLE events");
  }

 private:
  // Adds `chunk` (the encoding of `run`) as one row numbered from *seq; numbers the run's events
  // and advances *seq.
  static void AddChunk(std::span<EventRecord> run, const EncodedChunk& chunk, std::int64_t epoch, std::int64_t* seq,
                       BinaryCopyRows& rows, bool with_customers) {
    const std::int64_t first = *seq;
    Millis min_ts = run.front().timestamp;
    Millis max_ts = min_ts;
    for (EventRecord& e : run) {
      e.seq = (*seq)++;
      min_ts = std::min(min_ts, e.timestamp);
      max_ts = std::max(max_ts, e.timestamp);
    }
    rows.Row(with_customers ? 10 : 9).Int8(first).Int4(chunk.n).Int2(static_cast<std::int16_t>(chunk.codec))
        .Int8(chunk.raw_size).Int8(min_ts).Int8(max_ts).Int8(epoch).Bytes(chunk.hashes).Bytes(chunk.data);
    if (with_customers) rows.Bytes(CustomerSetOf(run));
  }

 public:
  // Encryption at rest (store.h, ChunkSealer): every codec of the log seals and opens with it.
  void SetSealer(ChunkSealer* sealer) {
    codec_.set_sealer(sealer);
    prepare_codec_.set_sealer(sealer);
    scan_codec_.set_sealer(sealer);
  }

 private:
  Session& s_;
  EventChunkCodec codec_;        // Append's (the committing thread) and the migration's
  EncodedChunk chunk_;           // scratch for Append
  std::mutex prepare_mu_;        // Prepare's own codec, apart from Append's
  EventChunkCodec prepare_codec_;
  EventChunkCodec scan_codec_{1};
  std::int64_t epoch_ = 0;
  std::int64_t next_seq_ = 1;
  std::int64_t txn_seq_ = 1;
  bool txn_open_ = false;
};

// ---- identity ----

constexpr const char* kIdentifierColumns = "id, kind, value, customer_id, blocked, joins, first_seen, first_message_id";
constexpr const char* kMergeColumns = "id, at, winner, loser, bridge_identifier, message_id, reason, undone_at";

IdentifierRecord ReadIdentifier(const PgResult& r, int i) {
  IdentifierRecord rec;
  rec.id = IdentifierId(r.Int(i, 0));
  rec.kind = r.Text(i, 1);
  rec.value = r.Text(i, 2);
  rec.customer = CustomerId(r.Int(i, 3));
  rec.blocked = r.Int(i, 4) != 0;
  rec.joins = static_cast<int>(r.Int(i, 5));
  rec.first_seen = r.Int(i, 6);
  rec.first_message_id = r.Text(i, 7);
  return rec;
}

MergeRecord ReadMerge(const PgResult& r, int i) {
  MergeRecord m;
  m.id = MergeId(r.Int(i, 0));
  m.at = r.Int(i, 1);
  m.winner = CustomerId(r.Int(i, 2));
  m.loser = CustomerId(r.Int(i, 3));
  m.bridge = IdentifierId(r.Int(i, 4));
  m.message_id = r.Text(i, 5);
  m.reason = r.Text(i, 6);
  m.undone_at = r.Int(i, 7);
  return m;
}

template <class T, class Fn>
Result<std::vector<T>> Collect(Conn& conn, const std::string& sql, const Params& params, Fn&& read) {
  TP_ASSIGN_OR_RETURN(PgResult r, conn.Query(sql, params));
  std::vector<T> out;
  out.reserve(static_cast<size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) out.push_back(read(r, i));
  return out;
}

// The first row of `sql` read by `read`; nullopt when there is none.
template <class T, class Fn>
Result<std::optional<T>> CollectOne(Conn& conn, const std::string& sql, const Params& params, Fn&& read) {
  TP_ASSIGN_OR_RETURN(PgResult r, conn.Query(sql, params));
  if (r.rows() == 0) return std::optional<T>();
  return std::optional<T>(read(r, 0));
}

std::vector<std::int64_t> Ids(std::span<const CustomerId> customers) {
  std::vector<std::int64_t> out;
  out.reserve(customers.size());
  for (CustomerId c : customers) out.push_back(c.value());
  return out;
}

class PgIdentity final : public IdentityRepository {
 public:
  explicit PgIdentity(Session& s) : s_(s) {}

  Status PutCustomers(Transaction& txn, std::span<const CustomerRecord> customers) override {
    s_.RequireTxn(txn);
    if (customers.empty()) return Status::Ok();
    ArrayLiteral id, merged, created;
    for (const CustomerRecord& c : customers) {
      id.Int(c.id.value());
      merged.Int(c.merged_into.value());
      created.Int(c.created_at);
    }
    TP_ASSIGN_OR_RETURN(std::int64_t change, s_.ChangeNumber());
    // DISTINCT ON keeps the last row for an id given twice (ON CONFLICT cannot touch a row twice).
    return s_.conn()
        .Query("INSERT INTO customers(id, merged_into, created_at, changed) SELECT DISTINCT ON (id) id, m, c, $4 "
               "FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) WITH ORDINALITY AS t(id, m, c, o) "
               "ORDER BY id, o DESC ON CONFLICT(id) DO UPDATE SET merged_into = excluded.merged_into, "
               "changed = excluded.changed",
               Params().Add(id.Take()).Add(merged.Take()).Add(created.Take()).Add(change))
        .status();
  }

  Status PutIdentifiers(Transaction& txn, std::span<const IdentifierRecord> identifiers) override {
    s_.RequireTxn(txn);
    if (identifiers.empty()) return Status::Ok();
    ArrayLiteral id, key, kind, value, customer, blocked, joins, first_seen, first_message;
    for (const IdentifierRecord& r : identifiers) {
      id.Int(r.id.value());
      key.Int(r.lookup_key != 0 ? r.lookup_key : IdentifierKey(r.kind, r.value));
      kind.Text(r.kind);
      value.Text(r.value);
      customer.Int(r.customer.value());
      blocked.Bool(r.blocked);
      joins.Int(r.joins);
      first_seen.Int(r.first_seen);
      first_message.Text(r.first_message_id);
    }
    TP_ASSIGN_OR_RETURN(std::int64_t change, s_.ChangeNumber());
    return s_.conn()
        .Query("INSERT INTO identifiers(id, key, kind, value, customer_id, blocked, joins, first_seen, "
               "first_message_id, changed) SELECT DISTINCT ON (id) id, k, kd, v, c, b, j, f, fm, $10 FROM "
               "unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::boolean[], "
               "$7::integer[], $8::bigint[], $9::text[]) WITH ORDINALITY AS t(id, k, kd, v, c, b, j, f, fm, o) "
               "ORDER BY id, o DESC ON CONFLICT(id) DO UPDATE SET customer_id = excluded.customer_id, "
               "blocked = excluded.blocked, joins = excluded.joins, changed = excluded.changed",
               Params().Add(id.Take()).Add(key.Take()).Add(kind.Take()).Add(value.Take()).Add(customer.Take())
                   .Add(blocked.Take()).Add(joins.Take()).Add(first_seen.Take()).Add(first_message.Take())
                   .Add(change))
        .status();
  }

  Status PutMerges(Transaction& txn, std::span<const MergeRecord> merges) override {
    s_.RequireTxn(txn);
    if (merges.empty()) return Status::Ok();
    ArrayLiteral id, at, winner, loser, bridge, message, reason, undone;
    for (const MergeRecord& m : merges) {
      id.Int(m.id.value());
      at.Int(m.at);
      winner.Int(m.winner.value());
      loser.Int(m.loser.value());
      bridge.Int(m.bridge.value());
      message.Text(m.message_id);
      reason.Text(m.reason);
      undone.Int(m.undone_at);
    }
    TP_ASSIGN_OR_RETURN(std::int64_t change, s_.ChangeNumber());
    return s_.conn()
        .Query("INSERT INTO merges(id, at, winner, loser, bridge_identifier, message_id, reason, undone_at, changed) "
               "SELECT DISTINCT ON (id) id, a, w, l, b, m, r, u, $9 FROM unnest($1::bigint[], $2::bigint[], "
               "$3::bigint[], $4::bigint[], $5::bigint[], $6::text[], $7::text[], $8::bigint[]) WITH ORDINALITY "
               "AS t(id, a, w, l, b, m, r, u, o) ORDER BY id, o DESC ON CONFLICT(id) DO UPDATE SET at = excluded.at, "
               "winner = excluded.winner, loser = excluded.loser, bridge_identifier = excluded.bridge_identifier, "
               "message_id = excluded.message_id, reason = excluded.reason, undone_at = excluded.undone_at, "
               "changed = excluded.changed",
               Params().Add(id.Take()).Add(at.Take()).Add(winner.Take()).Add(loser.Take()).Add(bridge.Take())
                   .Add(message.Take()).Add(reason.Take()).Add(undone.Take()).Add(change))
        .status();
  }

  Status AddMergeBlocks(Transaction& txn, std::span<const MergeBlock> blocks) override {
    s_.RequireTxn(txn);
    if (blocks.empty()) return Status::Ok();
    ArrayLiteral a, b;
    for (const auto& [x, y] : blocks) {
      a.Int(x.value());
      b.Int(y.value());
    }
    return s_.conn()
        .Query("INSERT INTO merge_blocks(a, b) SELECT * FROM unnest($1::bigint[], $2::bigint[]) "
               "ON CONFLICT DO NOTHING",
               Params().Add(a.Take()).Add(b.Take()))
        .status();
  }

  Status ScanIdentifiers(const std::function<void(IdentifierRecord&&)>& fn) override {
    return s_.conn().Scan(std::string("SELECT ") + kIdentifierColumns + " FROM identifiers ORDER BY id", {},
                          [&](const PgResult& r, int i) {
                            fn(ReadIdentifier(r, i));
                            return true;
                          }, 20'000);
  }

  Status ScanCustomers(const std::function<void(const CustomerRecord&)>& fn) override {
    return s_.conn().Scan("SELECT id, merged_into, created_at FROM customers ORDER BY id", {},
                          [&](const PgResult& r, int i) {
                            fn(CustomerRecord{CustomerId(r.Int(i, 0)), CustomerId(r.Int(i, 1)), r.Int(i, 2)});
                            return true;
                          }, 50'000);
  }

  Status ScanMerges(const std::function<void(MergeRecord&&)>& fn) override {
    return s_.conn().Scan(std::string("SELECT ") + kMergeColumns + " FROM merges ORDER BY id", {},
                          [&](const PgResult& r, int i) {
                            fn(ReadMerge(r, i));
                            return true;
                          });
  }

  Status ScanMergeBlocks(const std::function<void(CustomerId, CustomerId)>& fn) override {
    return s_.conn().Scan("SELECT a, b FROM merge_blocks ORDER BY a, b", {}, [&](const PgResult& r, int i) {
      fn(CustomerId(r.Int(i, 0)), CustomerId(r.Int(i, 1)));
      return true;
    });
  }

  Result<std::optional<IdentifierRecord>> FindIdentifier(const std::string& kind, const std::string& value) override {
    TP_ASSIGN_OR_RETURN(PgResult r, s_.conn().Query(std::string("SELECT ") + kIdentifierColumns +
                                                        " FROM identifiers WHERE key = $1 AND kind = $2 AND value = $3",
                                                    Params().Add(IdentifierKey(kind, value)).Add(kind).Add(value)));
    if (r.rows() == 0) return std::optional<IdentifierRecord>();
    return std::optional<IdentifierRecord>(ReadIdentifier(r, 0));
  }

  Result<std::vector<IdentifierRecord>> FindIdentifiersByKey(const std::string& kind,
                                                             std::int64_t lookup_key) override {
    TP_ASSIGN_OR_RETURN(PgResult r, s_.conn().Query(std::string("SELECT ") + kIdentifierColumns +
                                                        " FROM identifiers WHERE key = $1 AND kind = $2 ORDER BY id",
                                                    Params().Add(lookup_key).Add(kind)));
    std::vector<IdentifierRecord> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(ReadIdentifier(r, i));
    return out;
  }

  Result<std::optional<CustomerRecord>> FindCustomer(CustomerId id) override {
    TP_ASSIGN_OR_RETURN(PgResult r, s_.conn().Query("SELECT id, merged_into, created_at FROM customers WHERE id = $1",
                                                    Params().Add(id.value())));
    if (r.rows() == 0) return std::optional<CustomerRecord>();
    return std::optional<CustomerRecord>(CustomerRecord{CustomerId(r.Int(0, 0)), CustomerId(r.Int(0, 1)), r.Int(0, 2)});
  }

  Result<std::vector<IdentifierRecord>> IdentifiersOf(std::span<const CustomerId> customers) override {
    if (customers.empty()) return std::vector<IdentifierRecord>();
    return Collect<IdentifierRecord>(s_.conn(),
                                     std::string("SELECT ") + kIdentifierColumns +
                                         " FROM identifiers WHERE customer_id = ANY($1::bigint[]) ORDER BY id",
                                     Params().AddIntArray(Ids(customers)), ReadIdentifier);
  }

  Result<std::vector<CustomerId>> CustomersMergedInto(CustomerId id) override {
    return Collect<CustomerId>(s_.conn(), "SELECT id FROM customers WHERE merged_into = $1 ORDER BY id",
                               Params().Add(id.value()),
                               [](const PgResult& r, int i) { return CustomerId(r.Int(i, 0)); });
  }

  Result<std::vector<MergeRecord>> MergesInvolving(std::span<const CustomerId> customers) override {
    if (customers.empty()) return std::vector<MergeRecord>();
    return Collect<MergeRecord>(s_.conn(),
                                std::string("SELECT ") + kMergeColumns +
                                    " FROM merges WHERE winner = ANY($1::bigint[]) OR loser = ANY($1::bigint[]) "
                                    "ORDER BY id",
                                Params().AddIntArray(Ids(customers)), ReadMerge);
  }

  Result<std::vector<IdentifierRecord>> BlockedIdentifiers() override {
    return Collect<IdentifierRecord>(
        s_.conn(), std::string("SELECT ") + kIdentifierColumns + " FROM identifiers WHERE blocked ORDER BY id", {},
        ReadIdentifier);
  }

  Result<IdentityCounts> Counts() override {
    TP_ASSIGN_OR_RETURN(PgResult r, s_.conn().Query(
                                        "SELECT (SELECT count(*) FROM customers WHERE merged_into = 0), "
                                        "(SELECT count(*) FROM identifiers), "
                                        "(SELECT count(*) FROM merges WHERE undone_at = 0)"));
    return IdentityCounts{r.Int(0, 0), r.Int(0, 1), r.Int(0, 2)};
  }

 private:
  Session& s_;
};

// ---- profiles ----

class PgProfiles final : public ProfileRepository {
 public:
  explicit PgProfiles(Session& s) : s_(s) {}

  Status Put(Transaction& txn, std::span<const ProfileRecord> profiles) override {
    s_.RequireTxn(txn);
    if (profiles.empty()) return Status::Ok();
    ArrayLiteral customer, data, updated;
    for (const ProfileRecord& p : profiles) {
      customer.Int(p.customer.value());
      data.Text(p.data);
      updated.Int(p.updated_at);
    }
    TP_ASSIGN_OR_RETURN(std::int64_t change, s_.ChangeNumber());
    return s_.conn()
        .Query("INSERT INTO profiles(customer_id, data, updated_at, changed) SELECT DISTINCT ON (c) c, d, u, $4 FROM "
               "unnest($1::bigint[], $2::text[], $3::bigint[]) WITH ORDINALITY AS t(c, d, u, o) ORDER BY c, o DESC "
               "ON CONFLICT(customer_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at, "
               "changed = excluded.changed",
               Params().Add(customer.Take()).Add(data.Take()).Add(updated.Take()).Add(change))
        .status();
  }

  Status SetCheckpoint(Transaction& txn, std::int64_t seq) override {
    s_.RequireTxn(txn);
    return s_.conn()
        .Query("INSERT INTO meta(key, value) VALUES('profile_checkpoint', $1) ON CONFLICT(key) DO UPDATE "
               "SET value = excluded.value",
               Params().Add(seq))
        .status();
  }

  Status Scan(const std::function<void(ProfileRecord&&)>& fn) override {
    return s_.conn().Scan("SELECT customer_id, data, updated_at FROM profiles ORDER BY customer_id", {},
                          [&](const PgResult& r, int i) {
                            fn(ProfileRecord{CustomerId(r.Int(i, 0)), r.Text(i, 1), r.Int(i, 2)});
                            return true;
                          });
  }

  Result<std::optional<ProfileRecord>> Find(CustomerId id) override {
    TP_ASSIGN_OR_RETURN(PgResult r,
                        s_.conn().Query("SELECT customer_id, data, updated_at FROM profiles WHERE customer_id = $1",
                                        Params().Add(id.value())));
    if (r.rows() == 0) return std::optional<ProfileRecord>();
    return std::optional<ProfileRecord>(ProfileRecord{CustomerId(r.Int(0, 0)), r.Text(0, 1), r.Int(0, 2)});
  }

  Result<std::int64_t> Checkpoint() override {
    return s_.conn().QueryInt("SELECT value FROM meta WHERE key = 'profile_checkpoint'");
  }

 private:
  Session& s_;
};

// ---- orders, messages, surveys ----

class PgActivity final : public ActivityRepository {
 public:
  explicit PgActivity(Session& s) : s_(s) {}

  Status AddOrders(Transaction& txn, std::span<const OrderRecord> orders) override {
    s_.RequireTxn(txn);
    CopyRows rows;
    for (const OrderRecord& o : orders) {
      rows.Text(o.order_id).Int(o.customer.value()).Int(o.timestamp).Real(o.total).Text(o.currency).Text(o.channel)
          .Text(o.items_json).EndRow();
    }
    return s_.conn().CopyIn("COPY orders(order_id, customer_id, ts, total, currency, channel, items) FROM STDIN", rows);
  }

  Status AddMessages(Transaction& txn, std::span<const MessageRecord> messages) override {
    s_.RequireTxn(txn);
    CopyRows rows;
    for (const MessageRecord& m : messages) {
      rows.Text(m.message_id).Int(m.customer.value()).Int(m.timestamp).Text(m.conversation_id).Text(m.channel)
          .Text(m.author).Text(m.direction).Text(m.text).Text(m.language).Text(m.sentiment_label)
          .Real(m.sentiment_score).Text(m.intent).Text(m.masked_text).EndRow();
    }
    return s_.conn().CopyIn(
        "COPY messages(message_id, customer_id, ts, conversation_id, channel, author, direction, text, language, "
        "sentiment_label, sentiment_score, intent, masked_text) FROM STDIN",
        rows);
  }

  Status AddSurveys(Transaction& txn, std::span<const SurveyRecord> surveys) override {
    s_.RequireTxn(txn);
    CopyRows rows;
    for (const SurveyRecord& v : surveys) {
      rows.Text(v.message_id).Int(v.customer.value()).Int(v.timestamp);
      if (v.nps >= 0) rows.Int(v.nps); else rows.Null();
      if (v.csat >= 0) rows.Int(v.csat); else rows.Null();
      rows.Text(v.comment).Text(v.touchpoint).EndRow();
    }
    return s_.conn().CopyIn("COPY surveys(message_id, customer_id, ts, nps, csat, comment, touchpoint) FROM STDIN",
                            rows);
  }

  Status ScanOrders(const std::function<void(OrderRecord&&)>& fn) override {
    return s_.conn().Scan("SELECT order_id, customer_id, ts, total, currency, channel, items FROM orders ORDER BY seq",
                          {}, [&](const PgResult& r, int i) {
                            fn(OrderRecord{r.Text(i, 0), CustomerId(r.Int(i, 1)), r.Int(i, 2), r.Real(i, 3),
                                           r.Text(i, 4), r.Text(i, 5), r.Text(i, 6)});
                            return true;
                          });
  }

  Status ScanMessages(const std::function<void(MessageRecord&&)>& fn) override {
    return s_.conn().Scan(
        "SELECT message_id, customer_id, ts, conversation_id, channel, author, direction, text, language, "
        "sentiment_label, sentiment_score, intent, masked_text FROM messages ORDER BY seq",
        {}, [&](const PgResult& r, int i) {
          MessageRecord m;
          m.message_id = r.Text(i, 0);
          m.customer = CustomerId(r.Int(i, 1));
          m.timestamp = r.Int(i, 2);
          m.conversation_id = r.Text(i, 3);
          m.channel = r.Text(i, 4);
          m.author = r.Text(i, 5);
          m.direction = r.Text(i, 6);
          m.text = r.Text(i, 7);
          m.language = r.Text(i, 8);
          m.sentiment_label = r.Text(i, 9);
          m.sentiment_score = r.Real(i, 10);
          m.intent = r.Text(i, 11);
          m.masked_text = r.Text(i, 12);
          fn(std::move(m));
          return true;
        });
  }

  Status ScanSurveys(const std::function<void(SurveyRecord&&)>& fn) override {
    return s_.conn().Scan(
        "SELECT message_id, customer_id, ts, nps, csat, comment, touchpoint FROM surveys ORDER BY seq", {},
        [&](const PgResult& r, int i) {
          fn(SurveyRecord{r.Text(i, 0), CustomerId(r.Int(i, 1)), r.Int(i, 2),
                          r.IsNull(i, 3) ? -1 : static_cast<int>(r.Int(i, 3)),
                          r.IsNull(i, 4) ? -1 : static_cast<int>(r.Int(i, 4)), r.Text(i, 5), r.Text(i, 6)});
          return true;
        });
  }

  Result<ActivityCounts> Counts() override {
    TP_ASSIGN_OR_RETURN(PgResult r, s_.conn().Query("SELECT (SELECT count(*) FROM orders), "
                                                    "(SELECT count(*) FROM messages), (SELECT count(*) FROM surveys)"));
    return ActivityCounts{r.Int(0, 0), r.Int(0, 1), r.Int(0, 2)};
  }

 private:
  Session& s_;
};

// ---- escalations ----

class PgEscalations final : public EscalationRepository {
 public:
  explicit PgEscalations(Session& s) : s_(s) {}

  Status Add(Transaction& txn, std::span<const EscalationRecord> escalations) override {
    s_.RequireTxn(txn);
    CopyRows rows;
    for (const EscalationRecord& e : escalations) {
      rows.Int(e.at).Int(e.customer.value()).Text(e.conversation_id).Text(e.message_id).Text(e.rule)
          .Text(e.action).Text(e.reason).EndRow();
    }
    return s_.conn().CopyIn(
        "COPY escalations(at, customer_id, conversation_id, message_id, rule, action, reason) FROM STDIN", rows);
  }

  Status Scan(const std::function<void(EscalationRecord&&)>& fn) override {
    return s_.conn().Scan(
        "SELECT at, customer_id, conversation_id, message_id, rule, action, reason FROM escalations ORDER BY seq", {},
        [&](const PgResult& r, int i) {
          fn(EscalationRecord{r.Int(i, 0), CustomerId(r.Int(i, 1)), r.Text(i, 2), r.Text(i, 3), r.Text(i, 4),
                              r.Text(i, 5), r.Text(i, 6)});
          return true;
        });
  }

  Result<std::int64_t> Count() override { return s_.conn().QueryInt("SELECT count(*) FROM escalations"); }

 private:
  Session& s_;
};

// ---- the service desk's repeat contacts, tags, fields, search tokens, canned replies ----

class PgDeskflow final : public DeskflowRepository {
 public:
  explicit PgDeskflow(Session& s) : s_(s) {}

  Status PutContact(Transaction& txn, const TicketContactRecord& c) override {
    s_.RequireTxn(txn);
    return s_.conn()
        .Query("INSERT INTO ticket_contacts(ticket, customer_id, intent, channel, at, ordinal, previous) "
               "VALUES($1, $2, $3, $4, $5, $6, $7) ON CONFLICT(ticket) DO UPDATE SET customer_id = excluded.customer_id, "
               "intent = excluded.intent, channel = excluded.channel, at = excluded.at, ordinal = excluded.ordinal, "
               "previous = excluded.previous",
               Params().Add(c.ticket).Add(c.customer.value()).Add(CleanText(c.intent)).Add(CleanText(c.channel))
                   .Add(c.at).Add(static_cast<std::int64_t>(c.ordinal)).Add(JoinNumbers(c.previous)))
        .status();
  }

  Result<std::optional<TicketContactRecord>> FindContact(std::int64_t ticket) override {
    return CollectOne<TicketContactRecord>(s_.conn(), std::string(kContacts) + " WHERE ticket = $1",
                                           Params().Add(ticket), ReadContact);
  }

  Result<std::vector<TicketContactRecord>> Contacts(CustomerId customer, Millis since) override {
    return Collect<TicketContactRecord>(s_.conn(),
                                        std::string(kContacts) + " WHERE customer_id = $1 AND at >= $2 ORDER BY at, ticket",
                                        Params().Add(customer.value()).Add(since), ReadContact);
  }

  Status ScanContacts(Millis from, Millis to, const std::function<void(TicketContactRecord&&)>& fn) override {
    return s_.conn().Scan(std::string(kContacts) + " WHERE at >= $1 AND ($2::bigint = 0 OR at < $2) ORDER BY ticket",
                          Params().Add(from).Add(to), [&](const PgResult& r, int i) {
                            fn(ReadContact(r, i));
                            return true;
                          });
  }

  Status AddTag(Transaction& txn, std::int64_t ticket, const std::string& tag) override {
    s_.RequireTxn(txn);
    return s_.conn()
        .Query("INSERT INTO ticket_tags(tag, ticket) VALUES($1, $2) ON CONFLICT DO NOTHING",
               Params().Add(CleanText(tag)).Add(ticket))
        .status();
  }

  Status RemoveTag(Transaction& txn, std::int64_t ticket, const std::string& tag) override {
    s_.RequireTxn(txn);
    return s_.conn()
        .Query("DELETE FROM ticket_tags WHERE tag = $1 AND ticket = $2", Params().Add(CleanText(tag)).Add(ticket))
        .status();
  }

  Result<std::vector<std::string>> Tags(std::int64_t ticket) override {
    return Collect<std::string>(s_.conn(), "SELECT tag FROM ticket_tags WHERE ticket = $1 ORDER BY tag",
                                Params().Add(ticket), [](const PgResult& r, int i) { return r.Text(i, 0); });
  }

  Result<std::vector<std::int64_t>> TicketsWithTag(const std::string& tag, std::int64_t before, int limit) override {
    return Collect<std::int64_t>(
        s_.conn(),
        "SELECT ticket FROM ticket_tags WHERE tag = $1 AND ($2::bigint = 0 OR ticket < $2) ORDER BY ticket DESC LIMIT $3",
        Params().Add(CleanText(tag)).Add(before).Add(static_cast<std::int64_t>(limit)),
        [](const PgResult& r, int i) { return r.Int(i, 0); });
  }

  Status SetField(Transaction& txn, std::int64_t ticket, const std::string& name, const std::string& value) override {
    s_.RequireTxn(txn);
    if (value.empty()) {
      return s_.conn()
          .Query("DELETE FROM ticket_fields WHERE ticket = $1 AND name = $2", Params().Add(ticket).Add(CleanText(name)))
          .status();
    }
    return s_.conn()
        .Query("INSERT INTO ticket_fields(ticket, name, value) VALUES($1, $2, $3) "
               "ON CONFLICT(ticket, name) DO UPDATE SET value = excluded.value",
               Params().Add(ticket).Add(CleanText(name)).Add(CleanText(value)))
        .status();
  }

  Result<std::vector<std::pair<std::string, std::string>>> Fields(std::int64_t ticket) override {
    return Collect<std::pair<std::string, std::string>>(
        s_.conn(), "SELECT name, value FROM ticket_fields WHERE ticket = $1 ORDER BY name", Params().Add(ticket),
        [](const PgResult& r, int i) { return std::pair<std::string, std::string>(r.Text(i, 0), r.Text(i, 1)); });
  }

  Status AddTokens(Transaction& txn, std::int64_t ticket, std::span<const std::int64_t> tokens) override {
    s_.RequireTxn(txn);
    if (tokens.empty()) return Status::Ok();
    return s_.conn()
        .Query("INSERT INTO ticket_tokens(token, ticket) SELECT DISTINCT t, $2::bigint FROM unnest($1::bigint[]) AS t "
               "ON CONFLICT DO NOTHING",
               Params().AddIntArray(std::vector<std::int64_t>(tokens.begin(), tokens.end())).Add(ticket))
        .status();
  }

  Result<std::vector<std::int64_t>> TicketsWithToken(std::int64_t token, std::int64_t before, int limit) override {
    return Collect<std::int64_t>(s_.conn(),
                                 "SELECT ticket FROM ticket_tokens WHERE token = $1 AND ($2::bigint = 0 OR ticket < $2) "
                                 "ORDER BY ticket DESC LIMIT $3",
                                 Params().Add(token).Add(before).Add(static_cast<std::int64_t>(limit)),
                                 [](const PgResult& r, int i) { return r.Int(i, 0); });
  }

  Status PutCanned(Transaction& txn, const CannedReplyRecord& c) override {
    s_.RequireTxn(txn);
    return s_.conn()
        .Query("INSERT INTO canned_replies(name, title, body, created_at, updated_at) VALUES($1, $2, $3, $4, $5) "
               "ON CONFLICT(name) DO UPDATE SET title = excluded.title, body = excluded.body, "
               "created_at = excluded.created_at, updated_at = excluded.updated_at",
               Params().Add(CleanText(c.name)).Add(CleanText(c.title)).Add(CleanText(c.body)).Add(c.created_at)
                   .Add(c.updated_at))
        .status();
  }

  Result<std::optional<CannedReplyRecord>> FindCanned(const std::string& name) override {
    return CollectOne<CannedReplyRecord>(s_.conn(), std::string(kCanned) + " WHERE name = $1",
                                         Params().Add(CleanText(name)), ReadCanned);
  }

  Result<std::vector<CannedReplyRecord>> ListCanned() override {
    return Collect<CannedReplyRecord>(s_.conn(), std::string(kCanned) + " ORDER BY name", {}, ReadCanned);
  }

  Status DeleteCanned(Transaction& txn, const std::string& name) override {
    s_.RequireTxn(txn);
    TP_ASSIGN_OR_RETURN(PgResult r,
                        s_.conn().Query("DELETE FROM canned_replies WHERE name = $1", Params().Add(CleanText(name))));
    if (r.affected() == 0) return Status::NotFound("no canned reply " + name);
    return Status::Ok();
  }

 private:
  static constexpr const char* kContacts =
      "SELECT ticket, customer_id, intent, channel, at, ordinal, previous FROM ticket_contacts";
  static constexpr const char* kCanned = "SELECT name, title, body, created_at, updated_at FROM canned_replies";

  static TicketContactRecord ReadContact(const PgResult& r, int i) {
    return TicketContactRecord{r.Int(i, 0),  CustomerId(r.Int(i, 1)), r.Text(i, 2), r.Text(i, 3), r.Int(i, 4),
                               static_cast<std::int32_t>(r.Int(i, 5)), SplitNumbers(r.Get(i, 6))};
  }
  static CannedReplyRecord ReadCanned(const PgResult& r, int i) {
    return CannedReplyRecord{r.Text(i, 0), r.Text(i, 1), r.Text(i, 2), r.Int(i, 3), r.Int(i, 4)};
  }

  Session& s_;
};

// ---- the service desk's agents and routing decisions ----

// Lists of names (skills, languages, attributes) are one text column (touchpoint/store/list_columns.h).

class PgAgents final : public AgentRepository {
 public:
  explicit PgAgents(Session& s) : s_(s) {}

  Status Put(Transaction& txn, const AgentRecord& a) override {
    s_.RequireTxn(txn);
    return s_.conn()
        .Query("INSERT INTO desk_agents(user_id, name, skills, languages, attributes, capacity, state, team, shift, "
               "state_changed_at, created_at, updated_at) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) "
               "ON CONFLICT(user_id) DO UPDATE SET name = excluded.name, skills = excluded.skills, "
               "languages = excluded.languages, attributes = excluded.attributes, capacity = excluded.capacity, "
               "state = excluded.state, team = excluded.team, shift = excluded.shift, "
               "state_changed_at = excluded.state_changed_at, created_at = excluded.created_at, "
               "updated_at = excluded.updated_at",
               Params().Add(a.user_id).Add(CleanText(a.name)).Add(CleanText(JoinNames(a.skills)))
                   .Add(CleanText(JoinNames(a.languages))).Add(CleanText(JoinNames(a.attributes)))
                   .Add(static_cast<std::int64_t>(a.capacity)).Add(CleanText(a.state)).Add(CleanText(a.team))
                   .Add(CleanText(a.shift)).Add(a.state_changed_at).Add(a.created_at).Add(a.updated_at))
        .status();
  }

  Result<std::optional<AgentRecord>> Find(std::int64_t user_id) override {
    return CollectOne<AgentRecord>(s_.conn(), std::string(kSelect) + " WHERE user_id = $1",
                                   Params().Add(user_id), Read);
  }

  Result<std::vector<AgentRecord>> List() override {
    return Collect<AgentRecord>(s_.conn(), std::string(kSelect) + " ORDER BY user_id", {}, Read);
  }

  Status AddDecision(Transaction& txn, const RoutingDecisionRecord& d) override {
    s_.RequireTxn(txn);
    return s_.conn()
        .Query("INSERT INTO routing_decisions(ticket, at, policy, rule, agent, detail) VALUES($1, $2, $3, $4, $5, $6)",
               Params().Add(d.ticket).Add(d.at).Add(CleanText(d.policy)).Add(CleanText(d.rule)).Add(d.agent)
                   .Add(CleanText(d.detail)))
        .status();
  }

  Result<std::vector<RoutingDecisionRecord>> Decisions(std::int64_t ticket) override {
    return Collect<RoutingDecisionRecord>(
        s_.conn(),
        "SELECT id, ticket, at, policy, rule, agent, detail FROM routing_decisions WHERE ticket = $1 ORDER BY id",
        Params().Add(ticket), [](const PgResult& r, int i) {
          return RoutingDecisionRecord{r.Int(i, 0), r.Int(i, 1), r.Int(i, 2), r.Text(i, 3),
                                       r.Text(i, 4), r.Int(i, 5), r.Text(i, 6)};
        });
  }

  Result<std::map<std::int64_t, std::int32_t>> OpenLoads() override {
    TP_ASSIGN_OR_RETURN(
        PgResult r,
        s_.conn().Query("SELECT assignee, count(*) FROM tickets WHERE assignee <> 0 AND merged_into = 0 AND "
                        "status IN ('new', 'open', 'pending_customer', 'pending_third_party') GROUP BY assignee",
                        {}));
    std::map<std::int64_t, std::int32_t> out;
    for (int i = 0; i < r.rows(); ++i) out[r.Int(i, 0)] = static_cast<std::int32_t>(r.Int(i, 1));
    return out;
  }

  Result<std::vector<WaitingTicket>> Waiting() override {
    return Collect<WaitingTicket>(
        s_.conn(),
        "SELECT number, customer_id, status, priority, skill, language, queue, created_at FROM tickets "
        "WHERE assignee = 0 AND merged_into = 0 AND "
        "status IN ('new', 'open', 'pending_customer', 'pending_third_party') ORDER BY number",
        {}, [](const PgResult& r, int i) {
          return WaitingTicket{r.Int(i, 0),  CustomerId(r.Int(i, 1)), r.Text(i, 2), r.Text(i, 3),
                               r.Text(i, 4), r.Text(i, 5),            r.Text(i, 6), r.Int(i, 7)};
        });
  }

 private:
  static constexpr const char* kSelect =
      "SELECT user_id, name, skills, languages, attributes, capacity, state, team, shift, state_changed_at, "
      "created_at, updated_at FROM desk_agents";
  static AgentRecord Read(const PgResult& r, int i) {
    return AgentRecord{r.Int(i, 0),  r.Text(i, 1), SplitNames(r.Get(i, 2)), SplitNames(r.Get(i, 3)),
                       SplitNames(r.Get(i, 4)), static_cast<std::int32_t>(r.Int(i, 5)), r.Text(i, 6), r.Text(i, 7),
                       r.Text(i, 8), r.Int(i, 9), r.Int(i, 10), r.Int(i, 11)};
  }
  Session& s_;
};

// ---- the service desk's tickets (writes inside the open transaction) ----

class PgTickets final : public TicketRepository {
 public:
  explicit PgTickets(Session& s) : s_(s) {}

  Result<std::int64_t> NextNumber(Transaction& txn) override {
    s_.RequireTxn(txn);
    return s_.conn().QueryInt("SELECT nextval('ticket_numbers')");
  }

  Status Create(Transaction& txn, const TicketRecord& t) override {
    s_.RequireTxn(txn);
    Params p = Fields(t);
    auto r = s_.conn().Query(
        "INSERT INTO tickets(number, version, customer_id, status, priority, type, channel, skill, language, queue, "
        "assignee, subject, created_at, updated_at, last_message_at, solved_at, reopen_count, merged_into) "
        "VALUES($1, 1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        p);
    return r.status();
  }

  // Under READ COMMITTED a second writer's UPDATE waits for the first's row lock, then re-checks
  // the version on the new row: 0 rows, "changed concurrently".
  Status Update(Transaction& txn, const TicketRecord& t, std::int64_t expected_version) override {
    s_.RequireTxn(txn);
    Params p = Fields(t);
    p.Add(expected_version);
    TP_ASSIGN_OR_RETURN(
        PgResult r,
        s_.conn().Query(
            "UPDATE tickets SET version = $18 + 1, customer_id = $2, status = $3, priority = $4, type = $5, "
            "channel = $6, skill = $7, language = $8, queue = $9, assignee = $10, subject = $11, created_at = $12, "
            "updated_at = $13, last_message_at = $14, solved_at = $15, reopen_count = $16, merged_into = $17 "
            "WHERE number = $1 AND version = $18",
            p));
    if (r.affected() == 0) {
      TP_ASSIGN_OR_RETURN(std::int64_t exists,
                          s_.conn().QueryInt("SELECT count(*) FROM tickets WHERE number = $1", Params().Add(t.number)));
      if (exists == 0) return Status::NotFound("no ticket " + std::to_string(t.number));
      return Status::FailedPrecondition("ticket " + std::to_string(t.number) + " changed concurrently");
    }
    return Status::Ok();
  }

  Result<std::optional<TicketRecord>> Find(std::int64_t number) override {
    return One(std::string(kSelect) + " WHERE number = $1", Params().Add(number));
  }

  Result<std::optional<TicketRecord>> FindActive(CustomerId customer) override {
    return One(std::string(kSelect) +
                   " WHERE customer_id = $1 AND status <> 'closed' AND merged_into = 0 ORDER BY number DESC LIMIT 1",
               Params().Add(customer.value()));
  }

  Result<std::vector<TicketRecord>> List(const TicketFilter& f) override {
    return Collect<TicketRecord>(
        s_.conn(),
        std::string(kSelect) +
            " WHERE ($1 = '' OR status = $1) AND ($2 = '' OR queue = $2) AND ($3::bigint < 0 OR assignee = $3) "
            "AND ($4::bigint = 0 OR customer_id = $4) AND ($5::bigint = 0 OR number < $5) "
            "ORDER BY number DESC LIMIT $6",
        Params().Add(CleanText(f.status)).Add(CleanText(f.queue)).Add(f.assignee).Add(f.customer.value())
            .Add(f.before).Add(static_cast<std::int64_t>(f.limit)),
        Read);
  }

  Status Scan(const std::function<void(TicketRecord&&)>& fn) override {
    return s_.conn().Scan(std::string(kSelect) + " ORDER BY number", {}, [&](const PgResult& r, int i) {
      fn(Read(r, i));
      return true;
    });
  }

  Status AddMessages(Transaction& txn, std::span<const TicketMessageRecord> messages) override {
    s_.RequireTxn(txn);
    for (const TicketMessageRecord& m : messages) {
      TP_RETURN_IF_ERROR(
          s_.conn()
              .Query("INSERT INTO ticket_messages(ticket, at, author, agent, channel, internal, text, message_id, "
                     "sentiment_label, sentiment_score, intent) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                     Params().Add(m.ticket).Add(m.at).Add(CleanText(m.author)).Add(m.agent).Add(CleanText(m.channel))
                         .Add(m.internal ? "t" : "f").Add(CleanText(m.text)).Add(CleanText(m.message_id))
                         .Add(CleanText(m.sentiment_label)).Add(m.sentiment_score).Add(CleanText(m.intent)))
              .status());
    }
    return Status::Ok();
  }

  Result<std::vector<TicketMessageRecord>> Messages(std::int64_t ticket) override {
    return Collect<TicketMessageRecord>(
        s_.conn(),
        "SELECT id, ticket, at, author, agent, channel, internal, text, message_id, sentiment_label, sentiment_score, "
        "intent FROM ticket_messages WHERE ticket = $1 ORDER BY id",
        Params().Add(ticket), [](const PgResult& r, int i) {
          return TicketMessageRecord{r.Int(i, 0),  r.Int(i, 1),  r.Int(i, 2),  r.Text(i, 3),
                                     r.Int(i, 4),  r.Text(i, 5), r.Int(i, 6) != 0, r.Text(i, 7),
                                     r.Text(i, 8), r.Text(i, 9), r.Real(i, 10), r.Text(i, 11)};
        });
  }

  Status MoveMessages(Transaction& txn, std::int64_t from, std::int64_t to) override {
    s_.RequireTxn(txn);
    return s_.conn()
        .Query("UPDATE ticket_messages SET ticket = $2 WHERE ticket = $1", Params().Add(from).Add(to))
        .status();
  }

  Status AddHistory(Transaction& txn, std::span<const TicketHistoryRecord> rows) override {
    s_.RequireTxn(txn);
    CopyRows copy;
    for (const TicketHistoryRecord& h : rows) {
      copy.Int(h.ticket).Int(h.at).Text(h.actor_kind).Text(h.actor).Text(h.field).Text(h.before).Text(h.after)
          .EndRow();
    }
    return s_.conn().CopyIn("COPY ticket_history(ticket, at, actor_kind, actor, field, before, after) FROM STDIN",
                            copy);
  }

  Result<std::vector<TicketHistoryRecord>> History(std::int64_t ticket) override {
    return Collect<TicketHistoryRecord>(s_.conn(), std::string(kHistory) + " WHERE ticket = $1 ORDER BY id",
                                        Params().Add(ticket), ReadHistory);
  }

  Status ScanHistory(const std::function<void(TicketHistoryRecord&&)>& fn) override {
    return s_.conn().Scan(std::string(kHistory) + " ORDER BY ticket, id", {}, [&](const PgResult& r, int i) {
      fn(ReadHistory(r, i));
      return true;
    });
  }

  Result<std::optional<std::int64_t>> Cursor(const std::string& name) override {
    TP_ASSIGN_OR_RETURN(PgResult r, s_.conn().Query("SELECT seq FROM desk_cursors WHERE name = $1", Params().Add(name)));
    if (r.rows() == 0) return std::optional<std::int64_t>();
    return std::optional<std::int64_t>(r.Int(0, 0));
  }

  Status SetCursor(Transaction& txn, const std::string& name, std::int64_t seq) override {
    s_.RequireTxn(txn);
    return s_.conn()
        .Query("INSERT INTO desk_cursors(name, seq) VALUES($1, $2) ON CONFLICT(name) DO UPDATE SET seq = excluded.seq",
               Params().Add(CleanText(name)).Add(seq))
        .status();
  }

 private:
  static constexpr const char* kSelect =
      "SELECT number, version, customer_id, status, priority, type, channel, skill, language, queue, assignee, "
      "subject, created_at, updated_at, last_message_at, solved_at, reopen_count, merged_into FROM tickets";
  static constexpr const char* kHistory =
      "SELECT id, ticket, at, actor_kind, actor, field, before, after FROM ticket_history";

  static Params Fields(const TicketRecord& t) {
    Params p;
    p.Add(t.number).Add(t.customer.value()).Add(CleanText(t.status)).Add(CleanText(t.priority)).Add(CleanText(t.type))
        .Add(CleanText(t.channel)).Add(CleanText(t.skill)).Add(CleanText(t.language)).Add(CleanText(t.queue))
        .Add(t.assignee).Add(CleanText(t.subject)).Add(t.created_at).Add(t.updated_at).Add(t.last_message_at)
        .Add(t.solved_at).Add(static_cast<std::int64_t>(t.reopen_count)).Add(t.merged_into);
    return p;
  }
  static TicketRecord Read(const PgResult& r, int i) {
    return TicketRecord{r.Int(i, 0),  r.Int(i, 1),  CustomerId(r.Int(i, 2)), r.Text(i, 3),  r.Text(i, 4),
                        r.Text(i, 5), r.Text(i, 6), r.Text(i, 7),            r.Text(i, 8),  r.Text(i, 9),
                        r.Int(i, 10), r.Text(i, 11), r.Int(i, 12),           r.Int(i, 13),  r.Int(i, 14),
                        r.Int(i, 15), static_cast<std::int32_t>(r.Int(i, 16)), r.Int(i, 17)};
  }
  static TicketHistoryRecord ReadHistory(const PgResult& r, int i) {
    return TicketHistoryRecord{r.Int(i, 0),  r.Int(i, 1),  r.Int(i, 2),  r.Text(i, 3),
                               r.Text(i, 4), r.Text(i, 5), r.Text(i, 6), r.Text(i, 7)};
  }
  Result<std::optional<TicketRecord>> One(const std::string& sql, const Params& params) {
    return CollectOne<TicketRecord>(s_.conn(), sql, params, Read);
  }

  Session& s_;
};

// ---- SLA policies, events and complaint tasks (writes inside the open transaction) ----

class PgSla final : public SlaRepository {
 public:
  explicit PgSla(Session& s) : s_(s) {}

  Result<std::vector<SlaPolicyRecord>> Policies() override {
    return Collect<SlaPolicyRecord>(s_.conn(),
                                    "SELECT name, position, body, updated_at FROM sla_policies ORDER BY position, name",
                                    Params(), [](const PgResult& r, int i) {
                                      return SlaPolicyRecord{r.Text(i, 0), r.Int(i, 1), r.Text(i, 2), r.Int(i, 3)};
                                    });
  }
  Status PutPolicy(Transaction& txn, const SlaPolicyRecord& p) override {
    s_.RequireTxn(txn);
    return s_.conn()
        .Query("INSERT INTO sla_policies(name, position, body, updated_at) VALUES($1, $2, $3, $4) "
               "ON CONFLICT(name) DO UPDATE SET position = excluded.position, body = excluded.body, "
               "updated_at = excluded.updated_at",
               Params().Add(CleanText(p.name)).Add(p.position).Add(CleanText(p.body)).Add(p.updated_at))
        .status();
  }
  Result<bool> DeletePolicy(Transaction& txn, const std::string& name) override {
    s_.RequireTxn(txn);
    TP_ASSIGN_OR_RETURN(PgResult r,
                        s_.conn().Query("DELETE FROM sla_policies WHERE name = $1", Params().Add(CleanText(name))));
    return r.affected() > 0;
  }

  Result<bool> AddEvent(Transaction& txn, const SlaEventRecord& e) override {
    s_.RequireTxn(txn);
    TP_ASSIGN_OR_RETURN(
        PgResult r,
        s_.conn().Query("INSERT INTO sla_events(ticket, target, kind, cycle, due_at, fired_at, policy, actions) "
                        "VALUES($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT(ticket, target, kind, cycle) DO NOTHING",
                        Params().Add(e.ticket).Add(CleanText(e.target)).Add(CleanText(e.kind)).Add(e.cycle)
                            .Add(e.due_at).Add(e.fired_at).Add(CleanText(e.policy)).Add(CleanText(e.actions))));
    return r.affected() > 0;
  }
  Result<std::vector<SlaEventRecord>> Events(std::int64_t ticket) override {
    return Collect<SlaEventRecord>(s_.conn(), std::string(kEvents) + " WHERE ticket = $1 ORDER BY id",
                                   Params().Add(ticket), ReadEvent);
  }
  Status ScanEvents(std::int64_t from_ticket, const std::function<void(SlaEventRecord&&)>& fn) override {
    return s_.conn().Scan(std::string(kEvents) + " WHERE ticket >= $1 ORDER BY ticket, id", Params().Add(from_ticket),
                          [&](const PgResult& r, int i) {
                            fn(ReadEvent(r, i));
                            return true;
                          });
  }

  Result<std::int64_t> AddTask(Transaction& txn, const ComplaintTaskRecord& t) override {
    s_.RequireTxn(txn);
    return s_.conn().QueryInt(
        "INSERT INTO complaint_tasks(ticket, kind, created_at, due_at, completed_at, completed_by) "
        "VALUES($1, $2, $3, $4, $5, $6) RETURNING id",
        Params().Add(t.ticket).Add(CleanText(t.kind)).Add(t.created_at).Add(t.due_at).Add(t.completed_at)
            .Add(CleanText(t.completed_by)));
  }
  Status CompleteTask(Transaction& txn, std::int64_t id, Millis at, const std::string& by) override {
    s_.RequireTxn(txn);
    TP_ASSIGN_OR_RETURN(PgResult r, s_.conn().Query("UPDATE complaint_tasks SET completed_at = $2, completed_by = $3 "
                                                    "WHERE id = $1 AND completed_at = 0",
                                                    Params().Add(id).Add(at).Add(CleanText(by))));
    if (r.affected() > 0) return Status::Ok();
    TP_ASSIGN_OR_RETURN(std::int64_t exists,
                        s_.conn().QueryInt("SELECT count(*) FROM complaint_tasks WHERE id = $1", Params().Add(id)));
    if (exists == 0) return Status::NotFound("no task " + std::to_string(id));
    return Status::FailedPrecondition("task " + std::to_string(id) + " is done");
  }
  Result<std::vector<ComplaintTaskRecord>> Tasks(std::int64_t ticket) override {
    return Collect<ComplaintTaskRecord>(s_.conn(), std::string(kTasks) + " WHERE ticket = $1 ORDER BY id",
                                        Params().Add(ticket), ReadTask);
  }
  Result<std::vector<ComplaintTaskRecord>> OpenTasks() override {
    return Collect<ComplaintTaskRecord>(s_.conn(), std::string(kTasks) + " WHERE completed_at = 0 ORDER BY id",
                                        Params(), ReadTask);
  }

 private:
  static constexpr const char* kEvents =
      "SELECT id, ticket, target, kind, cycle, due_at, fired_at, policy, actions FROM sla_events";
  static constexpr const char* kTasks =
      "SELECT id, ticket, kind, created_at, due_at, completed_at, completed_by FROM complaint_tasks";
  static SlaEventRecord ReadEvent(const PgResult& r, int i) {
    return SlaEventRecord{r.Int(i, 0), r.Int(i, 1), r.Text(i, 2), r.Text(i, 3), r.Int(i, 4),
                          r.Int(i, 5), r.Int(i, 6), r.Text(i, 7), r.Text(i, 8)};
  }
  static ComplaintTaskRecord ReadTask(const PgResult& r, int i) {
    return ComplaintTaskRecord{r.Int(i, 0), r.Int(i, 1), r.Text(i, 2), r.Int(i, 3),
                               r.Int(i, 4), r.Int(i, 5), r.Text(i, 6)};
  }

  Session& s_;
};

// ---- API keys, jobs, segments (each call its own small transaction) ----

class PgApiKeys final : public ApiKeyRepository {
 public:
  explicit PgApiKeys(Session& s) : s_(s) {}

  Result<ApiKeyRecord> Create(const std::string& role, const std::string& key_hash, const std::string& prefix,
                              Millis now) override {
    if (s_.read_only()) return ReadOnlyError();
    auto r = s_.conn().Query("INSERT INTO api_keys(role, key_hash, prefix, created_at) VALUES($1, $2, $3, $4) "
                             "RETURNING id",
                             Params().Add(role).Add(key_hash).Add(prefix).Add(now));
    if (!r.ok()) {
      if (r.status().code() == StatusCode::kAlreadyExists) return Status::AlreadyExists("a key with this hash exists");
      return r.status();
    }
    return ApiKeyRecord{r->Int(0, 0), role, key_hash, prefix, now, 0};
  }

  Result<std::vector<ApiKeyRecord>> List() override {
    return Collect<ApiKeyRecord>(s_.conn(),
                                 "SELECT id, role, key_hash, prefix, created_at, revoked_at FROM api_keys ORDER BY id",
                                 {}, Read);
  }

  Result<std::optional<ApiKeyRecord>> FindByHash(const std::string& key_hash) override {
    TP_ASSIGN_OR_RETURN(PgResult r, s_.conn().Query("SELECT id, role, key_hash, prefix, created_at, revoked_at "
                                                    "FROM api_keys WHERE key_hash = $1",
                                                    Params().Add(key_hash)));
    if (r.rows() == 0) return std::optional<ApiKeyRecord>();
    return std::optional<ApiKeyRecord>(Read(r, 0));
  }

  Status Revoke(const std::string& id_or_prefix, Millis now) override {
    if (s_.read_only()) return ReadOnlyError();
    TP_ASSIGN_OR_RETURN(PgResult r, s_.conn().Query("UPDATE api_keys SET revoked_at = $2 WHERE revoked_at = 0 AND "
                                                    "(id::text = $1 OR prefix = $1)",
                                                    Params().Add(id_or_prefix).Add(now)));
    if (r.affected() == 0) return Status::NotFound("no active key with id or prefix '" + id_or_prefix + "'");
    return Status::Ok();
  }

 private:
  static ApiKeyRecord Read(const PgResult& r, int i) {
    return ApiKeyRecord{r.Int(i, 0), r.Text(i, 1), r.Text(i, 2), r.Text(i, 3), r.Int(i, 4), r.Int(i, 5)};
  }
  Session& s_;
};

class PgJobs final : public JobRepository {
 public:
  explicit PgJobs(Session& s) : s_(s) {}

  Result<JobRecord> Create(const JobRecord& job) override {
    if (s_.read_only()) return ReadOnlyError();
    TP_ASSIGN_OR_RETURN(std::int64_t id,
                        s_.conn().QueryInt("INSERT INTO jobs(name, state, params, result, error, trigger, created_at, "
                                           "started_at, finished_at) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9) "
                                           "RETURNING id",
                                           Bind(job)));
    JobRecord out = job;
    out.id = id;
    return out;
  }

  Status Update(const JobRecord& job) override {
    if (s_.read_only()) return ReadOnlyError();
    TP_ASSIGN_OR_RETURN(PgResult r, s_.conn().Query("UPDATE jobs SET name = $1, state = $2, params = $3, result = $4, "
                                                    "error = $5, trigger = $6, created_at = $7, started_at = $8, "
                                                    "finished_at = $9 WHERE id = $10",
                                                    Bind(job).Add(job.id)));
    if (r.affected() == 0) return Status::NotFound("no job with id " + std::to_string(job.id));
    return Status::Ok();
  }

  Result<std::optional<JobRecord>> Find(std::int64_t id) override {
    return CollectOne<JobRecord>(s_.conn(), std::string(kSelect) + " WHERE id = $1", Params().Add(id), Read);
  }

  Result<std::vector<JobRecord>> Recent(int limit) override {
    return Collect<JobRecord>(s_.conn(), std::string(kSelect) + " ORDER BY id DESC LIMIT $1", Params().Add(limit),
                              Read);
  }

  Result<std::vector<JobRecord>> Unfinished() override {
    return Collect<JobRecord>(s_.conn(), std::string(kSelect) + " WHERE state IN ('queued', 'running') ORDER BY id",
                              {}, Read);
  }

 private:
  static constexpr const char* kSelect =
      "SELECT id, name, state, params, result, error, trigger, created_at, started_at, finished_at FROM jobs";
  static Params Bind(const JobRecord& j) {
    Params p;
    p.Add(j.name).Add(j.state).Add(CleanText(j.params_json)).Add(CleanText(j.result_json)).Add(CleanText(j.error))
        .Add(j.trigger).Add(j.created_at).Add(j.started_at).Add(j.finished_at);
    return p;
  }
  static JobRecord Read(const PgResult& r, int i) {
    JobRecord j;
    j.id = r.Int(i, 0);
    j.name = r.Text(i, 1);
    j.state = r.Text(i, 2);
    j.params_json = r.Text(i, 3);
    j.result_json = r.Text(i, 4);
    j.error = r.Text(i, 5);
    j.trigger = r.Text(i, 6);
    j.created_at = r.Int(i, 7);
    j.started_at = r.Int(i, 8);
    j.finished_at = r.Int(i, 9);
    return j;
  }
  Session& s_;
};

class PgSegments final : public SegmentRepository {
 public:
  explicit PgSegments(Session& s) : s_(s) {}

  Status Put(const SegmentRecord& v) override {
    if (s_.read_only()) return ReadOnlyError();
    return s_.conn()
        .Query("INSERT INTO segments(name, rule, description, created_at, updated_at) VALUES($1, $2, $3, $4, $5) "
               "ON CONFLICT(name) DO UPDATE SET rule = excluded.rule, description = excluded.description, "
               "updated_at = excluded.updated_at",
               Params().Add(CleanText(v.name)).Add(CleanText(v.rule)).Add(CleanText(v.description)).Add(v.created_at)
                   .Add(v.updated_at))
        .status();
  }

  Status Delete(const std::string& name) override {
    if (s_.read_only()) return ReadOnlyError();
    TP_ASSIGN_OR_RETURN(PgResult r, s_.conn().Query("DELETE FROM segments WHERE name = $1", Params().Add(name)));
    if (r.affected() == 0) return Status::NotFound("no segment named '" + name + "'");
    return Status::Ok();
  }

  Result<std::optional<SegmentRecord>> Find(const std::string& name) override {
    return CollectOne<SegmentRecord>(s_.conn(), std::string(kSelect) + " WHERE name = $1", Params().Add(name),
                                     Read);
  }

  // Byte order (COLLATE "C"), as the other backends: the database's locale must not reorder.
  Result<std::vector<SegmentRecord>> List() override {
    return Collect<SegmentRecord>(s_.conn(), std::string(kSelect) + " ORDER BY name COLLATE \"C\"", {}, Read);
  }

 private:
  static constexpr const char* kSelect = "SELECT name, rule, description, created_at, updated_at FROM segments";
  static SegmentRecord Read(const PgResult& r, int i) {
    return SegmentRecord{r.Text(i, 0), r.Text(i, 1), r.Text(i, 2), r.Int(i, 3), r.Int(i, 4)};
  }
  Session& s_;
};

// ---- users, teams, sessions (each call its own small transaction) ----

class PgUsers final : public UserRepository {
 public:
  explicit PgUsers(Session& s) : s_(s) {}

  Result<UserRecord> Create(const UserRecord& u) override {
    if (s_.read_only()) return ReadOnlyError();
    auto id = s_.conn().QueryInt(
        "INSERT INTO users(email, password_hash, role, team_id, totp_secret, totp_last_step, created_at, disabled_at, "
        "password_changed_at, failed_logins, locked_until) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
        "RETURNING id",
        Params().Add(CleanText(u.email)).Add(u.password_hash).Add(u.role).Add(u.team_id).Add(u.totp_secret)
            .Add(u.totp_last_step).Add(u.created_at).Add(u.disabled_at).Add(u.password_changed_at)
            .Add(u.failed_logins).Add(u.locked_until));
    if (!id.ok()) {
      if (id.status().code() == StatusCode::kAlreadyExists) return Status::AlreadyExists("a user with this e-mail exists");
      return id.status();
    }
    UserRecord out = u;
    out.id = *id;
    return out;
  }

  Result<std::optional<UserRecord>> Find(std::int64_t id) override {
    return One(std::string(kSelect) + " WHERE id = $1", Params().Add(id));
  }

  // lower() on both sides, as the unique index: the index serves the lookup.
  Result<std::optional<UserRecord>> FindByEmail(const std::string& email) override {
    return One(std::string(kSelect) + " WHERE lower(email) = lower($1)", Params().Add(CleanText(email)));
  }

  Result<std::vector<UserRecord>> List() override {
    return Collect<UserRecord>(s_.conn(), std::string(kSelect) + " ORDER BY id", {}, Read);
  }

  Status Update(std::int64_t id, const UserUpdate& c) override {
    if (s_.read_only()) return ReadOnlyError();
    std::string sql = "UPDATE users SET id = id";
    Params p;
    p.Add(id);
    int n = 1;
    const auto col = [&](const char* name) { sql += std::string(", ") + name + " = $" + std::to_string(++n); };
    if (c.role) {
      col("role");
      p.Add(*c.role);
    }
    if (c.team_id) {
      col("team_id");
      p.Add(*c.team_id);
    }
    if (c.password_hash) {
      col("password_hash");
      p.Add(*c.password_hash);
    }
    if (c.password_changed_at) {
      col("password_changed_at");
      p.Add(*c.password_changed_at);
    }
    if (c.totp_secret) {
      col("totp_secret");
      p.Add(*c.totp_secret);
      sql += ", totp_last_step = 0";
    }
    if (c.disabled_at) {
      col("disabled_at");
      p.Add(*c.disabled_at);
    }
    if (c.failed_logins) {
      col("failed_logins");
      p.Add(*c.failed_logins);
    }
    if (c.locked_until) {
      col("locked_until");
      p.Add(*c.locked_until);
    }
    sql += " WHERE id = $1";
    TP_ASSIGN_OR_RETURN(PgResult r, s_.conn().Query(sql, p));
    if (r.affected() == 0) return Status::NotFound("no user with id " + std::to_string(id));
    return Status::Ok();
  }

  Result<bool> AdvanceTotpStep(std::int64_t id, std::int64_t step) override {
    if (s_.read_only()) return ReadOnlyError();
    TP_ASSIGN_OR_RETURN(PgResult r, s_.conn().Query("UPDATE users SET totp_last_step = $2 WHERE id = $1 AND "
                                                    "totp_last_step < $2",
                                                    Params().Add(id).Add(step)));
    if (r.affected() > 0) return true;
    TP_ASSIGN_OR_RETURN(auto user, Find(id));
    if (!user) return Status::NotFound("no user with id " + std::to_string(id));
    return false;
  }

  Result<int> AddFailedLogin(std::int64_t id) override {
    if (s_.read_only()) return ReadOnlyError();
    TP_ASSIGN_OR_RETURN(PgResult r, s_.conn().Query("UPDATE users SET failed_logins = failed_logins + 1 WHERE id = $1 "
                                                    "RETURNING failed_logins",
                                                    Params().Add(id)));
    if (r.rows() == 0) return Status::NotFound("no user with id " + std::to_string(id));
    return static_cast<int>(r.Int(0, 0));
  }

 private:
  static constexpr const char* kSelect =
      "SELECT id, email, password_hash, role, team_id, totp_secret, totp_last_step, created_at, disabled_at, "
      "password_changed_at, failed_logins, locked_until FROM users";
  static UserRecord Read(const PgResult& r, int i) {
    UserRecord u;
    u.id = r.Int(i, 0);
    u.email = r.Text(i, 1);
    u.password_hash = r.Text(i, 2);
    u.role = r.Text(i, 3);
    u.team_id = r.Int(i, 4);
    u.totp_secret = r.Text(i, 5);
    u.totp_last_step = r.Int(i, 6);
    u.created_at = r.Int(i, 7);
    u.disabled_at = r.Int(i, 8);
    u.password_changed_at = r.Int(i, 9);
    u.failed_logins = static_cast<int>(r.Int(i, 10));
    u.locked_until = r.Int(i, 11);
    return u;
  }
  Result<std::optional<UserRecord>> One(const std::string& sql, const Params& params) {
    return CollectOne<UserRecord>(s_.conn(), sql, params, Read);
  }
  Session& s_;
};

class PgTeams final : public TeamRepository {
 public:
  explicit PgTeams(Session& s) : s_(s) {}

  Result<TeamRecord> Create(const std::string& name, Millis now) override {
    if (s_.read_only()) return ReadOnlyError();
    auto id = s_.conn().QueryInt("INSERT INTO teams(name, created_at) VALUES($1, $2) RETURNING id",
                                 Params().Add(CleanText(name)).Add(now));
    if (!id.ok()) {
      if (id.status().code() == StatusCode::kAlreadyExists) {
        return Status::AlreadyExists("a team named '" + name + "' exists");
      }
      return id.status();
    }
    return TeamRecord{*id, name, now, {}};
  }

  Result<std::optional<TeamRecord>> Find(std::int64_t id) override {
    return One(std::string(kSelect) + " WHERE t.id = $1", Params().Add(id));
  }

  Result<std::optional<TeamRecord>> FindByName(const std::string& name) override {
    return One(std::string(kSelect) + " WHERE t.name = $1", Params().Add(CleanText(name)));
  }

  Result<std::vector<TeamRecord>> List() override {
    return Collect<TeamRecord>(s_.conn(), std::string(kSelect) + " ORDER BY t.id", {}, Read);
  }

  Status AddSupervisor(std::int64_t team_id, std::int64_t user_id) override {
    if (s_.read_only()) return ReadOnlyError();
    TP_ASSIGN_OR_RETURN(auto team, Find(team_id));
    if (!team) return Status::NotFound("no team with id " + std::to_string(team_id));
    return s_.conn()
        .Query("INSERT INTO team_supervisors(team_id, user_id) VALUES($1, $2) ON CONFLICT DO NOTHING",
               Params().Add(team_id).Add(user_id))
        .status();
  }

  Status RemoveSupervisor(std::int64_t team_id, std::int64_t user_id) override {
    if (s_.read_only()) return ReadOnlyError();
    TP_ASSIGN_OR_RETURN(PgResult r, s_.conn().Query("DELETE FROM team_supervisors WHERE team_id = $1 AND user_id = $2",
                                                    Params().Add(team_id).Add(user_id)));
    if (r.affected() == 0) {
      return Status::NotFound("user " + std::to_string(user_id) + " does not supervise this team");
    }
    return Status::Ok();
  }

 private:
  // The supervisors as a bigint[] literal ("{3,7}"), in ascending order.
  static constexpr const char* kSelect =
      "SELECT t.id, t.name, t.created_at, coalesce((SELECT array_agg(user_id ORDER BY user_id) FROM "
      "team_supervisors s WHERE s.team_id = t.id), '{}') FROM teams t";
  static TeamRecord Read(const PgResult& r, int i) {
    TeamRecord t{r.Int(i, 0), r.Text(i, 1), r.Int(i, 2), {}};
    std::string_view list = r.Get(i, 3);
    if (list.size() >= 2) list = list.substr(1, list.size() - 2);
    while (!list.empty()) {
      const size_t comma = list.find(',');
      const std::string_view item = list.substr(0, comma);
      std::int64_t v = 0;
      std::from_chars(item.data(), item.data() + item.size(), v);
      t.supervisors.push_back(v);
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
    return t;
  }
  Result<std::optional<TeamRecord>> One(const std::string& sql, const Params& params) {
    return CollectOne<TeamRecord>(s_.conn(), sql, params, Read);
  }
  Session& s_;
};

class PgSessions final : public SessionRepository {
 public:
  explicit PgSessions(Session& s) : s_(s) {}

  Result<SessionRecord> Create(const SessionRecord& x) override {
    if (s_.read_only()) return ReadOnlyError();
    auto id = s_.conn().QueryInt("INSERT INTO sessions(token_hash, user_id, csrf_hash, created_at, last_seen_at, "
                                 "revoked_at) VALUES($1, $2, $3, $4, $5, $6) RETURNING id",
                                 Params().Add(x.token_hash).Add(x.user_id).Add(x.csrf_hash).Add(x.created_at)
                                     .Add(x.last_seen_at).Add(x.revoked_at));
    if (!id.ok()) {
      if (id.status().code() == StatusCode::kAlreadyExists) {
        return Status::AlreadyExists("a session with this token hash exists");
      }
      return id.status();
    }
    SessionRecord out = x;
    out.id = *id;
    return out;
  }

  Result<std::optional<SessionRecord>> FindByHash(const std::string& token_hash) override {
    TP_ASSIGN_OR_RETURN(PgResult r, s_.conn().Query("SELECT id, token_hash, user_id, csrf_hash, created_at, "
                                                    "last_seen_at, revoked_at FROM sessions WHERE token_hash = $1",
                                                    Params().Add(token_hash)));
    if (r.rows() == 0) return std::optional<SessionRecord>();
    return std::optional<SessionRecord>(
        SessionRecord{r.Int(0, 0), r.Text(0, 1), r.Int(0, 2), r.Text(0, 3), r.Int(0, 4), r.Int(0, 5), r.Int(0, 6)});
  }

  Status Touch(std::int64_t id, Millis now) override {
    return Change("UPDATE sessions SET last_seen_at = greatest(last_seen_at, $2) WHERE id = $1", id, now);
  }

  Status Revoke(std::int64_t id, Millis now) override {
    return Change("UPDATE sessions SET revoked_at = CASE WHEN revoked_at = 0 THEN $2 ELSE revoked_at END "
                  "WHERE id = $1",
                  id, now);
  }

  Result<std::int64_t> RevokeForUser(std::int64_t user_id, Millis now) override {
    if (s_.read_only()) return ReadOnlyError();
    TP_ASSIGN_OR_RETURN(PgResult r, s_.conn().Query("UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND "
                                                    "revoked_at = 0",
                                                    Params().Add(user_id).Add(now)));
    return r.affected();
  }

  Result<std::int64_t> DeleteExpired(Millis created_before, Millis seen_before) override {
    if (s_.read_only()) return ReadOnlyError();
    TP_ASSIGN_OR_RETURN(PgResult r, s_.conn().Query("DELETE FROM sessions WHERE revoked_at <> 0 OR created_at < $1 "
                                                    "OR last_seen_at < $2",
                                                    Params().Add(created_before).Add(seen_before)));
    return r.affected();
  }

 private:
  Status Change(const char* sql, std::int64_t id, Millis now) {
    if (s_.read_only()) return ReadOnlyError();
    TP_ASSIGN_OR_RETURN(PgResult r, s_.conn().Query(sql, Params().Add(id).Add(now)));
    if (r.affected() == 0) return Status::NotFound("no session with id " + std::to_string(id));
    return Status::Ok();
  }
  Session& s_;
};

// ---- the audit log (its own small transactions) ----

class PgAudit final : public AuditRepository {
 public:
  explicit PgAudit(Session& s) : s_(s) {}

  Result<std::vector<AuditEntryRecord>> Append(std::span<const AuditEntryRecord> entries,
                                               const AuditChainFn& chain) override {
    if (s_.read_only()) return ReadOnlyError();
    if (s_.in_txn()) return Status::FailedPrecondition("audit entries are appended outside other transactions");
    Conn& c = s_.conn();
    std::vector<AuditEntryRecord> out;
    TP_RETURN_IF_ERROR(c.Begin());
    Status st = [&]() -> Status {
      // The lock orders appenders: the next one reads the head only after this one committed
      // (READ COMMITTED: each statement sees what committed before it started).
      TP_RETURN_IF_ERROR(c.Query("SELECT pg_advisory_xact_lock($1)", Params().Add(kAuditLockKey)).status());
      TP_ASSIGN_OR_RETURN(PgResult head, c.Query("SELECT seq, hash FROM audit_entries ORDER BY seq DESC LIMIT 1"));
      std::int64_t seq = head.rows() > 0 ? head.Int(0, 0) : 0;
      std::string prev = head.rows() > 0 ? head.Text(0, 1) : std::string(64, '0');
      ArrayLiteral seqs, times, actors, actions, targets, details, prevs, hashes;
      out.reserve(entries.size());
      for (const AuditEntryRecord& in : entries) {
        AuditEntryRecord e = in;
        e.seq = ++seq;
        e.prev_hash = prev;
        e.hash = chain(prev, e);
        prev = e.hash;
        seqs.Int(e.seq);
        times.Int(e.time);
        actors.Text(e.actor);
        actions.Text(e.action);
        targets.Text(e.target);
        details.Text(e.details_json);
        prevs.Text(e.prev_hash);
        hashes.Text(e.hash);
        out.push_back(std::move(e));
      }
      return c.Query("INSERT INTO audit_entries(seq, time, actor, action, target, details, prev_hash, hash) "
                     "SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], "
                     "$6::text[], $7::text[], $8::text[])",
                     Params().Add(seqs.Take()).Add(times.Take()).Add(actors.Take()).Add(actions.Take())
                         .Add(targets.Take()).Add(details.Take()).Add(prevs.Take()).Add(hashes.Take()))
          .status();
    }();
    if (st.ok()) st = c.Commit();
    if (!st.ok()) {
      c.Rollback();
      return st;
    }
    return out;
  }

  Result<std::optional<AuditEntryRecord>> Head() override {
    return CollectOne<AuditEntryRecord>(s_.conn(), std::string(kSelect) + " ORDER BY seq DESC LIMIT 1", {},
                                        Read);
  }

  Status Scan(std::int64_t after, const std::function<bool(AuditEntryRecord&&)>& fn) override {
    return s_.conn().Scan(std::string(kSelect) + " WHERE seq > $1 ORDER BY seq", Params().Add(after),
                          [&](const PgResult& r, int i) { return fn(Read(r, i)); }, 20'000);
  }

  Result<std::vector<AuditEntryRecord>> Query(const AuditQuery& q) override {
    return Collect<AuditEntryRecord>(
        s_.conn(),
        std::string(kSelect) +
            " WHERE ($1 = '' OR actor = $1) AND ($2 = '' OR action = $2) AND ($3 = 0 OR time >= $3) "
            "AND ($4 = 0 OR time < $4) AND ($5 = 0 OR seq < $5) ORDER BY seq DESC LIMIT $6",
        Params().Add(q.actor).Add(q.action).Add(q.from).Add(q.to).Add(q.before_seq).Add(q.limit), Read);
  }

  Result<AuditCheckpointRecord> AddCheckpoint(const AuditCheckpointRecord& cp) override {
    if (s_.read_only()) return ReadOnlyError();
    TP_ASSIGN_OR_RETURN(std::int64_t id,
                        s_.conn().QueryInt("INSERT INTO audit_checkpoints(count, head_hash, time, key_id, signature) "
                                           "VALUES($1, $2, $3, $4, $5) RETURNING id",
                                           Params().Add(cp.count).Add(cp.head_hash).Add(cp.time).Add(cp.key_id)
                                               .Add(cp.signature)));
    AuditCheckpointRecord out = cp;
    out.id = id;
    return out;
  }

  Result<std::vector<AuditCheckpointRecord>> Checkpoints() override {
    return Collect<AuditCheckpointRecord>(
        s_.conn(), "SELECT id, count, head_hash, time, key_id, signature FROM audit_checkpoints ORDER BY id", {},
        [](const PgResult& r, int i) {
          return AuditCheckpointRecord{r.Int(i, 0), r.Int(i, 1), r.Text(i, 2), r.Int(i, 3), r.Text(i, 4), r.Text(i, 5)};
        });
  }

 private:
  static constexpr const char* kSelect =
      "SELECT seq, time, actor, action, target, details, prev_hash, hash FROM audit_entries";
  static AuditEntryRecord Read(const PgResult& r, int i) {
    return AuditEntryRecord{r.Int(i, 0),  r.Int(i, 1),  r.Text(i, 2), r.Text(i, 3),
                            r.Text(i, 4), r.Text(i, 5), r.Text(i, 6), r.Text(i, 7)};
  }
  Session& s_;
};

class PgSigningKeys final : public SigningKeyRepository {
 public:
  explicit PgSigningKeys(Session& s) : s_(s) {}

  Status Put(const SigningKeyRecord& key) override {
    if (s_.read_only()) return ReadOnlyError();
    TP_ASSIGN_OR_RETURN(PgResult r,
                        s_.conn().Query("WITH ins AS (INSERT INTO signing_keys(key_id, public_key, created_at) "
                                        "VALUES($1, $2, $3) ON CONFLICT(key_id) DO NOTHING RETURNING public_key) "
                                        "SELECT public_key FROM ins UNION ALL "
                                        "SELECT public_key FROM signing_keys WHERE key_id = $1",
                                        Params().Add(key.key_id).Add(key.public_key).Add(key.created_at)));
    if (r.rows() > 0 && r.Text(0, 0) != key.public_key) {
      return Status::AlreadyExists("another public key is recorded under key id " + key.key_id);
    }
    return Status::Ok();
  }

  Result<std::vector<SigningKeyRecord>> List() override {
    return Collect<SigningKeyRecord>(
        s_.conn(), "SELECT key_id, public_key, created_at FROM signing_keys ORDER BY created_at, key_id COLLATE \"C\"",
        {}, [](const PgResult& r, int i) { return SigningKeyRecord{r.Text(i, 0), r.Text(i, 1), r.Int(i, 2)}; });
  }

 private:
  Session& s_;
};

class PgKeyring final : public KeyringRepository {
 public:
  explicit PgKeyring(Session& s) : s_(s) {}

  Status AddKeys(std::span<const WrappedKeyRecord> keys) override {
    return Write(keys, "INSERT INTO keyring(customer_id, key_version, wrapped) SELECT * FROM "
                       "unnest($1::bigint[], $2::integer[], $3::text[]) ON CONFLICT(customer_id) DO NOTHING");
  }
  Status ReplaceKeys(std::span<const WrappedKeyRecord> keys) override {
    return Write(keys, "UPDATE keyring SET key_version = t.v, wrapped = t.w FROM "
                       "unnest($1::bigint[], $2::integer[], $3::text[]) AS t(c, v, w) WHERE customer_id = t.c "
                       "AND wrapped <> ''");
  }
  Result<std::optional<WrappedKeyRecord>> FindKey(CustomerId customer) override {
    TP_ASSIGN_OR_RETURN(PgResult r, s_.conn().Query("SELECT customer_id, key_version, wrapped FROM keyring "
                                                    "WHERE customer_id = $1",
                                                    Params().Add(customer.value())));
    if (r.rows() == 0) return std::optional<WrappedKeyRecord>();
    return std::optional<WrappedKeyRecord>(
        WrappedKeyRecord{CustomerId(r.Int(0, 0)), static_cast<int>(r.Int(0, 1)), r.Text(0, 2)});
  }
  Status ScanKeys(const std::function<void(WrappedKeyRecord&&)>& fn) override {
    return s_.conn().Scan("SELECT customer_id, key_version, wrapped FROM keyring ORDER BY customer_id", {},
                          [&](const PgResult& r, int i) {
                            fn(WrappedKeyRecord{CustomerId(r.Int(i, 0)), static_cast<int>(r.Int(i, 1)),
                                                r.Text(i, 2)});
                            return true;
                          });
  }
  Status DestroyKeys(std::span<const CustomerId> customers) override {
    if (s_.read_only()) return ReadOnlyError();
    if (customers.empty()) return Status::Ok();
    ArrayLiteral ids;
    for (CustomerId c : customers) ids.Int(c.value());
    return s_.conn().Query("DELETE FROM keyring WHERE customer_id = ANY($1::bigint[])", Params().Add(ids.Take()))
        .status();
  }
  Status PutSetting(const std::string& name, const std::string& value) override {
    if (s_.read_only()) return ReadOnlyError();
    return s_.conn()
        .Query("INSERT INTO privacy_settings(name, value) VALUES($1, $2) "
               "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
               Params().Add(CleanText(name)).Add(CleanText(value)))
        .status();
  }
  Result<std::optional<std::string>> Setting(const std::string& name) override {
    TP_ASSIGN_OR_RETURN(PgResult r, s_.conn().Query("SELECT value FROM privacy_settings WHERE name = $1",
                                                    Params().Add(CleanText(name))));
    if (r.rows() == 0) return std::optional<std::string>();
    return std::optional<std::string>(r.Text(0, 0));
  }

 private:
  Status Write(std::span<const WrappedKeyRecord> keys, const char* sql) {
    if (s_.read_only()) return ReadOnlyError();
    if (keys.empty()) return Status::Ok();
    if (s_.in_txn()) return Status::FailedPrecondition("the keyring must not join another transaction");
    ArrayLiteral customer, version, wrapped;
    for (const WrappedKeyRecord& k : keys) {
      customer.Int(k.customer.value());
      version.Int(k.key_version);
      wrapped.Text(k.wrapped);
    }
    return s_.conn().Query(sql, Params().Add(customer.Take()).Add(version.Take()).Add(wrapped.Take())).status();
  }
  Session& s_;
};

class PgDpBudgets final : public DpBudgetRepository {
 public:
  explicit PgDpBudgets(Session& s) : s_(s) {}

  Status SetBudget(const std::string& dataset, std::int64_t epsilon_micros, Millis now) override {
    if (s_.read_only()) return ReadOnlyError();
    if (epsilon_micros <= 0) return Status::InvalidArgument("a privacy budget must be above 0");
    return s_.conn()
        .Query("INSERT INTO dp_budgets(dataset, epsilon_micros, updated_at) VALUES($1, $2, $3) "
               "ON CONFLICT(dataset) DO UPDATE SET epsilon_micros = excluded.epsilon_micros, "
               "updated_at = excluded.updated_at",
               Params().Add(CleanText(dataset)).Add(epsilon_micros).Add(now))
        .status();
  }

  Result<std::optional<std::int64_t>> Budget(const std::string& dataset) override {
    TP_ASSIGN_OR_RETURN(PgResult r, s_.conn().Query("SELECT epsilon_micros FROM dp_budgets WHERE dataset = $1",
                                                    Params().Add(CleanText(dataset))));
    if (r.rows() == 0) return std::optional<std::int64_t>();
    return std::optional<std::int64_t>(r.Int(0, 0));
  }

  Result<std::int64_t> Spent(const std::string& dataset) override {
    return s_.conn().QueryInt("SELECT coalesce(sum(epsilon_micros), 0)::bigint FROM dp_releases WHERE dataset = $1",
                              Params().Add(CleanText(dataset)));
  }

  Result<DpRelease> Spend(const DpRelease& release, std::int64_t default_budget_micros) override {
    if (s_.read_only()) return ReadOnlyError();
    if (release.epsilon_micros <= 0) return Status::InvalidArgument("a release must spend an epsilon above 0");
    if (s_.in_txn()) return Status::FailedPrecondition("a privacy spend must not join another transaction");
    Conn& c = s_.conn();
    TP_RETURN_IF_ERROR(c.Begin());
    DpRelease stored = release;
    Status st = [&]() -> Status {
      // One spend at a time across every process on this database (released at COMMIT).
      TP_RETURN_IF_ERROR(c.Query("SELECT pg_advisory_xact_lock($1)", Params().Add(kDpSpendLockKey)).status());
      TP_ASSIGN_OR_RETURN(std::optional<std::int64_t> configured, Budget(release.dataset));
      TP_ASSIGN_OR_RETURN(std::int64_t spent, Spent(release.dataset));
      const std::int64_t budget = configured.value_or(default_budget_micros);
      if (spent + release.epsilon_micros > budget) {
        return DpBudgetExceeded(release.dataset, spent, budget, release.epsilon_micros);
      }
      TP_ASSIGN_OR_RETURN(stored.id,
                          c.QueryInt("INSERT INTO dp_releases(dataset, report, epsilon_micros, actor, released_at) "
                                     "VALUES($1, $2, $3, $4, $5) RETURNING id",
                                     Params().Add(CleanText(release.dataset)).Add(CleanText(release.report))
                                         .Add(release.epsilon_micros).Add(CleanText(release.actor))
                                         .Add(release.released_at)));
      return Status::Ok();
    }();
    if (!st.ok()) {
      c.Rollback();
      return st;
    }
    TP_RETURN_IF_ERROR(c.Commit());
    return stored;
  }

  Result<std::vector<DpRelease>> Releases(const std::string& dataset) override {
    return Collect<DpRelease>(s_.conn(),
                              "SELECT id, dataset, report, epsilon_micros, actor, released_at FROM dp_releases "
                              "WHERE dataset = $1 ORDER BY id",
                              Params().Add(CleanText(dataset)), [](const PgResult& r, int i) {
                                return DpRelease{r.Int(i, 0), r.Text(i, 1), r.Text(i, 2),
                                                 r.Int(i, 3), r.Text(i, 4), r.Int(i, 5)};
                              });
  }

  Result<std::vector<std::string>> Datasets() override {
    return Collect<std::string>(s_.conn(),
                                "SELECT dataset FROM (SELECT dataset FROM dp_budgets UNION SELECT dataset "
                                "FROM dp_releases) d ORDER BY dataset COLLATE \"C\"",
                                Params(), [](const PgResult& r, int i) { return r.Text(i, 0); });
  }

 private:
  Session& s_;
};

// ---- the outbox's deliveries ----

class PgOutbox final : public OutboxRepository {
 public:
  explicit PgOutbox(Session& s) : s_(s) {}

  Result<std::int64_t> Enqueue(Transaction& txn, const Delivery& d) override {
    s_.RequireTxn(txn);
    if (d.idempotency_key.empty()) return Status::InvalidArgument("a delivery needs an idempotency key");
    if (d.target.empty()) return Status::InvalidArgument("a delivery needs a target");
    const std::string key = CleanText(d.idempotency_key);
    TP_ASSIGN_OR_RETURN(
        PgResult r,
        s_.conn().Query("INSERT INTO outbox(kind, target, event, payload, idempotency_key, state, attempts, "
                        "next_attempt_at, last_error, created_at, delivered_at) "
                        "VALUES($1, $2, $3, $4, $5, 'pending', 0, $6, '', $7, 0) "
                        "ON CONFLICT(idempotency_key) DO NOTHING RETURNING id",
                        Params().Add(std::string(DeliveryKindName(d.kind))).Add(CleanText(d.target))
                            .Add(CleanText(d.event)).Add(CleanText(d.payload)).Add(key).Add(d.next_attempt_at)
                            .Add(d.created_at)));
    if (r.rows() == 1) return r.Int(0, 0);
    return s_.conn().QueryInt("SELECT id FROM outbox WHERE idempotency_key = $1", Params().Add(key));
  }

  Result<std::vector<Delivery>> Claim(DeliveryKind kind, const std::string& target, Millis now, Millis claim_until,
                                      int limit) override {
    TP_RETURN_IF_ERROR(Writable());
    // One statement; SKIP LOCKED: two dispatchers never claim the same row.
    TP_ASSIGN_OR_RETURN(
        auto out,
        Collect<Delivery>(s_.conn(),
                          "UPDATE outbox SET state = 'delivering', attempts = attempts + 1, next_attempt_at = $4 "
                          "WHERE id IN (SELECT id FROM outbox WHERE kind = $1 AND ($2 = '' OR target = $2) "
                          "AND state IN ('pending', 'failed', 'delivering') AND next_attempt_at <= $3 "
                          "ORDER BY next_attempt_at, id LIMIT $5 FOR UPDATE SKIP LOCKED) RETURNING " +
                              std::string(kColumns),
                          Params().Add(std::string(DeliveryKindName(kind))).Add(CleanText(target)).Add(now)
                              .Add(claim_until).Add(limit),
                          Read));
    std::sort(out.begin(), out.end(), [](const Delivery& a, const Delivery& b) { return a.id < b.id; });
    return out;
  }

  Status Finish(std::span<const DeliveryOutcome> outcomes) override {
    TP_RETURN_IF_ERROR(Writable());
    if (outcomes.empty()) return Status::Ok();
    Conn& c = s_.conn();
    TP_RETURN_IF_ERROR(c.Begin());
    Status st = [&]() -> Status {
      for (const DeliveryOutcome& o : outcomes) {
        TP_RETURN_IF_ERROR(
            c.Query("UPDATE outbox SET state = $2, next_attempt_at = $3, last_error = $4, "
                    "attempts = attempts - CASE WHEN $2 = 'pending' THEN 1 ELSE 0 END, "
                    "delivered_at = CASE WHEN $2 = 'delivered' THEN $5::bigint ELSE delivered_at END "
                    "WHERE id = $1 AND state = 'delivering'",
                    Params().Add(o.id).Add(std::string(DeliveryStateName(o.state))).Add(o.next_attempt_at)
                        .Add(CleanText(o.error)).Add(o.at))
                .status());
      }
      return Status::Ok();
    }();
    if (!st.ok()) {
      c.Rollback();
      return st;
    }
    return c.Commit();
  }

  Result<std::int64_t> ReleaseClaims(Millis now) override {
    TP_RETURN_IF_ERROR(Writable());
    TP_ASSIGN_OR_RETURN(PgResult r, s_.conn().Query("UPDATE outbox SET next_attempt_at = $1 WHERE state = 'delivering'",
                                                    Params().Add(now)));
    return r.affected();
  }

  Result<std::int64_t> Retry(std::int64_t id, Millis now) override {
    TP_RETURN_IF_ERROR(Writable());
    TP_ASSIGN_OR_RETURN(
        PgResult r,
        id > 0 ? s_.conn().Query("UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = $1 "
                                 "WHERE id = $2 AND state IN ('dead', 'failed')",
                                 Params().Add(now).Add(id))
               : s_.conn().Query("UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = $1 "
                                 "WHERE state = 'dead'",
                                 Params().Add(now)));
    if (id > 0 && r.affected() == 0) return Status::NotFound("no dead or failed delivery with id " + std::to_string(id));
    return r.affected();
  }

  Result<std::optional<Delivery>> Find(std::int64_t id) override {
    return CollectOne<Delivery>(s_.conn(), "SELECT " + std::string(kColumns) + " FROM outbox WHERE id = $1",
                                Params().Add(id), Read);
  }

  Result<std::vector<Delivery>> List(const DeliveryQuery& q) override {
    return Collect<Delivery>(
        s_.conn(),
        "SELECT " + std::string(kColumns) +
            " FROM outbox WHERE ($1 = '' OR state = $1) AND ($2 = '' OR kind = $2) AND ($3 = '' OR target = $3) "
            "AND ($4 <= 0 OR id < $4) ORDER BY id DESC LIMIT $5",
        Params().Add(q.state ? std::string(DeliveryStateName(*q.state)) : std::string())
            .Add(q.kind ? std::string(DeliveryKindName(*q.kind)) : std::string()).Add(CleanText(q.target))
            .Add(q.before_id).Add(q.limit),
        Read);
  }

  Result<std::array<std::int64_t, kDeliveryStateCount>> CountByState() override {
    TP_ASSIGN_OR_RETURN(PgResult r, s_.conn().Query("SELECT state, count(*) FROM outbox GROUP BY state"));
    std::array<std::int64_t, kDeliveryStateCount> out{};
    for (int i = 0; i < r.rows(); ++i) {
      if (auto st = ParseDeliveryState(r.Get(i, 0))) out[static_cast<size_t>(*st)] = r.Int(i, 1);
    }
    return out;
  }

  Result<std::optional<Millis>> NextDue(DeliveryKind kind, const std::string& target) override {
    TP_ASSIGN_OR_RETURN(PgResult r,
                        s_.conn().Query("SELECT min(next_attempt_at) FROM outbox WHERE kind = $1 AND "
                                        "($2 = '' OR target = $2) AND state IN ('pending', 'failed', 'delivering')",
                                        Params().Add(std::string(DeliveryKindName(kind))).Add(CleanText(target))));
    if (r.rows() == 0 || r.IsNull(0, 0)) return std::optional<Millis>();
    return std::optional<Millis>(r.Int(0, 0));
  }

  Result<std::int64_t> PruneDelivered(Millis before) override {
    TP_RETURN_IF_ERROR(Writable());
    TP_ASSIGN_OR_RETURN(PgResult r, s_.conn().Query("DELETE FROM outbox WHERE state = 'delivered' AND delivered_at < $1",
                                                    Params().Add(before)));
    return r.affected();
  }

 private:
  static constexpr const char* kColumns =
      "id, kind, target, event, payload, idempotency_key, state, attempts, next_attempt_at, last_error, created_at, "
      "delivered_at";
  static Delivery Read(const PgResult& r, int i) {
    Delivery d;
    d.id = r.Int(i, 0);
    d.kind = ParseDeliveryKind(r.Get(i, 1)).value_or(DeliveryKind::kWebhook);
    d.target = r.Text(i, 2);
    d.event = r.Text(i, 3);
    d.payload = r.Text(i, 4);
    d.idempotency_key = r.Text(i, 5);
    d.state = ParseDeliveryState(r.Get(i, 6)).value_or(DeliveryState::kPending);
    d.attempts = static_cast<int>(r.Int(i, 7));
    d.next_attempt_at = r.Int(i, 8);
    d.last_error = r.Text(i, 9);
    d.created_at = r.Int(i, 10);
    d.delivered_at = r.Int(i, 11);
    return d;
  }
  Status Writable() const {
    if (s_.read_only()) return ReadOnlyError();
    if (s_.in_txn()) return Status::FailedPrecondition("an outbox update must not join another transaction");
    return Status::Ok();
  }
  Session& s_;
};

class PgConsents final : public ConsentRepository {
 public:
  explicit PgConsents(Session& s) : s_(s) {}

  Status Add(Transaction& txn, std::span<const ConsentRecord> records) override {
    s_.RequireTxn(txn);
    if (records.empty()) return Status::Ok();
    CopyRows rows;
    for (const ConsentRecord& r : records) {
      rows.Int(r.customer.value()).Text(CleanText(r.purpose)).Text(CleanText(r.channel)).Text(CleanText(r.value))
          .Text(CleanText(r.source)).Text(CleanText(r.wording_version)).Int(r.at).Text(CleanText(r.actor)).EndRow();
    }
    return s_.conn().CopyIn(
        "COPY consents(customer_id, purpose, channel, value, source, wording_version, at, actor) FROM STDIN", rows);
  }

  Result<std::vector<ConsentRecord>> Record(std::span<const ConsentRecord> records) override {
    if (s_.read_only()) return ReadOnlyError();
    if (s_.in_txn()) return Status::FailedPrecondition("a consent record must not join another transaction");
    Conn& c = s_.conn();
    TP_RETURN_IF_ERROR(c.Begin());
    std::vector<ConsentRecord> out;
    Status st = [&]() -> Status {
      for (const ConsentRecord& r : records) {
        ConsentRecord stored = r;
        TP_ASSIGN_OR_RETURN(stored.id,
                            c.QueryInt("INSERT INTO consents(customer_id, purpose, channel, value, source, "
                                       "wording_version, at, actor) VALUES($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                                       Params().Add(r.customer.value()).Add(CleanText(r.purpose))
                                           .Add(CleanText(r.channel)).Add(CleanText(r.value)).Add(CleanText(r.source))
                                           .Add(CleanText(r.wording_version)).Add(r.at).Add(CleanText(r.actor))));
        out.push_back(std::move(stored));
      }
      return Status::Ok();
    }();
    if (!st.ok()) {
      c.Rollback();
      return st;
    }
    TP_RETURN_IF_ERROR(c.Commit());
    return out;
  }

  Result<std::vector<ConsentRecord>> ForCustomers(std::span<const CustomerId> customers) override {
    return Collect<ConsentRecord>(s_.conn(), std::string(kSelect) + " WHERE customer_id = ANY($1::bigint[]) ORDER BY id",
                                  Params().AddIntArray(Ids(customers)), Row);
  }

  Status Scan(const std::function<void(ConsentRecord&&)>& fn) override {
    return s_.conn().Scan(std::string(kSelect) + " ORDER BY id", {}, [&](const PgResult& r, int i) {
      fn(Row(r, i));
      return true;
    });
  }

  Result<std::int64_t> Count() override { return s_.conn().QueryInt("SELECT count(*) FROM consents"); }

 private:
  static constexpr std::string_view kSelect =
      "SELECT id, customer_id, purpose, channel, value, source, wording_version, at, actor FROM consents";
  static ConsentRecord Row(const PgResult& r, int i) {
    return ConsentRecord{r.Int(i, 0),  CustomerId(r.Int(i, 1)), r.Text(i, 2), r.Text(i, 3), r.Text(i, 4),
                         r.Text(i, 5), r.Text(i, 6),            r.Int(i, 7),  r.Text(i, 8)};
  }
  Session& s_;
};

// ---- the change feed ----

class PgChangeFeed final : public ChangeFeed {
 public:
  explicit PgChangeFeed(Session& s) : s_(s) {}

  Result<Changes> ChangesSince(std::int64_t mark) override {
    Conn& c = s_.conn();
    if (s_.in_txn()) return Status::FailedPrecondition("the change feed is read outside transactions");
    // One snapshot for the mark and the rows: a commit after it is in neither.
    TP_RETURN_IF_ERROR(c.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    Changes out;
    Status st = [&]() -> Status {
      TP_ASSIGN_OR_RETURN(out.mark, c.QueryInt("SELECT changes FROM tp_cluster WHERE id = 1"));
      const Params after = Params().Add(mark);
      TP_RETURN_IF_ERROR(c.Scan("SELECT id, merged_into, created_at FROM customers WHERE changed > $1", after,
                                [&](const PgResult& r, int i) {
                                  out.customers.push_back(
                                      CustomerRecord{CustomerId(r.Int(i, 0)), CustomerId(r.Int(i, 1)), r.Int(i, 2)});
                                  return true;
                                }, 20'000));
      TP_RETURN_IF_ERROR(c.Scan(std::string("SELECT ") + kIdentifierColumns + " FROM identifiers WHERE changed > $1",
                                after, [&](const PgResult& r, int i) {
                                  out.identifiers.push_back(ReadIdentifier(r, i));
                                  return true;
                                }, 20'000));
      TP_RETURN_IF_ERROR(c.Scan(std::string("SELECT ") + kMergeColumns + " FROM merges WHERE changed > $1", after,
                                [&](const PgResult& r, int i) {
                                  out.merges.push_back(ReadMerge(r, i));
                                  return true;
                                }));
      TP_RETURN_IF_ERROR(c.Scan("SELECT customer_id, data, updated_at FROM profiles WHERE changed > $1", after,
                                [&](const PgResult& r, int i) {
                                  out.profiles.push_back(ProfileRecord{CustomerId(r.Int(i, 0)), r.Text(i, 1), r.Int(i, 2)});
                                  return true;
                                }, 5'000));
      TP_RETURN_IF_ERROR(c.Scan("SELECT customer_id FROM erased_customers WHERE changed > $1", after,
                                [&](const PgResult& r, int i) {
                                  out.erased.emplace_back(r.Int(i, 0));
                                  return true;
                                }));
      TP_ASSIGN_OR_RETURN(out.profile_checkpoint, c.QueryInt("SELECT value FROM meta WHERE key = 'profile_checkpoint'"));
      TP_ASSIGN_OR_RETURN(out.newest_event_at, c.QueryInt("SELECT value FROM meta WHERE key = 'newest_event_at'"));
      return Status::Ok();
    }();
    if (!st.ok()) {
      c.Rollback();
      return st;
    }
    TP_RETURN_IF_ERROR(c.Commit());
    return out;
  }

 private:
  Session& s_;
};

// ---- several nodes ----

ConnectOptions LeaseConnectOptions(const Options& o, const std::string& purpose) {
  ConnectOptions c;
  c.url = o.url;
  c.password = o.password;
  // Named so that another writer's error can say who holds the lock (LockHolder).
  c.application_name = ("touchpoint pid " + std::to_string(getpid()) + " (" + purpose + ")").substr(0, 63);
  c.reconnect = false;
  // A session idle this long is ended by the server: a frozen holder loses the lock.
  c.settings = {{"idle_session_timeout", std::to_string(o.lease_timeout_ms) + "ms"},
                {"tcp_keepalives_idle", "2"},
                {"tcp_keepalives_interval", "1"},
                {"tcp_keepalives_count", "3"}};
  return c;
}

class PgLease final : public WriterLease {
 public:
  PgLease(std::unique_ptr<Conn> conn, std::int64_t epoch) : conn_(std::move(conn)), epoch_(epoch) {}
  ~PgLease() override {
    // Closing the session would release the lock too, but only once the server has noticed the
    // disconnect: unlock first, so the next candidate can take it as soon as this returns.
    std::scoped_lock lock(mu_);
    (void)conn_->Query("SELECT pg_advisory_unlock($1)", Params().Add(kWriterLockKey));
  }
  std::int64_t epoch() const override { return epoch_; }
  Status Check() override {
    std::scoped_lock lock(mu_);
    auto r = conn_->QueryInt("SELECT epoch FROM tp_cluster WHERE id = 1");
    if (!r.ok()) return Status::Unavailable("writer lease lost: " + r.status().message());
    if (*r != epoch_) return Fenced(epoch_, *r);
    return Status::Ok();
  }

 private:
  std::mutex mu_;
  std::unique_ptr<Conn> conn_;
  std::int64_t epoch_;
};

// Takes the writer lock on a new connection and starts a new epoch; nullptr when held.
Result<std::unique_ptr<WriterLease>> AcquireLease(const Options& options, const std::string& holder) {
  TP_ASSIGN_OR_RETURN(auto conn, Conn::Connect(LeaseConnectOptions(options, holder)));
  TP_ASSIGN_OR_RETURN(std::int64_t got, conn->QueryInt("SELECT pg_try_advisory_lock($1)::int",
                                                       Params().Add(kWriterLockKey)));
  if (got == 0) return std::unique_ptr<WriterLease>();
  // The UPDATE waits for the row lock of a previous writer's commit in flight (bounded by its
  // idle_in_transaction_session_timeout), so that commit lands before the new epoch or not at all.
  TP_RETURN_IF_ERROR(conn->Exec("BEGIN"));
  auto epoch = conn->QueryInt("UPDATE tp_cluster SET epoch = epoch + 1 WHERE id = 1 RETURNING epoch");
  Status s = epoch.status();
  if (s.ok()) {
    s = conn->Query(std::string("INSERT INTO tp_elections(epoch, node_id, at) VALUES($1, $2, ") + kNowMs + ")",
                    Params().Add(*epoch).Add(holder))
            .status();
  }
  if (s.ok()) s = conn->Commit();
  if (!s.ok()) {
    conn->Rollback();
    return s.WithContext("start a new writer epoch");
  }
  return std::unique_ptr<WriterLease>(std::make_unique<PgLease>(std::move(conn), *epoch));
}

// Who holds the writer lock, for the error another writer gets.
std::string LockHolder(Conn& conn) {
  auto r = conn.Query("SELECT a.application_name, coalesce(host(a.client_addr), 'local'), a.pid FROM pg_locks l "
                      "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND "
                      "l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND "
                      "((l.classid::bigint << 32) | l.objid::bigint) = $1",
                      Params().Add(kWriterLockKey));
  if (!r.ok() || r->rows() == 0) return "another process";
  std::string who = r->Text(0, 0);  // "touchpoint pid N (purpose)" (LeaseConnectOptions)
  if (who.rfind("touchpoint ", 0) == 0) who = who.substr(11);
  return who + " connected from " + r->Text(0, 1);
}

class PgCluster final : public Cluster {
 public:
  explicit PgCluster(Options options) : options_(std::move(options)) {}

  Result<std::unique_ptr<WriterLease>> TryAcquire(const std::string& node_id) override {
    return AcquireLease(options_, node_id);
  }

  Result<std::int64_t> CurrentEpoch() override {
    std::scoped_lock lock(mu_);
    TP_RETURN_IF_ERROR(EnsureControl());
    return control_->QueryInt("SELECT epoch FROM tp_cluster WHERE id = 1");
  }

  Status Heartbeat(const NodeRecord& node) override {
    std::scoped_lock lock(mu_);
    TP_RETURN_IF_ERROR(EnsureControl());
    return control_
        ->Query(std::string("INSERT INTO tp_nodes(id, address, role, epoch, heartbeat_at) VALUES($1, $2, $3, $4, ") +
                    kNowMs + ") ON CONFLICT(id) DO UPDATE SET address = excluded.address, role = excluded.role, "
                             "epoch = excluded.epoch, heartbeat_at = excluded.heartbeat_at",
                Params().Add(node.id).Add(node.address).Add(node.role).Add(node.epoch))
        .status();
  }

  Result<std::vector<NodeRecord>> Nodes() override {
    std::scoped_lock lock(mu_);
    TP_RETURN_IF_ERROR(EnsureControl());
    return Collect<NodeRecord>(*control_,
                               "SELECT id, address, role, epoch, heartbeat_at FROM tp_nodes ORDER BY id COLLATE \"C\"",
                               {}, [](const PgResult& r, int i) {
                                 return NodeRecord{r.Text(i, 0), r.Text(i, 1), r.Text(i, 2), r.Int(i, 3), r.Int(i, 4)};
                               });
  }

  Status Leave(const std::string& node_id) override {
    std::scoped_lock lock(mu_);
    TP_RETURN_IF_ERROR(EnsureControl());
    return control_->Query("DELETE FROM tp_nodes WHERE id = $1", Params().Add(node_id)).status();
  }

  Result<ChangePoint> Committed() override {
    std::scoped_lock lock(mu_);
    TP_RETURN_IF_ERROR(EnsureControl());
    return ReadCommitted(*control_);
  }

  Result<ChangePoint> WaitForChange(std::int64_t after_seq, std::chrono::milliseconds timeout) override {
    std::scoped_lock lock(listen_mu_);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    if (listen_ == nullptr || PQstatus(listen_->raw()) != CONNECTION_OK) {
      listen_.reset();
      ConnectOptions c{options_.url, options_.password, "touchpoint listen", 5, {}, true};
      TP_ASSIGN_OR_RETURN(listen_, Conn::Connect(c));
      TP_RETURN_IF_ERROR(listen_->Exec("LISTEN tp_changes"));
    }
    // Direct read first: a commit announced before LISTEN (or a missed notification) is seen.
    TP_ASSIGN_OR_RETURN(ChangePoint now, ReadCommitted(*listen_));
    if (now.seq > after_seq) return now;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd pfd{PQsocket(listen_->raw()), POLLIN, 0};
      const int ready = poll(&pfd, 1, static_cast<int>(left.count()));
      if (ready < 0) break;
      if (ready == 0) break;
      if (PQconsumeInput(listen_->raw()) == 0) return listen_->Error("wait for commits");
      bool advanced = false;
      while (PGnotify* n = PQnotifies(listen_->raw())) {
        const std::int64_t seq = std::strtoll(n->extra, nullptr, 10);
        if (seq > after_seq) advanced = true;
        PQfreemem(n);
      }
      if (advanced) break;
    }
    return ReadCommitted(*listen_);
  }

 private:
  static Result<ChangePoint> ReadCommitted(Conn& conn) {
    TP_ASSIGN_OR_RETURN(PgResult r,
                        conn.Query("SELECT committed_seq, committed_epoch, committed_at FROM tp_cluster WHERE id = 1"));
    if (r.rows() == 0) return ChangePoint{};
    return ChangePoint{r.Int(0, 0), r.Int(0, 1), r.Int(0, 2)};
  }
  Status EnsureControl() {
    if (control_ != nullptr) return Status::Ok();
    ConnectOptions c{options_.url, options_.password, "touchpoint cluster", 5, {}, true};
    TP_ASSIGN_OR_RETURN(control_, Conn::Connect(c));
    return Status::Ok();
  }

  Options options_;
  std::mutex mu_;
  std::unique_ptr<Conn> control_;  // guarded by mu_
  std::mutex listen_mu_;
  std::unique_ptr<Conn> listen_;  // guarded by listen_mu_
};

// ---- the desk's channels ----

// Lower-case hex of bytes: a bytea parameter travels as hex text (the adapter's parameters are text).
std::string ToHexBytes(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}
class PgChannels final : public ChannelRepository {
 public:
  explicit PgChannels(Session& s) : s_(s) {}

  Status PutMessage(Transaction& txn, const ChannelMessageRecord& r) override {
    s_.RequireTxn(txn);
    return s_.conn()
        .Query("INSERT INTO channel_messages(key, ticket, direction, channel, outbox_id, mail_id, at) "
               "VALUES($1, $2, $3, $4, $5, $6, $7) ON CONFLICT(key) DO UPDATE SET ticket = EXCLUDED.ticket, "
               "direction = EXCLUDED.direction, channel = EXCLUDED.channel, outbox_id = EXCLUDED.outbox_id, "
               "mail_id = EXCLUDED.mail_id, at = EXCLUDED.at",
               Params().Add(CleanText(r.key)).Add(r.ticket).Add(CleanText(r.direction)).Add(CleanText(r.channel))
                   .Add(r.outbox_id).Add(CleanText(r.mail_id)).Add(r.at))
        .status();
  }
  Result<std::optional<ChannelMessageRecord>> FindMessage(const std::string& key) override {
    return OneMessage("WHERE key = $1", key);
  }
  Result<std::optional<ChannelMessageRecord>> FindByMailId(const std::string& mail_id) override {
    if (mail_id.empty()) return std::optional<ChannelMessageRecord>();
    return OneMessage("WHERE mail_id = $1 ORDER BY at DESC LIMIT 1", mail_id);
  }

  Status AddSurvey(Transaction& txn, const CsatSurveyRecord& r) override {
    s_.RequireTxn(txn);
    Status st = s_.conn()
                    .Query("INSERT INTO csat_surveys(id, ticket, channel, outbox_id, sent_at, answered_at, score, "
                           "comment) VALUES($1, $2, $3, $4, $5, $6, $7, $8)",
                           Params().Add(CleanText(r.id)).Add(r.ticket).Add(CleanText(r.channel)).Add(r.outbox_id)
                               .Add(r.sent_at).Add(r.answered_at).Add(r.score).Add(CleanText(r.comment)))
                    .status();
    // The server's message names a constraint; say what the other backends say.
    if (st.code() == StatusCode::kAlreadyExists) return Status::AlreadyExists("survey " + r.id + " exists");
    return st;
  }
  Result<std::optional<CsatSurveyRecord>> FindSurvey(const std::string& id) override {
    TP_ASSIGN_OR_RETURN(auto all, Surveys("WHERE id = $1", Params().Add(CleanText(id))));
    if (all.empty()) return std::optional<CsatSurveyRecord>();
    return std::optional<CsatSurveyRecord>(std::move(all.front()));
  }
  Result<std::vector<CsatSurveyRecord>> Surveys(std::int64_t ticket) override {
    return Surveys("WHERE ticket = $1 ORDER BY seq", Params().Add(ticket));
  }
  Status AnswerSurvey(Transaction& txn, const std::string& id, int score, const std::string& comment,
                      Millis at) override {
    s_.RequireTxn(txn);
    TP_ASSIGN_OR_RETURN(PgResult r, s_.conn().Query("UPDATE csat_surveys SET answered_at = $2, score = $3, "
                                                    "comment = $4 WHERE id = $1 AND answered_at = 0",
                                                    Params().Add(CleanText(id)).Add(at).Add(score)
                                                        .Add(CleanText(comment))));
    if (r.affected() == 0) {
      TP_ASSIGN_OR_RETURN(std::int64_t exists, s_.conn().QueryInt("SELECT count(*) FROM csat_surveys WHERE id = $1",
                                                                  Params().Add(CleanText(id))));
      if (exists == 0) return Status::NotFound("no survey " + id);
      return Status::FailedPrecondition("the survey was answered already");
    }
    return Status::Ok();
  }

  Status PutAttachment(Transaction& txn, const AttachmentRecord& a) override {
    s_.RequireTxn(txn);
    return s_.conn()
        .Query("INSERT INTO attachments(hash, content_type, size, data, created_at) "
               "VALUES($1, $2, $3, decode($4, 'hex'), $5) ON CONFLICT(hash) DO NOTHING",
               Params().Add(CleanText(a.hash)).Add(CleanText(a.content_type)).Add(a.size).Add(ToHexBytes(a.data))
                   .Add(a.created_at))
        .status();
  }
  Result<std::optional<AttachmentRecord>> FindAttachment(const std::string& hash) override {
    // In binary format: the bytes come as they are stored (text format would send them as hex).
    TP_ASSIGN_OR_RETURN(PgResult r, s_.conn().Query("SELECT hash, content_type, size, data, created_at "
                                                    "FROM attachments WHERE hash = $1",
                                                    Params().Add(CleanText(hash)), /*binary=*/true));
    if (r.rows() == 0) return std::optional<AttachmentRecord>();
    return std::optional<AttachmentRecord>(
        AttachmentRecord{r.Text(0, 0), r.Text(0, 1), r.BinaryInt(0, 2), r.Text(0, 3), r.BinaryInt(0, 4)});
  }
  Status LinkAttachments(Transaction& txn, std::span<const MessageAttachmentRecord> links) override {
    s_.RequireTxn(txn);
    if (links.empty()) return Status::Ok();
    // One statement for the message's files; ORDER BY o numbers them (seq) in link order.
    ArrayLiteral ticket, key, hash, filename, content_type, size;
    for (const MessageAttachmentRecord& l : links) {
      ticket.Int(l.ticket);
      key.Text(l.message_key);
      hash.Text(l.hash);
      filename.Text(l.filename);
      content_type.Text(l.content_type);
      size.Int(l.size);
    }
    return s_.conn()
        .Query("INSERT INTO message_attachments(ticket, message_key, hash, filename, content_type, size) "
               "SELECT t, k, h, f, c, z FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], "
               "$6::bigint[]) WITH ORDINALITY AS u(t, k, h, f, c, z, o) ORDER BY o "
               "ON CONFLICT(message_key, hash) DO NOTHING",
               Params().Add(ticket.Take()).Add(key.Take()).Add(hash.Take()).Add(filename.Take())
                   .Add(content_type.Take()).Add(size.Take()))
        .status();
  }
  Result<std::vector<MessageAttachmentRecord>> MessageAttachments(const std::string& message_key) override {
    return Collect<MessageAttachmentRecord>(
        s_.conn(),
        "SELECT ticket, message_key, hash, filename, content_type, size FROM message_attachments "
        "WHERE message_key = $1 ORDER BY seq",
        Params().Add(CleanText(message_key)), [](const PgResult& r, int i) {
          return MessageAttachmentRecord{r.Int(i, 0), r.Text(i, 1), r.Text(i, 2), r.Text(i, 3), r.Text(i, 4),
                                         r.Int(i, 5)};
        });
  }

 private:
  Result<std::optional<ChannelMessageRecord>> OneMessage(const std::string& where, const std::string& arg) {
    TP_ASSIGN_OR_RETURN(PgResult r, s_.conn().Query("SELECT key, ticket, direction, channel, outbox_id, mail_id, at "
                                                    "FROM channel_messages " + where,
                                                    Params().Add(CleanText(arg))));
    if (r.rows() == 0) return std::optional<ChannelMessageRecord>();
    return std::optional<ChannelMessageRecord>(ChannelMessageRecord{r.Text(0, 0), r.Int(0, 1), r.Text(0, 2),
                                                                    r.Text(0, 3), r.Int(0, 4), r.Text(0, 5),
                                                                    r.Int(0, 6)});
  }
  Result<std::vector<CsatSurveyRecord>> Surveys(const std::string& where, const Params& params) {
    return Collect<CsatSurveyRecord>(
        s_.conn(),
        "SELECT id, ticket, channel, outbox_id, sent_at, answered_at, score, comment FROM csat_surveys " + where,
        params, [](const PgResult& r, int i) {
          return CsatSurveyRecord{r.Text(i, 0), r.Int(i, 1), r.Text(i, 2), r.Int(i, 3), r.Int(i, 4), r.Int(i, 5),
                                  static_cast<int>(r.Int(i, 6)), r.Text(i, 7)};
        });
  }
  Session& s_;
};

// ---- subject rights: suppression list, erasure, retention ----

class PgSuppressions final : public SuppressionRepository {
 public:
  explicit PgSuppressions(Session& s) : s_(s) {}
  Status Add(Transaction& txn, std::span<const SuppressionRecord> entries) override {
    s_.RequireTxn(txn);
    if (entries.empty()) return Status::Ok();
    ArrayLiteral values, versions, added;
    for (const SuppressionRecord& e : entries) {
      values.Int(e.value);
      versions.Int(e.key_version);
      added.Int(e.added_at);
    }
    return s_.conn()
        .Query("INSERT INTO suppressions(value, key_version, added_at) SELECT * FROM "
               "unnest($1::bigint[], $2::integer[], $3::bigint[]) ON CONFLICT DO NOTHING",
               Params().Add(values.Take()).Add(versions.Take()).Add(added.Take()))
        .status();
  }
  Status Scan(const std::function<void(const SuppressionRecord&)>& fn) override {
    return s_.conn().Scan("SELECT value, key_version, added_at FROM suppressions ORDER BY value, key_version", {},
                          [&](const PgResult& r, int i) {
                            fn(SuppressionRecord{r.Int(i, 0), static_cast<int>(r.Int(i, 1)), r.Int(i, 2)});
                            return true;
                          });
  }
  Result<std::int64_t> Count() override { return s_.conn().QueryInt("SELECT count(*) FROM suppressions"); }

 private:
  Session& s_;
};

class PgErasure final : public ErasureRepository {
 public:
  explicit PgErasure(Session& s) : s_(s) {}

  Result<ErasureCounts> Erase(Transaction& txn, std::span<const CustomerId> customers) override {
    s_.RequireTxn(txn);
    ErasureCounts counts;
    std::vector<std::int64_t> ids;
    for (CustomerId c : customers) {
      if (c.valid()) ids.push_back(c.value());
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    if (ids.empty()) return counts;
    TP_ASSIGN_OR_RETURN(counts.events, EraseEvents(ids));
    auto del = [&](const std::string& sql) -> Result<std::int64_t> {
      TP_ASSIGN_OR_RETURN(PgResult r, s_.conn().Query(sql, Params().AddIntArray(ids)));
      return r.affected();
    };
    TP_ASSIGN_OR_RETURN(counts.orders, del("DELETE FROM orders WHERE customer_id = ANY($1::bigint[])"));
    TP_ASSIGN_OR_RETURN(counts.messages, del("DELETE FROM messages WHERE customer_id = ANY($1::bigint[])"));
    TP_ASSIGN_OR_RETURN(counts.surveys, del("DELETE FROM surveys WHERE customer_id = ANY($1::bigint[])"));
    TP_ASSIGN_OR_RETURN(counts.escalations, del("DELETE FROM escalations WHERE customer_id = ANY($1::bigint[])"));
    TP_ASSIGN_OR_RETURN(counts.profiles, del("DELETE FROM profiles WHERE customer_id = ANY($1::bigint[])"));
    TP_ASSIGN_OR_RETURN(counts.identifiers, del("DELETE FROM identifiers WHERE customer_id = ANY($1::bigint[])"));
    TP_ASSIGN_OR_RETURN(counts.merges,
                        del("DELETE FROM merges WHERE winner = ANY($1::bigint[]) OR loser = ANY($1::bigint[])"));
    TP_ASSIGN_OR_RETURN(counts.merge_blocks,
                        del("DELETE FROM merge_blocks WHERE a = ANY($1::bigint[]) OR b = ANY($1::bigint[])"));
    TP_ASSIGN_OR_RETURN(counts.customers, del("DELETE FROM customers WHERE id = ANY($1::bigint[])"));
    TP_ASSIGN_OR_RETURN(counts.consents, del("DELETE FROM consents WHERE customer_id = ANY($1::bigint[])"));
    TP_RETURN_IF_ERROR(del("DELETE FROM experiment_exposures WHERE unit = ANY($1::bigint[]::text[]) AND experiment IN "
                           "(SELECT id FROM experiments WHERE unit = 'customer')")
                           .status());
    // The desk's tickets stay, de-identified (store/erasure_repository.h).
    const std::string tickets = "(SELECT number FROM tickets WHERE customer_id = ANY($1::bigint[]))";
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
                                            ", version = version + 1 WHERE customer_id = ANY($1::bigint[])"));
    // For the change feed: followers' warm copies forget them (store/change_feed.h).
    TP_ASSIGN_OR_RETURN(const std::int64_t change, s_.ChangeNumber());
    TP_RETURN_IF_ERROR(s_.conn()
                           .Query("INSERT INTO erased_customers(customer_id, changed) SELECT unnest($1::bigint[]), $2 "
                                  "ON CONFLICT (customer_id) DO UPDATE SET changed = excluded.changed",
                                  Params().AddIntArray(ids).Add(change))
                           .status());
    return counts;
  }

  // Dead tuples stay in PostgreSQL's files until vacuumed and in its WAL and backups: on
  // PostgreSQL crypto-shredding is what guarantees an erasure (docs/security.md).
  Status Scrub() override { return Status::Ok(); }

  Result<std::int64_t> DeleteOlderThan(Transaction& txn, RetentionKind kind, Millis before, int limit) override {
    s_.RequireTxn(txn);
    const std::int64_t lim = std::max(limit, 1);
    auto del = [&](const std::string& table, const char* ts) -> Result<std::int64_t> {
      TP_ASSIGN_OR_RETURN(PgResult r,
                          s_.conn().Query("DELETE FROM " + table + " WHERE seq IN (SELECT seq FROM " + table +
                                              " WHERE " + ts + " < $1 ORDER BY seq LIMIT $2)",
                                          Params().Add(before).Add(lim)));
      return r.affected();
    };
    switch (kind) {
      case RetentionKind::kMessages: return del("messages", "ts");
      case RetentionKind::kSurveys: return del("surveys", "ts");
      case RetentionKind::kOrders: return del("orders", "ts");
      case RetentionKind::kEscalations: return del("escalations", "at");
      case RetentionKind::kEvents: break;
    }
    TP_ASSIGN_OR_RETURN(PgResult r, s_.conn().Query(
        "SELECT first_seq, n - erased FROM event_chunks WHERE max_ts < $1 AND first_seq < "
        "(SELECT max(first_seq) FROM event_chunks) ORDER BY first_seq",
        Params().Add(before)));
    std::vector<std::int64_t> chunks;
    std::int64_t events = 0;
    for (int i = 0; i < r.rows() && events < lim; ++i) {
      chunks.push_back(r.Int(i, 0));
      events += r.Int(i, 1);
    }
    if (chunks.empty()) return std::int64_t{0};
    TP_RETURN_IF_ERROR(s_.conn()
                           .Query("DELETE FROM event_chunks WHERE first_seq = ANY($1::bigint[])",
                                  Params().AddIntArray(chunks))
                           .status());
    return events;
  }

 private:
  // Tombstones the events of `ids` (sorted) in every chunk naming one of them: the chunks are
  // read, rewritten, deleted and copied back (same seq range and epoch) in the transaction, 64 at
  // a time (so memory holds one batch, not every chunk the person appears in).
  Result<std::int64_t> EraseEvents(const std::vector<std::int64_t>& ids) {
    std::vector<std::int64_t> candidates;
    TP_RETURN_IF_ERROR(s_.conn().Scan(
        "SELECT first_seq, customers FROM event_chunks WHERE n > erased ORDER BY first_seq", {},
        [&](const PgResult& r, int i) {
          if (r.IsNull(i, 1) || CustomerSetIntersects(r.Get(i, 1), ids)) candidates.push_back(r.BinaryInt(i, 0));
          return true;
        }, 1000, /*binary=*/true));
    std::int64_t erased = 0;
    for (size_t begin = 0; begin < candidates.size(); begin += 64) {
      const size_t end = std::min(candidates.size(), begin + 64);
      std::vector<std::int64_t> part(candidates.begin() + static_cast<std::ptrdiff_t>(begin),
                                     candidates.begin() + static_cast<std::ptrdiff_t>(end));
      TP_ASSIGN_OR_RETURN(PgResult r, s_.conn().Query(
          "SELECT first_seq, n, codec, raw_size, hashes, data, epoch, erased FROM event_chunks "
          "WHERE first_seq = ANY($1::bigint[]) ORDER BY first_seq",
          Params().AddIntArray(part), /*binary=*/true));
      // Rewritten on ErasureThreads() threads (the rewrite is CPU: zstd both ways).
      std::vector<ChunkErasure> jobs(static_cast<size_t>(r.rows()));
      for (int i = 0; i < r.rows(); ++i) {
        ChunkErasure& job = jobs[static_cast<size_t>(i)];
        job.first_seq = r.BinaryInt(i, 0);
        job.n = static_cast<int>(r.BinaryInt(i, 1));
        job.codec = static_cast<int>(r.BinaryInt(i, 2));
        job.raw_size = r.BinaryInt(i, 3);
        job.hashes.assign(r.Get(i, 4));
        job.data.assign(r.Get(i, 5));
      }
      EraseFromAll(jobs, ids, ErasureThreads(), codecs_, kEventCompressionLevel, sealer_);
      BinaryCopyRows rows;
      std::vector<std::int64_t> rewritten;
      for (int i = 0; i < r.rows(); ++i) {
        ChunkErasure& job = jobs[static_cast<size_t>(i)];
        TP_RETURN_IF_ERROR(job.status);
        const EventChunkCodec::Rewritten& w = job.result;
        if (w.removed == 0) continue;
        rows.Row(11).Int8(job.first_seq).Int4(job.n).Int2(static_cast<std::int16_t>(job.out.codec))
            .Int8(job.out.raw_size).Int8(w.min_ts).Int8(w.max_ts).Int8(r.BinaryInt(i, 6)).Bytes(job.out.hashes)
            .Bytes(job.out.data).Int4(static_cast<std::int32_t>(r.BinaryInt(i, 7) + w.removed)).Bytes(w.customers);
        rewritten.push_back(job.first_seq);
        erased += w.removed;
      }
      if (rewritten.empty()) continue;
      TP_RETURN_IF_ERROR(s_.conn()
                             .Query("DELETE FROM event_chunks WHERE first_seq = ANY($1::bigint[])",
                                    Params().AddIntArray(rewritten))
                             .status());
      TP_RETURN_IF_ERROR(s_.conn().CopyIn(kCopyRewrittenChunks, rows.Finish()));
    }
    return erased;
  }

  Session& s_;
  std::vector<std::unique_ptr<EventChunkCodec>> codecs_;  // EraseFromAll's, kept between erasures
  ChunkSealer* sealer_ = nullptr;                         // encryption at rest (SetSealer)

 public:
  void SetSealer(ChunkSealer* sealer) { sealer_ = sealer; }
};

// ---- the desk's measured facts and spans ----

class PgKpi final : public KpiRepository {
 public:
  explicit PgKpi(Session& s) : s_(s) {}

  Status PutTicket(Transaction& txn, const KpiTicketRecord& t, std::span<const KpiSpanRecord> spans) override {
    s_.RequireTxn(txn);
    const std::string reopened = JoinNumbers(t.reopened_at);
    TP_RETURN_IF_ERROR(
        s_.conn()
            .Query("INSERT INTO kpi_tickets(ticket, customer_id, created_at, status, channel, queue, priority, type, "
                   "intent, tier, team, agent, policy, first_solved_at, solved_at, agent_replies, reopened_at, "
                   "escalated, bot_first, sentiment_count, sentiment_sum, sentiment_negative, measured_at) "
                   "VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, "
                   "$21, $22, $23) ON CONFLICT(ticket) DO UPDATE SET customer_id = excluded.customer_id, "
                   "created_at = excluded.created_at, status = excluded.status, channel = excluded.channel, "
                   "queue = excluded.queue, priority = excluded.priority, type = excluded.type, "
                   "intent = excluded.intent, tier = excluded.tier, team = excluded.team, agent = excluded.agent, "
                   "policy = excluded.policy, first_solved_at = excluded.first_solved_at, "
                   "solved_at = excluded.solved_at, agent_replies = excluded.agent_replies, "
                   "reopened_at = excluded.reopened_at, escalated = excluded.escalated, "
                   "bot_first = excluded.bot_first, sentiment_count = excluded.sentiment_count, "
                   "sentiment_sum = excluded.sentiment_sum, sentiment_negative = excluded.sentiment_negative, "
                   "measured_at = excluded.measured_at",
                   Params().Add(t.ticket).Add(t.customer.value()).Add(t.created_at).Add(CleanText(t.status))
                       .Add(CleanText(t.channel)).Add(CleanText(t.queue)).Add(CleanText(t.priority))
                       .Add(CleanText(t.type)).Add(CleanText(t.intent)).Add(CleanText(t.tier)).Add(CleanText(t.team))
                       .Add(t.agent).Add(CleanText(t.policy)).Add(t.first_solved_at).Add(t.solved_at)
                       .Add(static_cast<std::int64_t>(t.agent_replies)).Add(reopened)
                       .Add(t.escalated ? "true" : "false").Add(t.bot_first ? "true" : "false")
                       .Add(static_cast<std::int64_t>(t.sentiment_count)).Add(t.sentiment_sum)
                       .Add(static_cast<std::int64_t>(t.sentiment_negative)).Add(t.measured_at))
            .status());
    TP_RETURN_IF_ERROR(s_.conn().Query("DELETE FROM kpi_spans WHERE ticket = $1", Params().Add(t.ticket)).status());
    for (const KpiSpanRecord& sp : spans) {
      TP_RETURN_IF_ERROR(
          s_.conn()
              .Query("INSERT INTO kpi_spans(ticket, kind, seq, created_at, start_at, stop_at, start_event, end_event, "
                     "wall_seconds, business_seconds, target_seconds, met) "
                     "VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                     Params().Add(t.ticket).Add(CleanText(sp.kind)).Add(static_cast<std::int64_t>(sp.seq))
                         .Add(t.created_at).Add(sp.start).Add(sp.stop).Add(CleanText(sp.start_event))
                         .Add(CleanText(sp.end_event)).Add(sp.wall_seconds).Add(sp.business_seconds)
                         .Add(sp.target_seconds).Add(static_cast<std::int64_t>(sp.met)))
              .status());
    }
    return Status::Ok();
  }
  Result<std::optional<KpiTicketRecord>> FindTicket(std::int64_t ticket) override {
    TP_ASSIGN_OR_RETURN(auto rows, Collect<KpiTicketRecord>(s_.conn(), std::string(kTickets) + " WHERE ticket = $1",
                                                            Params().Add(ticket), ReadTicket));
    if (rows.empty()) return std::optional<KpiTicketRecord>();
    return std::optional<KpiTicketRecord>(std::move(rows.front()));
  }
  Result<std::vector<KpiSpanRecord>> Spans(std::int64_t ticket) override {
    return Collect<KpiSpanRecord>(s_.conn(), std::string(kSpans) + " WHERE ticket = $1 ORDER BY kind, seq",
                                  Params().Add(ticket), ReadSpan);
  }
  Status ScanTickets(Millis from, Millis to, const std::function<void(KpiTicketRecord&&)>& fn) override {
    return s_.conn().Scan(std::string(kTickets) + " WHERE created_at >= $1 AND created_at < $2 ORDER BY ticket",
                          Params().Add(from).Add(Upper(to)), [&](const PgResult& r, int i) {
                            fn(ReadTicket(r, i));
                            return true;
                          });
  }
  Status ScanSpans(Millis from, Millis to, const std::function<void(KpiSpanRecord&&)>& fn) override {
    return s_.conn().Scan(std::string(kSpans) + " WHERE created_at >= $1 AND created_at < $2 ORDER BY ticket, kind, seq",
                          Params().Add(from).Add(Upper(to)), [&](const PgResult& r, int i) {
                            fn(ReadSpan(r, i));
                            return true;
                          });
  }
  Result<std::int64_t> Clear(Transaction& txn) override {
    s_.RequireTxn(txn);
    TP_ASSIGN_OR_RETURN(std::int64_t n, s_.conn().QueryInt("SELECT count(*) FROM kpi_tickets"));
    TP_RETURN_IF_ERROR(s_.conn().Exec("DELETE FROM kpi_spans; DELETE FROM kpi_tickets;"));
    return n;
  }

 private:
  static constexpr const char* kTickets =
      "SELECT ticket, customer_id, created_at, status, channel, queue, priority, type, intent, tier, team, agent, "
      "policy, first_solved_at, solved_at, agent_replies, reopened_at, escalated, bot_first, sentiment_count, "
      "sentiment_sum, sentiment_negative, measured_at FROM kpi_tickets";
  static constexpr const char* kSpans =
      "SELECT ticket, kind, seq, start_at, stop_at, start_event, end_event, wall_seconds, business_seconds, "
      "target_seconds, met FROM kpi_spans";
  static std::int64_t Upper(Millis to) { return to == 0 ? std::numeric_limits<std::int64_t>::max() : to; }
  static KpiTicketRecord ReadTicket(const PgResult& r, int i) {
    KpiTicketRecord t;
    t.ticket = r.Int(i, 0);
    t.customer = CustomerId(r.Int(i, 1));
    t.created_at = r.Int(i, 2);
    t.status = r.Text(i, 3);
    t.channel = r.Text(i, 4);
    t.queue = r.Text(i, 5);
    t.priority = r.Text(i, 6);
    t.type = r.Text(i, 7);
    t.intent = r.Text(i, 8);
    t.tier = r.Text(i, 9);
    t.team = r.Text(i, 10);
    t.agent = r.Int(i, 11);
    t.policy = r.Text(i, 12);
    t.first_solved_at = r.Int(i, 13);
    t.solved_at = r.Int(i, 14);
    t.agent_replies = static_cast<std::int32_t>(r.Int(i, 15));
    t.reopened_at = SplitNumbers(r.Text(i, 16));
    t.escalated = r.Int(i, 17) != 0;
    t.bot_first = r.Int(i, 18) != 0;
    t.sentiment_count = static_cast<std::int32_t>(r.Int(i, 19));
    t.sentiment_sum = r.Real(i, 20);
    t.sentiment_negative = static_cast<std::int32_t>(r.Int(i, 21));
    t.measured_at = r.Int(i, 22);
    return t;
  }
  static KpiSpanRecord ReadSpan(const PgResult& r, int i) {
    return KpiSpanRecord{r.Int(i, 0),  r.Text(i, 1), static_cast<std::int32_t>(r.Int(i, 2)), r.Int(i, 3),
                         r.Int(i, 4),  r.Text(i, 5), r.Text(i, 6),                          r.Int(i, 7),
                         r.Int(i, 8),  r.Int(i, 9),  static_cast<std::int32_t>(r.Int(i, 10))};
  }

  Session& s_;
};

// Master key rotation's rewrites (store/rekey_repository.h).
class PgRekey final : public RekeyRepository {
 public:
  explicit PgRekey(Session& s) : s_(s) {}
  Result<std::vector<IdentifierRecord>> IdentifiersAfter(IdentifierId after, int limit) override {
    std::vector<IdentifierRecord> out;
    TP_ASSIGN_OR_RETURN(PgResult r, s_.conn().Query(std::string("SELECT ") + kIdentifierColumns +
                                                        ", key FROM identifiers WHERE id > $1 ORDER BY id LIMIT $2",
                                                    Params().Add(after.value()).Add(limit)));
    for (int i = 0; i < r.rows(); ++i) {
      IdentifierRecord rec = ReadIdentifier(r, i);
      rec.lookup_key = r.Int(i, 8);
      out.push_back(std::move(rec));
    }
    return out;
  }
  Status SetIdentifierKeys(Transaction& txn, std::span<const IdentifierRecord> identifiers) override {
    s_.RequireTxn(txn);
    if (identifiers.empty()) return Status::Ok();
    ArrayLiteral id, key;
    for (const IdentifierRecord& r : identifiers) {
      id.Int(r.id.value());
      key.Int(r.lookup_key);
    }
    return s_.conn()
        .Query("UPDATE identifiers SET key = t.k FROM unnest($1::bigint[], $2::bigint[]) AS t(i, k) "
               "WHERE identifiers.id = t.i",
               Params().Add(id.Take()).Add(key.Take()))
        .status();
  }
  Result<std::vector<SealedCell>> CellsAfter(SealedColumn column, const std::string& after, int limit) override {
    std::vector<SealedCell> out;
    if (column == SealedColumn::kAttachmentData) {
      // In binary format: the bytes as they are stored.
      TP_ASSIGN_OR_RETURN(PgResult r, s_.conn().Query("SELECT hash, data FROM attachments WHERE hash COLLATE \"C\" > $1 "
                                                      "ORDER BY hash COLLATE \"C\" LIMIT $2",
                                                      Params().Add(after).Add(limit), /*binary=*/true));
      for (int i = 0; i < r.rows(); ++i) out.push_back(SealedCell{r.Text(i, 0), r.Text(i, 0), r.Text(i, 1)});
      return out;
    }
    const char* sql = column == SealedColumn::kOutboxPayload
                          ? "SELECT id, idempotency_key, payload FROM outbox WHERE id > $1 ORDER BY id LIMIT $2"
                          : "SELECT id, email, totp_secret FROM users WHERE id > $1 AND totp_secret <> '' "
                            "ORDER BY id LIMIT $2";
    TP_ASSIGN_OR_RETURN(PgResult r, s_.conn().Query(sql, Params()
                                                             .Add(static_cast<std::int64_t>(
                                                                 after.empty() ? 0 : std::stoll(after)))
                                                             .Add(limit)));
    for (int i = 0; i < r.rows(); ++i) {
      out.push_back(SealedCell{std::to_string(r.Int(i, 0)), r.Text(i, 1), r.Text(i, 2)});
    }
    return out;
  }
  Result<std::int64_t> ReplaceCells(Transaction& txn, SealedColumn column,
                                    std::span<const SealedCellUpdate> updates) override {
    s_.RequireTxn(txn);
    std::int64_t n = 0;
    for (const SealedCellUpdate& u : updates) {
      PgResult r;
      switch (column) {
        case SealedColumn::kOutboxPayload: {
          TP_ASSIGN_OR_RETURN(r, s_.conn().Query("UPDATE outbox SET payload = $2 WHERE id = $1 AND payload = $3",
                                                 Params().Add(static_cast<std::int64_t>(std::stoll(u.key)))
                                                     .Add(u.new_value)
                                                     .Add(u.old_value)));
          break;
        }
        case SealedColumn::kAttachmentData: {
          TP_ASSIGN_OR_RETURN(r, s_.conn().Query("UPDATE attachments SET data = decode($2, 'hex') WHERE hash = $1 "
                                                 "AND data = decode($3, 'hex')",
                                                 Params().Add(u.key).Add(ToHexBytes(u.new_value))
                                                     .Add(ToHexBytes(u.old_value))));
          break;
        }
        case SealedColumn::kUserTotpSecret: {
          TP_ASSIGN_OR_RETURN(r, s_.conn().Query("UPDATE users SET totp_secret = $2 WHERE id = $1 AND totp_secret = $3",
                                                 Params().Add(static_cast<std::int64_t>(std::stoll(u.key)))
                                                     .Add(u.new_value)
                                                     .Add(u.old_value)));
          break;
        }
      }
      n += r.affected();
    }
    return n;
  }

 private:
  Session& s_;
};

// ---- experiments and their exposures ----

class PgExperiments final : public ExperimentRepository {
 public:
  explicit PgExperiments(Session& s) : s_(s) {}

  Result<ExperimentRecord> Create(const ExperimentRecord& e) override {
    if (s_.read_only()) return ReadOnlyError();
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
    TP_ASSIGN_OR_RETURN(
        PgResult r,
        s_.conn().Query(
            "INSERT INTO experiments(name, description, unit, variants, weights, coverage, salt, metrics, directions, "
            "pre_period_days, sequential_tuning, alpha, correction, status, created_at, started_at, stopped_at, "
            "created_by) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) "
            "ON CONFLICT(name) DO NOTHING RETURNING id",
            Params().Add(CleanText(e.name)).Add(CleanText(e.description)).Add(CleanText(e.unit))
                .Add(CleanText(JoinNames(variants))).Add(JoinReals(weights)).Add(e.coverage).Add(CleanText(e.salt))
                .Add(CleanText(JoinNames(metrics))).Add(CleanText(JoinNames(directions)))
                .Add(static_cast<std::int64_t>(e.pre_period_days)).Add(e.sequential_tuning).Add(e.alpha)
                .Add(CleanText(e.correction)).Add(CleanText(e.status)).Add(e.created_at).Add(e.started_at)
                .Add(e.stopped_at).Add(CleanText(e.created_by))));
    if (r.rows() == 0) return Status::AlreadyExists("an experiment named " + e.name + " exists");
    ExperimentRecord stored = e;
    stored.id = r.Int(0, 0);
    return stored;
  }
  Result<ExperimentRecord> SetStatus(std::int64_t id, const std::string& from, const std::string& to,
                                     Millis at) override {
    if (s_.read_only()) return ReadOnlyError();
    TP_ASSIGN_OR_RETURN(
        PgResult r,
        s_.conn().Query("UPDATE experiments SET status = $3, started_at = CASE WHEN $3 = 'running' THEN $4::bigint "
                        "ELSE started_at END, stopped_at = CASE WHEN $3 = 'stopped' THEN $4::bigint ELSE stopped_at "
                        "END WHERE id = $1 AND status = $2",
                        Params().Add(id).Add(CleanText(from)).Add(CleanText(to)).Add(at)));
    const bool changed = r.affected() > 0;
    TP_ASSIGN_OR_RETURN(std::optional<ExperimentRecord> now, Find(id));
    if (!now) return Status::NotFound("no experiment " + std::to_string(id));
    if (!changed) {
      return Status::FailedPrecondition("experiment " + std::to_string(id) + " is " + now->status + ", not " + from);
    }
    return *now;
  }
  Result<std::optional<ExperimentRecord>> Find(std::int64_t id) override {
    TP_ASSIGN_OR_RETURN(auto rows, Collect<ExperimentRecord>(s_.conn(), std::string(kSelect) + " WHERE id = $1",
                                                             Params().Add(id), ReadExperiment));
    if (rows.empty()) return std::optional<ExperimentRecord>();
    return std::optional<ExperimentRecord>(std::move(rows.front()));
  }
  Result<std::optional<ExperimentRecord>> FindByName(const std::string& name) override {
    TP_ASSIGN_OR_RETURN(auto rows, Collect<ExperimentRecord>(s_.conn(), std::string(kSelect) + " WHERE name = $1",
                                                             Params().Add(CleanText(name)), ReadExperiment));
    if (rows.empty()) return std::optional<ExperimentRecord>();
    return std::optional<ExperimentRecord>(std::move(rows.front()));
  }
  Result<std::vector<ExperimentRecord>> List() override {
    return Collect<ExperimentRecord>(s_.conn(), std::string(kSelect) + " ORDER BY id", Params(), ReadExperiment);
  }

  Result<ExposureRecord> Expose(const ExposureRecord& x) override {
    if (s_.read_only()) return ReadOnlyError();
    TP_ASSIGN_OR_RETURN(
        PgResult r,
        s_.conn().Query("INSERT INTO experiment_exposures(experiment, unit, variant, exposed_at) "
                        "SELECT $1, $2, $3, $4 WHERE EXISTS(SELECT 1 FROM experiments WHERE id = $1) "
                        "ON CONFLICT(experiment, unit) DO NOTHING",
                        Params().Add(x.experiment).Add(CleanText(x.unit)).Add(CleanText(x.variant)).Add(x.exposed_at)));
    if (r.affected() > 0) return x;
    TP_ASSIGN_OR_RETURN(std::optional<ExposureRecord> first, FindExposure(x.experiment, x.unit));
    if (!first) return Status::NotFound("no experiment " + std::to_string(x.experiment));
    return *first;
  }
  Result<std::optional<ExposureRecord>> FindExposure(std::int64_t experiment, const std::string& unit) override {
    TP_ASSIGN_OR_RETURN(auto rows,
                        Collect<ExposureRecord>(s_.conn(), std::string(kExposures) + " WHERE experiment = $1 AND unit = $2",
                                                Params().Add(experiment).Add(CleanText(unit)), ReadExposure));
    if (rows.empty()) return std::optional<ExposureRecord>();
    return std::optional<ExposureRecord>(std::move(rows.front()));
  }
  Status ScanExposures(std::int64_t experiment, const std::function<void(ExposureRecord&&)>& fn) override {
    return s_.conn().Scan(std::string(kExposures) + " WHERE experiment = $1 ORDER BY exposed_at, unit COLLATE \"C\"",
                          Params().Add(experiment), [&](const PgResult& r, int i) {
                            fn(ReadExposure(r, i));
                            return true;
                          });
  }
  Result<std::vector<ExposureRecord>> ExposuresOfUnits(const std::string& unit_kind,
                                                       const std::vector<std::string>& units) override {
    std::vector<ExposureRecord> out;
    for (const std::string& unit : units) {
      TP_ASSIGN_OR_RETURN(auto rows, Collect<ExposureRecord>(
                                         s_.conn(),
                                         "SELECT x.experiment, x.unit, x.variant, x.exposed_at FROM experiment_exposures x "
                                         "JOIN experiments e ON e.id = x.experiment WHERE x.unit = $1 AND e.unit = $2",
                                         Params().Add(CleanText(unit)).Add(CleanText(unit_kind)), ReadExposure));
      for (auto& x : rows) out.push_back(std::move(x));
    }
    std::sort(out.begin(), out.end(), [](const ExposureRecord& a, const ExposureRecord& b) {
      return std::tie(a.experiment, a.unit) < std::tie(b.experiment, b.unit);
    });
    return out;
  }
  Result<std::int64_t> EraseExposures(const std::string& unit_kind, const std::vector<std::string>& units) override {
    if (s_.read_only()) return ReadOnlyError();
    if (s_.in_txn()) return Status::FailedPrecondition("erasing exposures must not join another transaction");
    Conn& c = s_.conn();
    TP_RETURN_IF_ERROR(c.Begin());
    std::int64_t n = 0;
    Status st = [&]() -> Status {
      for (const std::string& unit : units) {
        TP_ASSIGN_OR_RETURN(PgResult r, c.Query("DELETE FROM experiment_exposures WHERE unit = $1 AND experiment IN "
                                                "(SELECT id FROM experiments WHERE unit = $2)",
                                                Params().Add(CleanText(unit)).Add(CleanText(unit_kind))));
        n += r.affected();
      }
      return Status::Ok();
    }();
    if (!st.ok()) {
      c.Rollback();
      return st;
    }
    TP_RETURN_IF_ERROR(c.Commit());
    return n;
  }

 private:
  static constexpr const char* kSelect =
      "SELECT id, name, description, unit, variants, weights, coverage, salt, metrics, directions, pre_period_days, "
      "sequential_tuning, alpha, correction, status, created_at, started_at, stopped_at, created_by FROM experiments";
  static constexpr const char* kExposures = "SELECT experiment, unit, variant, exposed_at FROM experiment_exposures";
  static ExposureRecord ReadExposure(const PgResult& r, int i) {
    return ExposureRecord{r.Int(i, 0), r.Text(i, 1), r.Text(i, 2), r.Int(i, 3)};
  }
  static ExperimentRecord ReadExperiment(const PgResult& r, int i) {
    ExperimentRecord e;
    e.id = r.Int(i, 0);
    e.name = r.Text(i, 1);
    e.description = r.Text(i, 2);
    e.unit = r.Text(i, 3);
    const std::vector<std::string> names = SplitNames(r.Get(i, 4));
    const std::vector<double> weights = SplitReals(r.Get(i, 5));
    for (size_t k = 0; k < names.size(); ++k) e.variants.push_back({names[k], k < weights.size() ? weights[k] : 0});
    e.coverage = r.Real(i, 6);
    e.salt = r.Text(i, 7);
    const std::vector<std::string> metrics = SplitNames(r.Get(i, 8));
    const std::vector<std::string> directions = SplitNames(r.Get(i, 9));
    for (size_t k = 0; k < metrics.size(); ++k) {
      e.metrics.push_back({metrics[k], k < directions.size() ? directions[k] : ""});
    }
    e.pre_period_days = static_cast<std::int32_t>(r.Int(i, 10));
    e.sequential_tuning = r.Real(i, 11);
    e.alpha = r.Real(i, 12);
    e.correction = r.Text(i, 13);
    e.status = r.Text(i, 14);
    e.created_at = r.Int(i, 15);
    e.started_at = r.Int(i, 16);
    e.stopped_at = r.Int(i, 17);
    e.created_by = r.Text(i, 18);
    return e;
  }

  Session& s_;
};

// ---- the store ----

class PgStore;

class PgTransaction final : public Transaction {
 public:
  explicit PgTransaction(PgStore& store) : store_(store) {}
  ~PgTransaction() override;
  Status Commit() override;

 private:
  PgStore& store_;
  bool done_ = false;
};

class PgStore final : public Store, public Maintenance {
 public:
  PgStore(std::unique_ptr<Conn> conn, Options options, std::unique_ptr<WriterLease> own_lease)
      : options_(std::move(options)),
        own_lease_(std::move(own_lease)),
        session_(std::move(conn), options_.read_only),
        events_(session_, kEventCompressionLevel),
        identity_(session_),
        profiles_(session_),
        activity_(session_),
        escalations_(session_),
        keys_(session_),
        jobs_(session_),
        segments_(session_),
        users_(session_),
        teams_(session_),
        sessions_(session_),
        audit_(session_),
        signing_keys_(session_),
        dp_budgets_(session_),
        outbox_(session_),
        consents_(session_),
        tickets_(session_),
        channels_(session_),
        deskflow_(session_),
        agents_(session_),
        suppressions_(session_),
        erasure_(session_),
        sla_(session_),
        keyring_(session_),
        rekey_(session_),
        kpi_(session_),
        experiments_(session_),
        feed_(session_),
        cluster_(options_) {
    if (own_lease_ != nullptr) options_.fence_epoch = own_lease_->epoch();
    events_.set_epoch(options_.fence_epoch);
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
    if (own_lease_ != nullptr) {
      // Keeps the lease's session busy (a session idle past the lease timeout is ended) and notices
      // a lost lease early; commits are fenced whatever this thread sees.
      keeper_ = std::thread([this] { KeepLease(); });
    }
  }
  ~PgStore() override {
    if (keeper_.joinable()) {
      {
        std::scoped_lock lock(keeper_mu_);
        stop_keeper_ = true;
      }
      keeper_cv_.notify_all();
      keeper_.join();
    }
  }

  Status Init() {
    TP_RETURN_IF_ERROR(Migrate());
    return events_.Init();
  }

  Result<std::unique_ptr<Transaction>> Begin() override {
    if (options_.read_only) return ReadOnlyError();
    if (session_.in_txn()) return Status::FailedPrecondition("a transaction is already open on this store");
    if (lease_lost_.load()) {
      const std::string why = lease_error();
      return Status::FailedPrecondition(why.empty() ? "fenced: another writer was elected" : "fenced: " + why);
    }
    if (options_.fence_epoch > 0) {
      // Fail early once superseded (the commit's fenced UPDATE is what guarantees it; this saves
      // the work of a transaction that could not commit). One round trip with the BEGIN. (No row
      // lock here: a writer stalled in a transaction must not hold up the next election.)
      auto r = session_.conn().Run("BEGIN; SELECT epoch FROM tp_cluster WHERE id = 1");
      if (!r.ok()) {
        session_.conn().Rollback();
        return r.status();
      }
      if (r->rows() == 0 || r->Int(0, 0) != options_.fence_epoch) {
        session_.conn().Rollback();
        lease_lost_ = true;
        return Fenced(options_.fence_epoch, r->rows() > 0 ? r->Int(0, 0) : 0);
      }
    } else {
      TP_RETURN_IF_ERROR(session_.conn().Exec("BEGIN"));
    }
    auto txn = std::make_unique<PgTransaction>(*this);
    session_.SetTxn(txn.get());
    return std::unique_ptr<Transaction>(std::move(txn));
  }

  Status CommitTxn() {
    Conn& c = session_.conn();
    const std::int64_t last = events_.txn_last_seq();
    Status s = Status::Ok();
    if (options_.fence_epoch > 0 || last > 0) {
      // One round trip: the fence (a fenced store's commit counts only while the epoch is still
      // ours; the row lock orders it against the next election's epoch UPDATE), the committed
      // change point, and its announcement (NOTIFY is delivered at COMMIT, or never).
      const std::int64_t fence = options_.fence_epoch;
      auto r = c.Query(std::string("WITH u AS (UPDATE tp_cluster SET committed_seq = greatest(committed_seq, $2), "
                                   "committed_epoch = CASE WHEN $1 > 0 THEN $1 ELSE committed_epoch END, "
                                   "committed_at = ") +
                           kNowMs + " WHERE id = 1 AND ($1 = 0 OR epoch = $1) RETURNING 1) "
                                    "SELECT (SELECT count(*) FROM u), (SELECT epoch FROM tp_cluster WHERE id = 1), "
                                    "CASE WHEN $2 > 0 AND EXISTS (SELECT 1 FROM u) "
                                    "THEN pg_notify('tp_changes', $2::bigint::text) END",
                       Params().Add(fence).Add(last));
      if (!r.ok()) {
        s = r.status();
      } else if (fence > 0 && r->Int(0, 0) == 0) {
        s = Fenced(fence, r->Int(0, 1));
        lease_lost_ = true;
      }
    }
    if (s.ok()) s = c.Commit();
    if (!s.ok()) c.Rollback();
    session_.EndTxn(s.ok());
    return s;
  }
  void RollbackTxn() {
    session_.conn().Rollback();
    session_.EndTxn(false);
  }

  Maintenance* maintenance() override { return options_.read_only ? nullptr : this; }
  Cluster* cluster() override { return &cluster_; }
  ChangeFeed* change_feed() override { return &feed_; }
  std::string_view backend() const override { return "postgres"; }
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
  void FoldLog() override {}

 private:
  Status Migrate() {
    Conn& c = session_.conn();
    if (options_.read_only) {
      TP_ASSIGN_OR_RETURN(PgResult exists, c.Query("SELECT to_regclass('schema_version') IS NOT NULL"));
      if (exists.rows() == 0 || exists.Int(0, 0) == 0) {
        return Status::FailedPrecondition("the database holds no Touchpoint schema yet (start a writer first)");
      }
      TP_ASSIGN_OR_RETURN(std::int64_t v, c.QueryInt("SELECT max(version) FROM schema_version"));
      version_ = static_cast<int>(v);
      if (version_ > kSchemaVersion) return TooNew();
      if (version_ < kSchemaVersion) {
        return Status::FailedPrecondition("database schema version " + std::to_string(version_) +
                                          " predates this binary's (" + std::to_string(kSchemaVersion) +
                                          "); start a writer (touchpoint serve) to upgrade it");
      }
      return Status::Ok();
    }
    // One transaction, serialised between nodes starting at once by a transaction-level lock.
    TP_RETURN_IF_ERROR(c.Exec("BEGIN"));
    Status s = [&]() -> Status {
      TP_RETURN_IF_ERROR(c.Query("SELECT pg_advisory_xact_lock($1)", Params().Add(kMigrationLockKey)).status());
      TP_RETURN_IF_ERROR(c.Exec("CREATE TABLE IF NOT EXISTS schema_version(version integer NOT NULL)"));
      TP_ASSIGN_OR_RETURN(std::int64_t v, c.QueryInt("SELECT coalesce(max(version), 0) FROM schema_version"));
      version_ = static_cast<int>(v);
      if (version_ > kSchemaVersion) return TooNew();
      while (version_ < kSchemaVersion) {
        Status step = c.Exec(kMigrations[version_]);
        if (step.ok() && version_ + 1 == 7) step = events_.MigrateRowsToChunks();
        TP_RETURN_IF_ERROR(step.WithContext("migration to schema version " + std::to_string(version_ + 1)));
        ++version_;
      }
      TP_RETURN_IF_ERROR(c.Exec("DELETE FROM schema_version"));
      return c.Exec("INSERT INTO schema_version(version) VALUES(" + std::to_string(version_) + ")");
    }();
    if (!s.ok()) {
      c.Rollback();
      return s;
    }
    return c.Commit();
  }

  Status TooNew() const {
    return Status::FailedPrecondition("database schema version " + std::to_string(version_) +
                                      " is newer than this binary supports (" + std::to_string(kSchemaVersion) +
                                      "); upgrade touchpoint");
  }

  void KeepLease() {
    std::unique_lock lock(keeper_mu_);
    while (!stop_keeper_) {
      keeper_cv_.wait_for(lock, std::chrono::milliseconds(std::max(100, options_.lease_timeout_ms / 5)));
      if (stop_keeper_) break;
      lock.unlock();
      Status s = own_lease_->Check();
      lock.lock();
      if (!s.ok()) {
        lease_error_ = s.message();
        lease_lost_ = true;
        break;
      }
    }
  }
  std::string lease_error() {
    std::scoped_lock lock(keeper_mu_);
    return lease_error_;
  }

  Options options_;
  std::unique_ptr<WriterLease> own_lease_;  // a writer opened with lock_purpose holds its own
  Session session_;
  std::shared_ptr<ChunkSealer> sealer_;  // encryption at rest (SealEventChunks), before its users
  PgEventLog events_;
  PgIdentity identity_;
  PgProfiles profiles_;
  PgActivity activity_;
  PgEscalations escalations_;
  PgApiKeys keys_;
  PgJobs jobs_;
  PgSegments segments_;
  PgUsers users_;
  PgTeams teams_;
  PgSessions sessions_;
  PgAudit audit_;
  PgSigningKeys signing_keys_;
  PgDpBudgets dp_budgets_;
  PgOutbox outbox_;
  PgConsents consents_;
  PgTickets tickets_;
  PgChannels channels_;
  PgDeskflow deskflow_;
  PgAgents agents_;
  PgSuppressions suppressions_;
  PgErasure erasure_;
  PgSla sla_;
  PgKeyring keyring_;
  PgRekey rekey_;
  PgKpi kpi_;
  PgExperiments experiments_;
  PgChangeFeed feed_;
  PgCluster cluster_;
  int version_ = 0;
  std::atomic<bool> lease_lost_{false};
  std::mutex keeper_mu_;
  std::condition_variable keeper_cv_;
  bool stop_keeper_ = false;   // guarded by keeper_mu_
  std::string lease_error_;    // guarded by keeper_mu_
  std::thread keeper_;
};

PgTransaction::~PgTransaction() {
  if (!done_) store_.RollbackTxn();
}

Status PgTransaction::Commit() {
  TP_CHECK(!done_, "transaction committed twice");
  done_ = true;
  return store_.CommitTxn();
}

}  // namespace

int CurrentSchemaVersion() { return kSchemaVersion; }

Result<std::unique_ptr<Store>> Open(const Options& options) {
  ConnectOptions c;
  c.url = options.url;
  c.password = options.password;
  c.application_name = options.read_only ? "touchpoint reader" : "touchpoint";
  if (options.read_only) {
    c.settings.emplace_back("default_transaction_read_only", "on");
  } else {
    // A writer's transaction left idle (a frozen process) is rolled back by the server, so it
    // cannot hold up the next election's epoch update.
    c.settings.emplace_back("idle_in_transaction_session_timeout", std::to_string(options.lease_timeout_ms) + "ms");
  }
  TP_ASSIGN_OR_RETURN(auto conn, Conn::Connect(c));
  std::unique_ptr<WriterLease> lease;
  if (!options.read_only && !options.lock_purpose.empty() && options.fence_epoch == 0) {
    // The schema (and tp_cluster) must exist before an election: migrate first on this connection.
    auto probe = std::make_unique<PgStore>(std::move(conn), options, nullptr);
    TP_RETURN_IF_ERROR(probe->Init());
    TP_ASSIGN_OR_RETURN(conn, Conn::Connect(c));
    TP_ASSIGN_OR_RETURN(lease, AcquireLease(options, options.lock_purpose));
    if (lease == nullptr) {
      return Status::Unavailable("the database is in use by " + LockHolder(*conn) +
                                 " (one writer at a time; readers are not affected)");
    }
  }
  auto store = std::make_unique<PgStore>(std::move(conn), options, std::move(lease));
  TP_RETURN_IF_ERROR(store->Init());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace touchpoint::store::postgres
