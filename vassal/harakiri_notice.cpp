#include "vassal/harakiri_notice.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "core/clock.hpp"
#include "core/signals.hpp"
#include "vassal/health.hpp"

namespace suz {

HarakiriNotice::HarakiriNotice(const Scoreboard& board, int record, Duration limit, Run run)
    : board_(board), record_(record), limit_(limit), run_(std::move(run)) {
  sigset_t notice;
  sigemptyset(&notice);
  sigaddset(&notice, harakiri_signal());
  pthread_sigmask(SIG_BLOCK, &notice, nullptr);
  signals_ = Fd(::signalfd(-1, &notice, SFD_CLOEXEC));
  int fds[2];
  if (!signals_ || ::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "harakiri notice");
  quit_read_ = Fd(fds[0]);
  quit_write_ = Fd(fds[1]);
  thread_ = std::thread([this] { listen(); });
}

HarakiriNotice::~HarakiriNotice() {
  quit_write_ = Fd();  // EOF on the quit pipe
  thread_.join();
}

std::optional<StuckRequest> HarakiriNotice::stuck_request() const {
  // The master's own check (vassal/health.hpp), so the request the hooks are
  // given is the one the master named; retiring: only harakiri is asked.
  Verdict v = check_health(board_, record_, /*retiring=*/true, monotonic_ms(), HealthLimits{limit_}, std::nullopt);
  if (v.kind != Verdict::Kind::kHarakiri) return std::nullopt;
  return StuckRequest{v.request, to_seconds(v.ran), v.thread};
}

void HarakiriNotice::listen() {
  // Blocks every signal: the process's own handlers run on its other threads.
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  for (;;) {
    pollfd fds[2] = {{signals_.get(), POLLIN, 0}, {quit_read_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    signalfd_siginfo info{};
    if (::read(signals_.get(), &info, sizeof info) != static_cast<ssize_t>(sizeof info)) continue;
    auto stuck = stuck_request();
    if (!stuck) {
      spdlog::info("{} from pid {} with no request past harakiri: ignored", signal_name(harakiri_signal()), info.ssi_pid);
      continue;
    }
    spdlog::info("harakiri: running @suzerain.harakiri for \"{}\" (thread {}, {:.1f}s)", stuck->request, stuck->thread,
                 stuck->seconds);
    run_(*stuck);
    // The stuck thread cannot be stopped any other way; the master would kill
    // the process a moment later regardless.
    ::kill(::getpid(), SIGKILL);
  }
}

}  // namespace suz
