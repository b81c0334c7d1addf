#include <touchpoint/privacy/login.h>

#include <algorithm>
#include <optional>

#include <touchpoint/core/status.h>
#include <touchpoint/privacy/totp.h>
#include <touchpoint/privacy/users.h>
#include <touchpoint/store/session_repository.h>
#include <touchpoint/store/user_repository.h>

namespace touchpoint::privacy {
namespace {

std::string UserTarget(std::int64_t id) { return "user:" + std::to_string(id); }

std::string AccountKey(std::string_view email) {
  auto normal = NormalizeEmail(email);
  // A malformed e-mail is throttled like any other string (it never matches an account).
  return "account:" + (normal.ok() ? *normal : std::string(email.substr(0, 300)));
}

}  // namespace

LoginService::LoginService(std::unique_ptr<store::Store> store, PasswordHasher& hasher, const Clock& clock,
                           LoginOptions options, AuthEventSink sink)
    : store_(std::move(store)),
      hasher_(hasher),
      clock_(clock),
      options_(options),
      sink_(std::move(sink)),
      accounts_(options.account),
      addresses_(options.address),
      last_purge_(clock.Now()),
      bookkeeper_([this] { RunBookkeeping(); }) {}

LoginService::~LoginService() {
  {
    std::scoped_lock lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  bookkeeper_.join();
}

void LoginService::Enqueue(Bookkeeping b) {
  {
    std::scoped_lock lock(queue_mu_);
    // Bounded: under a flood the counts are best effort (the in-memory throttle still holds).
    if (queue_.size() >= 10'000) return;
    queue_.push_back(b);
  }
  queue_cv_.notify_all();
}

void LoginService::WaitForBookkeeping() {
  std::unique_lock lock(queue_mu_);
  queue_cv_.wait(lock, [&] { return queue_.empty() && !busy_; });
}

void LoginService::RunBookkeeping() {
  std::unique_lock lock(queue_mu_);
  for (;;) {
    queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, everything written
    const Bookkeeping b = queue_.front();
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    {
      std::scoped_lock store_lock(mu_);
      auto& users = store_->Get<store::UserRepository>();
      (void)users.AddFailedLogin(b.user_id);  // best effort: the in-memory throttle decides
      if (b.locked_until != 0) {
        store::UserUpdate update;
        update.locked_until = b.locked_until;
        (void)users.Update(b.user_id, update);
      }
    }
    lock.lock();
    busy_ = false;
    queue_cv_.notify_all();
  }
}

void LoginService::Emit(std::string_view action, std::string actor, std::string target, std::string address,
                        std::string detail) {
  if (!sink_) return;
  sink_(AuthEvent{.at = clock_.Now(),
                  .action = std::string(action),
                  .actor = std::move(actor),
                  .target = std::move(target),
                  .address = std::move(address),
                  .detail = std::move(detail)});
}

void LoginService::Fail(const std::string& account_key, const std::string& address_key,
                        const store::UserRecord* user, std::string_view address, std::string_view why) {
  const Millis now = clock_.Now();
  const bool account_locked = accounts_.RecordFailure(account_key, now);
  const bool address_locked = addresses_.RecordFailure(address_key, now);
  const std::string target = user ? UserTarget(user->id) : "unknown-account";
  if (user != nullptr) {
    Enqueue({.user_id = user->id, .locked_until = account_locked ? now + options_.account.lock_for : 0});
  }
  Emit(auth_action::kLoginFailed, "anonymous", target, std::string(address), std::string(why));
  if (account_locked) Emit(auth_action::kLoginLocked, "anonymous", target, std::string(address), "account");
  if (address_locked) Emit(auth_action::kLoginLocked, "anonymous", "address", std::string(address), "address");
}

Result<LoginResult> LoginService::Login(const LoginRequest& request) {
  LoginResult result;
  const std::string account_key = AccountKey(request.email);
  const std::string address_key = "address:" + request.address;
  const Millis start = clock_.Now();
  const Millis wait = std::max(accounts_.RetryAfter(account_key, start), addresses_.RetryAfter(address_key, start));
  if (wait > 0) {
    result.outcome = LoginOutcome::kThrottled;
    result.retry_after = wait;
    return result;
  }

  std::optional<store::UserRecord> user;
  if (auto normal = NormalizeEmail(request.email); normal.ok()) {
    std::scoped_lock lock(mu_);
    TP_ASSIGN_OR_RETURN(user, store_->Get<store::UserRepository>().FindByEmail(*normal));
  }
  // A lock another node (or an earlier run) stored: honoured like this node's own.
  if (user && user->locked_until > start) {
    result.outcome = LoginOutcome::kThrottled;
    result.retry_after = user->locked_until - start;
    return result;
  }
  PasswordHasher::Verdict verdict;
  if (user) {
    verdict = hasher_.Verify(user->password_hash, request.password);
  } else {
    hasher_.VerifyDummy(request.password);
  }
  if (!user || !verdict.match || user->disabled_at != 0) {
    const char* why = !user ? "unknown_account" : !verdict.match ? "bad_password" : "disabled";
    Fail(account_key, address_key, user ? &*user : nullptr, request.address, why);
    result.outcome = LoginOutcome::kInvalidCredentials;
    return result;
  }

  // The password is right: from here the client may learn about the second factor.
  auto role = ParseRole(user->role);
  if (!role.ok() || *role == Role::kIngest) {
    Fail(account_key, address_key, &*user, request.address, "no_staff_role");
    result.outcome = LoginOutcome::kInvalidCredentials;
    return result;
  }
  if (user->totp_secret.empty()) {
    if (*role == Role::kAdmin) {
      Emit(auth_action::kLoginFailed, "anonymous", UserTarget(user->id), request.address, "totp_not_enrolled");
      result.outcome = LoginOutcome::kTotpEnrollmentRequired;
      return result;
    }
  } else {
    if (request.totp.empty()) {
      result.outcome = LoginOutcome::kTotpRequired;
      return result;
    }
    const std::optional<std::int64_t> step = MatchTotp(user->totp_secret, request.totp, clock_.Now());
    bool fresh = false;
    if (step) {
      std::scoped_lock lock(mu_);
      TP_ASSIGN_OR_RETURN(fresh, store_->Get<store::UserRepository>().AdvanceTotpStep(user->id, *step));
    }
    if (!fresh) {
      Fail(account_key, address_key, &*user, request.address, step ? "totp_replayed" : "bad_totp");
      result.outcome = LoginOutcome::kInvalidCredentials;
      return result;
    }
  }

  accounts_.RecordSuccess(account_key);
  addresses_.RecordSuccess(address_key);
  // After the failures still queued (a success may answer later, a failure may not), the stored
  // count starts afresh.
  WaitForBookkeeping();
  const Millis now = clock_.Now();
  {
    std::scoped_lock lock(mu_);
    auto& users = store_->Get<store::UserRepository>();
    TP_ASSIGN_OR_RETURN(auto fresh, users.Find(user->id));
    if (fresh && (fresh->failed_logins != 0 || fresh->locked_until != 0)) {
      store::UserUpdate reset;
      reset.failed_logins = 0;
      reset.locked_until = 0;
      TP_RETURN_IF_ERROR(users.Update(user->id, reset));
    }
    TP_ASSIGN_OR_RETURN(result.session,
                        IssueSession(store_->Get<store::SessionRepository>(), user->id, !request.bearer, now));
    if (options_.purge_interval > 0 && now - last_purge_ >= options_.purge_interval) {
      last_purge_ = now;
      const SessionPolicy& p = options_.sessions;
      // A failure here costs nothing but a larger table: the login itself succeeded.
      (void)store_->Get<store::SessionRepository>().DeleteExpired(
          now - p.absolute_timeout - options_.purge_grace, now - p.idle_timeout - options_.purge_grace);
    }
  }
  if (verdict.needs_rehash) {
    // The hashing parameters changed since this password was set: store a hash with today's.
    auto rehashed = hasher_.Hash(request.password);
    if (rehashed.ok()) {
      store::UserUpdate update;
      update.password_hash = std::move(*rehashed);
      std::scoped_lock lock(mu_);
      if (store_->Get<store::UserRepository>().Update(user->id, update).ok()) {
        Emit(auth_action::kPasswordRehashed, UserTarget(user->id), UserTarget(user->id), request.address, "");
      }
    }
  }
  Emit(auth_action::kLogin, UserTarget(user->id), UserTarget(user->id), request.address,
       request.bearer ? "bearer" : "cookie");
  result.outcome = LoginOutcome::kOk;
  result.user = std::move(*user);
  return result;
}

Result<SessionCheck> LoginService::Authenticate(std::string_view token) {
  std::scoped_lock lock(mu_);
  return CheckSession(store_->Get<store::SessionRepository>(), store_->Get<store::UserRepository>(), token,
                      clock_.Now(), options_.sessions);
}

Result<std::vector<store::UserRecord>> LoginService::ListUsers() {
  std::scoped_lock lock(mu_);
  return store_->Get<store::UserRepository>().List();
}

Status LoginService::Logout(const store::SessionRecord& session, std::string_view address) {
  {
    std::scoped_lock lock(mu_);
    TP_RETURN_IF_ERROR(store_->Get<store::SessionRepository>().Revoke(session.id, clock_.Now()));
  }
  Emit(auth_action::kLogout, UserTarget(session.user_id), UserTarget(session.user_id), std::string(address), "");
  return Status::Ok();
}

}  // namespace touchpoint::privacy
