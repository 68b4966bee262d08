#pragma once
// Sends requests in a loop from a background thread, the way a client with
// keep-alive does, and counts every request that did not get a 200: the
// measure of "no request lost" while workers are replaced.
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace suz::test {

class Probe {
 public:
  Probe(int port, std::string path = "/", bool keep_alive = true);
  ~Probe();
  // Stops the loop; returns after the request in flight finished.
  void stop();
  int ok() const { return ok_; }
  int failed() const { return failed_; }
  std::vector<std::string> failures();  // why, for the first few

  // When each failed request was sent and when it failed: a request can only
  // have been lost to a worker's death if the death falls inside.
  struct Interval {
    std::chrono::steady_clock::time_point sent, failed;
  };
  std::vector<Interval> failed_intervals();

 private:
  void loop();
  int port_;
  std::string path_;
  bool keep_alive_;
  std::atomic<bool> stop_{false};
  std::atomic<int> ok_{0}, failed_{0};
  std::mutex mutex_;
  std::vector<std::string> failures_;
  std::vector<Interval> intervals_;
  std::thread thread_;
};

}  // namespace suz::test
