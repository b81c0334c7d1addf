// wiring/render.h — a customer as JSON, the same for the HTTP API (GET /v1/customers/{id}) and
// the CLI (`customer show`, `identity explain`), whichever CustomerView it comes from.
#pragma once

#include <string>
#include <string_view>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/pipeline/customer_view.h>
#include <touchpoint/privacy/masking.h>

namespace touchpoint::wiring {

// {"as_of","id","identifiers","merged_customers","features","traits","tags"}: features relative to
// `as_of`; identifier values and traits of class medium or high as `policy` shows them
// (privacy/masking.h).
std::string RenderCustomer(const pipeline::CustomerData& c, Millis as_of, const privacy::MaskPolicy& policy);
// Why the records of this person are together: identifiers (shown as `policy` says) with their
// first sighting, merges.
std::string RenderExplain(const pipeline::CustomerData& c, std::string_view asked, const privacy::MaskPolicy& policy);

// view.Find(ref) rendered; as_of = 0: relative to the view's newest event. Fails as Find does.
Result<std::string> CustomerJson(const pipeline::CustomerView& view, std::string_view ref, Millis as_of,
                                 const privacy::MaskPolicy& policy);
Result<std::string> ExplainJson(const pipeline::CustomerView& view, std::string_view ref,
                                const privacy::MaskPolicy& policy);

}  // namespace touchpoint::wiring
