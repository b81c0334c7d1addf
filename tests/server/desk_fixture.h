// tests/server/desk_fixture.h — what the service desk's HTTP tests (desk, agents, SLA, deskflow,
// channels) set up alike: the App on an ephemeral port over a data directory of the test's own
// (SQLite; PostgreSQL in the postgres/ run), text analysis off, an admin API key, and requests
// as that admin unless told otherwise. A test's fixture derives from it, names its directory and
// changes config_ before Start() for what it is about.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include <touchpoint/core/time.h>
#include <touchpoint/privacy/passwords.h>
#include <touchpoint/privacy/users.h>
#include <touchpoint/server/app.h>
#include <touchpoint/server/config.h>
#include <touchpoint/store/team_repository.h>

#include "server/test_util.h"
#include "testing/data_dir.h"
#include "testing/http_client.h"
#include "testing/matchers.h"

namespace touchpoint::server::test {

class DeskServerTest : public ::testing::Test {
 protected:
  using HttpHeaders = ::touchpoint::testing::HttpHeaders;
  using HttpResponse = ::touchpoint::testing::HttpResponse;

  // `tag` names the temporary data directory.
  explicit DeskServerTest(std::string tag) : tag_(std::move(tag)) {}

  void SetUp() override {
    dir_ = MakeTempDir(tag_);
    config_ = TestConfig(dir_.string(), ::touchpoint::testing::StoreUrlForDir(dir_.string()));
    config_.text_analysis = false;
    admin_key_ = MakeKey(dir_.string(), privacy::Role::kAdmin);
    ASSERT_FALSE(admin_key_.empty());
  }
  void TearDown() override {
    client_.reset();
    if (app_) app_->Stop();
    app_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  void Start() {
    auto app = App::Start(config_);
    ASSERT_OK(app.status());
    app_ = std::move(*app);
    client_ = std::make_unique<::touchpoint::testing::HttpClient>(app_->port());
  }
  void Stop() {
    client_.reset();
    app_->Stop();
    app_.reset();
  }

  HttpHeaders Admin() const { return BearerAuth(admin_key_); }
  HttpResponse Post(const std::string& path, const std::string& body) { return Post(path, body, Admin()); }
  HttpResponse Post(const std::string& path, const std::string& body, const HttpHeaders& h,
                    const std::string& type = "application/json") {
    auto r = client_->Post(path, body, type, h);
    EXPECT_OK(r.status());
    return r.ok() ? *r : HttpResponse{};
  }
  HttpResponse Get(const std::string& path) { return Get(path, Admin()); }
  HttpResponse Get(const std::string& path, const HttpHeaders& h) {
    auto r = client_->Get(path, h);
    EXPECT_OK(r.status());
    return r.ok() ? *r : HttpResponse{};
  }
  static nlohmann::json Body(const HttpResponse& r) { return nlohmann::json::parse(r.body, nullptr, false); }

  // Polls `fn` (true: done) every 10 ms for up to `timeout`: the feed, the dispatcher and the
  // timers run after commit.
  static bool Eventually(const std::function<bool()>& fn,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      if (fn()) return true;
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  // Polls GET `path` (as the admin) until `pred` holds on its JSON body, at most `timeout`; the
  // last body either way (a failure is added when it never held).
  template <class Pred>
  nlohmann::json WaitFor(const std::string& path, Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    nlohmann::json j;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      HttpResponse r = Get(path);
      j = Body(r);
      if (r.status == 200 && pred(j)) return j;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "gave up waiting on " << path << ": " << j.dump();
    return j;
  }

  // A user with the agent role in `team` (created when missing), logged in with a bearer session:
  // its user id and headers.
  std::pair<std::int64_t, HttpHeaders> Agent(const std::string& email, const std::string& team) {
    constexpr char kPassword[] = "correct horse battery staple";
    auto st = ::touchpoint::testing::OpenForKeys(dir_.string());
    EXPECT_OK(st.status());
    if (!st.ok()) return {0, {}};
    privacy::PasswordHasherOptions cheap;
    cheap.params = privacy::PasswordHashParams::Minimum();
    privacy::PasswordHasher hasher(cheap);
    privacy::UserAdmin admin(**st, hasher, SystemClock::Instance());
    auto& teams = (*st)->Get<store::TeamRepository>();
    auto found = teams.FindByName(team);
    if (found.ok() && !found->has_value()) {
      EXPECT_OK(teams.Create(team, 1).status());
    }
    auto u = admin.CreateUser(email, privacy::Role::kAgent, team, kPassword);
    EXPECT_OK(u.status());
    HttpResponse r = Post("/v1/auth/login",
                          nlohmann::json{{"email", email}, {"password", kPassword}, {"token", true}}.dump(), {});
    EXPECT_EQ(r.status, 200) << r.body;
    return {u.ok() ? u->id : 0, BearerAuth(Body(r).value("token", ""))};
  }

  std::filesystem::path dir_;
  ServerConfig config_;
  std::string admin_key_;
  std::unique_ptr<App> app_;
  std::unique_ptr<::touchpoint::testing::HttpClient> client_;

 private:
  std::string tag_;
};

}  // namespace touchpoint::server::test
