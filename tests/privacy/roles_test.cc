#include <touchpoint/privacy/roles.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "testing/matchers.h"

namespace touchpoint::privacy {
namespace {

using ::touchpoint::testing::StatusIs;

TEST(RolesTest, ParsesRoles) {
  const Role roles[] = {Role::kIngest, Role::kAdmin, Role::kSupervisor, Role::kAgent, Role::kAnalyst};
  for (Role r : roles) {
    auto parsed = ParseRole(RoleName(r));
    ASSERT_OK(parsed);
    EXPECT_EQ(*parsed, r);
  }
  EXPECT_THAT(ParseRole("root"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseRole("Admin"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseRole(""), StatusIs(StatusCode::kInvalidArgument));
}

// Today's rights of each role (before the matrix they were CanTrack, CanReadCustomers,
// CanReadStats and SeesPii).
TEST(RolesTest, RoleMatrix) {
  struct Case {
    Role role;
    bool track, customers, stats;
  } cases[] = {
      {Role::kIngest, true, false, false}, {Role::kAdmin, true, true, true},    {Role::kSupervisor, false, true, true},
      {Role::kAgent, false, true, true},   {Role::kAnalyst, false, true, true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(RoleName(c.role)));
    EXPECT_EQ(Allows(c.role, Permission::kTrack), c.track);
    EXPECT_EQ(Allows(c.role, Permission::kReadCustomers), c.customers);
    EXPECT_EQ(Allows(c.role, Permission::kReadStats), c.stats);
  }
}

// The permissions of the jobs and segments routes: analytics are for admins and analysts;
// supervisors also read segments (their teams' SLA policies select people with them).
TEST(RolesTest, JobAndSegmentPermissions) {
  struct Case {
    Role role;
    bool run_jobs, read_jobs, manage_segments, read_segments;
  } cases[] = {
      {Role::kIngest, false, false, false, false},    {Role::kAdmin, true, true, true, true},
      {Role::kSupervisor, false, false, false, true}, {Role::kAgent, false, false, false, false},
      {Role::kAnalyst, true, true, true, true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(RoleName(c.role)));
    EXPECT_EQ(Allows(c.role, Permission::kRunJobs), c.run_jobs);
    EXPECT_EQ(Allows(c.role, Permission::kReadJobs), c.read_jobs);
    EXPECT_EQ(Allows(c.role, Permission::kManageSegments), c.manage_segments);
    EXPECT_EQ(Allows(c.role, Permission::kReadSegments), c.read_segments);
  }
}

// The audit log names who did what: only administrators read it.
TEST(RolesTest, OnlyAdminsReadTheAuditLog) {
  for (Role r : kAllRoles) {
    EXPECT_EQ(Allows(r, Permission::kReadAudit), r == Role::kAdmin) << RoleName(r);
  }
  EXPECT_EQ(PermissionName(Permission::kReadAudit), "read_audit");
  // A person's export or erasure: admins (the customer's own token is connected by the consent work).
  for (Role r : kAllRoles) EXPECT_EQ(Allows(r, Permission::kSubjectRequest), r == Role::kAdmin) << RoleName(r);
  EXPECT_EQ(PermissionName(Permission::kSubjectRequest), "subject_request");
}

// The service desk: staff work tickets (the desk scopes agents and supervisors further);
// analysts see aggregate reports only, never a ticket's text.
TEST(RolesTest, StaffWorkTicketsAndAnalystsOnlySeeDeskAggregates) {
  for (Role r : kAllRoles) {
    const bool staff = r == Role::kAdmin || r == Role::kSupervisor || r == Role::kAgent;
    EXPECT_EQ(Allows(r, Permission::kReadTickets), staff) << RoleName(r);
    EXPECT_EQ(Allows(r, Permission::kChangeTickets), staff) << RoleName(r);
    EXPECT_EQ(Allows(r, Permission::kReadDeskReports),
              r == Role::kAdmin || r == Role::kSupervisor || r == Role::kAnalyst)
        << RoleName(r);
    // Funnels and journeys: aggregates over the events, as the desk's reports.
    EXPECT_EQ(Allows(r, Permission::kReadAnalytics),
              r == Role::kAdmin || r == Role::kSupervisor || r == Role::kAnalyst)
        << RoleName(r);
  }
}

// Experiments: analysts read results, supervisors and admins run them; assignments (which log
// exposures) are for the systems acting on a variant and the staff, never analysts or customers.
TEST(RolesTest, ExperimentsAreReadByAnalystsRunBySupervisorsAndAssignedToTheSystemsThatAct) {
  for (Role r : kAllPrincipalRoles) {
    EXPECT_EQ(Allows(r, Permission::kReadExperiments),
              r == Role::kAdmin || r == Role::kSupervisor || r == Role::kAnalyst)
        << RoleName(r);
    EXPECT_EQ(Allows(r, Permission::kManageExperiments), r == Role::kAdmin || r == Role::kSupervisor) << RoleName(r);
    EXPECT_EQ(Allows(r, Permission::kAssignExperiments),
              r == Role::kIngest || r == Role::kAdmin || r == Role::kSupervisor || r == Role::kAgent)
        << RoleName(r);
  }
}

TEST(RolesTest, EveryRowIsFoundNamedAndGrantedToSomeone) {
  std::set<std::string_view> names;
  for (const PermissionRow& row : PermissionMatrix()) {
    SCOPED_TRACE(std::string(row.name));
    EXPECT_EQ(FindPermission(row.permission), &row);
    EXPECT_EQ(PermissionName(row.permission), row.name);
    EXPECT_TRUE(names.insert(row.name).second) << "duplicate name";
    EXPECT_FALSE(row.action.empty());
    bool anyone = false;
    for (Role r : kAllRoles) anyone = anyone || Allows(r, row.permission);
    EXPECT_TRUE(anyone) << "a permission nobody has";
  }
  EXPECT_EQ(PermissionMatrix().size(), static_cast<size_t>(Permission::kAssignExperiments) + 1);
}

// A customer token's role: its own data only (the routes check which customer); never a key's or
// a user's role, and nothing of staff's.
TEST(RolesTest, TheCustomerRoleIsNoKeyOrUserRoleAndHasOnlySelfServicePermissions) {
  EXPECT_THAT(ParseRole("customer"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(RoleName(Role::kCustomer), "customer");
  std::set<std::string_view> granted;
  for (const PermissionRow& row : PermissionMatrix()) {
    if (row.roles.contains(Role::kCustomer)) granted.insert(row.name);
  }
  EXPECT_EQ(granted, (std::set<std::string_view>{"read_customers", "read_consents", "manage_consents",
                                                 "subject_request"}));
  EXPECT_FALSE(Allows(Role::kAnalyst, Permission::kManageConsents));
  EXPECT_TRUE(Allows(Role::kAgent, Permission::kManageConsents));
  EXPECT_FALSE(Allows(Role::kIngest, Permission::kReadConsents));
  EXPECT_TRUE(Allows(Role::kAdmin, Permission::kIssueCustomerTokens));
  EXPECT_FALSE(Allows(Role::kSupervisor, Permission::kIssueCustomerTokens));
}

TEST(RolesTest, PermissionWithoutRowIsGrantedToNobody) {
  const auto missing = static_cast<Permission>(PermissionMatrix().size());
  EXPECT_EQ(FindPermission(missing), nullptr);
  EXPECT_EQ(PermissionName(missing), "unknown");
  for (Role r : kAllRoles) EXPECT_FALSE(Allows(r, missing)) << RoleName(r);
}

}  // namespace
}  // namespace touchpoint::privacy
