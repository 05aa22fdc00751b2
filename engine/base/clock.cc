#include "engine/base/clock.h"

#include <chrono>

namespace cvx {
namespace {

class RealClock : public Clock {
 public:
  uint64_t NowNanos() const override {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  }
};

}  // namespace

Clock* SystemClock() {
  static Clock* clock = new RealClock();
  return clock;
}

}  // namespace cvx
