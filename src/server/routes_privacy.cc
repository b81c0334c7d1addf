// A person's subject rights over HTTP (docs/security.md, "Subject rights: export and erasure"):
//   POST /v1/privacy/exports    {"identifier": "phone:…"}                 → the export document
//   POST /v1/privacy/erasures   {"identifier": "phone:…", "reason": "…"}  → the signed receipt
// Both need the `subject_request` permission (admin; the customer's own self-service token for
// its own person once the consent branch connects it), run on the writer, and are audited.
#include <string>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <touchpoint/insight/segment_index.h>
#include <touchpoint/store/store.h>
#include <touchpoint/wiring/subject_rights.h>

#include "server/routes.h"

namespace touchpoint::server {
namespace {

struct SubjectBody {
  std::string identifier;
  std::string reason;
};

Result<SubjectBody> ParseBody(const http::Request& req) {
  nlohmann::json j = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument("expected a JSON object {\"identifier\": \"kind:value\"}");
  }
  SubjectBody b;
  if (!j.contains("identifier") || !j["identifier"].is_string() || j["identifier"].get<std::string>().empty()) {
    return Status::InvalidArgument("identifier: a string \"kind:value\" (phone:…, email:…) or a customer id");
  }
  b.identifier = j["identifier"].get<std::string>();
  if (j.contains("reason")) {
    if (!j["reason"].is_string()) return Status::InvalidArgument("reason: a string");
    b.reason = j["reason"].get<std::string>();
  }
  return b;
}

http::Response Unavailable(std::string_view what) { return http::JsonError(503, "unavailable", std::string(what)); }

}  // namespace

void RegisterPrivacyRoutes(Router& router, const ServerContext& context) {
  router.Add({"POST", "/v1/privacy/exports", privacy::Permission::kSubjectRequest,
              [&context](const http::Request& req, const RouteMatch& match) {
                if (context.rights == nullptr || context.engine == nullptr) {
                  return Unavailable("exports run on the writer");
                }
                auto body = ParseBody(req);
                if (!body.ok()) return ResponseFromStatus(body.status());
                std::scoped_lock lock(context.rights->mu);
                auto exported = wiring::ExportPerson(*context.engine, *context.rights->reader, body->identifier,
                                                     AuditActor(req, match), context.audit,
                                                     SystemClock::Instance().Now());
                if (!exported.ok()) return ResponseFromStatus(exported.status());
                if (context.log != nullptr) {
                  context.log->info("subject export events={} messages={}", exported->counts.events,
                                    exported->counts.messages);
                }
                return JsonResponse(200, std::move(exported->json));
              }});
  router.Add({"POST", "/v1/privacy/erasures", privacy::Permission::kSubjectRequest,
              [&context](const http::Request& req, const RouteMatch& match) {
                if (context.rights == nullptr || context.engine == nullptr) {
                  return Unavailable("erasures run on the writer");
                }
                auto body = ParseBody(req);
                if (!body.ok()) return ResponseFromStatus(body.status());
                wiring::ErasureOptions o;
                o.signer = context.rights->signer;
                o.audit = context.audit;
                o.shred = context.rights->shred;
                o.backend = context.rights->backend;
                auto erased = wiring::ErasePerson(*context.engine, body->identifier, AuditActor(req, match),
                                                  body->reason, o);
                if (!erased.ok()) return ResponseFromStatus(erased.status());
                if (context.segments != nullptr) context.segments->OnCustomersChanged(erased->facts.subject.members);
                if (context.log != nullptr) {
                  // Counts and the erasure id only: nothing that names the person.
                  context.log->info("subject erasure id={} events={} identifiers={} customers={}",
                                    erased->facts.erasure_id, erased->facts.counts.events,
                                    erased->facts.counts.identifiers, erased->facts.counts.customers);
                  if (!erased->audit_status.ok()) {
                    context.log->error("audit entry not recorded action=subject.erase error={}",
                                       erased->audit_status.message());
                  }
                }
                return JsonResponse(200, std::move(erased->receipt));
              }});
}

}  // namespace touchpoint::server
