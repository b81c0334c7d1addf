// Private: JSON rendering of customers and explanations, shared by the live engine and the
// read-only store path so both print exactly the same thing.
#pragma once

#include <string>
#include <vector>

#include <touchpoint/identity/identity_graph.h>
#include <touchpoint/profile/profile.h>
#include <touchpoint/store/identity_repository.h>

namespace touchpoint::pipeline {

struct CustomerData {
  CustomerId id;
  std::vector<identity::IdentityGraph::MemberIdentifier> identifiers;
  std::vector<CustomerId> merged;  // customers merged into this one (not itself)
  profile::Profile profile;
  std::vector<store::MergeRecord> merges;
};

std::string RenderCustomer(const CustomerData& c, Millis as_of, bool mask_pii);
std::string RenderExplain(const CustomerData& c, std::string_view asked);

// Parses a customer reference: a decimal customer id, or kind:value.
struct Ref {
  bool is_id = false;
  CustomerId id;
  identity::Identifier identifier;
};
Result<Ref> ParseRef(std::string_view ref);

}  // namespace touchpoint::pipeline
