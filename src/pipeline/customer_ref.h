// Private: a customer reference as the API and the CLI take it.
#pragma once

#include <string_view>

#include <touchpoint/core/ids.h>
#include <touchpoint/core/result.h>
#include <touchpoint/identity/identifier.h>

namespace touchpoint::pipeline {

// Parses a customer reference: a decimal customer id, or kind:value (normalised as at ingest).
struct Ref {
  bool is_id = false;
  CustomerId id;
  identity::Identifier identifier;
};
Result<Ref> ParseRef(std::string_view ref);

}  // namespace touchpoint::pipeline
