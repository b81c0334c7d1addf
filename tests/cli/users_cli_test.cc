// `touchpoint users` and `touchpoint teams` as an administrator runs them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"

namespace touchpoint {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::touchpoint::testing::Touchpoint;

class UsersCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = std::filesystem::temp_directory_path() / ("tp_users_cli_" + std::to_string(rd()));
    std::filesystem::create_directories(dir_);
    data_ = " --data '" + (dir_ / "data").string() + "'";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Secret(const std::string& name, const std::string& content, mode_t mode = 0600) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << content << "\n";
    chmod(path.c_str(), mode);
    return path;
  }
  std::filesystem::path dir_;
  std::string data_;
};

TEST_F(UsersCliTest, CreatesListsAndChangesUsersWithoutShowingSecrets) {
  const std::string pw = Secret("pw", "correct horse battery");
  auto created = Touchpoint("users create --email Ann@Example.com --role agent --password-file " + pw + data_);
  ASSERT_EQ(created.code, 0) << created.out;
  EXPECT_EQ(nlohmann::json::parse(created.out)["created"], "ann@example.com");
  EXPECT_EQ(Touchpoint("users create --email ann@example.com --role agent --password-file " + pw + data_).code, 1)
      << "the e-mail is taken, whatever its case";
  EXPECT_EQ(Touchpoint("users create --email bot@example.com --role ingest --password-file " + pw + data_).code, 2);
  EXPECT_EQ(Touchpoint("users create --email x@example.com --role agent --password-file " +
                       Secret("open", "correct horse battery", 0644) + data_ + " 2>&1")
                .code,
            1)
      << "a password file others can read is refused";
  auto weak = Touchpoint("users create --email y@example.com --role agent --password-file " +
                         Secret("weak", "hunter2") + data_ + " 2>&1");
  EXPECT_EQ(weak.code, 2);
  EXPECT_THAT(weak.out, Not(HasSubstr("hunter2")));
  // Typed on stdin (not a terminal here: one line).
  EXPECT_EQ(Touchpoint("users create --email sue@example.com --role supervisor" + data_ + " < " +
                       Secret("typed", "another long password"))
                .code,
            0);
  EXPECT_EQ(Touchpoint("teams create north" + data_).code, 0);
  EXPECT_EQ(Touchpoint("teams add-member north ann@example.com" + data_).code, 0);
  EXPECT_EQ(Touchpoint("teams add-supervisor north ann@example.com" + data_).code, 1) << "an agent supervises no team";
  EXPECT_EQ(Touchpoint("teams add-supervisor north sue@example.com" + data_).code, 0);
  EXPECT_EQ(Touchpoint("users set-role ann@example.com --role analyst" + data_).code, 0);
  auto totp = Touchpoint("users totp-enroll sue@example.com" + data_);
  EXPECT_EQ(totp.code, 0);
  EXPECT_THAT(totp.out, HasSubstr("otpauth://totp/Touchpoint:sue@example.com?secret="));
  EXPECT_EQ(Touchpoint("users disable ann@example.com" + data_).code, 0);
  EXPECT_EQ(Touchpoint("users disable nobody@example.com" + data_).code, 4);
  EXPECT_EQ(Touchpoint("users reset-password sue@example.com --password-file " + Secret("pw2", "a new long password") +
                       data_)
                .code,
            0);
  auto list = Touchpoint("users list" + data_);
  ASSERT_EQ(list.code, 0);
  EXPECT_THAT(list.out, Not(HasSubstr("argon2")));
  EXPECT_THAT(list.out, Not(HasSubstr("correct horse")));
  auto users = nlohmann::json::parse(list.out);
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0]["email"], "ann@example.com");
  EXPECT_EQ(users[0]["role"], "analyst");
  EXPECT_EQ(users[0]["team"], "north");
  EXPECT_FALSE(users[0]["disabled_at"].is_null());
  EXPECT_EQ(users[1]["totp_enrolled"], true);
  auto teams = nlohmann::json::parse(Touchpoint("teams list" + data_).out);
  ASSERT_EQ(teams.size(), 1u);
  EXPECT_EQ(teams[0]["supervisors"], nlohmann::json::array({"sue@example.com"}));
  EXPECT_EQ(teams[0]["members"], nlohmann::json::array({"ann@example.com"}));
}

}  // namespace
}  // namespace touchpoint
