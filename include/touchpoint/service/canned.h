// service/canned.h — canned replies: named texts with {{placeholders}} that an agent inserts into
// a reply (docs/service-desk.md, "Canned replies, tags, search, auto-close").
//
//   {{customer.name}}  {{customer.id}}
//   {{ticket.number}}  {{ticket.subject}}  {{ticket.status}}  {{ticket.priority}}  {{ticket.channel}}  {{ticket.queue}}
//   {{agent.name}}     {{agent.email}}
//
// Whitespace inside the braces is allowed ({{ ticket.number }}). A body naming any other
// placeholder is refused when saved and when rendered (kInvalidArgument naming it: HTTP 400). A
// known placeholder without a value (a customer without a name trait) renders as "".
// Pure functions plus a repository front (store/deskflow_repository.h); thread-safe as their store.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/store/deskflow_repository.h>
#include <touchpoint/store/store.h>

namespace touchpoint::service {

// The placeholders of `body` in order of appearance (duplicates kept); kInvalidArgument for an
// unclosed "{{" or an unknown placeholder: `body: unknown placeholder {{customer.age}} (known: …)`.
Result<std::vector<std::string>> CannedPlaceholdersOf(std::string_view body);

// `body` with each placeholder replaced by values[name] ("" when absent). kInvalidArgument as
// CannedPlaceholdersOf.
Result<std::string> RenderCanned(std::string_view body, const std::map<std::string, std::string>& values);

// kInvalidArgument naming the field: name ([a-z0-9_.-], 1–64 bytes), title (≤ 200 bytes), body
// (1–10000 bytes, placeholders known).
Status CheckCanned(const store::CannedReplyRecord& reply);

// Saves `reply` (created_at kept when it exists; updated_at = now). Returns it as stored.
Result<store::CannedReplyRecord> PutCanned(store::Store& store, store::CannedReplyRecord reply, Millis now);

}  // namespace touchpoint::service
