#pragma once
// Runs a spool's checkpoint (a sync of the whole filesystem: 2 ms idle,
// 10-30 ms here while jobs are being written) on a thread of its own, so
// that a spooler's loop never waits for it: a job that arrives meanwhile
// starts at once. Requests made while one is pending are one request.
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace suz {

class BackgroundCheckpoint {
 public:
  explicit BackgroundCheckpoint(std::function<void()> checkpoint);
  // Runs a requested checkpoint that has not run yet, then joins.
  ~BackgroundCheckpoint();
  BackgroundCheckpoint(const BackgroundCheckpoint&) = delete;
  BackgroundCheckpoint& operator=(const BackgroundCheckpoint&) = delete;

  void request();
  // What the last failed checkpoint threw, once.
  std::optional<std::string> take_error();

 private:
  void run();
  std::function<void()> checkpoint_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool requested_ = false;
  bool stopping_ = false;
  std::optional<std::string> error_;
  std::thread thread_;
};

}  // namespace suz
