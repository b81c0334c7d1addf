// tests/testing/matchers.h — GoogleTest matchers for Status and Result<T>.
#pragma once

#include <gmock/gmock.h>

#include <touchpoint/core/result.h>
#include <touchpoint/core/status.h>

namespace touchpoint::testing {

inline const Status& GetStatus(const Status& s) { return s; }
template <typename T>
const Status& GetStatus(const Result<T>& r) {
  return r.status();
}

MATCHER(IsOk, "is OK") {
  const Status& s = GetStatus(arg);
  if (!s.ok()) *result_listener << "status is " << s.ToString();
  return s.ok();
}

MATCHER_P(StatusIs, code, "has status code " + std::string(StatusCodeName(code))) {
  const Status& s = GetStatus(arg);
  *result_listener << "status is " << s.ToString();
  return s.code() == code;
}

}  // namespace touchpoint::testing

#define ASSERT_OK(expr) ASSERT_THAT((expr), ::touchpoint::testing::IsOk())
#define EXPECT_OK(expr) EXPECT_THAT((expr), ::touchpoint::testing::IsOk())
