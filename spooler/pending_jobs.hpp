#pragma once
// What a spooler process knows is waiting in queue/, kept without rescanning:
// one scan at start, then inotify reports every job that arrives (pushes,
// retries and recoveries all arrive by rename). The set is only a hint:
// claiming is still the rename that one claimer wins, and a name another
// spooler took is dropped when its claim fails.
#include <cstdint>
#include <optional>
#include <random>
#include <set>
#include <string>

#include "core/fd.hpp"
#include "spooler/directory_queue.hpp"

namespace suz {

class PendingJobs {
 public:
  // Watches queue/ first, then scans it, so no arrival falls between the two.
  // Throws std::system_error.
  explicit PendingJobs(DirectoryQueue& queue);

  // Readable when jobs arrived: call on_readable() then.
  int fd() const { return inotify_.get(); }
  void on_readable();
  void rescan();

  // The job to run next among those due by now_ms: the highest priority,
  // then the oldest; nullopt if none. *wake_at_ms: when the earliest job not
  // yet due becomes due, if there is one. With spread > 1, one picked at
  // random among the `spread` oldest of that priority instead: spoolers
  // sharing the queue then rarely reach for the same job (and lose the
  // rename race, a wasted claim per job when they all take the oldest).
  std::optional<JobName> next(std::int64_t now_ms, std::optional<std::int64_t>* wake_at_ms, int spread = 1);
  void forget(const JobName& name);
  std::size_t size() const { return names_.size(); }

 private:
  void add(const std::string& file);
  DirectoryQueue& queue_;
  Fd inotify_;
  std::set<std::string> names_;  // job file names sort in run order
  std::minstd_rand rng_{std::random_device{}()};
};

}  // namespace suz
