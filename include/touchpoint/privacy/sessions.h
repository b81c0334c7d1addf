// privacy/sessions.h — login sessions: random 256-bit tokens of which only hashes are stored,
// idle and absolute expiry, and the CSRF token of a cookie session.
//
// A session token is "tps_" followed by 64 hex characters; an API key is "tp_" + 40 (keys.h), so
// one Authorization header can carry either. A session is valid while it is neither revoked nor
// expired, its user is enabled and its user's password has not changed since it was created.
// All functions are thread-safe; the repositories are used as their store allows.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>
#include <touchpoint/privacy/roles.h>
#include <touchpoint/store/session_repository.h>
#include <touchpoint/store/user_repository.h>

namespace touchpoint::privacy {

inline constexpr std::string_view kSessionTokenPrefix = "tps_";

struct SessionPolicy {
  Millis idle_timeout = 30 * 60'000;          // unused this long: expired
  Millis absolute_timeout = 12 * 3'600'000;   // this long after login: expired, however busy
  Millis touch_interval = 60'000;             // last_seen_at is written at most this often
};

// "tps_" + 64 hex characters (256 random bits).
std::string NewSessionToken();
// Whether `token` has the shape of a session token (not an API key).
bool IsSessionToken(std::string_view token);

struct IssuedSession {
  std::string token;       // shown once, to the client that logged in
  std::string csrf_token;  // empty for a bearer session
  store::SessionRecord record;
};
// Creates a session for `user_id` at `now`; with a CSRF token when `with_csrf` (cookie sessions).
// Fails as store::SessionRepository::Create does.
Result<IssuedSession> IssueSession(store::SessionRepository& sessions, std::int64_t user_id, bool with_csrf,
                                   Millis now);

// Why a token does not authenticate.
enum class SessionProblem { kNone, kUnknown, kExpired, kRevoked, kUserDisabled };
std::string_view SessionProblemName(SessionProblem problem);  // "unknown", "expired", …

struct SessionCheck {
  SessionProblem problem = SessionProblem::kNone;
  store::SessionRecord session;  // set unless kUnknown
  store::UserRecord user;        // set when kNone
  Role role = Role::kAgent;      // the user's current role, when kNone
  bool ok() const { return problem == SessionProblem::kNone; }
};
// Looks `token` up and checks it at `now`; touches last_seen_at (at most every touch_interval).
// kUnavailable (or the store's error) when the store cannot be read.
Result<SessionCheck> CheckSession(store::SessionRepository& sessions, store::UserRepository& users,
                                  std::string_view token, Millis now, const SessionPolicy& policy);

// Whether `csrf_token` is the session's (constant time). False for a session without one.
bool CsrfMatches(const store::SessionRecord& session, std::string_view csrf_token);

}  // namespace touchpoint::privacy
