#include <touchpoint/privacy/roles.h>

#include <string>

#include <touchpoint/core/status.h>

namespace touchpoint::privacy {
namespace {

using enum Role;

// The one permission × role table. Rows in Permission's order (checked below).
constexpr PermissionRow kMatrix[] = {
    {Permission::kTrack, "track", "send tracking events", {kIngest, kAdmin}},
    // kCustomer: its own profile only (the route checks the customer).
    {Permission::kReadCustomers, "read_customers", "read customers", {kAdmin, kSupervisor, kAgent, kAnalyst, kCustomer}},
    {Permission::kReadStats, "read_stats", "read statistics", {kAdmin, kSupervisor, kAgent, kAnalyst}},
    {Permission::kRunJobs, "run_jobs", "run jobs", {kAdmin, kAnalyst}},
    {Permission::kReadJobs, "read_jobs", "read jobs", {kAdmin, kAnalyst}},
    {Permission::kManageSegments, "manage_segments", "manage segments", {kAdmin, kAnalyst}},
    {Permission::kReadSegments, "read_segments", "read segments", {kAdmin, kAnalyst, kSupervisor}},
    {Permission::kOwnSession, "own_session", "see or end its own login", {kIngest, kAdmin, kSupervisor, kAgent, kAnalyst}},
    {Permission::kManageUsers, "manage_users", "manage users and teams", {kAdmin}},
    {Permission::kReadAudit, "read_audit", "read the audit log", {kAdmin}},
    // Consents: staff who talk to customers record what they said; analysts read them like the
    // profile; a customer token its own only.
    {Permission::kReadConsents, "read_consents", "read consents", {kAdmin, kSupervisor, kAgent, kAnalyst, kCustomer}},
    {Permission::kManageConsents, "manage_consents", "record consents", {kAdmin, kSupervisor, kAgent, kCustomer}},
    {Permission::kIssueCustomerTokens, "issue_customer_tokens", "issue customer tokens", {kAdmin}},
    {Permission::kSubjectRequest, "subject_request", "request an export or erasure", {kAdmin, kCustomer}},
    {Permission::kReadTickets, "read_tickets", "read tickets", {kAdmin, kSupervisor, kAgent}},
    {Permission::kChangeTickets, "change_tickets", "change tickets", {kAdmin, kSupervisor, kAgent}},
    {Permission::kReadDeskReports, "read_desk_reports", "read desk reports", {kAdmin, kSupervisor, kAnalyst}},
    {Permission::kReadAnalytics, "read_analytics", "read analytics over the stored events", {kAdmin, kSupervisor, kAnalyst}},
    // Experiments (insight/experiments.h): analysts read results; supervisors and admins run them;
    // the systems that act on a variant (ingest keys of the router and the bot, agents' tools) ask
    // for assignments — which log exposures, so analysts do not.
    {Permission::kReadExperiments, "read_experiments", "read experiments", {kAdmin, kSupervisor, kAnalyst}},
    {Permission::kManageExperiments, "manage_experiments", "manage experiments", {kAdmin, kSupervisor}},
    {Permission::kAssignExperiments, "assign_experiments", "assign experiment variants",
     {kIngest, kAdmin, kSupervisor, kAgent}},
};

constexpr bool RowsInEnumOrder() {
  for (size_t i = 0; i < std::size(kMatrix); ++i) {
    if (static_cast<size_t>(kMatrix[i].permission) != i) return false;
  }
  return true;
}
static_assert(RowsInEnumOrder(), "kMatrix must list the permissions in enum order, one row each");

}  // namespace

Result<Role> ParseRole(std::string_view name) {
  for (Role r : kAllRoles) {
    if (name == RoleName(r)) return r;
  }
  return Status::InvalidArgument("unknown role '" + std::string(name) +
                                 "' (roles: ingest, admin, supervisor, agent, analyst)");
}

std::string_view RoleName(Role role) {
  switch (role) {
    case kIngest: return "ingest";
    case kAdmin: return "admin";
    case kSupervisor: return "supervisor";
    case kAgent: return "agent";
    case kAnalyst: return "analyst";
    case kCustomer: return "customer";
  }
  return "unknown";
}

std::span<const PermissionRow> PermissionMatrix() { return kMatrix; }

const PermissionRow* FindPermission(Permission permission) {
  const auto i = static_cast<size_t>(permission);
  return i < std::size(kMatrix) ? &kMatrix[i] : nullptr;
}

bool Allows(Role role, Permission permission) {
  const PermissionRow* row = FindPermission(permission);
  return row != nullptr && row->roles.contains(role);
}

std::string_view PermissionName(Permission permission) {
  const PermissionRow* row = FindPermission(permission);
  return row ? row->name : "unknown";
}

}  // namespace touchpoint::privacy
