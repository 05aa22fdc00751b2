// File: tests/testing/status_matchers.h
//
// gtest helpers for absl::Status, which Debian's abseil does not ship:
//   EXPECT_OK(status_or_statusor); ASSERT_OK(...);
//   ASSERT_OK_AND_ASSIGN(auto x, StatusOrExpr);
//   EXPECT_THAT(status, StatusIs(absl::StatusCode::kAborted, "OccConflict"));

#ifndef CVX_TESTS_TESTING_STATUS_MATCHERS_H_
#define CVX_TESTS_TESTING_STATUS_MATCHERS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/base/error.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cvx::testing {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

MATCHER_P2(StatusIs, code, tag,
           std::string("has code ") + absl::StatusCodeToString(code) + " and tag " + tag) {
  const absl::Status& s = ::cvx::testing::GetStatus(arg);
  *result_listener << "status is " << s.ToString() << " with tag '" << ::cvx::ErrorTag(s) << "'";
  return s.code() == code && ::cvx::ErrorTag(s) == std::string(tag);
}

MATCHER_P(StatusHasCode, code, std::string("has code ") + absl::StatusCodeToString(code)) {
  const absl::Status& s = ::cvx::testing::GetStatus(arg);
  *result_listener << "status is " << s.ToString();
  return s.code() == code;
}

}  // namespace cvx::testing

#define EXPECT_OK(expr) EXPECT_TRUE(::cvx::testing::GetStatus(expr).ok()) << ::cvx::testing::GetStatus(expr)
#define ASSERT_OK(expr) ASSERT_TRUE(::cvx::testing::GetStatus(expr).ok()) << ::cvx::testing::GetStatus(expr)

#define CVX_TEST_CONCAT_INNER_(a, b) a##b
#define CVX_TEST_CONCAT_(a, b) CVX_TEST_CONCAT_INNER_(a, b)
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL_(CVX_TEST_CONCAT_(cvx_test_so_, __LINE__), lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  ASSERT_TRUE(tmp.ok()) << tmp.status();           \
  lhs = std::move(tmp).value()

#endif  // CVX_TESTS_TESTING_STATUS_MATCHERS_H_
