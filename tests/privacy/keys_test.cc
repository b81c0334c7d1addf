#include <touchpoint/privacy/keys.h>

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace touchpoint::privacy {
namespace {

bool IsLowerHex(const std::string& s) {
  return s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

TEST(KeysTest, GeneratedKeysAreUniqueAndWellFormed) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const std::string key = GenerateKey();
    ASSERT_EQ(key.size(), 43u) << key;
    EXPECT_EQ(key.substr(0, 3), "tp_");
    EXPECT_TRUE(IsLowerHex(key.substr(3))) << key;
    EXPECT_TRUE(seen.insert(key).second) << "duplicate key";
  }
}

TEST(KeysTest, HashIsStableHexAndDoesNotContainTheKey) {
  const std::string key = GenerateKey();
  const std::string h = HashKey(key);
  EXPECT_EQ(h.size(), 64u);
  EXPECT_TRUE(IsLowerHex(h));
  EXPECT_EQ(h, HashKey(key));
  EXPECT_NE(h, HashKey(key + "x"));
  EXPECT_EQ(h.find(key.substr(3, 10)), std::string::npos);
  // Known BLAKE2b-256 of the empty string (RFC 7693 reference implementation).
  EXPECT_EQ(HashKey(""), "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
  EXPECT_EQ(KeyPrefix(key), key.substr(0, 9));
}

TEST(KeysTest, KeyFromAuthorization) {
  struct Case {
    const char* header;
    const char* key;  // nullptr: rejected
  } cases[] = {
      {"Bearer tp_abc", "tp_abc"},
      {"bearer   tp_abc  ", "tp_abc"},
      {"Basic dHBfYWJjOg==", "tp_abc"},          // "tp_abc:"
      {"Basic dHBfYWJjOnNlY3JldA==", "tp_abc"},  // "tp_abc:secret" (password ignored)
      {"Basic dHBfYWJj", "tp_abc"},              // "tp_abc" without a colon
      {"Basic Og==", nullptr},                   // ":" — empty user
      {"Basic !!!", nullptr},
      {"Bearer", nullptr},
      {"Bearer ", nullptr},
      {"Digest abc", nullptr},
      {"", nullptr},
  };
  for (const auto& c : cases) {
    auto key = KeyFromAuthorization(c.header);
    if (c.key) {
      ASSERT_TRUE(key.has_value()) << c.header;
      EXPECT_EQ(*key, c.key) << c.header;
    } else {
      EXPECT_FALSE(key.has_value()) << c.header;
    }
  }
}

}  // namespace
}  // namespace touchpoint::privacy
