// tests/server/role_keys.h — what the privacy-era server tests set up alike: a master key of the
// test's own (never the real home) and one API key per role in the test's store; and the fixture
// of those tests that run the server over a memory store of their own (KeyedServerTest).
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <touchpoint/core/result.h>
#include <touchpoint/privacy/keys.h>
#include <touchpoint/privacy/master_key.h>
#include <touchpoint/privacy/signing.h>
#include <touchpoint/server/app.h>
#include <touchpoint/server/config.h>
#include <touchpoint/store/api_key_repository.h>
#include <touchpoint/store/open.h>
#include <touchpoint/store/store.h>

#include "pipeline/test_dir.h"
#include "server/test_util.h"
#include "testing/http_client.h"
#include "testing/matchers.h"

namespace touchpoint::server::test {

// A key per role, indexed by the role's value; empty for roles not created.
using RoleKeys = std::array<std::string, privacy::kAllRoles.size()>;

// Creates a key for each of `roles` in `store` (as `touchpoint keys create` does).
template <class Roles>
Result<RoleKeys> CreateRoleKeys(store::Store& store, const Roles& roles) {
  RoleKeys keys;
  for (privacy::Role role : roles) {
    TP_ASSIGN_OR_RETURN(auto created,
                        privacy::CreateApiKey(store.Get<store::ApiKeyRepository>(), role, 1'700'000'000'000));
    keys[static_cast<size_t>(role)] = created.key;
  }
  return keys;
}

// Creates a master key at `path` and points `config` at it.
inline Result<privacy::MasterKey> UseNewMasterKey(ServerConfig& config, const std::string& path) {
  config.master_key_file = path;
  return privacy::CreateMasterKeyFile(path);
}

// The server over a memory store of the test's own ("memory:<tag>-<random>", which store_ also
// opens), logging and text analysis off, a master key of its own (public_key_ verifies its
// signatures) and an API key for each of the roles given. StartApp() starts the server.
class KeyedServerTest : public ::testing::Test {
 protected:
  using HttpResponse = ::touchpoint::testing::HttpResponse;

  KeyedServerTest(std::string tag, std::vector<privacy::Role> roles) : tag_(std::move(tag)), roles_(std::move(roles)) {}

  void SetUp() override {
    std::random_device rd;
    url_ = "memory:" + tag_ + "-" + std::to_string(rd());
    auto st = store::Open(url_, {});
    ASSERT_OK(st);
    store_ = std::move(*st);
    config_ = TestConfig(tmp_.path(), url_);
    config_.log_level = "off";
    config_.text_analysis = false;
    auto key = UseNewMasterKey(config_, tmp_.File("keys/master.key"));
    ASSERT_OK(key.status());
    public_key_ = privacy::Signer::FromMasterKey(*key).public_key();
    auto keys = CreateRoleKeys(*store_, roles_);
    ASSERT_OK(keys.status());
    keys_ = std::move(*keys);
  }
  void TearDown() override { app_.reset(); }

  void StartApp() {
    auto app = App::Start(config_);
    ASSERT_OK(app);
    app_ = std::move(app).value();
    client_ = std::make_unique<::touchpoint::testing::HttpClient>(app_->port());
  }
  const std::string& Key(privacy::Role role) const { return keys_[static_cast<size_t>(role)]; }
  HttpResponse Send(const std::string& method, const std::string& path, const std::string& body,
                    const ::touchpoint::testing::HttpHeaders& headers) {
    auto r = client_->Send(method, path, body, "application/json", headers);
    EXPECT_OK(r) << method << " " << path;
    return r.ok() ? *r : HttpResponse{};
  }
  // As the API key of `role`.
  HttpResponse Send(const std::string& method, const std::string& path, const std::string& body, privacy::Role role) {
    return Send(method, path, body, BearerAuth(Key(role)));
  }

  ::touchpoint::testing::TempDir tmp_;
  std::string url_;
  std::unique_ptr<store::Store> store_;
  ServerConfig config_;
  privacy::PublicKey public_key_;
  RoleKeys keys_;
  std::unique_ptr<App> app_;
  std::unique_ptr<::touchpoint::testing::HttpClient> client_;

 private:
  std::string tag_;
  std::vector<privacy::Role> roles_;
};

}  // namespace touchpoint::server::test
