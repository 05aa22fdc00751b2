// A test fixture for http/ handlers: the reference app on a memory database, a Runner and
// an ApiHandler whose admin key is "secret-key".

#ifndef CVX_TESTS_HTTP_API_FIXTURE_H_
#define CVX_TESTS_HTTP_API_FIXTURE_H_

#include <memory>

#include "gtest/gtest.h"
#include "http/api.h"
#include "schema/schema.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_db.h"
#include "tools/reference_app/reference_app.h"

namespace cvx::testing {

class ReferenceApiTest : public ::testing::Test {
 protected:
  // Call from SetUp; `options.admin_key` is set here.
  void Open(ApiOptions options = {}) {
    RegisterReferenceApp(app_);
    ASSERT_OK(ApplySchema(*db_, app_.schema()));
    runner_ = std::make_unique<Runner>(&app_, db_.get());
    options.admin_key = "secret-key";
    api_ = std::make_unique<ApiHandler>(runner_.get(), std::move(options));
  }

  App app_;
  std::unique_ptr<Database> db_ = OpenTestDb();
  std::unique_ptr<Runner> runner_;
  std::unique_ptr<ApiHandler> api_;
};

}  // namespace cvx::testing

#endif  // CVX_TESTS_HTTP_API_FIXTURE_H_
