#include <touchpoint/privacy/master_key.h>

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

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
      {"touchpoint-master-key v3\nAAAA\n", "version 3"},
      {"touchpoint-master-key v2\n", "no key"},
      {"touchpoint-master-key v2\n1 AAAA\n", "32 bytes"},
      {"touchpoint-master-key v2\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", "<version> <base64>"},
      {"touchpoint-master-key v2\n2 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
       "1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", "increase"},
      {"touchpoint-master-key v2\n0 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", "bad version"},
      {"touchpoint-master-key v2\n65536 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", "bad version"},
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

// Format 2 (rotation): every version on its own line, the highest current; adding a version
// keeps the others, the file is replaced whole and stays private, a format-1 file becomes
// version 1 of the set.
TEST(MasterKeyTest, AddingAVersionKeepsTheOldOnesAndTheHighestIsCurrent) {
  ::touchpoint::testing::TempDir tmp;
  const std::string path = tmp.File("master.key");
  auto first = CreateMasterKeyFile(path);
  ASSERT_OK(first.status());
  auto v1 = LoadMasterKeySet(path);
  ASSERT_OK(v1.status());
  EXPECT_EQ(v1->versions(), std::vector<int>{1}) << "a format-1 file is version 1";
  auto added = AddMasterKeyVersion(path);
  ASSERT_OK(added.status());
  EXPECT_EQ(added->versions(), (std::vector<int>{1, 2}));
  const std::string text = Slurp(path);
  EXPECT_EQ(text.rfind("touchpoint-master-key v2\n1 ", 0), 0u) << text;
  EXPECT_NE(text.find("\n2 "), std::string::npos) << text;
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(std::filesystem::exists(path + ".new")) << "no temporary file left";
  auto loaded = LoadMasterKeySet(path);
  ASSERT_OK(loaded.status());
  ASSERT_EQ(loaded->versions(), (std::vector<int>{1, 2}));
  const MasterKey* old = loaded->Find(1);
  ASSERT_NE(old, nullptr);
  EXPECT_TRUE(std::equal(old->bytes().begin(), old->bytes().end(), first->bytes().begin())) << "never lost";
  EXPECT_FALSE(std::equal(loaded->current().bytes().begin(), loaded->current().bytes().end(), first->bytes().begin()));
  EXPECT_EQ(loaded->current().version(), 2);
  auto current = LoadMasterKey(path);
  ASSERT_OK(current.status());
  EXPECT_EQ(current->version(), 2) << "LoadMasterKey gives the current version";
  ASSERT_OK(AddMasterKeyVersion(path).status());
  EXPECT_EQ(LoadMasterKeySet(path)->versions(), (std::vector<int>{1, 2, 3}));

  EXPECT_THAT(RemoveMasterKeyVersion(path, 3), StatusIs(StatusCode::kFailedPrecondition)) << "the current one";
  EXPECT_THAT(RemoveMasterKeyVersion(path, 7), StatusIs(StatusCode::kNotFound));
  ASSERT_OK(RemoveMasterKeyVersion(path, 1));
  auto after = LoadMasterKeySet(path);
  ASSERT_OK(after.status());
  EXPECT_EQ(after->versions(), (std::vector<int>{2, 3}));
  EXPECT_TRUE(std::equal(after->Find(2)->bytes().begin(), after->Find(2)->bytes().end(),
                         loaded->current().bytes().begin()));
}

TEST(MasterKeyTest, AStaleTemporaryFileFromACrashIsReplacedNotTrusted) {
  ::touchpoint::testing::TempDir tmp;
  const std::string path = tmp.File("master.key");
  ASSERT_OK(CreateMasterKeyFile(path).status());
  Write(path + ".new", "half a key fi", 0600);  // a crash before the rename
  ASSERT_OK(AddMasterKeyVersion(path).status());
  EXPECT_EQ(LoadMasterKeySet(path)->versions(), (std::vector<int>{1, 2}));
  EXPECT_FALSE(std::filesystem::exists(path + ".new"));
}

TEST(MasterKeyTest, AddingToAKeyReadableByOthersIsRefusedAndChangesNothing) {
  ::touchpoint::testing::TempDir tmp;
  const std::string path = tmp.File("master.key");
  ASSERT_OK(CreateMasterKeyFile(path).status());
  ::chmod(path.c_str(), 0644);
  const std::string before = Slurp(path);
  EXPECT_THAT(AddMasterKeyVersion(path).status(), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_EQ(Slurp(path), before);
}

}  // namespace
}  // namespace touchpoint::privacy
