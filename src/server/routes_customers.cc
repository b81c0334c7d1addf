// Customer routes: a customer's profile by identifier or id (staff, or a customer token for its own). Every node answers them: the writer
// from its engine, a follower from the database (ServerContext::customers).
#include <string>
#include <string_view>
#include <utility>

#include <touchpoint/wiring/render.h>

#include "server/routes.h"

namespace touchpoint::server {

void RegisterCustomerRoutes(Router& router, const ServerContext& context) {
  // {id...}: the identifier may contain '/' once decoded (an external id "crm/42"), as before
  // the route table, when everything after "/v1/customers/" was the identifier.
  router.Add({"GET", "/v1/customers/{id...}", privacy::Permission::kReadCustomers,
              [&context](const http::Request& req, const RouteMatch& match) {
                auto policy = RequestMaskPolicy(context, req, match);
                if (!policy.ok()) return ResponseFromStatus(policy.status());
                const pipeline::CustomerView* view = context.customers;
                if (context.fresh_customers != nullptr && WantsFresh(req)) view = context.fresh_customers;
                // A customer token: its own customer only (others answer 404 like unknown ones).
                auto data = CustomerForRequest(*view, match, match.Param("id"));
                if (!data.ok()) {
                  if (data.status().code() == StatusCode::kNotFound) {
                    // The engine's message may echo the identifier: keep personal data out of
                    // responses that proxies could log.
                    return http::JsonError(404, "not_found", "no customer with this identifier");
                  }
                  return ResponseFromStatus(data.status());
                }
                auto as_of = view->NewestEventAt();
                if (!as_of.ok()) return ResponseFromStatus(as_of.status());
                // No clear value leaves before its reveal is in the audit log.
                if (Status s = AuditReveal(context, req, match, "customer:" + std::to_string(data->id.value()), *policy);
                    !s.ok()) {
                  return ResponseFromStatus(s);
                }
                return JsonResponse(200, wiring::RenderCustomer(*data, *as_of, *policy));
              },
              Served::kByAnyNode, /*customer_self=*/true});
}

}  // namespace touchpoint::server
