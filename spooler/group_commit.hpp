#pragma once
// Group commit for pushes: threads that each need their job file made
// durable and visible hand it to one leader, which does it for all of them
// at once. A flush of this machine's disk costs about as much for sixteen
// files as for one (syncfs: 0.35 ms for one file, 0.66 ms for sixteen), so
// the enqueues in flight together pay for one round of flushes, not one each.
//
// The first caller to find no round running leads: it takes every entry
// queued so far, publishes them, and wakes their callers; those that arrive
// meanwhile form the next round. Thread-safe.
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <vector>

namespace suz {

class GroupCommit {
 public:
  struct Entry {
    int fd = -1;                    // the written file, still open
    std::filesystem::path tmp;      // where it was written
    std::filesystem::path target;   // where it becomes visible
    int error = 0;                  // set by publish: 0 or an errno value
    bool done = false;
  };
  // Makes every entry's data durable, then visible at its target, then the
  // names durable; sets each entry's error.
  using Publish = std::function<void(std::vector<Entry*>& batch)>;

  explicit GroupCommit(Publish publish) : publish_(std::move(publish)) {}

  // Blocks until e is published, by this thread or by another; then
  // e.error says how it went.
  void commit(Entry& e);

 private:
  Publish publish_;
  std::mutex mutex_;
  std::condition_variable done_cv_;
  std::vector<Entry*> queued_;
  bool running_ = false;
};

}  // namespace suz
