// Segment routes: saved segments (insight::SegmentIndex) with live counts, their members, and a
// preview of a rule; plus the post-commit adapter that keeps the counts current.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <touchpoint/insight/segment_index.h>
#include <touchpoint/profile/segment.h>

#include "server/routes.h"

namespace touchpoint::server {
namespace {

using Json = nlohmann::ordered_json;

// An export is answered in one body: beyond this the CLI (`touchpoint segment export`) is the
// way (it writes to a file as it goes).
constexpr size_t kMaxExportBytes = 256u << 20;
constexpr size_t kMaxDescriptionBytes = 1000;

// The hook's adapter: each committed batch's customers are re-evaluated in every segment.
class SegmentObserver final : public pipeline::CommitObserver {
 public:
  explicit SegmentObserver(insight::SegmentIndex& index) : index_(index) {}
  void OnCommitted(std::span<const pipeline::CommittedEvent> events) override {
    customers_.clear();
    for (const pipeline::CommittedEvent& e : events) {
      if (customers_.empty() || customers_.back() != e.customer) customers_.push_back(e.customer);
    }
    index_.OnCustomersChanged(customers_);
  }

 private:
  insight::SegmentIndex& index_;
  std::vector<CustomerId> customers_;  // reused: the hook calls one at a time
};

// The body of PUT /v1/segments/{name} and POST /v1/segments/preview.
struct SegmentBody {
  std::string rule;
  std::string description;
};

Result<SegmentBody> ParseBody(const std::string& body, bool with_description) {
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument(with_description
                                       ? R"(expected a JSON object {"rule": "…", "description": "…"})"
                                       : R"(expected a JSON object {"rule": "…"})");
  }
  SegmentBody out;
  bool has_rule = false;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "rule") {
      if (!it.value().is_string()) return Status::InvalidArgument("rule: expected a string");
      out.rule = it.value().get<std::string>();
      has_rule = true;
    } else if (it.key() == "description" && with_description) {
      if (!it.value().is_string()) return Status::InvalidArgument("description: expected a string");
      out.description = it.value().get<std::string>();
      if (out.description.size() > kMaxDescriptionBytes) {
        return Status::InvalidArgument("description: at most " + std::to_string(kMaxDescriptionBytes) +
                                       " bytes");
      }
    } else {
      return Status::InvalidArgument("unknown field \"" + it.key() + "\"");
    }
  }
  if (!has_rule) return Status::InvalidArgument("rule: required");
  return out;
}

// The value of `key` in a query string ("format=csv&x=1"); nullopt when absent. Values here are
// plain words, so no percent-decoding is needed.
std::optional<std::string_view> QueryParam(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == key)
      return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

http::Response Members(const ServerContext& context, const http::Request& req, const RouteMatch& match) {
  const std::string_view name = match.Param("name");
  if (Status s = insight::SegmentIndex::ValidateName(name); !s.ok()) return ResponseFromStatus(s);
  const std::string_view format_text = QueryParam(req.query, "format").value_or("csv");
  auto format = insight::ParseSegmentExportFormat(format_text);
  if (!format.ok()) return ResponseFromStatus(format.status());
  auto policy = RequestMaskPolicy(context, req, match);
  if (!policy.ok()) return ResponseFromStatus(policy.status());
  if (Status s = AuditReveal(context, req, match, "segment:" + std::string(name), *policy); !s.ok()) {
    return ResponseFromStatus(s);
  }
  http::Response r;
  auto exported = context.segments->Export(name, *format, *policy, [&](std::string_view chunk) {
    if (r.body.size() + chunk.size() > kMaxExportBytes) {
      return Status::FailedPrecondition("the export is larger than 256 MB; use `touchpoint segment export`");
    }
    r.body.append(chunk);
    return Status::Ok();
  });
  if (!exported.ok()) return ResponseFromStatus(exported.status());
  const bool csv = *format == insight::SegmentExportFormat::kCsv;
  r.content_type = csv ? "text/csv; charset=utf-8" : "application/x-ndjson";
  r.headers.emplace_back("Content-Disposition",
                         "attachment; filename=\"" + std::string(name) + (csv ? ".csv\"" : ".ndjson\""));
  return r;
}

}  // namespace

std::shared_ptr<pipeline::CommitObserver> MakeSegmentObserver(insight::SegmentIndex& index) {
  return std::make_shared<SegmentObserver>(index);
}

void RegisterSegmentRoutes(Router& router, const ServerContext& context) {
  router.Add({"GET", "/v1/segments", privacy::Permission::kReadSegments,
              [&context](const http::Request&, const RouteMatch&) {
                std::string body = "{\"segments\":[";
                bool first = true;
                for (const insight::SavedSegment& s : context.segments->List()) {
                  if (!first) body += ',';
                  first = false;
                  body += insight::SavedSegmentJson(s);
                }
                body += "]}";
                return JsonResponse(200, std::move(body));
              }});

  router.Add({"PUT", "/v1/segments/{name}", privacy::Permission::kManageSegments,
              [&context](const http::Request& req, const RouteMatch& match) {
                auto body = ParseBody(req.body, /*with_description=*/true);
                if (!body.ok()) return ResponseFromStatus(body.status());
                bool created = false;
                auto s =
                    context.segments->Define(match.Param("name"), body->rule, body->description, &created);
                if (!s.ok()) return ResponseFromStatus(s.status());
                // The rule is not recorded: it may name values (a city, a phone prefix).
                RecordAudit(context, req, match, created ? "segment.create" : "segment.update",
                            "segment:" + std::string(match.Param("name")));
                return JsonResponse(created ? 201 : 200, insight::SavedSegmentJson(*s));
              }});

  router.Add({"GET", "/v1/segments/{name}", privacy::Permission::kReadSegments,
              [&context](const http::Request&, const RouteMatch& match) {
                const std::string_view name = match.Param("name");
                if (Status v = insight::SegmentIndex::ValidateName(name); !v.ok())
                  return ResponseFromStatus(v);
                auto s = context.segments->Get(name);
                if (!s.ok()) return ResponseFromStatus(s.status());
                return JsonResponse(200, insight::SavedSegmentJson(*s));
              }});

  router.Add({"DELETE", "/v1/segments/{name}", privacy::Permission::kManageSegments,
              [&context](const http::Request& req, const RouteMatch& match) {
                const std::string_view name = match.Param("name");
                Status s = context.segments->Delete(name);
                if (!s.ok()) return ResponseFromStatus(s);
                RecordAudit(context, req, match, "segment.delete", "segment:" + std::string(name));
                Json body = {{"deleted", std::string(name)}};
                return JsonResponse(200, body.dump());
              }});

  router.Add({"GET", "/v1/segments/{name}/members", privacy::Permission::kReadSegments,
              [&context](const http::Request& req, const RouteMatch& match) {
                return Members(context, req, match);
              }});

  router.Add({"POST", "/v1/segments/preview", privacy::Permission::kReadSegments,
              [&context](const http::Request& req, const RouteMatch&) {
                auto body = ParseBody(req.body, /*with_description=*/false);
                if (!body.ok()) return ResponseFromStatus(body.status());
                auto segment = profile::Segment::Compile(body->rule);
                if (!segment.ok()) return ResponseFromStatus(segment.status());
                auto count = context.segments->Preview(segment->text());
                if (!count.ok()) return ResponseFromStatus(count.status());
                Json out = {{"rule", segment->text()},
                            {"count", *count},
                            {"depends_on_as_of", segment->depends_on_as_of()},
                            {"as_of", FormatTimestamp(context.engine->newest_event_at())}};
                return JsonResponse(200, out.dump());
              }});
}

}  // namespace touchpoint::server
