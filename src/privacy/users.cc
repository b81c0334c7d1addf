#include <touchpoint/privacy/users.h>

#include <touchpoint/core/status.h>
#include <touchpoint/core/strings.h>
#include <touchpoint/privacy/totp.h>
#include <touchpoint/store/session_repository.h>

namespace touchpoint::privacy {
namespace {

constexpr size_t kMaxEmailBytes = 254;
constexpr size_t kMaxTeamName = 64;

std::string UserTarget(std::int64_t id) { return "user:" + std::to_string(id); }

}  // namespace

Result<std::string> NormalizeEmail(std::string_view email) {
  std::string out(TrimView(email, kAsciiBlank));
  const auto bad = [] { return Status::InvalidArgument("not an e-mail address (expected name@domain)"); };
  if (out.empty() || out.size() > kMaxEmailBytes) return bad();
  size_t ats = 0;
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return bad();
    if (c == '@') ++ats;
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  const size_t at = out.find('@');
  if (ats != 1 || at == 0 || at + 1 == out.size()) return bad();
  return out;
}

Status CheckStaffRole(Role role) {
  if (role == Role::kIngest) {
    return Status::InvalidArgument("ingest is a role of API keys only; users are admin, supervisor, agent or analyst");
  }
  return Status::Ok();
}

UserAdmin::UserAdmin(store::Store& store, PasswordHasher& hasher, const Clock& clock, AuthEventSink sink,
                     std::string actor)
    : users_(store.Get<store::UserRepository>()),
      teams_(store.Get<store::TeamRepository>()),
      sessions_(store.Get<store::SessionRepository>()),
      hasher_(hasher),
      clock_(clock),
      sink_(std::move(sink)),
      actor_(std::move(actor)) {}

void UserAdmin::Emit(std::string_view action, std::string target, std::string detail) {
  if (!sink_) return;
  sink_(AuthEvent{.at = clock_.Now(),
                  .action = std::string(action),
                  .actor = actor_,
                  .target = std::move(target),
                  .address = {},
                  .detail = std::move(detail)});
}

Result<store::TeamRecord> UserAdmin::Team(std::string_view name) {
  TP_ASSIGN_OR_RETURN(auto team, teams_.FindByName(std::string(name)));
  if (!team) return Status::NotFound("no team named '" + std::string(name) + "' (see `touchpoint teams list`)");
  return *team;
}

Result<store::UserRecord> UserAdmin::FindUser(std::string_view email) {
  TP_ASSIGN_OR_RETURN(std::string normal, NormalizeEmail(email));
  TP_ASSIGN_OR_RETURN(auto user, users_.FindByEmail(normal));
  if (!user) return Status::NotFound("no user with this e-mail (see `touchpoint users list`)");
  return *user;
}

Result<store::UserRecord> UserAdmin::CreateUser(std::string_view email, Role role, std::string_view team,
                                                std::string_view password) {
  TP_ASSIGN_OR_RETURN(std::string normal, NormalizeEmail(email));
  TP_RETURN_IF_ERROR(CheckStaffRole(role));
  TP_RETURN_IF_ERROR(CheckNewPassword(password));
  std::int64_t team_id = 0;
  if (!team.empty()) {
    TP_ASSIGN_OR_RETURN(store::TeamRecord t, Team(team));
    team_id = t.id;
  }
  TP_ASSIGN_OR_RETURN(auto existing, users_.FindByEmail(normal));
  if (existing) return Status::AlreadyExists("a user with this e-mail exists");
  store::UserRecord user;
  user.email = normal;
  TP_ASSIGN_OR_RETURN(user.password_hash, hasher_.Hash(password));
  user.role = std::string(RoleName(role));
  user.team_id = team_id;
  user.created_at = clock_.Now();
  user.password_changed_at = user.created_at;
  TP_ASSIGN_OR_RETURN(store::UserRecord created, users_.Create(user));
  Emit(auth_action::kUserCreated, UserTarget(created.id),
       "role " + created.role + (team.empty() ? "" : ", team " + std::string(team)));
  return created;
}

Result<std::vector<store::UserRecord>> UserAdmin::ListUsers() { return users_.List(); }

Status UserAdmin::Disable(std::string_view email) {
  TP_ASSIGN_OR_RETURN(store::UserRecord user, FindUser(email));
  if (user.disabled_at != 0) return Status::FailedPrecondition("the user is already disabled");
  const Millis now = clock_.Now();
  store::UserUpdate update;
  update.disabled_at = now;
  TP_RETURN_IF_ERROR(users_.Update(user.id, update));
  TP_ASSIGN_OR_RETURN(std::int64_t revoked, sessions_.RevokeForUser(user.id, now));
  Emit(auth_action::kUserDisabled, UserTarget(user.id), "sessions revoked: " + std::to_string(revoked));
  return Status::Ok();
}

Status UserAdmin::Enable(std::string_view email) {
  TP_ASSIGN_OR_RETURN(store::UserRecord user, FindUser(email));
  if (user.disabled_at == 0) return Status::FailedPrecondition("the user is not disabled");
  store::UserUpdate update;
  update.disabled_at = 0;
  TP_RETURN_IF_ERROR(users_.Update(user.id, update));
  Emit(auth_action::kUserEnabled, UserTarget(user.id));
  return Status::Ok();
}

Status UserAdmin::ResetPassword(std::string_view email, std::string_view password) {
  TP_ASSIGN_OR_RETURN(store::UserRecord user, FindUser(email));
  TP_RETURN_IF_ERROR(CheckNewPassword(password));
  const Millis now = clock_.Now();
  store::UserUpdate update;
  TP_ASSIGN_OR_RETURN(update.password_hash, hasher_.Hash(password));
  update.password_changed_at = now;
  update.failed_logins = 0;
  update.locked_until = 0;
  TP_RETURN_IF_ERROR(users_.Update(user.id, update));
  TP_ASSIGN_OR_RETURN(std::int64_t revoked, sessions_.RevokeForUser(user.id, now));
  Emit(auth_action::kPasswordReset, UserTarget(user.id), "sessions revoked: " + std::to_string(revoked));
  return Status::Ok();
}

Status UserAdmin::SetRole(std::string_view email, Role role) {
  TP_RETURN_IF_ERROR(CheckStaffRole(role));
  TP_ASSIGN_OR_RETURN(store::UserRecord user, FindUser(email));
  const std::string name(RoleName(role));
  if (user.role == name) return Status::FailedPrecondition("the user already has the role " + name);
  store::UserUpdate update;
  update.role = name;
  TP_RETURN_IF_ERROR(users_.Update(user.id, update));
  TP_ASSIGN_OR_RETURN(std::int64_t revoked, sessions_.RevokeForUser(user.id, clock_.Now()));
  Emit(auth_action::kRoleChanged, UserTarget(user.id),
       "role " + user.role + " -> " + name + ", sessions revoked: " + std::to_string(revoked));
  return Status::Ok();
}

Result<TotpEnrollment> UserAdmin::EnrollTotp(std::string_view email, std::string_view issuer) {
  TP_ASSIGN_OR_RETURN(store::UserRecord user, FindUser(email));
  TotpEnrollment out;
  out.secret = GenerateTotpSecret();
  out.uri = TotpUri(issuer, user.email, out.secret);
  store::UserUpdate update;
  update.totp_secret = out.secret;
  TP_RETURN_IF_ERROR(users_.Update(user.id, update));
  Emit(auth_action::kTotpEnrolled, UserTarget(user.id));
  return out;
}

Result<store::TeamRecord> UserAdmin::CreateTeam(std::string_view name) {
  if (name.empty() || name.size() > kMaxTeamName) {
    return Status::InvalidArgument("a team name has 1 to " + std::to_string(kMaxTeamName) + " characters");
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || c == '.';
    if (!ok) return Status::InvalidArgument("a team name has only letters, digits, '-', '_' and '.'");
  }
  TP_ASSIGN_OR_RETURN(store::TeamRecord team, teams_.Create(std::string(name), clock_.Now()));
  Emit(auth_action::kTeamCreated, "team:" + std::to_string(team.id), "name " + team.name);
  return team;
}

Result<std::vector<store::TeamRecord>> UserAdmin::ListTeams() { return teams_.List(); }

Status UserAdmin::AddSupervisor(std::string_view team, std::string_view email) {
  TP_ASSIGN_OR_RETURN(store::TeamRecord t, Team(team));
  TP_ASSIGN_OR_RETURN(store::UserRecord user, FindUser(email));
  if (user.role != RoleName(Role::kSupervisor) && user.role != RoleName(Role::kAdmin)) {
    return Status::FailedPrecondition("only a supervisor or an admin can supervise a team (this user is " +
                                      user.role + "; see `touchpoint users set-role`)");
  }
  TP_RETURN_IF_ERROR(teams_.AddSupervisor(t.id, user.id));
  Emit(auth_action::kTeamSupervisorAdded, "team:" + std::to_string(t.id), UserTarget(user.id));
  return Status::Ok();
}

Status UserAdmin::AddMember(std::string_view team, std::string_view email) {
  TP_ASSIGN_OR_RETURN(store::TeamRecord t, Team(team));
  TP_ASSIGN_OR_RETURN(store::UserRecord user, FindUser(email));
  store::UserUpdate update;
  update.team_id = t.id;
  TP_RETURN_IF_ERROR(users_.Update(user.id, update));
  Emit(auth_action::kTeamMemberAdded, "team:" + std::to_string(t.id), UserTarget(user.id));
  return Status::Ok();
}

}  // namespace touchpoint::privacy
