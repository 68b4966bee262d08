#include "vassal/request_metrics.hpp"

#include <algorithm>
#include <numeric>

namespace suz {

void RequestCounters::count(int status, std::chrono::nanoseconds duration) {
  double seconds = std::chrono::duration<double>(duration).count();
  auto bucket = static_cast<std::size_t>(std::lower_bound(kDurationBuckets.begin(), kDurationBuckets.end(), seconds) -
                                         kDurationBuckets.begin());
  buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  duration_ns.fetch_add(static_cast<std::uint64_t>(std::max<std::int64_t>(duration.count(), 0)), std::memory_order_relaxed);
  if (status >= kFirstStatus && status <= kLastStatus)
    responses[static_cast<std::size_t>(status - kFirstStatus)].fetch_add(1, std::memory_order_relaxed);
}

void RequestTotals::add(const RequestCounters& c) {
  for (std::size_t i = 0; i < buckets.size(); ++i) buckets[i] += c.buckets[i].load(std::memory_order_relaxed);
  duration_ns += c.duration_ns.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < responses.size(); ++i) responses[i] += c.responses[i].load(std::memory_order_relaxed);
}

void RequestTotals::add(const RequestTotals& t) {
  for (std::size_t i = 0; i < buckets.size(); ++i) buckets[i] += t.buckets[i];
  duration_ns += t.duration_ns;
  for (std::size_t i = 0; i < responses.size(); ++i) responses[i] += t.responses[i];
}

std::uint64_t RequestTotals::count() const { return std::accumulate(buckets.begin(), buckets.end(), std::uint64_t{0}); }

}  // namespace suz
