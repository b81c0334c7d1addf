// Tracking routes (Segment's HTTP Tracking API): one message per call, or a batch.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <touchpoint/ingest/parser.h>

#include "server/routes.h"

namespace touchpoint::server {
namespace {

// 415 unless the body is sent as JSON (or text/plain, or without a Content-Type).
std::optional<http::Response> CheckContentType(const http::Request& req) {
  if (const std::string* ct = req.Header("content-type")) {
    if (ct->find("json") == std::string::npos && ct->rfind("text/plain", 0) != 0) {
      return http::JsonError(415, "unsupported_media_type", "send the body as application/json");
    }
  }
  return std::nullopt;
}

// The engine refuses writes once a commit failed (fenced, or the database went away): the node
// is told, so that a writer of several steps down (server/node.h).
http::Response SubmitFailed(const ServerContext& context, const Status& status) {
  context.log->error("submit failed error={}", status.message());
  if (context.node != nullptr) context.node->ReportWriteFailure(status);
  http::Response r = http::JsonError(503, "unavailable", "events could not be stored; retry later");
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

http::Response Track(const ServerContext& context, const http::Request& req, std::string_view type) {
  if (auto refused = CheckContentType(req)) return std::move(*refused);
  const size_t max_message_bytes = context.config->max_message_bytes;
  if (req.body.size() > max_message_bytes) {
    return http::JsonError(413, "payload_too_large",
                           "a message may have at most " + std::to_string(max_message_bytes) + " bytes");
  }
  thread_local ingest::Parser parser;  // one per worker thread
  auto event = parser.ParseTyped(req.body, type);
  if (!event.ok()) {
    context.metrics->AddEvents(0, 1, 0);
    return http::JsonError(400, "invalid_message", event.status().message());
  }
  std::vector<ingest::Event> events;
  events.push_back(std::move(*event));
  auto submitted = context.engine->Submit(std::move(events));
  if (!submitted.ok()) return SubmitFailed(context, submitted.status());
  context.metrics->AddEvents(submitted->accepted, 0, submitted->duplicates);
  return JsonResponse(200, "{\"success\":true}");
}

http::Response Batch(const ServerContext& context, const http::Request& req) {
  if (auto refused = CheckContentType(req)) return std::move(*refused);
  const size_t max_message_bytes = context.config->max_message_bytes;
  thread_local ingest::Parser parser;
  auto items = parser.ParseBatch(req.body);
  if (!items.ok()) {
    return http::JsonError(400, "invalid_batch", items.status().message());
  }
  std::vector<ingest::Event> events;
  events.reserve(items->size());
  nlohmann::ordered_json rejected = nlohmann::ordered_json::array();
  for (size_t i = 0; i < items->size(); ++i) {
    auto& item = (*items)[i];
    std::string reason;
    if (!item.event.ok()) {
      reason = item.event.status().message();
    } else if (item.event->body.size() > max_message_bytes) {
      reason = "message exceeds " + std::to_string(max_message_bytes) + " bytes";
    } else {
      events.push_back(std::move(*item.event));
      continue;
    }
    rejected.push_back({{"index", i}, {"messageId", item.message_id}, {"reason", reason}});
  }
  if (!events.empty()) {
    auto submitted = context.engine->Submit(std::move(events));
    if (!submitted.ok()) return SubmitFailed(context, submitted.status());
    context.metrics->AddEvents(submitted->accepted, static_cast<std::int64_t>(rejected.size()),
                               submitted->duplicates);
  } else {
    context.metrics->AddEvents(0, static_cast<std::int64_t>(rejected.size()), 0);
  }
  if (rejected.empty()) return JsonResponse(200, "{\"success\":true}");
  nlohmann::ordered_json body = {{"success", true}, {"rejected", std::move(rejected)}};
  return JsonResponse(200, body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
}

}  // namespace

void RegisterTrackingRoutes(Router& router, const ServerContext& context) {
  static constexpr std::string_view kTypes[] = {"identify", "track", "page", "alias", "screen", "group"};
  for (std::string_view type : kTypes) {
    const std::string pattern = "/v1/" + std::string(type);
    router.Add({"POST", pattern, privacy::Permission::kTrack,
                [&context, type](const http::Request& req, const RouteMatch&) {
                  return Track(context, req, type);
                }});
  }
  router.Add({"POST", "/v1/batch", privacy::Permission::kTrack,
              [&context](const http::Request& req, const RouteMatch&) { return Batch(context, req); }});
}

}  // namespace touchpoint::server
