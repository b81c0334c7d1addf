// store/session_repository.h — login sessions: only hashes of their tokens are stored (the token
// and its CSRF token are shown once, to the client that logged in). Expiry and validation live in
// privacy/sessions.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>

namespace touchpoint::store {

struct SessionRecord {
  std::int64_t id = 0;
  std::string token_hash;  // hex BLAKE2b-256 of the session token; unique
  std::int64_t user_id = 0;
  std::string csrf_hash;  // hex BLAKE2b-256 of the CSRF token; empty for bearer sessions
  Millis created_at = 0;
  Millis last_seen_at = 0;
  Millis revoked_at = 0;  // 0 while not revoked
  friend bool operator==(const SessionRecord&, const SessionRecord&) = default;
};

// Each method is its own small transaction. Safe for one thread at a time.
class SessionRepository {
 public:
  virtual ~SessionRepository() = default;

  // Stores `session` (its id is ignored); kAlreadyExists for a token hash already stored.
  virtual Result<SessionRecord> Create(const SessionRecord& session) = 0;
  virtual Result<std::optional<SessionRecord>> FindByHash(const std::string& token_hash) = 0;
  // Sets last_seen_at (never moves it back). kNotFound for no such session.
  virtual Status Touch(std::int64_t id, Millis now) = 0;
  // Revokes one session (revoking twice keeps the first time). kNotFound for no such session.
  virtual Status Revoke(std::int64_t id, Millis now) = 0;
  // Revokes every session of the user not yet revoked; returns how many.
  virtual Result<std::int64_t> RevokeForUser(std::int64_t user_id, Millis now) = 0;
  // Deletes sessions revoked, created before `created_before` or last seen before
  // `seen_before` (expired either way); returns how many.
  virtual Result<std::int64_t> DeleteExpired(Millis created_before, Millis seen_before) = 0;
};

}  // namespace touchpoint::store
