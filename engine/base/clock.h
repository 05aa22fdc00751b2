// File: engine/base/clock.h
//
// Wall-clock time as u64 nanoseconds since the Unix epoch, behind an interface so tests can
// drive time by hand. Thread safety: implementations must be safe to call concurrently.

#ifndef CVX_ENGINE_BASE_CLOCK_H_
#define CVX_ENGINE_BASE_CLOCK_H_

#include <atomic>
#include <cstdint>

namespace cvx {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual uint64_t NowNanos() const = 0;
};

// The real clock. Never destroyed.
Clock* SystemClock();

// A clock that moves only when told to. Thread-safe.
class FakeClock : public Clock {
 public:
  explicit FakeClock(uint64_t start_nanos) : now_(start_nanos) {}
  uint64_t NowNanos() const override { return now_.load(std::memory_order_acquire); }
  void AdvanceNanos(uint64_t delta) { now_.fetch_add(delta, std::memory_order_acq_rel); }
  void SetNanos(uint64_t now) { now_.store(now, std::memory_order_release); }

 private:
  std::atomic<uint64_t> now_;
};

}  // namespace cvx

#endif  // CVX_ENGINE_BASE_CLOCK_H_
