// The exactly-once records of WebSocket mutations expire after two weeks, as in Convex
// (http/sync_session.h SyncHub::ExpireSessionRequests).

#include "http/sync_session.h"

#include "absl/time/clock.h"
#include "engine/transaction.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_db.h"

namespace cvx {
namespace {

TEST(SessionRequestsTest, RecordsOlderThanTheRetentionExpireOldestFirstInBatches) {
  auto db = testing::OpenTestDb();
  ASSERT_OK(SyncHub::Prepare(*db));
  const double now_ms = absl::ToDoubleMilliseconds(absl::Now() - absl::UnixEpoch());
  const double day_ms = 24 * 3600 * 1000.0;
  auto setup = db->Begin();
  // Five records from 20 to 16 days ago, two recent ones.
  std::vector<DocumentId> old;
  for (int i = 0; i < 7; ++i) {
    ASSERT_OK_AND_ASSIGN(DocumentId made, setup->Insert(kSessionRequestsTable,
                                                        {{"sessionId", Value::String("s")},
                                                         {"requestId", Value::Float64(i)}}));
    DocumentId id = made;
    id.internal_id[0] ^= 0x77;  // a second id of the same table, for the chosen time
    double created = i < 5 ? now_ms - (20 - i) * day_ms : now_ms - i * 1000.0;
    ASSERT_OK(setup->InsertWithId(kSessionRequestsTable, id, created,
                                  {{"sessionId", Value::String("t")}, {"requestId", Value::Float64(i)}}));
    ASSERT_OK(setup->Delete(made));
    if (i < 5) old.push_back(id);
  }
  ASSERT_OK(setup->Commit());
  ASSERT_OK_AND_ASSIGN(size_t first, SyncHub::ExpireSessionRequests(*db, kSessionRequestRetention, 3));
  EXPECT_EQ(first, 3u);
  auto mid = db->Begin();
  for (int i = 0; i < 5; ++i) {
    ASSERT_OK_AND_ASSIGN(auto doc, mid->Get(old[i]));
    EXPECT_EQ(doc.has_value(), i >= 3) << i;  // the oldest went first
  }
  ASSERT_OK_AND_ASSIGN(size_t second, SyncHub::ExpireSessionRequests(*db, kSessionRequestRetention, 3));
  EXPECT_EQ(second, 2u);
  ASSERT_OK_AND_ASSIGN(size_t none, SyncHub::ExpireSessionRequests(*db, kSessionRequestRetention, 3));
  EXPECT_EQ(none, 0u);
  ScanRequest all;
  all.table = kSessionRequestsTable;
  ASSERT_OK_AND_ASSIGN(ScanResult left, db->Begin()->Scan(all));
  EXPECT_EQ(left.documents.size(), 2u);  // the recent ones stay
}

}  // namespace
}  // namespace cvx
