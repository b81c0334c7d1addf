// server/outbox_config_internal.h — the outbox's part of touchpoint.toml: [[webhooks]], [email]
// and [outbox] (docs/operations.md, docs/outbox.md). Private to src/server.
#pragma once

#include <string>
#include <string_view>

#include <toml++/toml.h>

#include <touchpoint/core/status.h>
#include <touchpoint/server/config.h>

namespace touchpoint::server {

// Whether `key` is one of the outbox's top-level keys ("webhooks", "email", "outbox").
bool IsOutboxConfigKey(std::string_view key);

// Applies the top-level `key` of the file at `path` to config->outbox. Secrets given as files
// (secret_file, password_file) are read here (core/secret_file.h). kInvalidArgument naming the
// option for an unknown key or a value of the wrong type; the outbox's own checks (URL, secret
// length, …) run when the server creates it.
Status ApplyOutboxConfig(const std::string& path, std::string_view key, const toml::node& node, ServerConfig* config);

// [channels] (channels_config.cc): csat_secret(_file), csat_link, csat_reply_window_days,
// max_attachment_bytes, attachment_types, and a table per ticket channel ([channels.email],
// [channels.social], …) with kind, webhook, csat, csat_template.
Status ApplyChannelsConfig(const std::string& path, const toml::node& node, ServerConfig* config);

// [[journeys]] (journeys_config.cc): name, stages = [{name, events, target_dwell_hours}], the
// score's weights; each checked as insight::JourneyReport::Create checks it.
Status ApplyJourneysConfig(const std::string& path, const toml::node& node, ServerConfig* config);

}  // namespace touchpoint::server
