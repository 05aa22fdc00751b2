// File: tests/fuzz/reference_backend.h
//
// The reference app on an in-memory database with a runner: what the HTTP and sync fuzz
// targets serve requests from, one per process as a server has.

#ifndef CVX_TESTS_FUZZ_REFERENCE_BACKEND_H_
#define CVX_TESTS_FUZZ_REFERENCE_BACKEND_H_

#include <memory>

#include "engine/database.h"
#include "functions/app.h"
#include "functions/runner.h"
#include "schema/schema.h"
#include "tests/fuzz/fuzz.h"
#include "tools/reference_app/reference_app.h"

namespace cvx::fuzz {

struct ReferenceBackend {
  App app;
  std::unique_ptr<Database> db;
  std::unique_ptr<Runner> runner;

  ReferenceBackend() {
    RegisterReferenceApp(app);
    DatabaseOptions options;
    options.durability = Durability::kMemory;
    db = std::move(*Database::Open(options));
    FUZZ_CHECK(ApplySchema(*db, app.schema()).ok());
    runner = std::make_unique<Runner>(&app, db.get());
  }
};

}  // namespace cvx::fuzz

#endif  // CVX_TESTS_FUZZ_REFERENCE_BACKEND_H_
