// A person's subject rights over HTTP (docs/security.md, "Subject rights: export and erasure"):
//   POST /v1/privacy/exports    {"identifier": "phone:…"}                 → the export document
//                               (?format=zip or Accept: application/zip: a zip of CSV files)
//   POST /v1/privacy/erasures   {"identifier": "phone:…", "reason": "…"}  → the signed receipt
// Both need the `subject_request` permission (admin, and a customer's self-service token for its
// own person only: Route::customer_self), run on the writer, and are audited (a customer's own
// request with the customer as actor: "customer:<id>/token:<token id>").
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <touchpoint/http/query.h>
#include <touchpoint/insight/segment_index.h>
#include <touchpoint/privacy/export_archive.h>
#include <touchpoint/store/store.h>
#include <touchpoint/wiring/subject_rights.h>

#include "server/routes.h"

namespace touchpoint::server {
namespace {

struct SubjectBody {
  std::string identifier;
  std::string reason;
};

constexpr std::string_view kNotOwn = "a customer token may only export or erase its own customer";

bool IsCustomerToken(const RouteMatch& match) {
  const Principal* p = match.principal();
  return p != nullptr && p->role == privacy::Role::kCustomer;
}

// A customer token may leave the identifier out (an empty body too): it names its own customer.
Result<SubjectBody> ParseBody(const http::Request& req, bool customer_token) {
  if (customer_token && req.body.find_first_not_of(" \t\r\n") == std::string::npos) return SubjectBody{};
  nlohmann::json j = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument("expected a JSON object {\"identifier\": \"kind:value\"}");
  }
  SubjectBody b;
  const bool has_identifier = j.contains("identifier");
  if ((has_identifier || !customer_token) &&
      (!has_identifier || !j["identifier"].is_string() || j["identifier"].get<std::string>().empty())) {
    return Status::InvalidArgument("identifier: a string \"kind:value\" (phone:…, email:…) or a customer id");
  }
  if (has_identifier) b.identifier = j["identifier"].get<std::string>();
  if (j.contains("reason")) {
    if (!j["reason"].is_string()) return Status::InvalidArgument("reason: a string");
    b.reason = j["reason"].get<std::string>();
  }
  return b;
}

// The export's format: `?format=json|zip`, else `Accept: application/zip` asks for the zip of
// CSV files (privacy/export_archive.h); JSON otherwise.
Result<bool> WantsZip(const http::Request& req) {
  TP_ASSIGN_OR_RETURN(std::optional<std::string> format, http::QueryParam(req.query, "format"));
  if (format) {
    if (*format == "zip") return true;
    if (*format == "json") return false;
    return Status::InvalidArgument("format: json or zip");
  }
  const std::string* accept = req.Header("accept");
  return accept != nullptr && accept->find(privacy::kExportArchiveType) != std::string::npos;
}

http::Response Unavailable(std::string_view what) { return http::JsonError(503, "unavailable", std::string(what)); }

// The person a request is about, as a reference the engine resolves: for staff the identifier as
// sent; for a customer token its own live customer's id — 403 for any identifier that does not
// resolve to it, whether that names another customer or nobody (so the answer does not say
// which: a token learns nothing about who else exists).
std::variant<std::string, http::Response> SubjectRef(const ServerContext& context, const RouteMatch& match,
                                                     const SubjectBody& body) {
  if (!IsCustomerToken(match)) return body.identifier;
  const Principal* p = match.principal();
  if (!p->customer) return http::JsonError(403, "forbidden", std::string(kNotOwn));
  const std::string own = std::to_string(p->customer->customer.value());
  auto data = CustomerForRequest(*context.customers, match, body.identifier.empty() ? own : body.identifier);
  if (!data.ok()) {
    // Their own person, gone (erased or never stored): nothing to export or erase.
    if (body.identifier.empty()) return http::JsonError(404, "not_found", "no customer with this identifier");
    return http::JsonError(403, "forbidden", std::string(kNotOwn));
  }
  return std::to_string(data->id.value());
}

}  // namespace

void RegisterPrivacyRoutes(Router& router, const ServerContext& context) {
  router.Add({"POST", "/v1/privacy/exports", privacy::Permission::kSubjectRequest,
              [&context](const http::Request& req, const RouteMatch& match) {
                if (context.rights == nullptr || context.engine == nullptr) {
                  return Unavailable("exports run on the writer");
                }
                auto zip = WantsZip(req);
                if (!zip.ok()) return ResponseFromStatus(zip.status());
                auto body = ParseBody(req, IsCustomerToken(match));
                if (!body.ok()) return ResponseFromStatus(body.status());
                auto ref = SubjectRef(context, match, *body);
                if (auto* refused = std::get_if<http::Response>(&ref)) return std::move(*refused);
                std::scoped_lock lock(context.rights->mu);
                const Millis now = SystemClock::Instance().Now();
                auto exported = wiring::ExportPerson(*context.engine, *context.rights->reader, std::get<std::string>(ref),
                                                     AuditActor(req, match), context.audit, now);
                if (!exported.ok()) return ResponseFromStatus(exported.status());
                if (context.log != nullptr) {
                  context.log->info("subject export events={} messages={}", exported->counts.events,
                                    exported->counts.messages);
                }
                if (!*zip) return JsonResponse(200, std::move(exported->json));
                auto archive = privacy::ExportArchive(exported->json, now);
                if (!archive.ok()) return ResponseFromStatus(archive.status());
                http::Response r;
                r.content_type = std::string(privacy::kExportArchiveType);
                r.body = std::move(*archive);
                r.headers.emplace_back("Content-Disposition", "attachment; filename=\"export.zip\"");
                r.headers.emplace_back("Cache-Control", "no-store");
                return r;
              },
              Served::kByWriter, /*customer_self=*/true});
  router.Add({"POST", "/v1/privacy/erasures", privacy::Permission::kSubjectRequest,
              [&context](const http::Request& req, const RouteMatch& match) {
                if (context.rights == nullptr || context.engine == nullptr) {
                  return Unavailable("erasures run on the writer");
                }
                auto body = ParseBody(req, IsCustomerToken(match));
                if (!body.ok()) return ResponseFromStatus(body.status());
                auto ref = SubjectRef(context, match, *body);
                if (auto* refused = std::get_if<http::Response>(&ref)) return std::move(*refused);
                wiring::ErasureOptions o;
                o.signer = context.rights->signer;
                o.audit = context.audit;
                o.shred = context.rights->shred;
                o.backend = context.rights->backend;
                auto erased = wiring::ErasePerson(*context.engine, std::get<std::string>(ref), AuditActor(req, match),
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
              },
              Served::kByWriter, /*customer_self=*/true});
}

}  // namespace touchpoint::server
