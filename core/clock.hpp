#pragma once
// The clocks, in one place. CLOCK_MONOTONIC is shared by every process of a
// boot, so a master compares the times its workers write into shared memory
// (scoreboard) and the spool journal's records name the boot they belong to;
// the wall clock is for times that outlive the boot (a job's not-before).
#include <time.h>

#include <chrono>
#include <cstdint>

namespace suz {

inline std::int64_t monotonic_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

inline std::int64_t monotonic_ms() { return monotonic_ns() / 1'000'000; }

// Milliseconds since the Unix epoch.
inline std::int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace suz
