// The WebSocket sync protocol decoder and state machine (http/sync_session.h) on the
// reference app, in process: each input line is one text frame of one session. Whatever
// arrives, every frame the session sends is valid JSON with a "type", a close code is a
// WebSocket one, and nothing crashes.

#include <memory>
#include <string>
#include <string_view>

#include "boost/asio/thread_pool.hpp"
#include "engine/value/json.h"
#include "http/sync_session.h"
#include "tests/fuzz/reference_backend.h"

namespace {

struct Backend : cvx::fuzz::ReferenceBackend {
  std::unique_ptr<cvx::SyncHub> hub;

  Backend() {
    FUZZ_CHECK(cvx::SyncHub::Prepare(*db).ok());
    hub = std::make_unique<cvx::SyncHub>(db.get());
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Backend* backend = new Backend();
  boost::asio::thread_pool pool(1);
  {
    auto session = std::make_shared<cvx::SyncSession>(
        backend->runner.get(), backend->hub.get(), &pool, nullptr, "fuzz-admin-key",
        [](std::string frame) {
          absl::StatusOr<cvx::Value> v = cvx::ParseConvexJson(frame);
          FUZZ_CHECK(v.ok());
          FUZZ_CHECK(v->is_object() && v->Find("type") != nullptr);
        },
        [](int code, std::string) { FUZZ_CHECK(code >= 1000 && code < 5000); });
    backend->hub->Add(session);
    std::string_view text(reinterpret_cast<const char*>(data), size);
    size_t start = 0;
    while (start <= text.size()) {
      size_t end = text.find('\n', start);
      session->OnMessage(std::string(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start)));
      if (end == std::string_view::npos) break;
      start = end + 1;
    }
    session->OnClosed();
  }
  pool.join();  // every frame handled before the next input
  return 0;
}
