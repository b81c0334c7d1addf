// [channels] of touchpoint.toml (docs/service-desk.md "Channels"):
//
//   [channels]
//   csat_secret_file = "/etc/touchpoint/csat.secret"   # or csat_secret = "…" (≥ 16 bytes)
//   csat_link = "https://support.example.com/csat"      # the survey page; ?ticket=…&token=… added
//   csat_reply_window_days = 7
//   max_attachment_bytes = 10485760
//   attachment_types = ["application/pdf", "image/png", "image/jpeg"]
//   [channels.email]                 # default when [email] is set: kind = "email"
//   csat = true
//   [channels.social]
//   kind = "webhook"
//   webhook = "wechat-gateway"       # a [[webhooks]] name
//   csat_template = "请为本次服务打分（1-5）：{ticket} {link}"
#include "server/outbox_config_internal.h"

#include <touchpoint/core/secret_file.h>

namespace touchpoint::server {
namespace {

Status Wrong(const std::string& path, const std::string& key, std::string_view want) {
  return Status::InvalidArgument(path + ": option '" + key + "' must be " + std::string(want));
}

Status String(const std::string& path, const std::string& key, const toml::node& n, std::string* out) {
  if (!n.is_string()) return Wrong(path, key, "a string");
  *out = *n.value<std::string>();
  return Status::Ok();
}

Status Connector(const std::string& path, const std::string& name, const toml::table& t, service::ChannelConnector* c) {
  for (const auto& [k, n] : t) {
    const std::string key = "channels." + name + "." + std::string(k.str());
    if (k.str() == "kind") {
      TP_RETURN_IF_ERROR(String(path, key, n, &c->kind));
    } else if (k.str() == "webhook") {
      TP_RETURN_IF_ERROR(String(path, key, n, &c->webhook));
    } else if (k.str() == "csat_template") {
      TP_RETURN_IF_ERROR(String(path, key, n, &c->csat_template));
    } else if (k.str() == "csat") {
      if (!n.is_boolean()) return Wrong(path, key, "true or false");
      c->csat = *n.value<bool>();
    } else {
      return Status::InvalidArgument(path + ": unknown option '" + key + "'");
    }
  }
  if (c->kind.empty()) c->kind = name == "email" ? "email" : "webhook";
  return Status::Ok();
}

}  // namespace

Status ApplyChannelsConfig(const std::string& path, const toml::node& node, ServerConfig* config) {
  const toml::table* t = node.as_table();
  if (t == nullptr) return Wrong(path, "channels", "a table ([channels])");
  service::ChannelOptions& o = config->channels;
  for (const auto& [k, n] : *t) {
    const std::string key = "channels." + std::string(k.str());
    if (k.str() == "csat_secret") {
      TP_RETURN_IF_ERROR(String(path, key, n, &o.csat_secret));
    } else if (k.str() == "csat_secret_file") {
      std::string file;
      TP_RETURN_IF_ERROR(String(path, key, n, &file));
      auto secret = ReadSecretFile(file);
      if (!secret.ok()) return secret.status().WithContext(key);
      o.csat_secret = std::move(*secret);
    } else if (k.str() == "csat_link") {
      TP_RETURN_IF_ERROR(String(path, key, n, &o.csat_link));
    } else if (k.str() == "csat_reply_window_days") {
      auto v = n.value<std::int64_t>();
      if (!n.is_integer() || !v || *v < 0 || *v > 365) return Wrong(path, key, "an integer in 0…365");
      o.csat_reply_window = *v * kMillisPerDay;
    } else if (k.str() == "max_attachment_bytes") {
      auto v = n.value<std::int64_t>();
      if (!n.is_integer() || !v || *v < 1 || *v > (std::int64_t{100} << 20)) {
        return Wrong(path, key, "an integer in 1…104857600");
      }
      o.max_attachment_bytes = *v;
    } else if (k.str() == "attachment_types") {
      const toml::array* a = n.as_array();
      if (a == nullptr) return Wrong(path, key, "an array of content types");
      o.attachment_types.clear();
      for (const auto& item : *a) {
        if (!item.is_string()) return Wrong(path, key, "an array of content types");
        o.attachment_types.push_back(*item.value<std::string>());
      }
    } else if (const toml::table* sub = n.as_table()) {
      service::ChannelConnector c;
      c.kind.clear();
      TP_RETURN_IF_ERROR(Connector(path, std::string(k.str()), *sub, &c));
      o.connectors[std::string(k.str())] = std::move(c);
    } else {
      return Status::InvalidArgument(path + ": unknown option '" + key + "'");
    }
  }
  return Status::Ok();
}

}  // namespace touchpoint::server
