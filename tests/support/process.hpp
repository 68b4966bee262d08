#pragma once
// Helpers for tests that start real processes. Waiting is always on an event
// (a pidfd becoming readable, a pipe having data) with a hard timeout; never
// on a sleep.
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace suz::test {

using namespace std::chrono_literals;

// Waits for pid to exit and reaps it. Returns its wait status, or nullopt if
// it was still running at the deadline (it is then SIGKILLed and reaped).
std::optional<int> wait_exit(pid_t pid, std::chrono::milliseconds timeout);

// Reads from fd until it has `want` bytes, EOF, or the deadline passes.
std::string read_for(int fd, std::size_t want, std::chrono::milliseconds timeout);

struct RunResult {
  int status = -1;  // wait status; -1 if it timed out
  std::string out;
  std::string err;
  int exit_code() const;  // -1 unless it exited normally
};

// Runs argv (argv[0] a path) to completion with stdin from /dev/null.
RunResult run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = 30s);

// Waits for a process that is not our child to disappear (pidfd: an event,
// not a poll loop); true once it is gone.
bool wait_gone(pid_t pid, std::chrono::milliseconds timeout);

// Path of a program built by this project (build/bin/NAME).
std::string program(const std::string& name);
// The source tree (for test data files).
std::filesystem::path source_dir();

// Makes this test process the subreaper of everything it starts: a process
// whose parent exits (a vassal master's successor, once the master it
// replaced is gone) becomes this process's child rather than init's. The
// ones given to adopt() are stopped (TERM, KILL at the timeout) and reaped
// on destruction, so no test leaves one behind. Declare it after the
// Spawned whose descendants it adopts: they hold that process's output
// open, and must be gone before it can be read to its end.
class Adopter {
 public:
  Adopter();
  ~Adopter();
  Adopter(const Adopter&) = delete;
  Adopter& operator=(const Adopter&) = delete;
  void adopt(pid_t pid) { pids_.push_back(pid); }

 private:
  std::vector<pid_t> pids_;
};

// A fresh directory under $TMPDIR, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path write(const std::string& name, const std::string& contents) const;

 private:
  std::filesystem::path path_;
};

}  // namespace suz::test
