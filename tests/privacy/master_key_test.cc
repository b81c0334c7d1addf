#include <touchpoint/privacy/master_key.h>

#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "pipeline/test_dir.h"
#include "testing/matchers.h"

namespace touchpoint::privacy {
namespace {

using ::touchpoint::testing::StatusIs;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Write(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream(path, std::ios::binary) << text;
  ::chmod(path.c_str(), mode);
}

TEST(MasterKeyTest, CreatesAPrivateVersionedFileAndLoadsTheSameKey) {
  ::touchpoint::testing::TempDir tmp;
  const std::string path = tmp.File("config/touchpoint/master.key");
  auto created = CreateMasterKeyFile(path);
  ASSERT_OK(created.status());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "only the owner may read the key";
  const std::string text = Slurp(path);
  EXPECT_EQ(text.rfind("touchpoint-master-key v1\n", 0), 0u) << text;
  auto loaded = LoadMasterKey(path);
  ASSERT_OK(loaded.status());
  EXPECT_TRUE(std::equal(loaded->bytes().begin(), loaded->bytes().end(), created->bytes().begin()));
  EXPECT_EQ(loaded->version(), 1);
  auto other = CreateMasterKeyFile(tmp.File("other.key"));
  ASSERT_OK(other.status());
  EXPECT_FALSE(std::equal(other->bytes().begin(), other->bytes().end(), created->bytes().begin())) << "random";
}

TEST(MasterKeyTest, NeverOverwritesAnExistingKey) {
  ::touchpoint::testing::TempDir tmp;
  const std::string path = tmp.File("master.key");
  ASSERT_OK(CreateMasterKeyFile(path).status());
  const std::string before = Slurp(path);
  EXPECT_THAT(CreateMasterKeyFile(path).status(), StatusIs(StatusCode::kAlreadyExists));
  EXPECT_EQ(Slurp(path), before);
}

TEST(MasterKeyTest, RefusesAKeyReadableByOthersWithAClearMessage) {
  ::touchpoint::testing::TempDir tmp;
  const std::string path = tmp.File("master.key");
  ASSERT_OK(CreateMasterKeyFile(path).status());
  for (mode_t mode : {0644u, 0640u, 0604u, 0660u}) {
    ::chmod(path.c_str(), mode);
    auto loaded = LoadMasterKey(path);
    EXPECT_THAT(loaded.status(), StatusIs(StatusCode::kFailedPrecondition)) << std::oct << mode;
    EXPECT_NE(loaded.status().message().find("chmod 600"), std::string::npos) << loaded.status().message();
  }
}

TEST(MasterKeyTest, MissingMalformedAndUnknownVersionsAreClearErrors) {
  ::touchpoint::testing::TempDir tmp;
  EXPECT_THAT(LoadMasterKey(tmp.File("none.key")).status(), StatusIs(StatusCode::kNotFound));
  struct Case {
    const char* text;
    const char* says;
  } cases[] = {
      {"not a key\n", "first line"},
      {"touchpoint-master-key v2\nAAAA\n", "version 2"},
      {"touchpoint-master-key v1\nAAAA\n", "32 bytes"},
      {"touchpoint-master-key v1\n!!!notbase64!!!\n", "32 bytes"},
      {"touchpoint-master-key v1\n", "32 bytes"},
  };
  for (const Case& c : cases) {
    const std::string path = tmp.File("bad.key");
    Write(path, c.text, 0600);
    auto loaded = LoadMasterKey(path);
    EXPECT_THAT(loaded.status(), StatusIs(StatusCode::kFailedPrecondition)) << c.text;
    EXPECT_NE(loaded.status().message().find(c.says), std::string::npos) << loaded.status().message();
  }
}

}  // namespace
}  // namespace touchpoint::privacy
