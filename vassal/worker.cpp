#include "core/signals.hpp"
#include "vassal/worker.hpp"

#include <arpa/inet.h>
#include <ev++.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>
#include <list>
#include <optional>

#include "core/log.hpp"
#include "core/socket.hpp"
#include "vassal/worker_events.hpp"
#include "vassal/worker_parts.hpp"

namespace suz {

Worker::Worker(AppPlugin& plugin, const std::vector<Listener>& listeners, WorkerOptions options)
    : plugin_(plugin), listeners_(listeners), options_(options) {}

Worker::~Worker() {
  // Watchers stop on destruction: before their loop goes.
  clients_.clear();
  w_.reset();
  if (loop_) ev_loop_destroy(loop_);
}

ExitCode Worker::run() {
  // Signals arrive through a signalfd read by the loop; blocked before any
  // app thread starts, so every thread inherits the mask.
  // Every other signal is stray (core/signals.hpp), or USR2's stack dump.
  catch_stray_signals(kChildSignals);
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGTERM, SIGINT, SIGQUIT, kReopenLogsSignal}) sigaddset(&set, sig);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  signal_fd_ = Fd(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));

  plugin_.start_worker(options_.id, options_.threads);
  mounts_ = plugin_.mounts();

  // A loop of our own: the master's default loop, inherited in memory,
  // belongs to the master (libev: only the default loop handles signals).
  loop_ = ev_loop_new(EVBACKEND_EPOLL);
  w_ = std::make_unique<Watchers>(loop_);
  w_->signals.set<Worker, &Worker::on_signals>(this);
  w_->signals.start(signal_fd_.get(), ev::READ);
  w_->returned.set<Worker, &Worker::collect_returned>(this);
  w_->returned.start();
  w_->accept_pause.set<Worker, &Worker::resume_accepting_if_room>(this);
  for (const Listener& l : listeners_) w_->listeners.push_back(std::make_unique<Watchers::Accept>(this, l, loop_));
  set_accepting(true);

  if (options_.asgi) {
    loop_thread_ = std::make_unique<LoopThread>(
        plugin_, options_.threads, [this](void* client, bool keep) { give_back(static_cast<Client*>(client), keep); },
        options_.scoreboard ? &options_.scoreboard->process(options_.record).loop_turn_ms : nullptr);
    // Not an AppLoadError: a startup that failed (a database not there yet)
    // may work next time, so the master replaces the worker with backoff.
    if (!loop_thread_->start()) throw std::runtime_error("the app's lifespan startup failed (its error is above)");
  } else if (options_.threads == 1) {
    plugin_.attach_thread(0);
  } else {
    for (int i = 0; i < options_.threads; ++i) threads_.emplace_back([this, i] { app_thread(i); });
  }
  w_->heartbeat.set<Worker, &Worker::heartbeat>(this);
  w_->heartbeat.start(1., 1.);
  pid_ = ::getpid();
  if (options_.access_log) {
    w_->log_turn.set<Worker, &Worker::write_access_log>(this);
    w_->log_turn.start();
    w_->log_later.set<Worker, &Worker::write_access_log>(this);
  }
  if (options_.asgi) spdlog::info("serving (ASGI event loop)");
  else spdlog::info("serving ({} thread{})", options_.threads, options_.threads == 1 ? "" : "s");
  if (options_.scoreboard) report_ready(*options_.scoreboard, options_.record, options_.notify_fd);

  ev_run(loop_, 0);

  if (loop_thread_) {
    // Every exchange has come back unless the graceful timeout ran out or
    // INT/QUIT came: then the loop may still hold connections, so neither
    // it nor they are torn down (the process exit ends them).
    if (retiring_ && in_loop_ == 0) {
      auto left = options_.graceful_timeout - (std::chrono::steady_clock::now() - stop_began_);
      if (!loop_thread_->stop(std::max<Duration>(std::chrono::duration_cast<Duration>(left), std::chrono::seconds(1))))
        detached_ = true;
    } else {
      loop_thread_->abandon();
      detached_ = true;
    }
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_threads_ = true;
  }
  work_ready_.notify_all();
  if (busy_ == 0) {
    for (std::thread& t : threads_) t.join();
  } else {
    for (std::thread& t : threads_) t.detach();  // stuck in a request: the process exit ends them
    detached_ = true;
  }
  if (options_.access_log) options_.access_log->write_now();
  if (retiring_) plugin_.run_hook(Hook::kWorkerExit);  // TERM; INT and QUIT stop at once
  return ExitCode::kOk;
}

void Worker::set_accepting(bool on) {
  if (on == accepting_) return;
  accepting_ = on;
  for (auto& a : w_->listeners) {
    if (on) a->io.start();
    else a->io.stop();
  }
}

void Worker::accept_from(const Listener& listener) {
  // Inline workers take one connection per wake-up and serve it; the next
  // one may be better served by an idle sibling worker.
  int burst = options_.threads == 1 ? 1 : options_.threads;
  for (int i = 0; i < burst && accepting_; ++i) {
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    int fd = ::accept4(listener.fd.get(), reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of fds: pause accepting instead of spinning on a readable listener.
        spdlog::error("accept on {}: {}; pausing accepts for 100ms", listener.address.str(), std::strerror(errno));
        set_accepting(false);
        w_->accept_pause.start(0.1, 0.);
      }
      return;  // EAGAIN: a sibling worker won it
    }
    Fd client(fd);
    Peer p{"", "", "localhost", ""};
    if (listener.address.kind == ListenAddress::Kind::kTcp) {
      ListenAddress remote = address_of(peer);
      p = Peer{remote.host, std::to_string(remote.port), listener.address.host,
               std::to_string(listener.address.port)};
      // A wildcard listener: which of our addresses the client reached is per connection.
      if (p.local_addr.empty() || p.local_addr == "0.0.0.0" || p.local_addr == "::")
        p.local_addr = local_address(client).host;
    }

    if (static_cast<std::size_t>(fd) >= clients_.size()) clients_.resize(static_cast<std::size_t>(fd) + 64);
    auto c = std::make_unique<Client>(this, loop_);
    c->conn = std::make_unique<Connection>(std::move(client), listener.protocol, options_.rules, std::move(p), retiring_,
                                           this);
    c->io.set(fd, ev::READ);
    Client* raw = c.get();
    clients_[static_cast<std::size_t>(fd)] = std::move(c);
    ++open_clients_;
    if (open_clients_ >= options_.max_connections && !reclaim_idle()) set_accepting(false);
    // The request usually arrived with the connection: try it right away.
    on_readable(raw);
  }
}

void Worker::park(Client* c) {
  c->timing_head = c->conn->mid_head();
  Duration timeout = c->timing_head ? options_.rules.header_timeout : options_.rules.keepalive_timeout;
  c->io.start();
  c->timer.start(to_seconds(timeout), 0.);
  if (!c->timing_head && !c->idle_at) c->idle_at = idle_.insert(idle_.end(), c);
}

void Worker::not_idle(Client* c) {
  if (!c->idle_at) return;
  idle_.erase(*c->idle_at);
  c->idle_at.reset();
}

// At max_connections, an idle keep-alive connection is the cheapest to give
// up (as nginx does with its reusable connections): its client is between
// requests and reconnects when it has another, while a new client would
// otherwise wait in the backlog until some keep-alive timer ran out, and
// thousands of idle connections would lock everyone else out. The oldest
// goes first; one whose next request has arrived meanwhile is not idle.
bool Worker::reclaim_idle() {
  while (!idle_.empty()) {
    Client* c = idle_.front();
    not_idle(c);
    int pending = 0;
    if (::ioctl(c->conn->fd(), FIONREAD, &pending) == 0 && pending > 0) continue;  // its io watcher serves it
    spdlog::debug("{}: idle keep-alive connection closed to make room (max_connections {})", c->conn->describe(),
                  options_.max_connections);
    close(c);
    return true;
  }
  return false;
}

void Worker::on_writable(Client* c) {
  Connection::Drain d = c->conn->drain();
  if (d == Connection::Drain::kMore) {
    c->timer.stop();  // io_timeout counts from the last progress
    c->timer.start(to_seconds(options_.rules.io_timeout), 0.);
    return;
  }
  c->io.stop();
  c->timer.stop();
  c->io.set(c->conn->fd(), ev::READ);
  next_or_park(c, c->conn->end_exchange());
}

void Worker::on_readable(Client* c) {
  not_idle(c);
  Connection::Head head = c->conn->read_head();
  switch (head) {
    case Connection::Head::kReady:
      c->io.stop();
      c->timer.stop();
      dispatch(c);
      return;
    case Connection::Head::kNeedMore:
      if (c->conn->awaiting_body()) {
        // A buffered body may take as long as it keeps arriving: io_timeout
        // counts from its last bytes, as it would on an app thread.
        c->timing_head = false;
        c->io.start();
        c->timer.stop();
        c->timer.start(to_seconds(options_.rules.io_timeout), 0.);
      } else if (!c->io.is_active()) {
        park(c);
      } else if (!c->timing_head && c->conn->mid_head()) {
        // First bytes of a request: from now on the head must complete within header_timeout.
        c->timer.stop();
        park(c);
      }
      return;
    case Connection::Head::kError:
      spdlog::info("{}: rejected: {}", c->conn->describe(), c->conn->error_reason());
      c->conn->send_error();
      close(c);
      return;
    case Connection::Head::kClosed:
      close(c);
      return;
  }
}

void Worker::on_timeout(Client* c) {
  if (c->conn->draining()) {
    spdlog::info("{}: the client took nothing of the response for {}, closing", c->conn->describe(),
                 format_duration(options_.rules.io_timeout));
    c->conn->abandon_drain();
    c->conn->end_exchange();
  } else if (c->conn->awaiting_body() || c->timing_head) {
    c->conn->time_out_request();
    spdlog::info("{}: {}, closing", c->conn->describe(), c->conn->error_reason());
  }
  close(c);
}

void Worker::served(const Served& s) {
  if (options_.scoreboard) options_.scoreboard->process(options_.record).traffic.count(s.status, s.duration);
  if (options_.access_log) options_.access_log->record(s, options_.id, pid_);
}

void Worker::write_access_log() {
  if (options_.access_log->write_due(std::chrono::steady_clock::now()) && !w_->log_later.is_active())
    w_->log_later.start(std::chrono::duration<double>(AccessLog::kMaxDelay).count(), 0.);
}

void Worker::close(Client* c) {
  not_idle(c);
  c->io.stop();
  c->timer.stop();
  int fd = c->conn->fd();
  clients_[static_cast<std::size_t>(fd)].reset();
  --open_clients_;
  resume_accepting_if_room();
  maybe_finish();
}

void Worker::resume_accepting_if_room() {
  // busy_ stays 0 for inline workers (threads == 1), so one rule serves both modes.
  if (!retiring_ && (loop_thread_ || busy_ < options_.threads) && (open_clients_ < options_.max_connections || !idle_.empty()) &&
      !w_->accept_pause.is_active())
    set_accepting(true);
}

void Worker::heartbeat() {
  if (options_.scoreboard) options_.scoreboard->process(options_.record).heartbeat_ms = monotonic_ms();
  log_stray_signals();
}

void Worker::begin_graceful_stop() {
  if (retiring_) return;
  retiring_ = true;
  stop_began_ = std::chrono::steady_clock::now();
  if (options_.scoreboard) options_.scoreboard->process(options_.record).state = WorkerState::kRetiring;
  set_accepting(false);
  spdlog::info("stopping: finishing {} request(s) in flight, {} connection(s) open", busy_ + in_loop_, open_clients_);
  // Idle keep-alive connections are not closed here: a client may be sending
  // its next request on one right now, and would see it cut. Each gets its
  // next response with "Connection: close", or is closed by keepalive_timeout.
  w_->graceful.set<Worker, &Worker::graceful_expired>(this);
  w_->graceful.start(to_seconds(options_.graceful_timeout), 0.);
  maybe_finish();
}

void Worker::graceful_expired() {
  spdlog::warn("graceful timeout of {} reached with requests in flight, exiting", format_duration(options_.graceful_timeout));
  ev_break(loop_, EVBREAK_ALL);
}

void Worker::on_signals() {
  signalfd_siginfo info;
  while (::read(signal_fd_.get(), &info, sizeof info) == sizeof info) {
    switch (info.ssi_signo) {
      case SIGTERM: begin_graceful_stop(); break;
      case SIGINT:
      case SIGQUIT: ev_break(loop_, EVBREAK_ALL); break;
      case kReopenLogsSignal:
        reopen_log();
        if (options_.access_log) options_.access_log->reopen();
        break;
      default: break;
    }
  }
}

void Worker::maybe_finish() {
  if (retiring_ && open_clients_ == 0) ev_break(loop_, EVBREAK_ALL);
}

}  // namespace suz
