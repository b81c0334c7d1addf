// pipeline/customer_view.h — one view of a customer: who they are (identifiers, merged
// customers, the merges that joined them) and their profile, as the live engine holds it or as a
// store replays it. Both implement CustomerView, so readers (the HTTP API, `customer show`,
// `identity explain`) do not care which; rendering is theirs (wiring/render.h).
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/identity/identity_graph.h>
#include <touchpoint/profile/profile.h>
#include <touchpoint/store/identity_repository.h>
#include <touchpoint/store/store.h>

namespace touchpoint::pipeline {

struct CustomerData {
  CustomerId id;  // the live customer
  std::vector<identity::IdentityGraph::MemberIdentifier> identifiers;  // in id order
  std::vector<CustomerId> merged;  // customers merged into this one (not itself)
  profile::Profile profile;        // the fold of its members' profiles, its own first
  std::vector<store::MergeRecord> merges;
};

class CustomerView {
 public:
  virtual ~CustomerView() = default;
  // The customer for "kind:value" (normalised as at ingest) or a decimal customer id; kNotFound
  // when unknown, kInvalidArgument for a malformed reference.
  virtual Result<CustomerData> Find(std::string_view ref) const = 0;
  // The time features are relative to by default: the newest event's.
  virtual Result<Millis> NewestEventAt() const = 0;
};

// The view over a store (typically opened read-only next to a running writer): the identity
// tables walked from the customer to its live root and down to its members, their stored
// profiles, and the events committed after the profile checkpoint replayed into them — without
// text analysis, so sentiment of messages younger than the last checkpoint is missing (at most
// one checkpoint interval; the live engine's view has it). `store` must outlive the view.
std::unique_ptr<CustomerView> StoreCustomerView(store::Store& store);

}  // namespace touchpoint::pipeline
