#include "server/outbox_config_internal.h"

#include <limits>

#include <touchpoint/core/secret_file.h>

namespace touchpoint::server {
namespace {

Status Wrong(const std::string& path, const std::string& key, std::string_view want) {
  return Status::InvalidArgument(path + ": option '" + key + "' must be " + std::string(want));
}

Status GetString(const std::string& path, const std::string& key, const toml::node& n, std::string* out) {
  if (!n.is_string()) return Wrong(path, key, "a string");
  *out = *n.value<std::string>();
  return Status::Ok();
}

Status GetInt(const std::string& path, const std::string& key, const toml::node& n, std::int64_t lo, std::int64_t hi,
              std::int64_t* out) {
  auto v = n.value<std::int64_t>();
  if (!n.is_integer() || !v || *v < lo || *v > hi) {
    return Wrong(path, key, "an integer in " + std::to_string(lo) + "…" + std::to_string(hi));
  }
  *out = *v;
  return Status::Ok();
}

Status GetSecretFile(const std::string& path, const std::string& key, const toml::node& n, std::string* out) {
  std::string file;
  TP_RETURN_IF_ERROR(GetString(path, key, n, &file));
  auto secret = ReadSecretFile(file);
  if (!secret.ok()) return secret.status().WithContext(key);
  *out = std::move(*secret);
  return Status::Ok();
}

Status Unknown(const std::string& path, const std::string& key) {
  return Status::InvalidArgument(path + ": unknown option '" + key + "' (see docs/operations.md)");
}

Status ApplyWebhook(const std::string& path, const toml::table& t, size_t index, ServerConfig* c) {
  outbox::WebhookEndpoint e;
  const std::string where = "webhooks[" + std::to_string(index) + "]";
  for (const auto& [k, n] : t) {
    const std::string key = where + "." + std::string(k.str());
    std::int64_t v = 0;
    if (k.str() == "name") {
      TP_RETURN_IF_ERROR(GetString(path, key, n, &e.name));
    } else if (k.str() == "url") {
      TP_RETURN_IF_ERROR(GetString(path, key, n, &e.url));
    } else if (k.str() == "secret") {
      TP_RETURN_IF_ERROR(GetString(path, key, n, &e.secret));
    } else if (k.str() == "secret_file") {
      TP_RETURN_IF_ERROR(GetSecretFile(path, key, n, &e.secret));
    } else if (k.str() == "events") {
      const toml::array* a = n.as_array();
      if (a == nullptr) return Wrong(path, key, "an array of strings");
      for (const toml::node& item : *a) {
        if (!item.is_string()) return Wrong(path, key, "an array of strings");
        e.events.push_back(*item.value<std::string>());
      }
    } else if (k.str() == "timeout_seconds") {
      TP_RETURN_IF_ERROR(GetInt(path, key, n, 1, 600, &v));
      e.timeout_ms = static_cast<int>(v * 1000);
    } else if (k.str() == "concurrency") {
      TP_RETURN_IF_ERROR(GetInt(path, key, n, 1, 64, &v));
      e.concurrency = static_cast<int>(v);
    } else {
      return Unknown(path, key);
    }
  }
  c->outbox.webhooks.push_back(std::move(e));
  return Status::Ok();
}

}  // namespace

bool IsOutboxConfigKey(std::string_view key) { return key == "webhooks" || key == "email" || key == "outbox"; }

Status ApplyOutboxConfig(const std::string& path, std::string_view key, const toml::node& node, ServerConfig* c) {
  if (key == "webhooks") {  // [[webhooks]]: an array of tables
    const toml::array* a = node.as_array();
    if (a == nullptr) return Wrong(path, "webhooks", "an array of tables ([[webhooks]])");
    for (size_t i = 0; i < a->size(); ++i) {
      const toml::table* t = (*a)[i].as_table();
      if (t == nullptr) return Wrong(path, "webhooks", "an array of tables ([[webhooks]])");
      TP_RETURN_IF_ERROR(ApplyWebhook(path, *t, i, c));
    }
    return Status::Ok();
  }
  const toml::table* t = node.as_table();
  if (t == nullptr) return Wrong(path, std::string(key), "a table ([" + std::string(key) + "])");
  for (const auto& [k, n] : *t) {
    const std::string name = std::string(key) + "." + std::string(k.str());
    std::int64_t v = 0;
    if (key == "email") {
      outbox::SmtpOptions& s = c->outbox.smtp;
      if (k.str() == "host") {
        TP_RETURN_IF_ERROR(GetString(path, name, n, &s.host));
      } else if (k.str() == "port") {
        TP_RETURN_IF_ERROR(GetInt(path, name, n, 1, 65535, &v));
        s.port = static_cast<int>(v);
      } else if (k.str() == "tls") {
        TP_RETURN_IF_ERROR(GetString(path, name, n, &s.tls));
      } else if (k.str() == "username") {
        TP_RETURN_IF_ERROR(GetString(path, name, n, &s.username));
      } else if (k.str() == "password_file") {
        TP_RETURN_IF_ERROR(GetSecretFile(path, name, n, &s.password));
      } else if (k.str() == "from") {
        TP_RETURN_IF_ERROR(GetString(path, name, n, &s.from));
      } else if (k.str() == "from_name") {
        TP_RETURN_IF_ERROR(GetString(path, name, n, &s.from_name));
      } else if (k.str() == "message_id_domain") {
        TP_RETURN_IF_ERROR(GetString(path, name, n, &s.message_id_domain));
      } else if (k.str() == "timeout_seconds") {
        TP_RETURN_IF_ERROR(GetInt(path, name, n, 1, 600, &v));
        s.timeout_ms = static_cast<int>(v * 1000);
      } else if (k.str() == "concurrency") {
        TP_RETURN_IF_ERROR(GetInt(path, name, n, 1, 64, &v));
        s.concurrency = static_cast<int>(v);
      } else {
        return Unknown(path, name);
      }
      continue;
    }
    outbox::RetryPolicy& r = c->outbox.retry;  // [outbox]
    if (k.str() == "max_attempts") {
      TP_RETURN_IF_ERROR(GetInt(path, name, n, 1, 100, &v));
      r.max_attempts = static_cast<int>(v);
    } else if (k.str() == "initial_backoff_seconds") {
      TP_RETURN_IF_ERROR(GetInt(path, name, n, 1, 86'400, &v));
      r.initial_backoff = v * 1000;
    } else if (k.str() == "max_backoff_seconds") {
      TP_RETURN_IF_ERROR(GetInt(path, name, n, 1, 7 * 86'400, &v));
      r.max_backoff = v * 1000;
    } else if (k.str() == "jitter") {
      auto j = n.value<double>();
      if (!j || *j < 0 || *j > 1) return Wrong(path, name, "a number in 0…1");
      r.jitter = *j;
    } else if (k.str() == "keep_delivered_days") {
      TP_RETURN_IF_ERROR(GetInt(path, name, n, 0, 3650, &v));
      c->outbox.keep_delivered = v * kMillisPerDay;
    } else {
      return Unknown(path, name);
    }
  }
  return Status::Ok();
}

}  // namespace touchpoint::server
