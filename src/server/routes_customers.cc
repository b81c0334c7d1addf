// Customer routes: a customer's profile by identifier or id. Every node answers them: the writer
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
                const bool mask_pii = !privacy::Allows(*match.role(), privacy::Permission::kSeePii);
                const pipeline::CustomerView* view = context.customers;
                if (context.fresh_customers != nullptr && WantsFresh(req)) view = context.fresh_customers;
                auto json = wiring::CustomerJson(*view, match.Param("id"), 0, mask_pii);
                if (!json.ok()) {
                  if (json.status().code() == StatusCode::kNotFound) {
                    // The engine's message may echo the identifier: keep personal data out of
                    // responses that proxies could log.
                    return http::JsonError(404, "not_found", "no customer with this identifier");
                  }
                  return ResponseFromStatus(json.status());
                }
                return JsonResponse(200, std::move(*json));
              },
              Served::kByAnyNode});
}

}  // namespace touchpoint::server
