// server/config.h — configuration of `touchpoint serve`: defaults, the TOML file, flags.
//
// Precedence: built-in defaults < touchpoint.toml (data directory) or --config FILE < flags.
// Every key is documented in docs/operations.md.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/insight/journey.h>
#include <touchpoint/outbox/outbox.h>
#include <touchpoint/service/channels.h>
#include <touchpoint/pipeline/engine.h>
#include <touchpoint/privacy/masking.h>
#include <touchpoint/privacy/retention.h>

namespace touchpoint::server {

struct ServerConfig {
  std::string data_dir = "./touchpoint-data";
  // [store] url: the database (store/open.h); empty: sqlite in data_dir (DATA/touchpoint.db).
  std::string store_url;
  // [store] password_file (or the global --store-password-file): the database password, read at
  // start (core/secret_file.h: a private file); empty: PGPASSWORD or ~/.pgpass.
  std::string store_password_file;
  // [store] read_url (--store-read): a PostgreSQL streaming replica of store_url that followers
  // read from (their warm copy's feed and the store-wide counts); empty: they read the primary.
  // Requests with `X-Touchpoint-Consistency: fresh` still read the primary.
  std::string store_read_url;
  // [store] read_max_lag_seconds: a read replica further behind than this is not read (the
  // primary is, until it has caught up).
  int store_read_max_lag_seconds = 10;
  std::string listen = "127.0.0.1:8080";  // HOST:PORT; port 0 picks a free port
  int io_threads = 2;
  int worker_threads = 16;
  int max_customers_per_identifier = 5;
  std::string synchronous = "full";  // SQLite synchronous: "full" or "normal"
  std::string log_level = "info";    // trace, debug, info, warn, error, off
  size_t max_message_bytes = 32 * 1024;   // one tracking message (Segment's limit)
  size_t max_batch_bytes = 500 * 1024;    // one /v1/batch body (Segment's limit)
  int idle_timeout_seconds = 75;          // idle keep-alive connections are closed after this
  int read_timeout_seconds = 30;          // a started request must arrive within this
  size_t max_connections = 10000;         // further connections are closed at once
  int key_cache_seconds = 2;              // how long an API-key lookup is cached
  bool text_analysis = true;              // language/sentiment/intent/PII masking on messages
  // When the analytics jobs that tag profiles (rfm, ltv, kmeans, churn) run each day, local
  // time "HH:MM"; "off" = never on a schedule (POST /v1/jobs/{name} still runs them).
  std::string jobs_schedule = "02:00";
  bool jobs_at_start = false;             // run those jobs once at start, before listening
  // Login sessions (POST /v1/auth/login; docs/security.md): unused this long, a session ends;
  // and this long after login, however busy.
  int session_idle_minutes = 30;
  int session_absolute_hours = 12;
  // The session cookie's Secure attribute (browsers then send it over HTTPS only): on when the
  // server serves TLS, or sits behind a proxy that does.
  bool cookie_secure = false;
  // [cluster]: several nodes on one database (server/node.h; docs/operations.md, "Several nodes").
  std::string cluster_secret;       // node-to-node secret; prefer cluster_secret_file
  std::string cluster_secret_file;  // a file holding it (read at start)
  std::string node_id;              // this node's id in the registry; empty: its advertise address
  std::string advertise;            // HOST:PORT other nodes reach this one at; empty: the listen address
  // [privacy] reveal_roles: the roles that may ask for personal data in clear, naming the fields
  // and a reason (?reveal=phone&reason=…); every reveal is audited. Never "ingest".
  std::vector<std::string> reveal_roles = {"admin"};
  // [privacy.masking] phone, id_number, bank_card: mask rules ("keep_end=4,hide=4";
  // privacy/masking.h, docs/security.md).
  privacy::MaskingConfig masking;
  // [privacy]: the master key file (privacy/master_key.h); empty: ~/.config/touchpoint/master.key.
  std::string master_key_file;
  // [privacy] personalisation_default: the personalisation intensity of a customer who decided
  // nothing (off, low, medium, high; privacy/consent.h).
  std::string personalisation_default = "low";
  // [privacy] encryption: encrypt new data directories at rest (privacy/encrypted_store.h); false
  // leaves a NEW directory in clear (an encrypted one is always read through its keys).
  bool encryption = true;
  // [privacy] keyring_url: the store of per-person data keys (privacy/keyring.h); empty: a SQLite
  // file beside the master key file (SQLite data), or the data's own database (PostgreSQL).
  std::string keyring_url;
  // [privacy]: the audit log's checkpoint file, best on another disk; empty: DATA/audit/checkpoints.
  std::string audit_checkpoints;
  // [retention] events, messages, surveys, orders, escalations, rejects = "365d" | "12h" | "off"
  // (privacy/retention.h; all off by default: keep forever), batch = records per transaction,
  // interval_minutes = how often the server's retention pass runs (60).
  privacy::RetentionPolicy retention;
  int retention_interval_minutes = 60;
  // TLS (docs/security.md, "TLS"): both set → the listen address speaks HTTPS only.
  std::string tls_cert;   // PEM certificate chain (server certificate first)
  std::string tls_key;    // PEM private key; refused when readable by group or others
  int tls_redirect_port = 0;  // with TLS: a plain listener on this port answers 308 to https (0: none)
  // Several nodes over TLS: the CA file (PEM) a follower verifies the writer's certificate
  // against when it forwards; empty: the system's trust store.
  std::string tls_peer_ca;
  // Without TLS the server listens on loopback addresses only; true allows plain HTTP on any
  // address (e.g. behind a TLS-terminating proxy on another host).
  bool insecure_listen = false;
  // [[webhooks]], [email], [outbox]: outgoing deliveries (docs/outbox.md). The writer runs the
  // dispatcher when at least one webhook or an SMTP host is configured.
  outbox::OutboxOptions outbox;
  // [[routing.policies]]: the service desk's routing policies as TOML (`[[policies]]` tables,
  // service::ParseRoutingPolicies; checked at load; docs/service-desk.md, "Routing").
  std::string routing_policies_toml;
  // [sla] calendar = "cn": the desk's calendar (a built-in name or a calendar file) for
  // policies without one, complaint feedback and business time; empty: wall clock.
  // [[sla.policies]]: SLA policies (docs/service-desk.md, "SLA policies and timers"); those
  // stored with `touchpoint desk sla-policies set` come first, then these, then the baseline.
  std::string sla_calendar;
  std::vector<std::string> sla_policies;  // each as its JSON document (checked by service::PolicyFromJson)
  // [desk] (docs/service-desk.md, deskflow): repeat_window_days — contacts this many days back
  // count for repeat inquiries (30); auto_close_days — solved tickets are closed after this many
  // days (7; 0: never); auto_close_interval_minutes — how often that runs (60); feed_capacity —
  // events the live feed keeps (1000).
  int desk_repeat_window_days = 30;
  int desk_auto_close_days = 7;
  int desk_auto_close_interval_minutes = 60;
  int desk_feed_capacity = 1000;
  // [channels] and [channels.<name>]: the desk's reply delivery per ticket channel, CSAT surveys,
  // attachment limits (docs/service-desk.md "Channels"; server/channels_config.cc).
  service::ChannelOptions channels;
  // [[journeys]]: the journeys GET /v1/journeys/{name} and `touchpoint journey --name` report on
  // (server/journeys_config.cc; docs/measurement.md "Journeys"); the built-in "purchase" besides.
  std::vector<insight::JourneySpec> journeys;
};

// Whether `config` serves HTTPS (tls_cert and tls_key set). The session cookie's Secure flag
// and the scheme nodes use to reach each other follow it.
bool TlsEnabled(const ServerConfig& config);

// True for a loopback literal: 127.0.0.0/8, ::1, ::ffff:127.x.y.z.
bool IsLoopbackHost(const std::string& host);

// Reads a TOML file over `defaults`. A missing file is fine when `must_exist` is false (the
// default touchpoint.toml); kNotFound when it must exist (--config). kInvalidArgument for a
// syntax error (with line), an unknown key (named) or a value of the wrong type or range.
Result<ServerConfig> LoadConfig(const std::string& path, ServerConfig defaults, bool must_exist = false);

// Checks ranges and enumerations (listen syntax, synchronous, log_level, positive sizes), that
// tls_cert and tls_key come together, and that a plain-HTTP server listens on loopback only
// unless insecure_listen. kInvalidArgument naming the option.
Status ValidateConfig(const ServerConfig& config);

// Splits "HOST:PORT" ("[::1]:8080" for IPv6). kInvalidArgument when malformed.
Status ParseListen(const std::string& listen, std::string* host, uint16_t* port);

// The store URL the server opens: [store] url, or the SQLite file in data_dir.
std::string StoreUrlFor(const ServerConfig& config);

// The database password from config.store_password_file ("" without one). kInvalidArgument when
// the file cannot be used (unreadable, empty, readable by others); the message never shows it.
Result<std::string> StorePassword(const ServerConfig& config);

// The engine options the server runs with; the one place that maps config to the engine.
pipeline::EngineOptions EngineOptionsFor(const ServerConfig& config);

}  // namespace touchpoint::server
