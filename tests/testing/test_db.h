// File: tests/testing/test_db.h
//
// Opens a Database for a test: memory mode by default, or on disk in a TempDir.

#ifndef CVX_TESTS_TESTING_TEST_DB_H_
#define CVX_TESTS_TESTING_TEST_DB_H_

#include <memory>

#include "engine/database.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace cvx::testing {

inline std::unique_ptr<Database> OpenTestDb(DatabaseOptions options = {}) {
  if (options.path.empty()) options.durability = Durability::kMemory;
  auto db = Database::Open(options);
  EXPECT_TRUE(db.ok()) << db.status();
  return db.ok() ? std::move(db).value() : nullptr;
}

}  // namespace cvx::testing

#endif  // CVX_TESTS_TESTING_TEST_DB_H_
