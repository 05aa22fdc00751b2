// The child of crash_test.cc: opens the database at argv[1] (durability `process`) and
// commits transactions forever, each inserting three documents {seq, part} with
// seq = argv[2], argv[2]+1, ... After each commit it writes "<seq> <commit ts>\n" to
// stdout with one write(2): a line the parent sees is an acknowledged commit.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "engine/database.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: engine_crash_child DIR FIRST_SEQ\n");
    return 2;
  }
  cvx::DatabaseOptions options;
  options.path = argv[1];
  options.durability = cvx::Durability::kProcess;
  auto db = cvx::Database::Open(options);
  if (!db.ok()) {
    std::fprintf(stderr, "open: %s\n", db.status().ToString().c_str());
    return 1;
  }
  for (int64_t seq = std::atoll(argv[2]);; ++seq) {
    auto txn = (*db)->Begin();
    for (int part = 0; part < 3; ++part) {
      auto id = txn->Insert("crash", {{"seq", cvx::Value::Int64(seq)},
                                      {"part", cvx::Value::Int64(part)}});
      if (!id.ok()) return 1;
    }
    if (!txn->Commit().ok()) return 1;
    std::string line = std::to_string(seq) + " " + std::to_string(txn->commit_ts()) + "\n";
    if (write(1, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return 1;
  }
}
