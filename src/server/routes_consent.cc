// Consent and preferences over HTTP (privacy/consent.h), and the issue of customer self-service
// tokens (privacy/customer_token.h). A customer token reaches these routes for its own customer
// only (CustomerForRequest); any other customer answers 404 like an unknown one.
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <touchpoint/core/strings.h>
#include <touchpoint/privacy/audit.h>
#include <touchpoint/privacy/consent.h>
#include <touchpoint/privacy/customer_token.h>

#include "server/routes.h"

namespace touchpoint::server {
namespace {

constexpr std::string_view kNoCustomer = "no customer with this identifier";

// Keeps personal data (an identifier the client sent) out of answers that proxies could log.
http::Response CustomerError(const Status& s) {
  if (s.code() == StatusCode::kNotFound) return http::JsonError(404, "not_found", kNoCustomer);
  return ResponseFromStatus(s);
}

// The body of GET (and POST) …/consents: the state after the rule, and the history.
std::string ConsentAnswer(CustomerId live, const privacy::ConsentState& state,
                          std::span<const store::ConsentRecord> history) {
  return "{\"customer_id\":" + std::to_string(live.value()) + ",\"consents\":" + state.ToJson() +
         ",\"history\":" + privacy::ConsentHistoryJson(history) + "}";
}

class ConsentAuditObserver final : public pipeline::CommitObserver {
 public:
  ConsentAuditObserver(privacy::AuditLog& audit, spdlog::logger* log) : audit_(audit), log_(log) {}
  void OnCommitted(std::span<const pipeline::CommittedEvent> events) override {
    for (const auto& e : events) {
      for (const store::ConsentRecord& r : e.consents) {
        // The event's seq names it (the message id is the client's string).
        store::ConsentRecord audited = r;
        Status s = privacy::AuditConsentRecord(audit_, "pipeline:identify/event:" + std::to_string(e.seq), audited);
        if (!s.ok() && log_ != nullptr) log_->error("audit entry not recorded action=consent.change error={}", s.message());
      }
    }
  }

 private:
  privacy::AuditLog& audit_;
  spdlog::logger* log_;
};

}  // namespace

Result<pipeline::CustomerData> CustomerForRequest(const pipeline::CustomerView& view, const RouteMatch& match,
                                                  std::string_view ref) {
  const Principal* p = match.principal();
  const bool is_customer = p != nullptr && p->role == privacy::Role::kCustomer;
  if (is_customer && !p->customer) return Status::NotFound(std::string(kNoCustomer));  // never without claims
  auto data = view.Find(ref);
  if (!data.ok()) {
    // A customer token learns nothing from a malformed reference either.
    if (is_customer) return Status::NotFound(std::string(kNoCustomer));
    return data.status();
  }
  if (is_customer) {
    // The token names the customer it was issued for; merges since then keep it the same person.
    auto own = view.Find(std::to_string(p->customer->customer.value()));
    if (!own.ok() || own->id != data->id) return Status::NotFound(std::string(kNoCustomer));
  }
  return data;
}

std::shared_ptr<pipeline::CommitObserver> MakeConsentAuditObserver(privacy::AuditLog& audit, spdlog::logger* log) {
  return std::make_shared<ConsentAuditObserver>(audit, log);
}

void RegisterConsentRoutes(Router& router, const ServerContext& context) {
  // GET /v1/customers/{id}/consents: the person's consents (across merged customers) and history.
  router.Add({"GET", "/v1/customers/{id}/consents", privacy::Permission::kReadConsents,
              [&context](const http::Request&, const RouteMatch& match) {
                auto data = CustomerForRequest(*context.customers, match, match.Param("id"));
                if (!data.ok()) return CustomerError(data.status());
                auto history = context.consent->History(data->id);
                if (!history.ok()) return CustomerError(history.status());
                const privacy::ConsentState state = privacy::DecideConsent(*history, context.consent->policy());
                return JsonResponse(200, ConsentAnswer(data->id, state, *history));
              },
              Served::kByWriter, /*customer_self=*/true});

  // POST /v1/customers/{id}/consents {"personalisation":"low","marketing":{"email":true},
  // "wording_version":"v3"}: records the decisions (source "api", or "customer" with a customer
  // token), audits each, and answers like GET.
  router.Add({"POST", "/v1/customers/{id}/consents", privacy::Permission::kManageConsents,
              [&context](const http::Request& req, const RouteMatch& match) {
                auto data = CustomerForRequest(*context.customers, match, match.Param("id"));
                if (!data.ok()) return CustomerError(data.status());
                auto change = privacy::ParseConsentChangeJson(req.body);
                if (!change.ok()) return ResponseFromStatus(change.status());
                const Principal* p = match.principal();
                const auto source = p != nullptr && p->role == privacy::Role::kCustomer ? privacy::ConsentSource::kCustomer
                                                                                         : privacy::ConsentSource::kApi;
                auto changed = context.consent->Change(data->id, *change, source, AuditActor(req, match), context.audit);
                if (!changed.ok()) return CustomerError(changed.status());
                if (!changed->audited.ok() && context.log != nullptr) {
                  context.log->error("audit entry not recorded action=consent.change error={}",
                                     changed->audited.message());
                }
                auto history = context.consent->History(changed->live);
                if (!history.ok()) return ResponseFromStatus(history.status());
                const privacy::ConsentState state = privacy::DecideConsent(*history, context.consent->policy());
                return JsonResponse(200, ConsentAnswer(changed->live, state, *history));
              },
              Served::kByWriter, /*customer_self=*/true});

  // POST /v1/privacy/customer-tokens {"customer":"user:u-1","ttl":"15m"}: a customer
  // self-service token for the company's own login to hand to a customer it has authenticated.
  router.Add({"POST", "/v1/privacy/customer-tokens", privacy::Permission::kIssueCustomerTokens,
              [&context](const http::Request& req, const RouteMatch& match) {
                nlohmann::json body = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
                if (!body.is_object() || !body.contains("customer") || !body["customer"].is_string()) {
                  return http::JsonError(400, "invalid_request",
                                         R"(the body must be {"customer":"kind:value or id"[,"ttl":"15m"]})");
                }
                Millis ttl = privacy::kCustomerTokenDefaultTtl;
                if (body.contains("ttl")) {
                  if (!body["ttl"].is_string()) return http::JsonError(400, "invalid_request", "ttl must be a string like \"15m\"");
                  auto parsed = privacy::ParseTokenTtl(body["ttl"].get<std::string>());
                  if (!parsed.ok()) return ResponseFromStatus(parsed.status());
                  ttl = *parsed;
                }
                if (context.customer_tokens == nullptr) {
                  return http::JsonError(409, "failed_precondition",
                                         "customer tokens need the master key (touchpoint keys init-master)");
                }
                auto data = CustomerForRequest(*context.customers, match, body["customer"].get<std::string>());
                if (!data.ok()) return CustomerError(data.status());
                auto issued = context.customer_tokens->Issue(data->id, SystemClock::Instance().Now(), ttl);
                if (!issued.ok()) return ResponseFromStatus(issued.status());
                RecordAudit(context, req, match, "customer_token.issue", "customer:" + std::to_string(data->id.value()),
                            nlohmann::json({{"token_id", issued->claims.token_id},
                                            {"expires_at", issued->claims.expires_at}})
                                .dump());
                nlohmann::ordered_json answer = {{"token", issued->token},
                                                 {"customer_id", data->id.value()},
                                                 {"token_id", issued->claims.token_id},
                                                 {"expires_at", issued->claims.expires_at}};
                http::Response r = JsonResponse(201, answer.dump());
                r.headers.emplace_back("Cache-Control", "no-store");
                return r;
              }});
}

}  // namespace touchpoint::server
