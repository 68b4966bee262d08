#include "tests/support/spawned.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <system_error>

#include "core/fd.hpp"
#include "tests/support/process.hpp"

extern char** environ;

namespace suz::test {

Spawned::Spawned(std::vector<std::string> argv, std::string cwd, bool discard_stdout, bool own_process_group) {
  Pipe err = make_pipe();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  if (discard_stdout) posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  else posix_spawn_file_actions_adddup2(&actions, err.write.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err.write.get(), 2);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  if (own_process_group) {
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
  }
  int rc = posix_spawn(&pid_, args[0], &actions, &attr, args.data(), environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::system_error(rc, std::generic_category(), "posix_spawn " + argv[0]);
  err.write.reset();
  reader_ = std::thread([this, fd = err.read.release()] { read_loop(fd); });
}

Spawned::~Spawned() {
  if (!reaped_) stop(SIGTERM, 15s);
  if (reader_.joinable()) reader_.join();
}

void Spawned::read_loop(int fd) {
  Fd owned(fd);
  std::string pending;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buf, static_cast<std::size_t>(n));
    std::size_t nl;
    std::lock_guard<std::mutex> lock(mutex_);
    while ((nl = pending.find('\n')) != std::string::npos) {
      lines_.push_back(pending.substr(0, nl));
      pending.erase(0, nl + 1);
    }
    changed_.notify_all();
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (!pending.empty()) lines_.push_back(pending);
  eof_ = true;
  changed_.notify_all();
}

std::optional<std::vector<std::string>> Spawned::wait_for_line(const std::string& pattern,
                                                               std::chrono::milliseconds timeout, int nth) {
  std::regex re(pattern);
  std::unique_lock<std::mutex> lock(mutex_);
  std::size_t checked = 0;
  int seen = 0;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    for (; checked < lines_.size(); ++checked) {
      std::smatch m;
      if (std::regex_search(lines_[checked], m, re) && ++seen == nth) {
        std::vector<std::string> groups;
        for (const auto& g : m) groups.push_back(g.str());
        return groups;
      }
    }
    if (eof_) return std::nullopt;
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout && checked == lines_.size())
      return std::nullopt;
  }
}

int Spawned::count_lines(const std::string& pattern) {
  std::regex re(pattern);
  std::lock_guard<std::mutex> lock(mutex_);
  int n = 0;
  for (const std::string& line : lines_)
    if (std::regex_search(line, re)) ++n;
  return n;
}

std::string Spawned::output() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  for (const std::string& line : lines_) out += line + "\n";
  return out;
}

std::optional<int> Spawned::stop(int sig, std::chrono::milliseconds timeout) {
  if (reaped_) return std::nullopt;
  ::kill(pid_, sig);
  auto status = wait_exit(pid_, timeout);  // kills with SIGKILL at the timeout
  reaped_ = true;
  // What it wrote before exiting may still be in the pipe: a test that
  // counts lines after stop() must see them all. (Bounded: a grandchild
  // left alive would hold the pipe open.)
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait_for(lock, std::chrono::seconds(5), [&] { return eof_; });
  return status;
}

}  // namespace suz::test
