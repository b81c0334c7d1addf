#include <touchpoint/core/secret_file.h>

#include <sys/stat.h>

#include <fstream>

#include <gtest/gtest.h>

#include "pipeline/test_dir.h"
#include "testing/matchers.h"

namespace touchpoint {
namespace {

using ::touchpoint::testing::StatusIs;

TEST(SecretFileTest, ReadsThePasswordWithoutItsNewlineAndOnlyFromAPrivateFile) {
  ::touchpoint::testing::TempDir tmp;
  const std::string path = tmp.File("pw");
  std::ofstream(path) << "s3cret-horse\n";
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  auto shared = ReadSecretFile(path);
  EXPECT_THAT(shared.status(), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_NE(shared.status().message().find("chmod 600"), std::string::npos);
  EXPECT_EQ(shared.status().message().find("s3cret"), std::string::npos) << "never shows the secret";
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  auto ok = ReadSecretFile(path);
  ASSERT_OK(ok.status());
  EXPECT_EQ(*ok, "s3cret-horse");
  EXPECT_THAT(ReadSecretFile(tmp.File("none")).status(), StatusIs(StatusCode::kNotFound));
  const std::string empty = tmp.File("empty");
  std::ofstream(empty) << "\n";
  ASSERT_EQ(::chmod(empty.c_str(), 0600), 0);
  EXPECT_THAT(ReadSecretFile(empty).status(), StatusIs(StatusCode::kFailedPrecondition));
}

}  // namespace
}  // namespace touchpoint
