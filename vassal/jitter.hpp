#pragma once
// Limits that would make workers born together retire together (a lifetime,
// a request or job count) are lowered by up to 10%, never raised.
#include <cmath>
#include <cstdint>
#include <random>

namespace suz {

inline double jitter_fraction() {
  thread_local std::mt19937 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.9, 1.0)(rng);
}

// A count limit with its jitter, at least 1.
inline std::uint64_t jittered(std::uint64_t limit) {
  long long lowered = std::llround(static_cast<double>(limit) * jitter_fraction());
  return lowered < 1 ? 1 : static_cast<std::uint64_t>(lowered);
}

}  // namespace suz
