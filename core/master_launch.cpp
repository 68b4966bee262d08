#include "core/master_launch.hpp"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <cstdio>
#include <cstring>

#include "core/socket.hpp"

namespace bp = boost::process;

namespace suz {

namespace {

constexpr int kFirstPassedFd = 3;  // SD_LISTEN_FDS_START
// Every channel variable of ours (SUZERAIN_EMPEROR_*, SUZERAIN_PREDECESSOR_*).
constexpr std::string_view kChannelPrefix = "SUZERAIN_";
constexpr std::size_t kMaxPassed = 64;  // sockets and the channel; the child moves them on its stack

// The child's environment, built before the fork: between fork and exec only
// async-signal-safe work is allowed, so the child merely writes its pid into
// the LISTEN_PID slot reserved here.
struct ChildEnvironment {
  std::vector<std::string> strings;
  std::vector<char*> pointers;
  std::size_t listen_pid = 0;  // index of "LISTEN_PID=..." in strings

  explicit ChildEnvironment(const LaunchSpec& spec) {
    std::vector<std::string_view> base;
    if (spec.base_environment) base.assign(spec.base_environment->begin(), spec.base_environment->end());
    else for (char** e = ::environ; e && *e; ++e) base.emplace_back(*e);
    for (std::string_view entry : base) {
      // Ours to set; anything inherited would mislead the vassal (and
      // systemd's notification socket and watchdog are the starter's, unless
      // the child takes over from it).
      if (entry.starts_with("LISTEN_") || entry.starts_with(kChannelPrefix) ||
          (!spec.keeps_notify_socket && (entry.starts_with("NOTIFY_SOCKET=") || entry.starts_with("WATCHDOG_"))))
        continue;
      strings.emplace_back(entry);
    }
    std::string names;
    for (const auto& [name, fd] : spec.sockets) names += (names.empty() ? "" : ":") + name;
    if (!spec.sockets.empty()) {
      strings.push_back("LISTEN_FDS=" + std::to_string(spec.sockets.size()));
      strings.push_back("LISTEN_FDNAMES=" + names);
      listen_pid = strings.size();
      strings.push_back("LISTEN_PID=" + std::string(20, '\0'));
    }
    strings.push_back(spec.channel_variable + "=" + std::to_string(kFirstPassedFd + spec.sockets.size()));
    for (const std::string& e : spec.environment) strings.push_back(e);
    for (std::string& s : strings) pointers.push_back(s.data());
    pointers.push_back(nullptr);
  }
};

// Async-signal-safe: decimal pid into buf (room for 20 digits and a NUL).
void write_pid(char* buf, pid_t pid) {
  char digits[21];
  int n = 0;
  unsigned long v = static_cast<unsigned long>(pid);
  do digits[n++] = static_cast<char>('0' + v % 10); while ((v /= 10) && n < 20);
  for (int i = 0; i < n; ++i) buf[i] = digits[n - 1 - i];
  buf[n] = '\0';
}

[[noreturn]] void child_fail(const char* what) {
  // stderr is the starter's: the reason reaches its log.
  char msg[160];
  int n = std::snprintf(msg, sizeof msg, "starting a vassal master: %s: %s\n", what, std::strerror(errno));
  if (n > 0) (void)!::write(2, msg, static_cast<std::size_t>(n));
  ::_exit(127);
}

}  // namespace

Launched launch_master(const LaunchSpec& spec) {
  if (spec.sockets.size() > kMaxPassed - 1)
    throw std::runtime_error(spec.file.string() + ": more than " + std::to_string(kMaxPassed - 1) + " sockets");
  auto [ours, theirs] = make_socketpair(SOCK_SEQPACKET);
  ChildEnvironment env(spec);
  std::vector<int> sources;
  for (const auto& [name, fd] : spec.sockets) sources.push_back(fd);
  sources.push_back(theirs.get());
  const pid_t starter = ::getpid();

  auto setup = [&](auto& exec) {
    // Runs in the child, between fork and exec.
    if (spec.become) {
      const Credentials& c = *spec.become;
      if (::setgroups(c.groups.size(), c.groups.data()) < 0) child_fail("setgroups");
      if (::setgid(c.gid) < 0) child_fail("setgid");
      if (::setuid(c.uid) < 0) child_fail("setuid");
    }
    // After the credentials change (which clears it) and kept across exec.
    if (spec.dies_with_parent) {
      if (::prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) child_fail("PR_SET_PDEATHSIG");
      if (::getppid() != starter) ::_exit(1);
    }
    // Move each passed fd out of the way first, then into 3, 4, ...: a source
    // may sit where another target goes.
    int moved[kMaxPassed];
    std::size_t n = sources.size();
    for (std::size_t i = 0; i < n; ++i)
      if ((moved[i] = ::fcntl(sources[i], F_DUPFD_CLOEXEC, 1000)) < 0) child_fail("dup");
    for (std::size_t i = 0; i < n; ++i)
      if (::dup2(moved[i], kFirstPassedFd + static_cast<int>(i)) < 0) child_fail("dup2");  // clears CLOEXEC
    if (env.listen_pid) write_pid(env.strings[env.listen_pid].data() + std::strlen("LISTEN_PID="), ::getpid());
    exec.env = env.pointers.data();
  };

  std::error_code ec;
  bp::child child(bp::exe = spec.program, bp::args = {spec.file.string()}, bp::std_in < bp::null,
                  bp::extend::on_exec_setup = setup, ec);
  if (ec) throw std::runtime_error("cannot start " + spec.program + " " + spec.file.string() + ": " + ec.message());
  Launched result;
  result.pid = child.id();
  child.detach();
  ours.set_nonblocking(true);
  result.channel = std::move(ours);
  return result;
}

}  // namespace suz
