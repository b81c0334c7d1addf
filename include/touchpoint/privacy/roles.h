// privacy/roles.h — the roles of API keys and users, and the permission × role matrix: which role may do
// what. The privacy module owns principals and what they may do (keys and roles today; users,
// sessions, consent and the audit chain with the privacy issue). It does not own routing or
// authentication of requests (server does that, asking Allows()).
//
// The matrix in roles.cc is the one table of who may do what: the server's routes name a
// Permission each and docs/http-api.md shows the resulting route × role table. All functions are
// thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>

#include <touchpoint/core/result.h>

namespace touchpoint::privacy {

// kCustomer is the role of a customer self-service token (privacy/customer_token.h): never a
// key's or a user's. A permission granted to it is only ever for routes that serve the token's
// own customer (server: Route::customer_self, and the handler's check of the customer).
enum class Role { kIngest, kAdmin, kSupervisor, kAgent, kAnalyst, kCustomer };

// The roles of API keys and users, in enum order (ParseRole accepts only these).
inline constexpr std::array<Role, 5> kAllRoles = {Role::kIngest, Role::kAdmin, Role::kSupervisor,
                                                  Role::kAgent, Role::kAnalyst};
// Every role a caller can have: kAllRoles and the customer's.
inline constexpr std::array<Role, 6> kAllPrincipalRoles = {Role::kIngest, Role::kAdmin,   Role::kSupervisor,
                                                           Role::kAgent,  Role::kAnalyst, Role::kCustomer};

// "ingest", "admin", ... (not "customer"); kInvalidArgument listing the valid roles otherwise.
Result<Role> ParseRole(std::string_view name);
std::string_view RoleName(Role role);

// What a key may do. Each permission has exactly one row in the matrix (PermissionMatrix()).
enum class Permission {
  kTrack,           // send tracking events (POST /v1/identify|track|page|alias|screen|group|batch)
  kReadCustomers,   // read a customer's profile (GET /v1/customers/{id})
  kReadStats,       // read store-wide counts (GET /v1/stats)
  kRunJobs,         // start analytics jobs (POST /v1/jobs/{name})
  kReadJobs,        // read jobs and their results (GET /v1/jobs/{id})
  kManageSegments,  // define, change and delete segments
  kReadSegments,    // list segments, count and export their members
  kOwnSession,      // see or end the caller's own login (GET /v1/auth/me, POST /v1/auth/logout)
  kManageUsers,     // see and administer users and teams (GET /v1/users)
  kReadAudit,       // read the audit log (GET /v1/audit)
  kReadConsents,    // read a customer's consents and their history (GET /v1/customers/{id}/consents)
  kManageConsents,  // record a customer's consent decisions (POST /v1/customers/{id}/consents)
  kIssueCustomerTokens,  // issue customer self-service tokens (POST /v1/privacy/customer-tokens)
  // Ask for a data subject's export or erasure (the subject-rights routes; a customer token only
  // for its own customer).
  kSubjectRequest,
  kReadTickets,     // read tickets, their threads and history (GET /v1/tickets…)
  kChangeTickets,   // create, reply to, change, assign and merge tickets (scoped by the desk)
  kReadDeskReports,  // aggregate desk reports without ticket texts (GET /v1/desk/steps)
  kReadAnalytics,    // aggregate reports over the stored events (GET /v1/funnels, /v1/journeys)
  kReadExperiments,    // read experiments and their results (GET /v1/experiments…)
  kManageExperiments,  // create, start and stop experiments (POST /v1/experiments…)
  // Ask for a unit's variant, logging its exposure (GET /v1/assignments: the router, the bot).
  kAssignExperiments,
};

// A set of roles (a bit per role).
class RoleSet {
 public:
  constexpr RoleSet(std::initializer_list<Role> roles) {
    for (Role r : roles) bits_ |= Bit(r);
  }
  constexpr bool contains(Role role) const { return (bits_ & Bit(role)) != 0; }

 private:
  static constexpr std::uint32_t Bit(Role role) { return 1u << static_cast<unsigned>(role); }
  std::uint32_t bits_ = 0;
};

// One row of the matrix.
struct PermissionRow {
  Permission permission;
  std::string_view name;    // "read_customers": in docs and in the route table
  std::string_view action;  // "read customers": completes "this key's role may not …"
  RoleSet roles;            // the roles that have this permission
};

// The matrix: one row per Permission, in enum order.
std::span<const PermissionRow> PermissionMatrix();

// The row of `permission`, or nullptr when the matrix has none (a bug the route-table test
// catches: such a permission is granted to nobody).
const PermissionRow* FindPermission(Permission permission);

// Whether `role` has `permission`. False for a permission without a row.
bool Allows(Role role, Permission permission);

// The row's name ("track", "read_customers", ...); "unknown" without a row.
std::string_view PermissionName(Permission permission);

}  // namespace touchpoint::privacy
