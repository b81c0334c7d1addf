// privacy/users.h — administering the people who log in and their teams: create, list, disable,
// reset a password, change a role, enrol TOTP; teams with supervisors and members. Each change is
// reported to the AuthEventSink; disabling a user, or changing their password or role, revokes
// their sessions at once.
//
// Users have the staff roles admin, supervisor, agent and analyst (ingest stays a role of API
// keys). E-mails are kept trimmed and lower-cased.
//
// Thread safety: a UserAdmin is used by one thread at a time (it uses its store's connection).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/privacy/auth_events.h>
#include <touchpoint/privacy/passwords.h>
#include <touchpoint/privacy/roles.h>
#include <touchpoint/store/session_repository.h>
#include <touchpoint/store/store.h>
#include <touchpoint/store/team_repository.h>
#include <touchpoint/store/user_repository.h>

namespace touchpoint::privacy {

// The e-mail as stored: trimmed, ASCII lower-cased. kInvalidArgument unless it has the shape
// local@domain (one '@', no spaces or control characters, at most 254 bytes).
Result<std::string> NormalizeEmail(std::string_view email);

// kInvalidArgument for ingest (a role of API keys only) — the message lists the staff roles.
Status CheckStaffRole(Role role);

struct TotpEnrollment {
  std::string secret;  // base32; shown once
  std::string uri;     // otpauth://totp/…
};

class UserAdmin {
 public:
  // `store`, `hasher` and `clock` must outlive this. `actor` names who acts in the events
  // ("cli", "user:12").
  UserAdmin(store::Store& store, PasswordHasher& hasher, const Clock& clock, AuthEventSink sink = {},
            std::string actor = "cli");

  // kInvalidArgument for a bad e-mail, role or password; kAlreadyExists for a known e-mail;
  // kNotFound when `team` is not empty and names no team.
  Result<store::UserRecord> CreateUser(std::string_view email, Role role, std::string_view team,
                                       std::string_view password);
  Result<std::vector<store::UserRecord>> ListUsers();
  // kNotFound for an unknown e-mail (the operations below too).
  Result<store::UserRecord> FindUser(std::string_view email);
  // Disables the user and revokes their sessions; kFailedPrecondition when already disabled.
  Status Disable(std::string_view email);
  Status Enable(std::string_view email);
  // Sets a new password (revoking sessions) and clears a lock from failed logins.
  Status ResetPassword(std::string_view email, std::string_view password);
  // Changes the role (revoking sessions). kFailedPrecondition when it is already that role.
  Status SetRole(std::string_view email, Role role);
  // A new TOTP secret for the user (replacing any earlier one); `issuer` names the installation
  // in the authenticator app.
  Result<TotpEnrollment> EnrollTotp(std::string_view email, std::string_view issuer = "Touchpoint");

  // kInvalidArgument for an empty name or one with characters other than letters, digits, '-',
  // '_' and '.'; kAlreadyExists for a known name.
  Result<store::TeamRecord> CreateTeam(std::string_view name);
  Result<std::vector<store::TeamRecord>> ListTeams();
  // The user must be a supervisor or an admin (kFailedPrecondition otherwise). kNotFound for an
  // unknown team or e-mail.
  Status AddSupervisor(std::string_view team, std::string_view email);
  // Makes `team` the user's team (a user belongs to at most one: this moves them).
  Status AddMember(std::string_view team, std::string_view email);

 private:
  Result<store::TeamRecord> Team(std::string_view name);
  void Emit(std::string_view action, std::string target, std::string detail = {});

  store::UserRepository& users_;
  store::TeamRepository& teams_;
  store::SessionRepository& sessions_;
  PasswordHasher& hasher_;
  const Clock& clock_;
  AuthEventSink sink_;
  std::string actor_;
};

}  // namespace touchpoint::privacy
