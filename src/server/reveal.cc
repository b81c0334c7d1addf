// Masking of personal data per request, and the reveal of named fields (privacy issue, item 3).
#include <algorithm>
#include <string>

#include <nlohmann/json.hpp>
#include <touchpoint/http/query.h>
#include <touchpoint/privacy/audit.h>

#include "server/routes.h"

namespace touchpoint::server {

Result<privacy::MaskPolicy> RequestMaskPolicy(const ServerContext& context, const http::Request& req,
                                              const RouteMatch& match) {
  const privacy::Masker& masker = context.masker != nullptr ? *context.masker : privacy::DefaultMasker();
  TP_ASSIGN_OR_RETURN(std::optional<std::string> fields, http::QueryParam(req.query, "reveal"));
  if (!fields.has_value() || fields->empty()) return privacy::MaskPolicy::Masked(masker);
  TP_ASSIGN_OR_RETURN(std::optional<std::string> reason, http::QueryParam(req.query, "reason"));
  TP_ASSIGN_OR_RETURN(privacy::RevealRequest reveal, privacy::ParseRevealRequest(*fields, reason.value_or("")));
  const auto& roles = context.config->reveal_roles;
  const std::string_view role = match.role() ? privacy::RoleName(*match.role()) : std::string_view();
  if (role.empty() || std::find(roles.begin(), roles.end(), role) == roles.end()) {
    const std::string_view who = match.principal() != nullptr ? match.principal()->noun() : "caller";
    return Status::PermissionDenied("this " + std::string(who) + "'s role (" + std::string(role) +
                                    ") may not reveal personal data; [privacy] reveal_roles names the roles that may");
  }
  return privacy::MaskPolicy::Masked(masker, std::move(reveal));
}

Status AuditReveal(const ServerContext& context, const http::Request& req, const RouteMatch& match, std::string_view target,
                   const privacy::MaskPolicy& policy) {
  if (policy.reveal.empty()) return Status::Ok();
  if (context.audit == nullptr) {
    return Status::Unavailable(
        "a reveal is recorded in the audit log by the writer node: send it to the writer (GET /healthz names it)");
  }
  const privacy::Masker& masker = policy.masker != nullptr ? *policy.masker : privacy::DefaultMasker();
  nlohmann::json details = {{"fields", policy.reveal.fields}, {"reason", masker.MaskText(policy.reveal.reason)}};
  Status s = context.audit->Record(AuditActor(req, match), "pii.reveal", target, details.dump());
  if (!s.ok()) return Status::Unavailable("the reveal could not be recorded in the audit log; nothing was revealed");
  return Status::Ok();
}

}  // namespace touchpoint::server
