// Logins, sessions and user administration over an in-memory store with a fake clock: throttling
// and lockout, idle and absolute expiry, revocation, rehash, TOTP replay, one answer for unknown
// and known accounts.
#include <touchpoint/privacy/login.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include <touchpoint/privacy/keys.h>
#include <touchpoint/privacy/totp.h>
#include <touchpoint/privacy/users.h>
#include <touchpoint/store/memory.h>
#include <touchpoint/store/session_repository.h>
#include <touchpoint/store/user_repository.h>

#include "testing/matchers.h"

namespace touchpoint::privacy {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::touchpoint::testing::StatusIs;

class FakeClock final : public Clock {
 public:
  Millis Now() const override { return now_.load(); }
  void Advance(Millis ms) { now_ += ms; }

 private:
  std::atomic<Millis> now_{1'700'000'000'000};
};

constexpr char kPassword[] = "correct horse battery";

class LoginTest : public ::testing::Test {
 protected:
  LoginTest() : hasher_(Cheap()) {
    static int counter = 0;
    name_ = "login-test-" + std::to_string(counter++);
    admin_store_ = store::memory::OpenShared(name_);
    admin_ = std::make_unique<UserAdmin>(*admin_store_, hasher_, clock_, [this](const AuthEvent& e) {
      events_.push_back(e);
    });
    login_ = std::make_unique<LoginService>(store::memory::OpenShared(name_), hasher_, clock_, LoginOptions{},
                                            [this](const AuthEvent& e) { events_.push_back(e); });
  }
  static PasswordHasherOptions Cheap() {
    PasswordHasherOptions o;
    o.params = PasswordHashParams::Minimum();
    return o;
  }
  LoginResult Login(const std::string& email, const std::string& password, const std::string& totp = "",
                    const std::string& address = "192.0.2.1") {
    auto r = login_->Login({email, password, totp, address, false});
    EXPECT_OK(r.status());
    return r.ok() ? *r : LoginResult{};
  }
  store::UserRecord MakeUser(const std::string& email, Role role) {
    auto u = admin_->CreateUser(email, role, "", kPassword);
    EXPECT_OK(u.status());
    return u.ok() ? *u : store::UserRecord{};
  }
  std::string CodeFor(const std::string& secret, Millis offset = 0) {
    return Hotp(*Base32Decode(secret), static_cast<std::uint64_t>(TotpStep(clock_.Now() + offset)));
  }
  bool AnyEventMentions(const std::string& text) {
    for (const auto& e : events_) {
      if ((e.actor + e.target + e.detail + e.address).find(text) != std::string::npos) return true;
    }
    return false;
  }

  std::string name_;
  FakeClock clock_;
  PasswordHasher hasher_;
  std::vector<AuthEvent> events_;
  std::unique_ptr<store::Store> admin_store_;
  std::unique_ptr<UserAdmin> admin_;
  std::unique_ptr<LoginService> login_;
};

TEST_F(LoginTest, ARightPasswordGivesASessionWhoseTokenOnlyTheClientKnows) {
  const auto ann = MakeUser("Ann@Example.com", Role::kAgent);
  EXPECT_EQ(ann.email, "ann@example.com");
  const LoginResult r = Login("ANN@example.com", kPassword);
  ASSERT_EQ(r.outcome, LoginOutcome::kOk);
  EXPECT_TRUE(IsSessionToken(r.session.token));
  EXPECT_EQ(r.session.csrf_token.size(), 64u);
  auto stored = admin_store_->Get<store::SessionRepository>().FindByHash(HashKey(r.session.token));
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_NE((*stored)->token_hash, r.session.token);
  EXPECT_TRUE(CsrfMatches(**stored, r.session.csrf_token));
  EXPECT_FALSE(CsrfMatches(**stored, "x"));
  auto check = login_->Authenticate(r.session.token);
  ASSERT_OK(check.status());
  ASSERT_TRUE(check->ok());
  EXPECT_EQ(check->role, Role::kAgent);
  EXPECT_EQ(check->user.id, ann.id);
  EXPECT_FALSE(AnyEventMentions(kPassword));
  EXPECT_FALSE(AnyEventMentions(r.session.token));
}

TEST_F(LoginTest, BearerSessionsHaveNoCsrfToken) {
  MakeUser("bot@example.com", Role::kAnalyst);
  auto r = login_->Login({"bot@example.com", kPassword, "", "192.0.2.1", /*bearer=*/true});
  ASSERT_OK(r.status());
  ASSERT_EQ(r->outcome, LoginOutcome::kOk);
  EXPECT_TRUE(r->session.csrf_token.empty());
  EXPECT_TRUE(r->session.record.csrf_hash.empty());
}

TEST_F(LoginTest, WrongPasswordUnknownAccountAndDisabledAccountAnswerAlike) {
  MakeUser("ann@example.com", Role::kAgent);
  MakeUser("old@example.com", Role::kAgent);
  ASSERT_OK(admin_->Disable("old@example.com"));
  EXPECT_EQ(Login("ann@example.com", "wrong password!").outcome, LoginOutcome::kInvalidCredentials);
  EXPECT_EQ(Login("nobody@example.com", kPassword).outcome, LoginOutcome::kInvalidCredentials);
  EXPECT_EQ(Login("old@example.com", kPassword).outcome, LoginOutcome::kInvalidCredentials);
  EXPECT_EQ(Login("not an email", kPassword).outcome, LoginOutcome::kInvalidCredentials);
  EXPECT_FALSE(AnyEventMentions("nobody@example.com")) << "a stranger's typed e-mail is not recorded";
}

TEST_F(LoginTest, FailuresAreSlowedThenLockedTheSameForKnownAndUnknownAccounts) {
  MakeUser("ann@example.com", Role::kAgent);
  for (const std::string email : {"ann@example.com", "ghost@example.com"}) {
    SCOPED_TRACE(email);
    // Three free failures, then a growing delay: 1 s, 2 s, 4 s …
    for (int i = 0; i < 3; ++i) EXPECT_EQ(Login(email, "wrong password!").outcome, LoginOutcome::kInvalidCredentials);
    EXPECT_EQ(Login(email, "wrong password!").outcome, LoginOutcome::kInvalidCredentials);
    LoginResult slowed = Login(email, kPassword);
    EXPECT_EQ(slowed.outcome, LoginOutcome::kThrottled) << "even the right password waits";
    EXPECT_EQ(slowed.retry_after, 1'000);
    clock_.Advance(1'000);
    EXPECT_EQ(Login(email, "wrong password!").outcome, LoginOutcome::kInvalidCredentials);
    EXPECT_EQ(Login(email, kPassword).retry_after, 2'000);
    // Up to the tenth failure: then locked for 15 minutes.
    for (int i = 6; i <= 10; ++i) {
      clock_.Advance(60'000);
      EXPECT_EQ(Login(email, "wrong password!").outcome, LoginOutcome::kInvalidCredentials) << i;
    }
    clock_.Advance(60'000);
    LoginResult locked = Login(email, kPassword);
    EXPECT_EQ(locked.outcome, LoginOutcome::kThrottled);
    EXPECT_EQ(locked.retry_after, 14 * 60'000);
    clock_.Advance(14 * 60'000);
  }
  // After the lock the right password works and the count starts afresh.
  EXPECT_EQ(Login("ann@example.com", kPassword).outcome, LoginOutcome::kOk);
  auto ann = admin_->FindUser("ann@example.com");
  EXPECT_EQ(ann->failed_logins, 0);
  EXPECT_EQ(ann->locked_until, 0);
}

TEST_F(LoginTest, OneAddressTryingManyAccountsIsLockedToo) {
  for (int i = 0; i < 100; ++i) {
    clock_.Advance(60'000);
    EXPECT_EQ(Login("user" + std::to_string(i) + "@example.com", "wrong password!", "", "198.51.100.7").outcome,
              LoginOutcome::kInvalidCredentials)
        << i;
  }
  MakeUser("ann@example.com", Role::kAgent);
  EXPECT_EQ(Login("ann@example.com", kPassword, "", "198.51.100.7").outcome, LoginOutcome::kThrottled);
  EXPECT_EQ(Login("ann@example.com", kPassword, "", "198.51.100.8").outcome, LoginOutcome::kOk)
      << "another address is not affected";
}

TEST_F(LoginTest, SessionsExpireWhenIdleAndAfterTheAbsoluteLimit) {
  MakeUser("ann@example.com", Role::kAgent);
  const SessionPolicy policy = login_->options().sessions;
  // Idle: unused for 30 minutes.
  LoginResult idle = Login("ann@example.com", kPassword);
  clock_.Advance(policy.idle_timeout - 1);
  EXPECT_TRUE(login_->Authenticate(idle.session.token)->ok());
  clock_.Advance(policy.idle_timeout - 1);
  EXPECT_TRUE(login_->Authenticate(idle.session.token)->ok()) << "the use above kept it alive";
  clock_.Advance(policy.idle_timeout);
  EXPECT_EQ(login_->Authenticate(idle.session.token)->problem, SessionProblem::kExpired);
  // Absolute: 12 hours after login, however busy.
  LoginResult busy = Login("ann@example.com", kPassword);
  for (Millis t = 0; t + 10 * 60'000 < policy.absolute_timeout; t += 10 * 60'000) {
    clock_.Advance(10 * 60'000);
    ASSERT_TRUE(login_->Authenticate(busy.session.token)->ok()) << t;
  }
  clock_.Advance(10 * 60'000);
  EXPECT_EQ(login_->Authenticate(busy.session.token)->problem, SessionProblem::kExpired);
  EXPECT_EQ(login_->Authenticate("tps_" + std::string(64, '0'))->problem, SessionProblem::kUnknown);
  EXPECT_EQ(login_->Authenticate("tp_notasession")->problem, SessionProblem::kUnknown);
}

TEST_F(LoginTest, DisablingAUserOrChangingTheirPasswordOrRoleRevokesTheirSessions) {
  MakeUser("ann@example.com", Role::kAgent);
  const LoginResult a = Login("ann@example.com", kPassword);
  ASSERT_OK(admin_->SetRole("ann@example.com", Role::kSupervisor));
  EXPECT_EQ(login_->Authenticate(a.session.token)->problem, SessionProblem::kRevoked);
  const LoginResult b = Login("ann@example.com", kPassword);
  EXPECT_EQ(login_->Authenticate(b.session.token)->role, Role::kSupervisor);
  clock_.Advance(1);
  ASSERT_OK(admin_->ResetPassword("ann@example.com", "a brand new password"));
  EXPECT_EQ(login_->Authenticate(b.session.token)->problem, SessionProblem::kRevoked);
  EXPECT_EQ(Login("ann@example.com", kPassword).outcome, LoginOutcome::kInvalidCredentials);
  const LoginResult c = Login("ann@example.com", "a brand new password");
  ASSERT_EQ(c.outcome, LoginOutcome::kOk);
  ASSERT_OK(admin_->Disable("ann@example.com"));
  EXPECT_NE(login_->Authenticate(c.session.token)->problem, SessionProblem::kNone);
  EXPECT_THAT(admin_->Disable("ann@example.com"), StatusIs(StatusCode::kFailedPrecondition));
  // A session whose user was disabled behind the repository's back is refused too.
  ASSERT_OK(admin_->Enable("ann@example.com"));
  const LoginResult d = Login("ann@example.com", "a brand new password");
  store::UserUpdate off;
  off.disabled_at = clock_.Now();
  ASSERT_OK(admin_store_->Get<store::UserRepository>().Update(d.user.id, off));
  EXPECT_EQ(login_->Authenticate(d.session.token)->problem, SessionProblem::kUserDisabled);
}

TEST_F(LoginTest, ALaterLoginDeletesSessionsLongExpiredOrRevoked) {
  MakeUser("ann@example.com", Role::kAgent);
  const LoginOptions options = login_->options();
  auto& sessions = admin_store_->Get<store::SessionRepository>();
  auto stored = [&](const LoginResult& r) {
    auto s = sessions.FindByHash(HashKey(r.session.token));
    EXPECT_OK(s.status());
    return s.ok() && s->has_value();
  };
  const LoginResult old = Login("ann@example.com", kPassword);
  const LoginResult out = Login("ann@example.com", kPassword);
  ASSERT_OK(login_->Logout(out.session.record, "192.0.2.1"));
  // Expired, but within the grace: still there, still answered "expired".
  clock_.Advance(options.sessions.absolute_timeout + 1);
  const LoginResult fresh = Login("ann@example.com", kPassword);
  EXPECT_TRUE(stored(old));
  EXPECT_EQ(login_->Authenticate(old.session.token)->problem, SessionProblem::kExpired);
  EXPECT_FALSE(stored(out)) << "a revoked session is gone at the first purge";
  // Past the grace, the next login (an interval later) deletes it; the live one stays.
  clock_.Advance(options.purge_grace);
  ASSERT_TRUE(login_->Authenticate(fresh.session.token).ok());
  const LoginResult later = Login("ann@example.com", kPassword);
  EXPECT_FALSE(stored(old));
  EXPECT_EQ(login_->Authenticate(old.session.token)->problem, SessionProblem::kUnknown);
  EXPECT_TRUE(stored(later));
}

TEST_F(LoginTest, LogoutRevokesTheSession) {
  MakeUser("ann@example.com", Role::kAgent);
  const LoginResult a = Login("ann@example.com", kPassword);
  ASSERT_OK(login_->Logout(a.session.record, "192.0.2.1"));
  EXPECT_EQ(login_->Authenticate(a.session.token)->problem, SessionProblem::kRevoked);
}

TEST_F(LoginTest, APasswordHashedWithOldParametersIsRehashedAtLogin) {
  MakeUser("ann@example.com", Role::kAgent);
  const std::string before = admin_->FindUser("ann@example.com")->password_hash;
  PasswordHasherOptions stronger = Cheap();
  stronger.params.opslimit += 1;
  PasswordHasher new_hasher(stronger);
  LoginService login(store::memory::OpenShared(name_), new_hasher, clock_);
  auto r = login.Login({"ann@example.com", kPassword, "", "192.0.2.1", false});
  ASSERT_OK(r.status());
  ASSERT_EQ(r->outcome, LoginOutcome::kOk);
  const std::string after = admin_->FindUser("ann@example.com")->password_hash;
  EXPECT_NE(after, before);
  EXPECT_FALSE(new_hasher.Verify(after, kPassword).needs_rehash);
  EXPECT_TRUE(new_hasher.Verify(after, kPassword).match);
  EXPECT_EQ(admin_->FindUser("ann@example.com")->password_changed_at, r->user.password_changed_at)
      << "a rehash is no password change: sessions stay";
}

TEST_F(LoginTest, AdminsMustEnrolTotpAndACodeIsAcceptedOnce) {
  MakeUser("root@example.com", Role::kAdmin);
  EXPECT_EQ(Login("root@example.com", kPassword).outcome, LoginOutcome::kTotpEnrollmentRequired);
  EXPECT_EQ(Login("root@example.com", "wrong password!").outcome, LoginOutcome::kInvalidCredentials)
      << "the second-factor answer only follows the right password";
  auto enrolled = admin_->EnrollTotp("root@example.com");
  ASSERT_OK(enrolled.status());
  EXPECT_THAT(enrolled->uri, HasSubstr("secret=" + enrolled->secret));
  EXPECT_EQ(Login("root@example.com", kPassword).outcome, LoginOutcome::kTotpRequired);
  const std::string code = CodeFor(enrolled->secret);
  EXPECT_EQ(Login("root@example.com", kPassword, code).outcome, LoginOutcome::kOk);
  EXPECT_EQ(Login("root@example.com", kPassword, code).outcome, LoginOutcome::kInvalidCredentials)
      << "the same code again is a replay";
  EXPECT_EQ(Login("root@example.com", kPassword, CodeFor(enrolled->secret, -30'000)).outcome,
            LoginOutcome::kInvalidCredentials)
      << "an older step after a newer one was used";
  clock_.Advance(30'000);
  EXPECT_EQ(Login("root@example.com", kPassword, CodeFor(enrolled->secret)).outcome, LoginOutcome::kOk);
  EXPECT_EQ(Login("root@example.com", kPassword, "000000").outcome == LoginOutcome::kOk, false);
  EXPECT_FALSE(AnyEventMentions(code));
}

TEST_F(LoginTest, TotpIsOptionalForOtherStaff) {
  MakeUser("ann@example.com", Role::kAgent);
  EXPECT_EQ(Login("ann@example.com", kPassword).outcome, LoginOutcome::kOk);
  auto enrolled = admin_->EnrollTotp("ann@example.com");
  ASSERT_OK(enrolled.status());
  EXPECT_EQ(Login("ann@example.com", kPassword).outcome, LoginOutcome::kTotpRequired);
  EXPECT_EQ(Login("ann@example.com", kPassword, CodeFor(enrolled->secret)).outcome, LoginOutcome::kOk);
}

TEST_F(LoginTest, UserAdministrationChecksItsInputAndReportsEachChange) {
  EXPECT_THAT(admin_->CreateUser("ann", Role::kAgent, "", kPassword).status(), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(admin_->CreateUser("ann@example.com", Role::kIngest, "", kPassword).status(),
              StatusIs(StatusCode::kInvalidArgument));
  auto weak = admin_->CreateUser("ann@example.com", Role::kAgent, "", "short");
  EXPECT_THAT(weak.status(), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(weak.status().message(), Not(HasSubstr("short")));
  EXPECT_THAT(admin_->CreateUser("ann@example.com", Role::kAgent, "north", kPassword).status(),
              StatusIs(StatusCode::kNotFound));
  ASSERT_OK(admin_->CreateTeam("north").status());
  EXPECT_THAT(admin_->CreateTeam("north").status(), StatusIs(StatusCode::kAlreadyExists));
  EXPECT_THAT(admin_->CreateTeam("a team").status(), StatusIs(StatusCode::kInvalidArgument));
  auto ann = admin_->CreateUser("ann@example.com", Role::kAgent, "north", kPassword);
  ASSERT_OK(ann.status());
  EXPECT_THAT(admin_->CreateUser("ANN@example.com", Role::kAgent, "", kPassword).status(),
              StatusIs(StatusCode::kAlreadyExists));
  EXPECT_THAT(admin_->AddSupervisor("north", "ann@example.com"), StatusIs(StatusCode::kFailedPrecondition));
  MakeUser("sue@example.com", Role::kSupervisor);
  ASSERT_OK(admin_->AddSupervisor("north", "sue@example.com"));
  ASSERT_OK(admin_->CreateTeam("south").status());
  ASSERT_OK(admin_->AddMember("south", "ann@example.com"));
  auto teams = admin_->ListTeams();
  ASSERT_OK(teams.status());
  ASSERT_EQ(teams->size(), 2u);
  EXPECT_EQ((*teams)[0].supervisors.size(), 1u);
  EXPECT_EQ(admin_->FindUser("ann@example.com")->team_id, (*teams)[1].id) << "moved: one team at most";
  EXPECT_THAT(admin_->SetRole("ann@example.com", Role::kAgent), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(admin_->FindUser("nobody@example.com").status(), StatusIs(StatusCode::kNotFound));
  std::vector<std::string> actions;
  for (const auto& e : events_) actions.push_back(e.action);
  EXPECT_THAT(actions, ::testing::ElementsAre("team.created", "user.created", "user.created",
                                              "team.supervisor_added", "team.created", "team.member_added"));
  EXPECT_FALSE(AnyEventMentions(kPassword));
}

}  // namespace
}  // namespace touchpoint::privacy
