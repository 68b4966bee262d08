// A vassal started by systemd itself (Type=notify, no emperor): its master
// tells NOTIFY_SOCKET what it would tell an emperor. The socket here is a
// real datagram socket standing where systemd's would.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstdlib>

#include "core/fd.hpp"
#include "tests/support/process.hpp"
#include "tests/support/vassal.hpp"

namespace suz::test {
namespace {

using namespace std::chrono_literals;

class FakeSystemd {
 public:
  FakeSystemd() : path_(dir_.path() / "notify") {
    fd_ = Fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path_.c_str());
    if (::bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("bind");
    ::setenv("NOTIFY_SOCKET", path_.c_str(), 1);  // for the vassal this test starts
  }
  ~FakeSystemd() { ::unsetenv("NOTIFY_SOCKET"); }

  // The next message that has `word` in it; the others before it are skipped.
  std::string next_with(const std::string& word, std::chrono::milliseconds timeout = 30s) {
    auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      pollfd p{fd_.get(), POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return "";
      char buf[4096];
      ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
      if (n <= 0) return "";
      std::string m(buf, static_cast<std::size_t>(n));
      if (m.find(word) != std::string::npos) return m;
    }
  }

 private:
  TempDir dir_;
  std::filesystem::path path_;
  Fd fd_;
};

TEST(SystemdNotify, a_standalone_vassal_reports_ready_reloading_and_stopping) {
  FakeSystemd systemd;
  VassalUnderTest v(app_config("lifetime_app", 2, 1, ""), 2);
  EXPECT_NE(systemd.next_with("READY=1").find("STATUS=every worker serving"), std::string::npos);
  ::kill(v.process().pid(), SIGUSR2);  // the workers replaced from the same master
  EXPECT_NE(systemd.next_with("RELOADING=1"), "");
  EXPECT_NE(systemd.next_with("READY=1"), "") << "ready again once the reload is done";
  ASSERT_TRUE(v.process().wait_for_line("reload done", 30s));
  ::kill(v.process().pid(), SIGTERM);
  EXPECT_NE(systemd.next_with("STOPPING=1"), "");
}

TEST(SystemdNotify, on_hup_the_new_master_takes_over_as_the_main_pid_once_serving) {
  FakeSystemd systemd;
  VassalUnderTest v(app_config("lifetime_app", 2, 1, ""), 2);
  Adopter adopter;  // after v: the successors hold its output open, so they go first
  ASSERT_NE(systemd.next_with("READY=1"), "");
  ::kill(v.process().pid(), SIGHUP);
  EXPECT_NE(systemd.next_with("RELOADING=1"), "");
  auto serving = v.process().wait_for_line("reload: new master pid (\\d+) serves", 30s);
  ASSERT_TRUE(serving) << v.process().output();
  pid_t successor = std::stoi((*serving)[1]);
  adopter.adopt(successor);
  std::string ready = systemd.next_with("MAINPID=");
  EXPECT_NE(ready.find("MAINPID=" + std::to_string(successor) + "\n"), std::string::npos) << ready;
  EXPECT_NE(ready.find("READY=1"), std::string::npos) << ready;
  ASSERT_TRUE(v.process().stop(0, 30s));
  // The old master drained without a word to systemd: STOPPING=1 from it
  // would stop the service the new master now runs. A datagram it sent
  // would be queued already.
  EXPECT_EQ(systemd.next_with("STOPPING=1", 10ms), "");
  ::kill(successor, SIGTERM);
  EXPECT_NE(systemd.next_with("STOPPING=1"), "") << "the new master speaks for the service";
}

}  // namespace
}  // namespace suz::test
