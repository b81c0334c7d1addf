// store/user_repository.h — people who log in (staff): e-mail, password hash, role, team, TOTP
// secret, login-failure counters. Password hashing, TOTP and sessions live in the privacy module
// (privacy/passwords.h, totp.h, sessions.h); this is only their storage.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>

namespace touchpoint::store {

struct UserRecord {
  std::int64_t id = 0;
  std::string email;          // unique ignoring ASCII case (privacy stores it lower-cased)
  std::string password_hash;  // a crypto_pwhash_str string ("$argon2id$v=19$m=…"); never the password
  std::string role;           // privacy::RoleName: admin | supervisor | agent | analyst
  std::int64_t team_id = 0;   // 0: no team; a user belongs to at most one
  std::string totp_secret;    // base32 (RFC 4648); empty: no second factor enrolled
  std::int64_t totp_last_step = 0;  // the newest TOTP time step accepted (a code is used once)
  Millis created_at = 0;
  Millis disabled_at = 0;          // 0 while enabled
  Millis password_changed_at = 0;  // sessions created before it are void
  int failed_logins = 0;           // consecutive failed logins
  Millis locked_until = 0;         // 0: not locked
  friend bool operator==(const UserRecord&, const UserRecord&) = default;
};

// Fields to change; unset ones are kept. Setting totp_secret also resets totp_last_step to 0.
struct UserUpdate {
  std::optional<std::string> role;
  std::optional<std::int64_t> team_id;
  std::optional<std::string> password_hash;
  std::optional<Millis> password_changed_at;
  std::optional<std::string> totp_secret;
  std::optional<Millis> disabled_at;
  std::optional<int> failed_logins;
  std::optional<Millis> locked_until;
};

// Each method is its own small transaction (users change next to a running writer, as API keys
// do). Safe for one thread at a time, like the store it belongs to.
class UserRepository {
 public:
  virtual ~UserRepository() = default;

  // Stores `user` (its id is ignored) and returns it with its id. kAlreadyExists when a user
  // with this e-mail exists, whatever its case.
  virtual Result<UserRecord> Create(const UserRecord& user) = 0;
  virtual Result<std::optional<UserRecord>> Find(std::int64_t id) = 0;
  // Compares e-mails ignoring ASCII case.
  virtual Result<std::optional<UserRecord>> FindByEmail(const std::string& email) = 0;
  // In id order.
  virtual Result<std::vector<UserRecord>> List() = 0;
  // kNotFound when no user has this id.
  virtual Status Update(std::int64_t id, const UserUpdate& update) = 0;
  // Atomically: when the stored totp_last_step is below `step`, stores `step` and returns true;
  // otherwise returns false (the code of that step was already used). kNotFound for no user.
  virtual Result<bool> AdvanceTotpStep(std::int64_t id, std::int64_t step) = 0;
  // Atomically adds one to failed_logins and returns the new count. kNotFound for no user.
  virtual Result<int> AddFailedLogin(std::int64_t id) = 0;
};

}  // namespace touchpoint::store
