#pragma once
// The request metrics: a latency histogram and responses by status code.
//
// Each worker counts into its own scoreboard record (RequestCounters:
// relaxed atomics in shared memory, no syscall per request); the master
// adds up the live records and, so that counters never go down, keeps what
// exited workers had counted (RequestTotals). One home for the bucket
// bounds, which both ends and the Prometheus text use.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace suz {

// Upper bounds in seconds, Prometheus' "le"; a last bucket (+Inf) follows.
inline constexpr std::array<double, 14> kDurationBuckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                          0.25,  0.5,    1,     2.5,  5,     10,  30};
inline constexpr int kFirstStatus = 100, kLastStatus = 599;
inline constexpr std::size_t kStatusSlots = kLastStatus - kFirstStatus + 1;

struct RequestCounters {
  std::array<std::atomic<std::uint64_t>, kDurationBuckets.size() + 1> buckets{};  // not cumulative
  std::atomic<std::uint64_t> duration_ns{0};
  std::array<std::atomic<std::uint64_t>, kStatusSlots> responses{};

  void count(int status, std::chrono::nanoseconds duration);
};

struct RequestTotals {
  std::array<std::uint64_t, kDurationBuckets.size() + 1> buckets{};
  std::uint64_t duration_ns = 0;
  std::array<std::uint64_t, kStatusSlots> responses{};

  void add(const RequestCounters& c);
  void add(const RequestTotals& t);
  std::uint64_t count() const;
};

}  // namespace suz
