// serve: the HTTP API over a data directory or a database shared by several nodes (touchpoint::server).
#include <cstdio>
#include <memory>
#include <string>

#include <touchpoint/server/app.h>
#include <touchpoint/server/config.h>

#include "cli/audit_access.h"
#include "cli/data_access.h"
#include "cli/cli_util.h"
#include "cli/commands.h"

namespace touchpoint::cli {
namespace {

// Flags as given on the command line; unset ones leave the file's (or the default) value.
struct ServeFlags {
  std::string config_file;
  std::string data_dir;
  std::string listen;
  std::string synchronous;
  std::string log_level;
  int io_threads = 0;
  int worker_threads = 0;
  int max_customers_per_identifier = 0;
  size_t max_message_bytes = 0;
  size_t max_batch_bytes = 0;
  int idle_timeout_seconds = 0;
  int read_timeout_seconds = 0;
  size_t max_connections = 0;
  int key_cache_seconds = -1;
  bool no_text = false;
  std::string jobs_schedule;
  bool jobs_at_start = false;
  std::string cluster_secret_file;
  std::string node_id;
  std::string advertise;
  std::string store_read;
  std::string tls_cert;
  std::string tls_key;
  int tls_redirect_port = -1;
  std::string tls_peer_ca;
  bool insecure_listen = false;
};

int RunServeCommand(const ServeFlags& f) {
  server::ServerConfig defaults;
  defaults.data_dir = f.data_dir.empty() ? DefaultDataDir() : f.data_dir;
  const bool explicit_file = !f.config_file.empty();
  const std::string path = explicit_file ? f.config_file : defaults.data_dir + "/touchpoint.toml";
  auto loaded = server::LoadConfig(path, defaults, explicit_file);
  if (!loaded.ok()) {
    std::fprintf(stderr, "touchpoint: %s\n", loaded.status().message().c_str());
    return loaded.status().code() == StatusCode::kNotFound ? kExitUnavailable : kExitUsage;
  }
  server::ServerConfig c = *loaded;
  if (!f.data_dir.empty()) c.data_dir = f.data_dir;
  if (!f.listen.empty()) c.listen = f.listen;
  if (!f.synchronous.empty()) c.synchronous = f.synchronous;
  if (!f.log_level.empty()) c.log_level = f.log_level;
  if (f.io_threads > 0) c.io_threads = f.io_threads;
  if (f.worker_threads > 0) c.worker_threads = f.worker_threads;
  if (f.max_customers_per_identifier > 0) c.max_customers_per_identifier = f.max_customers_per_identifier;
  if (f.max_message_bytes > 0) c.max_message_bytes = f.max_message_bytes;
  if (f.max_batch_bytes > 0) c.max_batch_bytes = f.max_batch_bytes;
  if (f.idle_timeout_seconds > 0) c.idle_timeout_seconds = f.idle_timeout_seconds;
  if (f.read_timeout_seconds > 0) c.read_timeout_seconds = f.read_timeout_seconds;
  if (f.max_connections > 0) c.max_connections = f.max_connections;
  if (f.key_cache_seconds >= 0) c.key_cache_seconds = f.key_cache_seconds;
  if (f.no_text) c.text_analysis = false;
  if (!f.jobs_schedule.empty()) c.jobs_schedule = f.jobs_schedule;
  if (f.jobs_at_start) c.jobs_at_start = true;
  if (!f.cluster_secret_file.empty()) {
    c.cluster_secret_file = f.cluster_secret_file;
    c.cluster_secret.clear();  // the flag wins over a secret in the file
  }
  if (!f.node_id.empty()) c.node_id = f.node_id;
  if (!f.advertise.empty()) c.advertise = f.advertise;
  if (!f.tls_cert.empty()) c.tls_cert = f.tls_cert;
  if (!f.tls_key.empty()) c.tls_key = f.tls_key;
  if (f.tls_redirect_port >= 0) c.tls_redirect_port = f.tls_redirect_port;
  if (!f.tls_peer_ca.empty()) c.tls_peer_ca = f.tls_peer_ca;
  if (f.insecure_listen) c.insecure_listen = true;
  if (!StoreUrlOverride().empty()) c.store_url = StoreUrlOverride();
  if (!StorePasswordFile().empty()) c.store_password_file = StorePasswordFile();
  if (!MasterKeyFileOverride().empty()) c.master_key_file = MasterKeyFileOverride();
  if (!AuditCheckpointsOverride().empty()) c.audit_checkpoints = AuditCheckpointsOverride();
  if (!f.store_read.empty()) c.store_read_url = f.store_read;
  return server::RunServe(c);
}

}  // namespace

void RegisterServeCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* serve = app.add_subcommand(
      "serve", "Serve the HTTP API (tracking, customers, stats, metrics) until SIGTERM/SIGINT");
  serve->add_option("--config", flags->config_file,
                    "TOML configuration file (default: DATA/touchpoint.toml when present)");
  serve->add_option("--data", flags->data_dir, "Data directory (default: $TOUCHPOINT_DATA or ./touchpoint-data)");
  serve->add_option("--listen", flags->listen, "HOST:PORT to listen on (default 127.0.0.1:8080; port 0 = any free)");
  serve->add_option("--io-threads", flags->io_threads, "Network threads (default 2)");
  serve->add_option("--worker-threads", flags->worker_threads, "Request handler threads (default 16)");
  serve->add_option("--max-customers-per-identifier", flags->max_customers_per_identifier,
                    "An identifier shared by more customers stops merging (default 5)");
  serve->add_option("--synchronous", flags->synchronous, "SQLite synchronous mode: full|normal (default full)");
  serve->add_option("--log-level", flags->log_level, "trace|debug|info|warn|error|off (default info)");
  serve->add_option("--max-message-bytes", flags->max_message_bytes, "Largest tracking message (default 32768)");
  serve->add_option("--max-batch-bytes", flags->max_batch_bytes, "Largest /v1/batch body (default 512000)");
  serve->add_option("--idle-timeout", flags->idle_timeout_seconds,
                    "Seconds before an idle keep-alive connection is closed (default 75)");
  serve->add_option("--read-timeout", flags->read_timeout_seconds,
                    "Seconds a started request may take to arrive (default 30)");
  serve->add_option("--max-connections", flags->max_connections, "Open connections at most (default 10000)");
  serve->add_option("--key-cache-seconds", flags->key_cache_seconds,
                    "How long an API-key lookup is cached (default 2)");
  serve->add_flag("--no-text", flags->no_text, "Skip text analysis of messages");
  serve->add_option("--jobs-schedule", flags->jobs_schedule,
                    "Daily time (HH:MM, local) of the tagging jobs rfm, ltv, kmeans, churn; off = never (default 02:00)");
  serve->add_flag("--jobs-at-start", flags->jobs_at_start, "Run the tagging jobs once before listening");
  serve->add_option("--cluster-secret-file", flags->cluster_secret_file,
                    "Several nodes on one database: file with the secret nodes authenticate each other with");
  serve->add_option("--node-id", flags->node_id, "Several nodes: this node's id in the registry (default: --advertise)");
  serve->add_option("--advertise", flags->advertise,
                    "Several nodes: HOST:PORT other nodes reach this one at (default: the listen address)");
  serve->add_option("--store-read", flags->store_read,
                    "Several nodes: a PostgreSQL streaming replica of --store that followers read from "
                    "(default: they read the primary)");
  serve->add_option("--tls-cert", flags->tls_cert, "Serve HTTPS with this PEM certificate chain (with --tls-key)");
  serve->add_option("--tls-key", flags->tls_key, "The certificate's PEM private key (a file readable by its owner only)");
  serve->add_option("--tls-redirect-port", flags->tls_redirect_port,
                    "With TLS: also listen on this port in plain HTTP, answering 308 to the https URL")
      ->check(CLI::Range(0, 65535));
  serve->add_option("--tls-peer-ca", flags->tls_peer_ca,
                    "Several nodes over TLS: CA file (PEM) to verify the writer's certificate with (default: system CAs)");
  serve->add_flag("--insecure-listen", flags->insecure_listen,
                  "Allow plain HTTP on a non-loopback --listen address (without TLS the default is loopback only)");
  serve->callback([flags, exit_code] { *exit_code = RunServeCommand(*flags); });
}

}  // namespace touchpoint::cli
