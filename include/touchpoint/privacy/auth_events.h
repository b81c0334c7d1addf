// privacy/auth_events.h — what logins and user administration report for the audit log: a small
// record and a callback. The composition roots connect the callback to the audit log; nothing
// here writes anywhere. A password, session token, CSRF token or TOTP code is never part of an
// event.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <touchpoint/core/time.h>

namespace touchpoint::privacy {

// Event actions (AuthEvent::action).
namespace auth_action {
inline constexpr std::string_view kLogin = "auth.login";                  // target: the user
inline constexpr std::string_view kLoginFailed = "auth.login_failed";     // detail: why (see login.h)
inline constexpr std::string_view kLoginLocked = "auth.login_locked";     // an account or address got locked
inline constexpr std::string_view kLogout = "auth.logout";
inline constexpr std::string_view kUserCreated = "user.created";          // detail: role, team
inline constexpr std::string_view kUserDisabled = "user.disabled";
inline constexpr std::string_view kUserEnabled = "user.enabled";
inline constexpr std::string_view kPasswordReset = "user.password_reset";
inline constexpr std::string_view kPasswordRehashed = "user.password_rehashed";
inline constexpr std::string_view kRoleChanged = "user.role_changed";     // detail: "agent -> supervisor"
inline constexpr std::string_view kTotpEnrolled = "user.totp_enrolled";
inline constexpr std::string_view kTeamCreated = "team.created";
inline constexpr std::string_view kTeamSupervisorAdded = "team.supervisor_added";
inline constexpr std::string_view kTeamMemberAdded = "team.member_added";
}  // namespace auth_action

struct AuthEvent {
  Millis at = 0;
  std::string action;   // one of auth_action
  std::string actor;    // "user:12", "cli" (a local administrator), "anonymous" (a failed login)
  std::string target;   // "user:12", "team:3", "unknown-account"; never an e-mail typed by a stranger
  std::string address;  // the client's IP for HTTP requests; empty from the CLI
  std::string detail;   // short, no secrets: "bad_password", "role agent -> supervisor"
};

// Called synchronously on the thread that did the change; must not throw. Empty: events are
// dropped.
using AuthEventSink = std::function<void(const AuthEvent&)>;

}  // namespace touchpoint::privacy
