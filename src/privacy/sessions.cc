#include <touchpoint/privacy/sessions.h>

#include <array>
#include <cstdlib>

#include <sodium.h>

#include <touchpoint/privacy/keys.h>

namespace touchpoint::privacy {
namespace {

constexpr size_t kTokenBytes = 32;  // 256 bits

void InitSodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) std::abort();
}

std::string RandomHex(size_t bytes) {
  InitSodium();
  std::array<unsigned char, kTokenBytes> buf{};
  randombytes_buf(buf.data(), bytes);
  std::string out(bytes * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), buf.data(), bytes);
  out.pop_back();
  sodium_memzero(buf.data(), buf.size());
  return out;
}

bool IsHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

std::string NewSessionToken() { return std::string(kSessionTokenPrefix) + RandomHex(kTokenBytes); }

bool IsSessionToken(std::string_view token) {
  return token.size() == kSessionTokenPrefix.size() + 2 * kTokenBytes && token.starts_with(kSessionTokenPrefix) &&
         IsHex(token.substr(kSessionTokenPrefix.size()));
}

Result<IssuedSession> IssueSession(store::SessionRepository& sessions, std::int64_t user_id, bool with_csrf,
                                   Millis now) {
  IssuedSession issued;
  issued.token = NewSessionToken();
  if (with_csrf) issued.csrf_token = RandomHex(kTokenBytes);
  store::SessionRecord record;
  record.token_hash = HashKey(issued.token);  // BLAKE2b: the token has 256 random bits (see keys.cc)
  record.user_id = user_id;
  record.csrf_hash = with_csrf ? HashKey(issued.csrf_token) : std::string();
  record.created_at = now;
  record.last_seen_at = now;
  TP_ASSIGN_OR_RETURN(issued.record, sessions.Create(record));
  return issued;
}

std::string_view SessionProblemName(SessionProblem problem) {
  switch (problem) {
    case SessionProblem::kNone: return "none";
    case SessionProblem::kUnknown: return "unknown";
    case SessionProblem::kExpired: return "expired";
    case SessionProblem::kRevoked: return "revoked";
    case SessionProblem::kUserDisabled: return "user_disabled";
  }
  return "unknown";
}

Result<SessionCheck> CheckSession(store::SessionRepository& sessions, store::UserRepository& users,
                                  std::string_view token, Millis now, const SessionPolicy& policy) {
  SessionCheck check;
  if (!IsSessionToken(token)) {
    check.problem = SessionProblem::kUnknown;
    return check;
  }
  TP_ASSIGN_OR_RETURN(auto found, sessions.FindByHash(HashKey(token)));
  if (!found) {
    check.problem = SessionProblem::kUnknown;
    return check;
  }
  check.session = *found;
  const store::SessionRecord& s = check.session;
  if (s.revoked_at != 0) {
    check.problem = SessionProblem::kRevoked;
    return check;
  }
  if (now - s.created_at >= policy.absolute_timeout || now - s.last_seen_at >= policy.idle_timeout) {
    check.problem = SessionProblem::kExpired;
    return check;
  }
  TP_ASSIGN_OR_RETURN(auto user, users.Find(s.user_id));
  if (!user) {
    check.problem = SessionProblem::kRevoked;
    return check;
  }
  if (user->disabled_at != 0) {
    check.problem = SessionProblem::kUserDisabled;
    return check;
  }
  // Defence in depth: changing a password revokes the user's sessions (users.cc), and a session
  // older than the password is void even if that revocation was missed.
  if (s.created_at < user->password_changed_at) {
    check.problem = SessionProblem::kRevoked;
    return check;
  }
  auto role = ParseRole(user->role);
  if (!role.ok() || *role == Role::kIngest) {
    check.problem = SessionProblem::kRevoked;
    return check;
  }
  check.role = *role;
  check.user = std::move(*user);
  if (now - s.last_seen_at >= policy.touch_interval) {
    TP_RETURN_IF_ERROR(sessions.Touch(s.id, now));
    check.session.last_seen_at = now;
  }
  return check;
}

bool CsrfMatches(const store::SessionRecord& session, std::string_view csrf_token) {
  if (session.csrf_hash.empty() || csrf_token.empty()) return false;
  const std::string hash = HashKey(csrf_token);
  return hash.size() == session.csrf_hash.size() &&
         sodium_memcmp(hash.data(), session.csrf_hash.data(), hash.size()) == 0;
}

}  // namespace touchpoint::privacy
