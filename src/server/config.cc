#include <touchpoint/server/config.h>

#include <touchpoint/core/secret_file.h>
#include <touchpoint/insight/job_runner.h>
#include <touchpoint/privacy/consent.h>
#include <touchpoint/privacy/roles.h>
#include <touchpoint/service/sla.h>
#include <touchpoint/store/open.h>

#include <spdlog/spdlog.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <filesystem>
#include <limits>
#include <sstream>
#include <string_view>

#include <toml++/toml.h>

#include <touchpoint/service/router.h>

#include "server/outbox_config_internal.h"

namespace touchpoint::server {
namespace {

Status WrongType(std::string_view path, std::string_view key, std::string_view want) {
  return Status::InvalidArgument(std::string(path) + ": option '" + std::string(key) + "' must be " +
                                 std::string(want));
}

Status SetInt(const toml::node& node, std::string_view path, std::string_view key, int* out) {
  auto v = node.value<int64_t>();
  if (!v || *v < 0 || *v > std::numeric_limits<int>::max()) return WrongType(path, key, "a non-negative integer");
  *out = static_cast<int>(*v);
  return Status::Ok();
}

Status SetSize(const toml::node& node, std::string_view path, std::string_view key, size_t* out) {
  auto v = node.value<int64_t>();
  if (!v || *v < 0) return WrongType(path, key, "a non-negative integer");
  *out = static_cast<size_t>(*v);
  return Status::Ok();
}

Status SetString(const toml::node& node, std::string_view path, std::string_view key, std::string* out) {
  auto v = node.value<std::string>();
  if (!v || !node.is_string()) return WrongType(path, key, "a string");
  *out = *v;
  return Status::Ok();
}

Status SetBool(const toml::node& node, std::string_view path, std::string_view key, bool* out) {
  if (!node.is_boolean()) return WrongType(path, key, "true or false");
  *out = *node.value<bool>();
  return Status::Ok();
}

Status Apply(std::string_view path, std::string_view key, const toml::node& node, ServerConfig* c) {
  if (key == "data_dir") return SetString(node, path, key, &c->data_dir);
  if (key == "listen") return SetString(node, path, key, &c->listen);
  if (key == "io_threads") return SetInt(node, path, key, &c->io_threads);
  if (key == "worker_threads") return SetInt(node, path, key, &c->worker_threads);
  if (key == "max_customers_per_identifier") return SetInt(node, path, key, &c->max_customers_per_identifier);
  if (key == "synchronous") return SetString(node, path, key, &c->synchronous);
  if (key == "log_level") return SetString(node, path, key, &c->log_level);
  if (key == "max_message_bytes") return SetSize(node, path, key, &c->max_message_bytes);
  if (key == "max_batch_bytes") return SetSize(node, path, key, &c->max_batch_bytes);
  if (key == "idle_timeout_seconds") return SetInt(node, path, key, &c->idle_timeout_seconds);
  if (key == "read_timeout_seconds") return SetInt(node, path, key, &c->read_timeout_seconds);
  if (key == "max_connections") return SetSize(node, path, key, &c->max_connections);
  if (key == "key_cache_seconds") return SetInt(node, path, key, &c->key_cache_seconds);
  if (key == "text_analysis") return SetBool(node, path, key, &c->text_analysis);
  if (key == "jobs_schedule") return SetString(node, path, key, &c->jobs_schedule);
  if (key == "jobs_at_start") return SetBool(node, path, key, &c->jobs_at_start);
  if (key == "session_idle_minutes") return SetInt(node, path, key, &c->session_idle_minutes);
  if (key == "session_absolute_hours") return SetInt(node, path, key, &c->session_absolute_hours);
  if (key == "cookie_secure") return SetBool(node, path, key, &c->cookie_secure);
  if (key == "tls_cert") return SetString(node, path, key, &c->tls_cert);
  if (key == "tls_key") return SetString(node, path, key, &c->tls_key);
  if (key == "tls_redirect_port") return SetInt(node, path, key, &c->tls_redirect_port);
  if (key == "tls_peer_ca") return SetString(node, path, key, &c->tls_peer_ca);
  if (key == "insecure_listen") return SetBool(node, path, key, &c->insecure_listen);
  return Status::InvalidArgument(std::string(path) + ": unknown option '" + std::string(key) +
                                 "' (see docs/operations.md)");
}

// [retention] events|messages|surveys|orders|escalations|rejects = "365d" (privacy/retention.h),
// batch, interval_minutes. Audit entries are refused: the hash chain keeps them all.
Status ApplyRetention(const std::string& path, const toml::node& node, ServerConfig* c) {
  const toml::table* retention = node.as_table();
  if (retention == nullptr) return WrongType(path, "retention", "a table ([retention])");
  for (const auto& [rkey, rnode] : *retention) {
    const std::string_view k = rkey.str();
    if (k == "batch") {
      TP_RETURN_IF_ERROR(SetInt(rnode, path, "retention.batch", &c->retention.batch));
      continue;
    }
    if (k == "interval_minutes") {
      TP_RETURN_IF_ERROR(SetInt(rnode, path, "retention.interval_minutes", &c->retention_interval_minutes));
      continue;
    }
    if (k == "audit") {
      return Status::InvalidArgument(path + ": retention.audit: audit entries are kept (the hash chain's "
                                            "checkpoints vouch for every entry; see docs/security.md, \"Retention\")");
    }
    Millis* period = k == "events"        ? &c->retention.events
                     : k == "messages"    ? &c->retention.messages
                     : k == "surveys"     ? &c->retention.surveys
                     : k == "orders"      ? &c->retention.orders
                     : k == "escalations" ? &c->retention.escalations
                     : k == "rejects"     ? &c->retention.rejects
                                          : nullptr;
    if (period == nullptr) {
      return Status::InvalidArgument(path + ": unknown option 'retention." + std::string(k) +
                                     "' (events, messages, surveys, orders, escalations, rejects, batch, "
                                     "interval_minutes; see docs/operations.md)");
    }
    std::string text;
    TP_RETURN_IF_ERROR(SetString(rnode, path, "retention." + std::string(k), &text));
    auto parsed = privacy::ParseRetentionPeriod(text);
    if (!parsed.ok()) return parsed.status().WithContext(path + ": retention." + std::string(k));
    *period = *parsed;
  }
  return Status::Ok();
}

// [sla] calendar = "cn"; [[sla.policies]] tables with the fields of a policy's JSON document
// (service::PolicyFromJson names the field of an error).
Status ApplySla(const std::string& path, const toml::node& node, ServerConfig* c) {
  const toml::table* sla = node.as_table();
  if (sla == nullptr) return WrongType(path, "sla", "a table ([sla])");
  for (const auto& [skey, snode] : *sla) {
    const std::string_view k = skey.str();
    if (k == "calendar") {
      TP_RETURN_IF_ERROR(SetString(snode, path, "sla.calendar", &c->sla_calendar));
      continue;
    }
    if (k != "policies") {
      return Status::InvalidArgument(path + ": unknown option 'sla." + std::string(k) + "' (calendar, policies)");
    }
    const toml::array* policies = snode.as_array();
    if (policies == nullptr) return WrongType(path, "sla.policies", "an array of tables ([[sla.policies]])");
    size_t i = 0;
    for (const toml::node& p : *policies) {
      const std::string field = "sla.policies[" + std::to_string(i++) + "]";
      const toml::table* t = p.as_table();
      if (t == nullptr) return WrongType(path, field, "a table");
      std::ostringstream json;
      json << toml::json_formatter{*t};
      auto policy = service::PolicyFromJson(json.str());
      if (!policy.ok()) return policy.status().WithContext(path + ": " + field);
      c->sla_policies.push_back(service::PolicyToJson(*policy));
    }
  }
  return Status::Ok();
}

// [desk] repeat_window_days, auto_close_days, auto_close_interval_minutes, feed_capacity (deskflow).
Status ApplyDesk(const std::string& path, const toml::node& node, ServerConfig* c) {
  const toml::table* desk = node.as_table();
  if (desk == nullptr) return WrongType(path, "desk", "a table ([desk])");
  for (const auto& [dkey, dnode] : *desk) {
    const std::string_view k = dkey.str();
    int* value = k == "repeat_window_days"            ? &c->desk_repeat_window_days
                 : k == "auto_close_days"             ? &c->desk_auto_close_days
                 : k == "auto_close_interval_minutes" ? &c->desk_auto_close_interval_minutes
                 : k == "feed_capacity"               ? &c->desk_feed_capacity
                                                      : nullptr;
    if (value == nullptr) {
      return Status::InvalidArgument(path + ": unknown option 'desk." + std::string(k) +
                                     "' (repeat_window_days, auto_close_days, auto_close_interval_minutes, "
                                     "feed_capacity; see docs/service-desk.md)");
    }
    TP_RETURN_IF_ERROR(SetInt(dnode, path, "desk." + std::string(k), value));
    if (*value < 0 || (*value == 0 && k != "auto_close_days")) {
      return Status::InvalidArgument(path + ": desk." + std::string(k) + " must be positive");
    }
  }
  return Status::Ok();
}

// [privacy] reveal_roles = ["admin", …], master_key_file, audit_checkpoints, encryption, keyring_url;
// [privacy.masking] phone|id_number|bank_card = "rule".
Status ApplyPrivacy(const std::string& path, const toml::node& node, ServerConfig* c) {
  const toml::table* privacy = node.as_table();
  if (privacy == nullptr) return WrongType(path, "privacy", "a table ([privacy])");
  for (const auto& [pkey, pnode] : *privacy) {
    const std::string_view k = pkey.str();
    if (k == "reveal_roles") {
      const toml::array* roles = pnode.as_array();
      if (roles == nullptr) return WrongType(path, "privacy.reveal_roles", "an array of role names");
      c->reveal_roles.clear();
      for (const toml::node& r : *roles) {
        if (!r.is_string()) return WrongType(path, "privacy.reveal_roles", "an array of role names");
        c->reveal_roles.push_back(*r.value<std::string>());
      }
      continue;
    }
    if (k == "master_key_file") {
      TP_RETURN_IF_ERROR(SetString(pnode, path, "privacy.master_key_file", &c->master_key_file));
      continue;
    }
    if (k == "audit_checkpoints") {
      TP_RETURN_IF_ERROR(SetString(pnode, path, "privacy.audit_checkpoints", &c->audit_checkpoints));
      continue;
    }
    if (k == "personalisation_default") {
      TP_RETURN_IF_ERROR(SetString(pnode, path, "privacy.personalisation_default", &c->personalisation_default));
      continue;
    }
    if (k == "keyring_url") {
      TP_RETURN_IF_ERROR(SetString(pnode, path, "privacy.keyring_url", &c->keyring_url));
      continue;
    }
    if (k == "encryption") {
      TP_RETURN_IF_ERROR(SetBool(pnode, path, "privacy.encryption", &c->encryption));
      continue;
    }
    if (k == "masking") {
      const toml::table* masking = pnode.as_table();
      if (masking == nullptr) return WrongType(path, "privacy.masking", "a table ([privacy.masking])");
      for (const auto& [mkey, mnode] : *masking) {
        const std::string_view m = mkey.str();
        privacy::MaskRule* rule = m == "phone"       ? &c->masking.phone
                                  : m == "id_number" ? &c->masking.id_number
                                  : m == "bank_card" ? &c->masking.bank_card
                                                     : nullptr;
        if (rule == nullptr) {
          return Status::InvalidArgument(path + ": unknown option 'privacy.masking." + std::string(m) +
                                         "' (phone, id_number, bank_card; see docs/security.md)");
        }
        std::string text;
        TP_RETURN_IF_ERROR(SetString(mnode, path, "privacy.masking." + std::string(m), &text));
        auto parsed = privacy::ParseMaskRule(text);
        if (!parsed.ok()) return parsed.status().WithContext(path + ": privacy.masking." + std::string(m));
        *rule = *parsed;
      }
      continue;
    }
    return Status::InvalidArgument(path + ": unknown option 'privacy." + std::string(k) +
                                   "' (see docs/operations.md)");
  }
  return Status::Ok();
}

}  // namespace

Result<ServerConfig> LoadConfig(const std::string& path, ServerConfig defaults, bool must_exist) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (must_exist) return Status::NotFound("configuration file " + path + " does not exist");
    return defaults;
  }
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(path + ":" + std::to_string(e.source().begin.line) + ": " +
                                   std::string(e.description()));
  }
  ServerConfig config = std::move(defaults);
  for (const auto& [key, node] : table) {
    if (key.str() == "cluster") {  // [cluster] secret, secret_file, node_id, advertise
      const toml::table* cluster = node.as_table();
      if (cluster == nullptr) return WrongType(path, "cluster", "a table ([cluster])");
      for (const auto& [ckey, cnode] : *cluster) {
        const std::string_view k = ckey.str();
        std::string* target = k == "secret"        ? &config.cluster_secret
                              : k == "secret_file" ? &config.cluster_secret_file
                              : k == "node_id"     ? &config.node_id
                              : k == "advertise"   ? &config.advertise
                                                   : nullptr;
        if (target == nullptr) {
          return Status::InvalidArgument(path + ": unknown option 'cluster." + std::string(k) +
                                         "' (see docs/operations.md)");
        }
        TP_RETURN_IF_ERROR(SetString(cnode, path, "cluster." + std::string(k), target));
      }
      continue;
    }
    if (key.str() == "store") {  // [store] url = "sqlite:///…" | "memory:"
      const toml::table* store = node.as_table();
      if (store == nullptr) return WrongType(path, "store", "a table ([store])");
      for (const auto& [skey, snode] : *store) {
        if (skey.str() == "password_file") {
          TP_RETURN_IF_ERROR(SetString(snode, path, "store.password_file", &config.store_password_file));
          continue;
        }
        if (skey.str() == "read_url") {
          TP_RETURN_IF_ERROR(SetString(snode, path, "store.read_url", &config.store_read_url));
          continue;
        }
        if (skey.str() == "read_max_lag_seconds") {
          TP_RETURN_IF_ERROR(SetInt(snode, path, "store.read_max_lag_seconds", &config.store_read_max_lag_seconds));
          continue;
        }
        if (skey.str() != "url") {
          return Status::InvalidArgument(path + ": unknown option 'store." + std::string(skey.str()) +
                                         "' (see docs/operations.md)");
        }
        TP_RETURN_IF_ERROR(SetString(snode, path, "store.url", &config.store_url));
      }
      continue;
    }
    if (key.str() == "privacy") {
      TP_RETURN_IF_ERROR(ApplyPrivacy(path, node, &config));
      continue;
    }
    if (key.str() == "retention") {
      TP_RETURN_IF_ERROR(ApplyRetention(path, node, &config));
      continue;
    }
    if (key.str() == "desk") {  // deskflow: [desk] repeat_window_days, auto_close_days, …
      TP_RETURN_IF_ERROR(ApplyDesk(path, node, &config));
      continue;
    }
    if (key.str() == "server") {  // [server]: the same keys as the top level
      const toml::table* server = node.as_table();
      if (server == nullptr) return WrongType(path, "server", "a table ([server])");
      for (const auto& [skey, snode] : *server) TP_RETURN_IF_ERROR(Apply(path, skey.str(), snode, &config));
      continue;
    }
    if (key.str() == "routing") {  // [[routing.policies]]: the desk's routing policies (service/router.h)
      const toml::table* routing = node.as_table();
      if (routing == nullptr) return WrongType(path, "routing", "a table ([[routing.policies]])");
      std::ostringstream text;
      text << *routing;
      auto policies = service::ParseRoutingPolicies(text.str());
      if (!policies.ok()) return policies.status().WithContext(path + ": routing");
      config.routing_policies_toml = text.str();
      continue;
    }
    if (key.str() == "sla") {  // [sla] calendar, [[sla.policies]]
      TP_RETURN_IF_ERROR(ApplySla(path, node, &config));
      continue;
    }
    if (key.str() == "journeys") {  // [[journeys]] (journeys_config.cc)
      TP_RETURN_IF_ERROR(ApplyJourneysConfig(path, node, &config));
      continue;
    }
    if (key.str() == "channels") {  // [channels]: the desk's channels (channels_config.cc)
      TP_RETURN_IF_ERROR(ApplyChannelsConfig(path, node, &config));
      continue;
    }
    if (IsOutboxConfigKey(key.str())) {  // [[webhooks]], [email], [outbox]
      TP_RETURN_IF_ERROR(ApplyOutboxConfig(path, key.str(), node, &config));
      continue;
    }
    TP_RETURN_IF_ERROR(Apply(path, key.str(), node, &config));
  }
  TP_RETURN_IF_ERROR(ValidateConfig(config));
  return config;
}

Status ParseListen(const std::string& listen, std::string* host, uint16_t* port) {
  const auto bad = [&] {
    return Status::InvalidArgument("listen: '" + listen + "' is not HOST:PORT (e.g. 127.0.0.1:8080)");
  };
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return bad();
  std::string h = listen.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  const std::string_view p = std::string_view(listen).substr(colon + 1);
  unsigned value = 0;
  auto [end, err] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (p.empty() || err != std::errc() || end != p.data() + p.size() || value > 65535 || h.empty()) return bad();
  *host = h;
  *port = static_cast<uint16_t>(value);
  return Status::Ok();
}

Status ValidateConfig(const ServerConfig& c) {
  std::string host;
  uint16_t port = 0;
  TP_RETURN_IF_ERROR(ParseListen(c.listen, &host, &port));
  if (c.data_dir.empty()) return Status::InvalidArgument("data_dir must not be empty");
  if (c.jobs_schedule != "off") {
    if (auto t = insight::ParseTimeOfDay(c.jobs_schedule); !t.ok()) {
      return Status::InvalidArgument("jobs_schedule must be \"HH:MM\" or \"off\", not \"" + c.jobs_schedule + "\"");
    }
  }
  for (const std::string& r : c.reveal_roles) {
    auto role = privacy::ParseRole(r);
    if (!role.ok()) return role.status().WithContext("privacy.reveal_roles");
    if (*role == privacy::Role::kIngest) {
      return Status::InvalidArgument("privacy.reveal_roles: the ingest role only sends events; it cannot reveal");
    }
  }
  if (auto level = privacy::ParseIntensity(c.personalisation_default); !level.ok()) {
    return level.status().WithContext("privacy.personalisation_default");
  }
  if (c.retention.batch < 1 || c.retention.batch > 100'000)
    return Status::InvalidArgument("retention.batch must be 1..100000");
  if (c.retention_interval_minutes < 1) return Status::InvalidArgument("retention.interval_minutes must be at least 1");
  if (c.io_threads < 1 || c.io_threads > 64) return Status::InvalidArgument("io_threads must be 1..64");
  if (c.worker_threads < 1 || c.worker_threads > 1024)
    return Status::InvalidArgument("worker_threads must be 1..1024");
  if (c.max_customers_per_identifier < 1)
    return Status::InvalidArgument("max_customers_per_identifier must be at least 1");
  if (c.synchronous != "full" && c.synchronous != "normal")
    return Status::InvalidArgument("synchronous must be \"full\" or \"normal\", not \"" + c.synchronous + "\"");
  static constexpr std::string_view kLevels[] = {"trace", "debug", "info", "warn", "error", "off"};
  bool level_ok = false;
  for (auto l : kLevels) level_ok = level_ok || c.log_level == l;
  if (!level_ok) return Status::InvalidArgument("log_level must be trace, debug, info, warn, error or off");
  if (c.max_message_bytes < 1024) return Status::InvalidArgument("max_message_bytes must be at least 1024");
  if (c.max_batch_bytes < c.max_message_bytes)
    return Status::InvalidArgument("max_batch_bytes must be at least max_message_bytes");
  if (c.idle_timeout_seconds < 1) return Status::InvalidArgument("idle_timeout_seconds must be at least 1");
  if (c.read_timeout_seconds < 1) return Status::InvalidArgument("read_timeout_seconds must be at least 1");
  if (c.max_connections < 1) return Status::InvalidArgument("max_connections must be at least 1");
  if (c.session_idle_minutes < 1) return Status::InvalidArgument("session_idle_minutes must be at least 1");
  if (c.session_absolute_hours < 1) return Status::InvalidArgument("session_absolute_hours must be at least 1");
  if (!c.advertise.empty()) {
    std::string advertise_host;
    uint16_t advertise_port = 0;
    if (!ParseListen(c.advertise, &advertise_host, &advertise_port).ok() || advertise_port == 0) {
      return Status::InvalidArgument("cluster.advertise: '" + c.advertise +
                                     "' is not HOST:PORT with a port (e.g. 10.0.0.5:8080)");
    }
  }
  if (!c.store_read_url.empty()) {
    const auto postgres = [](const std::string& url) {
      return url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
    };
    if (!postgres(c.store_read_url)) {
      return Status::InvalidArgument("store.read_url must be a postgresql:// URL (a streaming replica), not '" +
                                     store::RedactUrl(c.store_read_url) + "'");
    }
    // An empty store.url may still be given by --store after the file was read; Node::Start
    // checks the final one.
    if (!c.store_url.empty() && !postgres(c.store_url)) {
      return Status::InvalidArgument("store.read_url needs a PostgreSQL store.url (--store postgresql://…)");
    }
  }
  if (c.store_read_max_lag_seconds < 1) return Status::InvalidArgument("store.read_max_lag_seconds must be at least 1");
  if (!c.cluster_secret.empty() && !c.cluster_secret_file.empty()) {
    return Status::InvalidArgument("cluster: set secret or secret_file, not both");
  }
  if (c.tls_cert.empty() != c.tls_key.empty()) {
    return Status::InvalidArgument("tls_cert and tls_key (--tls-cert, --tls-key) must be given together");
  }
  if (c.tls_redirect_port < 0 || c.tls_redirect_port > 65535) {
    return Status::InvalidArgument("tls_redirect_port must be 0..65535");
  }
  if (c.tls_redirect_port != 0 && !TlsEnabled(c)) {
    return Status::InvalidArgument("tls_redirect_port (--tls-redirect-port) needs tls_cert and tls_key");
  }
  if (c.tls_redirect_port != 0 && c.tls_redirect_port == port) {
    return Status::InvalidArgument("tls_redirect_port must differ from the listen port");
  }
  if (!TlsEnabled(c) && !c.insecure_listen && !IsLoopbackHost(host)) {
    return Status::InvalidArgument(
        "listen: " + c.listen +
        " is not a loopback address, and without TLS the server listens on loopback only: give "
        "--tls-cert and --tls-key (tls_cert, tls_key) to serve HTTPS there, or --insecure-listen "
        "(insecure_listen = true) to serve plain HTTP on it, e.g. behind a TLS-terminating proxy");
  }
  return Status::Ok();
}

bool TlsEnabled(const ServerConfig& config) { return !config.tls_cert.empty() && !config.tls_key.empty(); }

bool IsLoopbackHost(const std::string& host) {
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

std::string StoreUrlFor(const ServerConfig& config) {
  return config.store_url.empty() ? store::UrlForDataDir(config.data_dir) : config.store_url;
}

Result<std::string> StorePassword(const ServerConfig& config) {
  if (config.store_password_file.empty()) return std::string();
  auto password = ReadSecretFile(config.store_password_file);
  if (!password.ok()) return Status::InvalidArgument("store.password_file: " + password.status().message());
  return password;
}

pipeline::EngineOptions EngineOptionsFor(const ServerConfig& config) {
  auto o = pipeline::DefaultEngineOptions(config.max_customers_per_identifier, config.text_analysis);
  if (o.ok()) return std::move(*o);
  // Text data missing (e.g. OpenCC tables): serve without text analysis rather than not at all.
  spdlog::warn("text analysis unavailable, messages are stored without it: {}", o.status().message());
  return *pipeline::DefaultEngineOptions(config.max_customers_per_identifier, false);
}

}  // namespace touchpoint::server
