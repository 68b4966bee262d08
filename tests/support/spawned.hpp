#pragma once
// A real program started by a test, with its stderr captured line by line so
// the test can wait for a log line instead of sleeping. The destructor stops
// it (TERM, then KILL) and reaps it, so no test leaves a process behind.
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace suz::test {

class Spawned {
 public:
  // discard_stdout: only stderr is captured (a program that prints a flood).
  // own_process_group: the program leads a new process group (pgid = its pid),
  // so a test can find every process it left behind by group.
  explicit Spawned(std::vector<std::string> argv, std::string cwd = "", bool discard_stdout = false,
                   bool own_process_group = false);
  ~Spawned();
  Spawned(const Spawned&) = delete;
  Spawned& operator=(const Spawned&) = delete;

  pid_t pid() const { return pid_; }
  // Waits until the nth line matching pattern has been logged (since start);
  // returns the whole match and its groups, or nullopt at the timeout.
  std::optional<std::vector<std::string>> wait_for_line(const std::string& pattern,
                                                        std::chrono::milliseconds timeout, int nth = 1);
  // Counts lines matching pattern logged so far.
  int count_lines(const std::string& pattern);
  std::string output();  // everything logged so far
  // Sends sig and waits for the exit, and for the rest of its output;
  // returns the wait status (nullopt at timeout).
  std::optional<int> stop(int sig, std::chrono::milliseconds timeout);

 private:
  void read_loop(int fd);

  pid_t pid_ = -1;
  bool reaped_ = false;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> lines_;
  bool eof_ = false;
  std::thread reader_;
};

}  // namespace suz::test
