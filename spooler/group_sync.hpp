#pragma once
// Group commit: threads that each need "a sync that started after my write"
// share one. The first to arrive while no sync runs becomes the leader and
// syncs for everyone who arrived before it started; the others wait for it.
// A flush of this machine's disk costs about as much for sixteen files as
// for one, so enqueues in flight at the same time pay for one flush, not
// one each.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>

namespace suz {

class GroupSync {
 public:
  // sync(fd, batch): make durable everything written before the call. fd is
  // the leader's own file; batch is how many callers this sync serves (one:
  // the leader may sync just its fd). Returns 0 or an errno value.
  using SyncFn = std::function<int(int fd, std::uint64_t batch)>;
  explicit GroupSync(SyncFn sync) : sync_(std::move(sync)) {}

  // Blocks until a sync that began after this call has finished; returns its
  // result (0 or an errno value). Thread-safe.
  int wait(int fd);

 private:
  struct Failure {
    std::uint64_t first, last;
    int error;
    std::uint64_t unread;  // waiters of this batch that have not seen it yet
  };
  SyncFn sync_;
  std::mutex mutex_;
  std::condition_variable done_cv_;
  std::uint64_t requested_ = 0;  // tickets handed out
  std::uint64_t synced_ = 0;     // every ticket up to this one is settled
  bool running_ = false;
  std::deque<Failure> failures_;  // failed batches some waiter has still to see
};

}  // namespace suz
