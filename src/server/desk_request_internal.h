// server/desk_request_internal.h — how the service desk's route files (routes_desk, routes_agents,
// routes_sla, routes_deskflow, routes_channels) read a request and answer an error: one set, so
// that a ticket number, a page limit, a body's unknown field or a desk conflict is parsed, named
// and answered alike on every desk route. Defined in desk_request.cc.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <touchpoint/core/result.h>
#include <touchpoint/core/status.h>
#include <touchpoint/core/time.h>
#include <touchpoint/http/server.h>
#include <touchpoint/service/desk.h>

#include "server/router.h"

namespace touchpoint::server::desk_http {

using Json = nlohmann::ordered_json;

// A list's page: ?limit= from 1 to kMaxPage, kDefaultPage when absent.
inline constexpr int kDefaultPage = 50;
inline constexpr int kMaxPage = 500;

// An instant as the desk's JSON shows it: RFC 3339, null for 0 (not yet).
Json Time(Millis t);

// A desk error: kFailedPrecondition (a ticket's state forbids the change) is 409 "conflict";
// everything else as ResponseFromStatus maps it.
http::Response Error(const Status& s);

// 503: a part of the desk this node does not run (a follower's handlers never run: writer routes
// are forwarded).
inline constexpr std::string_view kDeskNotRunning = "the service desk is not running on this node";
http::Response Unavailable(std::string_view message = kDeskNotRunning);

// Who calls, for the desk: the session's user, or an API key (no user: it cannot change tickets
// as an agent or supervisor, having no queue) named as the audit log names it.
service::Actor ActorOf(const http::Request& req, const RouteMatch& match);

// The route's {number}: "TP-000123" or "123"; kInvalidArgument naming "number" otherwise.
Result<std::int64_t> NumberParam(const RouteMatch& match);

// A decimal whole number (digits only, fits in 64 bits); nullopt otherwise.
std::optional<std::int64_t> ParseDigits(std::string_view text);

// A page's limit: 1 to kMaxPage; kInvalidArgument naming "limit" otherwise.
Result<int> ParsePageLimit(std::string_view text);
// ?limit= as ParsePageLimit reads it; kDefaultPage when absent.
Result<int> LimitParam(const http::Request& req);

// The body as a JSON object whose fields are all among `allowed`; kInvalidArgument naming the
// body or the first unknown field.
Result<Json> ParseObject(const std::string& body, std::initializer_list<std::string_view> allowed);

// The string field `name` of `j`: nullopt when absent or null (kInvalidArgument "<name>: required"
// when `required`); kInvalidArgument when not a string.
Result<std::optional<std::string>> StringField(const Json& j, std::string_view name, bool required);

// The field `name` of `j` as a list of strings (absent or null: empty); kInvalidArgument naming it.
Result<std::vector<std::string>> StringList(const Json& j, std::string_view name);

}  // namespace touchpoint::server::desk_http
