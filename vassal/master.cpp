#include "vassal/master.hpp"

#include <ev.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "core/log.hpp"
#include "core/socket.hpp"
#include "vassal/worker.hpp"

namespace suz {

namespace {
constexpr auto kQuickDeath = std::chrono::seconds(1);  // dying sooner than this counts toward backoff
constexpr double kMaxBackoff = 10.0;                    // seconds
constexpr double kKillGrace = 2.0;  // after a quick stop or graceful_timeout, SIGKILL stragglers
}  // namespace

struct Master::Watchers {
  std::vector<ev_signal> signals;
  ev_child child;
  std::vector<ev_timer> respawn;  // one per slot
  ev_timer stop_deadline;
};

struct MasterCallbacks {
  static Master& of(void* data) { return *static_cast<Master*>(data); }
  static void child(struct ev_loop*, ev_child* w, int) { of(w->data).reap(w->rpid, w->rstatus); }
  static void signal(struct ev_loop*, ev_signal* w, int) {
    Master& m = of(w->data);
    switch (w->signum) {
      case SIGTERM: m.stop(true); break;
      case SIGINT:
      case SIGQUIT: m.stop(false); break;
      case SIGUSR1:
        reopen_log();
        m.signal_workers(SIGUSR1);
        break;
      default: break;
    }
  }
  static void respawn(struct ev_loop*, ev_timer* w, int) {
    Master& m = of(w->data);
    std::size_t i = static_cast<std::size_t>(w - m.w_->respawn.data());
    if (!m.stopping_) m.spawn_worker(m.slots_[i]);
  }
  static void stop_deadline(struct ev_loop*, ev_timer* w, int) { of(w->data).on_stop_deadline(); }
};

Master::Master(const VassalConfig& config, AppPlugin& plugin, ForkHooks& hooks)
    : config_(config), plugin_(plugin), hooks_(hooks), w_(std::make_unique<Watchers>()) {}

Master::~Master() = default;

bool Master::bind_listeners() {
  auto bind_all = [&](const std::vector<ListenAddress>& addresses, Protocol protocol) {
    for (const ListenAddress& a : addresses) {
      Fd fd = listen_on(a, config_.server.backlog);
      fd.set_nonblocking(true);
      if (a.kind == ListenAddress::Kind::kTcp) {
        // Accepted sockets inherit TCP_NODELAY from the listener: one syscall
        // per connection saved. TCP_DEFER_ACCEPT wakes a worker only once the
        // request's first bytes are in, instead of on the bare handshake.
        int one = 1, defer_seconds = 1;
        ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ::setsockopt(fd.get(), IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer_seconds, sizeof defer_seconds);
      }
      ListenAddress bound = a.kind == ListenAddress::Kind::kTcp ? local_address(fd) : a;
      spdlog::info("listening on {} ({})", bound.str(), protocol == Protocol::kHttp ? "http" : "uwsgi");
      listeners_.push_back(Listener{bound, protocol, std::move(fd)});
    }
  };
  try {
    bind_all(config_.server.http, Protocol::kHttp);
    bind_all(config_.server.uwsgi, Protocol::kUwsgi);
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return false;
  }
  return true;
}

ExitCode Master::run() {
  if (!bind_listeners()) return ExitCode::kBootError;
  try {
    plugin_.load_in_master();
  } catch (const AppLoadError& e) {
    spdlog::critical("cannot load the app: {}", e.what());
    return ExitCode::kAppLoadError;
  }
  plugin_.register_fork_hooks(hooks_);

  struct ev_loop* loop = EV_DEFAULT;
  const int signals[] = {SIGTERM, SIGINT, SIGQUIT, SIGUSR1};
  w_->signals.resize(std::size(signals));
  for (std::size_t i = 0; i < std::size(signals); ++i) {
    ev_signal_init(&w_->signals[i], MasterCallbacks::signal, signals[i]);
    w_->signals[i].data = this;
    ev_signal_start(loop, &w_->signals[i]);
  }
  ::signal(SIGPIPE, SIG_IGN);
  ev_child_init(&w_->child, MasterCallbacks::child, 0, 0);  // every child: one place reaps
  w_->child.data = this;
  ev_child_start(loop, &w_->child);
  ev_init(&w_->stop_deadline, MasterCallbacks::stop_deadline);
  w_->stop_deadline.data = this;

  slots_.resize(static_cast<std::size_t>(config_.server.workers));
  w_->respawn.resize(slots_.size());
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    slots_[i].id = static_cast<int>(i) + 1;
    ev_init(&w_->respawn[i], MasterCallbacks::respawn);
    w_->respawn[i].data = this;
  }
  for (WorkerSlot& slot : slots_) spawn_worker(slot);

  ev_run(loop, 0);
  spdlog::info("stopped");
  return exit_code_;
}

void Master::spawn_worker(WorkerSlot& slot) {
  const pid_t master = ::getpid();
  WorkerOptions options;
  options.id = slot.id;
  options.threads = config_.server.threads;
  options.graceful_timeout = config_.lifetime.graceful_timeout;
  options.max_connections = config_.server.max_connections;
  options.limits.http.max_header_size = config_.server.max_header_size;
  options.limits.http.max_body_size = config_.server.max_body_size;
  options.limits.header_timeout = config_.server.header_timeout;
  options.limits.keepalive_timeout = config_.server.keepalive_timeout;
  options.limits.io_timeout = config_.server.io_timeout;
  std::string label = "vassal " + config_.vassal.name + ": worker " + std::to_string(slot.id);
  pid_t pid;
  try {
    pid = fork_process(hooks_, [&]() -> ExitCode {
      // Die with the master, even if it is SIGKILLed; and if it already died
      // between fork and here, leave now.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != master) return ExitCode::kFailure;
      set_process_label(label);
      try {
        Worker worker(plugin_, listeners_, options);
        return worker.run();
      } catch (const AppLoadError& e) {
        spdlog::critical("cannot load the app: {}", e.what());
        return ExitCode::kAppLoadError;
      } catch (const std::exception& e) {
        spdlog::critical("worker failed: {}", e.what());
        return ExitCode::kFailure;
      }
    });
  } catch (const ForkError& e) {
    spdlog::error("worker {}: {}", slot.id, e.what());
    schedule_respawn(slot);
    return;
  }
  slot.pid = pid;
  slot.generation++;
  slot.born_at = std::chrono::steady_clock::now();
  slot.stopping = false;
  spdlog::info("worker {} started (pid {}, generation {})", slot.id, pid, slot.generation);
}

WorkerSlot* Master::slot_of(pid_t pid) {
  auto it = std::find_if(slots_.begin(), slots_.end(), [&](const WorkerSlot& s) { return s.pid == pid; });
  return it == slots_.end() ? nullptr : &*it;
}

void Master::reap(pid_t pid, int status) {
  WorkerSlot* slot = slot_of(pid);
  if (!slot) return;  // not ours (a process the app forked and orphaned)
  slot->pid = 0;
  std::string how = describe_wait_status(status);
  bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (stopping_) {
    spdlog::info("worker {} (pid {}) {}", slot->id, pid, how);
    bool all_gone = std::all_of(slots_.begin(), slots_.end(), [](const WorkerSlot& s) { return s.pid == 0; });
    if (all_gone) ev_break(EV_DEFAULT, EVBREAK_ALL);
    return;
  }
  if (WIFEXITED(status) && is_permanent_failure(WEXITSTATUS(status))) {
    spdlog::critical("worker {} (pid {}) {}: restarting cannot help, stopping the vassal", slot->id, pid, how);
    exit_code_ = static_cast<ExitCode>(WEXITSTATUS(status));
    stop(false);
    return;
  }
  bool killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  if (killed) spdlog::error("worker {} (pid {}) {} (out of memory?)", slot->id, pid, how);
  else if (clean) spdlog::info("worker {} (pid {}) {}", slot->id, pid, how);
  else spdlog::warn("worker {} (pid {}) {}", slot->id, pid, how);
  bool quick = std::chrono::steady_clock::now() - slot->born_at < kQuickDeath;
  slot->quick_deaths = quick ? slot->quick_deaths + 1 : 0;
  schedule_respawn(*slot);
}

void Master::schedule_respawn(WorkerSlot& slot) {
  std::size_t i = static_cast<std::size_t>(&slot - slots_.data());
  if (slot.quick_deaths == 0) {
    spawn_worker(slot);
    return;
  }
  // A crash loop: back off exponentially instead of forking as fast as we can.
  double delay = std::min(kMaxBackoff, 0.1 * std::pow(2.0, slot.quick_deaths - 1));
  spdlog::warn("worker {} died {} time(s) in a row right after starting; respawning in {:.1f}s", slot.id,
               slot.quick_deaths, delay);
  ev_timer_set(&w_->respawn[i], delay, 0.);
  ev_timer_start(EV_DEFAULT, &w_->respawn[i]);
}

void Master::signal_workers(int sig) {
  for (WorkerSlot& s : slots_)
    if (s.pid > 0) ::kill(s.pid, sig);
}

void Master::stop(bool graceful) {
  bool already = stopping_;
  stopping_ = true;
  for (ev_timer& t : w_->respawn) ev_timer_stop(EV_DEFAULT, &t);
  spdlog::info("{} stop requested", graceful ? "graceful" : "quick");
  signal_workers(graceful ? SIGTERM : SIGINT);
  if (!already || !graceful) {
    double grace = graceful ? std::chrono::duration<double>(config_.lifetime.graceful_timeout).count() + kKillGrace
                            : kKillGrace;
    ev_timer_stop(EV_DEFAULT, &w_->stop_deadline);
    ev_timer_set(&w_->stop_deadline, grace, 0.);
    ev_timer_start(EV_DEFAULT, &w_->stop_deadline);
  }
  if (std::all_of(slots_.begin(), slots_.end(), [](const WorkerSlot& s) { return s.pid == 0; }))
    ev_break(EV_DEFAULT, EVBREAK_ALL);
}

void Master::on_stop_deadline() {
  spdlog::warn("workers still running after the stop deadline: killing them");
  signal_workers(SIGKILL);
}

}  // namespace suz
