// privacy/login.h — logging in and authenticating sessions, for the server: checks a password
// (and a TOTP code), throttles failures per account and per client address, issues sessions and
// checks them on later requests.
//
// What a client learns: a wrong e-mail, a wrong password, a disabled account and a wrong or
// replayed TOTP code all answer kInvalidCredentials, after the same work (an unknown e-mail is
// verified against a dummy hash); throttling counts e-mails whether or not an account exists.
// Only after the right password does a client learn that a second factor is needed.
//
// Timing: what a failed attempt stores for a known account (its failure count, a lock) is
// written by a background thread after the answer, so that the answer takes as long whether or
// not the account exists; a successful login waits for those writes (its answer may be slower).
//
// Thread safety: safe for concurrent use. Store calls are serialised on the service's own
// connection; password hashing runs outside that lock (at most the hasher's max_concurrent).
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/core/thread_annotations.h>
#include <touchpoint/core/time.h>
#include <touchpoint/privacy/auth_events.h>
#include <touchpoint/privacy/passwords.h>
#include <touchpoint/privacy/sessions.h>
#include <touchpoint/privacy/throttle.h>
#include <touchpoint/store/store.h>
#include <touchpoint/store/user_repository.h>

namespace touchpoint::privacy {

struct LoginOptions {
  SessionPolicy sessions;
  // Sessions expired (idle or absolute) more than `purge_grace` ago, and revoked ones, are
  // deleted from the store by a login at most once per `purge_interval` (0: never), so the
  // table does not grow with every login ever made. Within the grace an expired token is still
  // answered as "expired", after it as "unknown" (both 401).
  Millis purge_interval = 3'600'000;
  Millis purge_grace = 24 * 3'600'000;
  ThrottlePolicy account = ThrottlePolicy::Account();
  ThrottlePolicy address = ThrottlePolicy::Address();
};

struct LoginRequest {
  std::string email;
  std::string password;
  std::string totp;     // the 6-digit code; empty when the client sent none
  std::string address;  // the client's IP
  bool bearer = false;  // a bearer token for scripts instead of a cookie session (no CSRF token)
};

enum class LoginOutcome {
  kOk,
  kInvalidCredentials,      // one answer for every wrong e-mail/password/code (401)
  kTotpRequired,            // right password; the account has TOTP and no code was sent (401)
  kTotpEnrollmentRequired,  // right password; an admin without TOTP may not log in (403)
  kThrottled,               // too many failures: wait retry_after (429)
};

struct LoginResult {
  LoginOutcome outcome = LoginOutcome::kInvalidCredentials;
  Millis retry_after = 0;  // kThrottled
  IssuedSession session;   // kOk
  store::UserRecord user;  // kOk
};

class LoginService {
 public:
  // Owns `store` (a connection of its own). `hasher` and `clock` must outlive this.
  LoginService(std::unique_ptr<store::Store> store, PasswordHasher& hasher, const Clock& clock,
               LoginOptions options = {}, AuthEventSink sink = {});
  // Finishes the failure bookkeeping still queued.
  ~LoginService();
  LoginService(const LoginService&) = delete;
  LoginService& operator=(const LoginService&) = delete;

  // kUnavailable (or the store's error) when the store fails; the outcome otherwise.
  Result<LoginResult> Login(const LoginRequest& request);
  // Checks a session token (from a cookie or a bearer header).
  Result<SessionCheck> Authenticate(std::string_view token);
  // Revokes the session (logout).
  Status Logout(const store::SessionRecord& session, std::string_view address);

  // Every user, in id order (for the admin routes; password hashes and TOTP secrets are the
  // caller's to leave out).
  Result<std::vector<store::UserRecord>> ListUsers();

  const LoginOptions& options() const { return options_; }

 private:
  void Emit(std::string_view action, std::string actor, std::string target, std::string address, std::string detail);
  // Counts a failed attempt for the account key (and the user, when known) and the address.
  void Fail(const std::string& account_key, const std::string& address_key, const store::UserRecord* user,
            std::string_view address, std::string_view why);
  // What the bookkeeping thread writes for a user: one more failure, and a lock (until, or 0).
  struct Bookkeeping {
    std::int64_t user_id = 0;
    Millis locked_until = 0;
  };
  void Enqueue(Bookkeeping b);
  void WaitForBookkeeping();
  void RunBookkeeping();

  std::mutex mu_;
  std::unique_ptr<store::Store> store_ TP_PT_GUARDED_BY(mu_);
  PasswordHasher& hasher_;
  const Clock& clock_;
  LoginOptions options_;
  AuthEventSink sink_;
  LoginThrottle accounts_;
  LoginThrottle addresses_;
  Millis last_purge_ TP_GUARDED_BY(mu_) = 0;  // when a login last deleted expired sessions

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Bookkeeping> queue_ TP_GUARDED_BY(queue_mu_);
  bool busy_ TP_GUARDED_BY(queue_mu_) = false;   // the thread is writing one
  bool stopping_ TP_GUARDED_BY(queue_mu_) = false;
  std::thread bookkeeper_;
};

}  // namespace touchpoint::privacy
