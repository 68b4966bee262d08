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
  ::kill(v.process().pid(), SIGHUP);
  EXPECT_NE(systemd.next_with("RELOADING=1"), "");
  EXPECT_NE(systemd.next_with("READY=1"), "") << "ready again once the reload is done";
  ASSERT_TRUE(v.process().wait_for_line("reload done", 30s));
  ::kill(v.process().pid(), SIGTERM);
  EXPECT_NE(systemd.next_with("STOPPING=1"), "");
}

}  // namespace
}  // namespace suz::test
