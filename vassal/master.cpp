#include "vassal/master.hpp"

#include <ev.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <system_error>
#include <thread>

#include "core/credentials.hpp"
#include "core/emperor_channel.hpp"
#include "core/inherited_sockets.hpp"
#include "core/log.hpp"
#include "core/process_title.hpp"
#include "core/signals.hpp"
#include "core/socket.hpp"
#include "vassal/child_main.hpp"
#include "vassal/health.hpp"
#include "vassal/jitter.hpp"
#include "vassal/spool_upkeep.hpp"

namespace suz {

namespace {

constexpr auto kQuickDeath = std::chrono::seconds(1);  // dying sooner, having served nothing, counts toward backoff
constexpr double kMaxBackoff = 10.0;                    // seconds
constexpr double kDumpGrace = 0.2;          // harakiri: time for the stack dump before SIGKILL
constexpr std::int64_t kHeartbeatTimeoutMs = 30000;  // an idle worker whose loop stopped turning
// max_rss: every worker is sampled this often (a read of /proc/PID/statm, a
// few microseconds), so one growing fast is caught close to the limit: a
// worker idle a moment ago can be past it within the second.
constexpr std::int64_t kRssSampleMs = 100;

// A standalone master restarted right after a crash (kill -9) finds its old
// workers still holding the port for a moment: they die with it (PDEATHSIG),
// but not at once. Bounded: another program may hold the port for good.
constexpr auto kBindRetryFor = std::chrono::seconds(2);
constexpr auto kBindRetryEvery = std::chrono::milliseconds(20);

Fd listen_retrying(const ListenAddress& a, int backlog) {
  auto until = std::chrono::steady_clock::now() + kBindRetryFor;
  for (bool said = false;; said = true) {
    try {
      return listen_on(a, backlog);
    } catch (const std::system_error& e) {
      if (e.code().value() != EADDRINUSE || std::chrono::steady_clock::now() >= until) throw;
      if (!said) spdlog::warn("{}; retrying for up to {}", e.what(), format_duration(kBindRetryFor));
    }
    std::this_thread::sleep_for(kBindRetryEvery);
  }
}

std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::uint64_t rss_bytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/statm");
  std::uint64_t size = 0, resident = 0;
  in >> size >> resident;
  return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

// Where a stuck process is blocked in the kernel, for the log.
std::string where_stuck(pid_t pid) {
  std::string wchan = read_first_line("/proc/" + std::to_string(pid) + "/wchan");
  return wchan.empty() || wchan == "0" ? "running" : "blocked in " + wchan;
}

}  // namespace

struct Master::Watchers {
  std::vector<ev_signal> signals;
  ev_child child;
  ev_io events;
  ev_timer scan;
  ev_timer stop_deadline;
};

struct MasterCallbacks {
  static Master& of(void* data) { return *static_cast<Master*>(data); }
  static void child(struct ev_loop*, ev_child* w, int) { of(w->data).reap(w->rpid, w->rstatus); }
  // libev runs this in the loop, not in the signal handler: the work is safe here.
  static void signal(struct ev_loop*, ev_signal* w, int) {
    Master& m = of(w->data);
    switch (w->signum) {
      case SIGTERM: m.stop(true); break;
      case SIGINT:
      case SIGQUIT: m.stop(false); break;
      case SIGHUP: m.reload(); break;
      case SIGTTIN: m.add_worker(); break;
      case SIGTTOU: m.remove_worker(); break;
      case kReopenLogsSignal: m.reopen_logs(); break;
      default: break;
    }
  }
  static void events(struct ev_loop*, ev_io* w, int) {
    Master& m = of(w->data);
    WorkerMessage msg;
    while (::read(m.events_.read.get(), &msg, sizeof msg) == sizeof msg) m.on_message(msg);
  }
  static void scan(struct ev_loop*, ev_timer* w, int) { of(w->data).scan(); }
  static void stop_deadline(struct ev_loop*, ev_timer* w, int) { of(w->data).on_stop_deadline(); }
  static void respawn(struct ev_loop*, ev_timer* w, int) {
    auto* s = static_cast<Slot*>(w->data);
    if (!s->master->stopping_ && !s->removed) s->master->spawn(*s);
  }
  static void lifetime(struct ev_loop*, ev_timer* w, int) {
    auto* p = static_cast<Child*>(w->data);
    Master& m = *p->master;
    if (Slot* s = m.slot_of(*p); s && s->active == p->pid)
      m.replace(*s, RespawnCause::kLifetime, "lifetime of " + format_duration(m.max_lifetime(p->role)) + " (less jitter) reached");
  }
  static void deadline(struct ev_loop*, ev_timer* w, int) {
    auto* p = static_cast<Child*>(w->data);
    Master& m = *p->master;
    if (p->retiring) {
      m.kill_process(*p, RespawnCause::kDied, "still running " + format_duration(m.config_.lifetime.graceful_timeout) +
                             " after being told to stop (" + where_stuck(p->pid) + ")");
    } else if (!p->ready) {
      m.kill_process(*p, RespawnCause::kNotReady, "not serving " + format_duration(m.config_.lifetime.ready_timeout) + " after the fork (" +
                             where_stuck(p->pid) + ")");
    }
  }
  static void dump_then_kill(struct ev_loop*, ev_timer* w, int) {
    auto* p = static_cast<Child*>(w->data);
    ::kill(p->pid, SIGKILL);
  }
};

Master::Master(const VassalConfig& config, AppPlugin& plugin, ForkHooks& hooks)
    : config_(config), plugin_(plugin), hooks_(hooks), w_(std::make_unique<Watchers>()) {}

Master::~Master() {
  for (auto& [pid, p] : processes_) {
    ev_timer_stop(EV_DEFAULT, &p->lifetime);
    ev_timer_stop(EV_DEFAULT, &p->deadline);
    ev_timer_stop(EV_DEFAULT, &p->dump_then_kill);
  }
}

bool Master::bind_listeners() {
  auto bind_all = [&](const std::vector<ListenAddress>& addresses, Protocol protocol) {
    const char* kind = protocol == Protocol::kHttp ? "http" : "uwsgi";
    for (std::size_t i = 0; i < addresses.size(); ++i) {
      const ListenAddress& a = addresses[i];
      // Passed by the emperor (the same socket every generation of this
      // vassal had), or bound here.
      std::optional<Fd> passed = inherited_.take(socket_name(kind, i));
      Fd fd = passed ? std::move(*passed) : listen_retrying(a, config_.server.backlog);
      fd.set_nonblocking(true);
      if (a.kind == ListenAddress::Kind::kTcp) {
        // Accepted sockets inherit TCP_NODELAY from the listener: one syscall
        // per connection saved. TCP_DEFER_ACCEPT wakes a worker only once the
        // request's first bytes are in, instead of on the bare handshake.
        // Quick-ACK off (inherited too): a new connection's request is not
        // acknowledged on its own, the response carries the ACK. Bulk bodies
        // are still acknowledged every second segment.
        int one = 1, zero = 0, defer_seconds = 1;
        ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ::setsockopt(fd.get(), IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer_seconds, sizeof defer_seconds);
        ::setsockopt(fd.get(), IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof zero);
      }
      ListenAddress bound = a.kind == ListenAddress::Kind::kTcp ? local_address(fd) : a;
      spdlog::info("listening on {} ({}{})", bound.str(), kind, passed ? ", passed by the emperor" : "");
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
  // Sockets the emperor (or systemd) passed, by name.
  if (!take_inherited_sockets()) return ExitCode::kBootError;
  // The listeners: passed ones kept, the others bound (retrying a port
  // a crashed predecessor's workers still hold).
  if (!bind_listeners()) return ExitCode::kBootError;
  // Before the app loads: the master is still single-threaded (see StatsServer).
  if (!start_stats()) return ExitCode::kBootError;
  // Sockets are bound (ports below 1024 need root); the app is not loaded
  // yet: now is when a vassal started as root becomes its user.
  if (!become_configured_user()) return ExitCode::kBootError;
  // The app, once, in the master; its fork hooks after logging's.
  if (ExitCode loaded = load_app(); loaded != ExitCode::kOk) return loaded;
  // The spool, when this vassal runs spoolers: what earlier runs abandoned goes back to the queue.
  if (!open_spool()) return ExitCode::kBootError;
  // Shared with every child, so created before the first fork.
  create_scoreboard();
  // Signals, children, the workers' messages, the periodic checks.
  watch(EV_DEFAULT);
  // The emperor's channel, when it started us.
  emperor_ = EmperorLink::from_environment(EV_DEFAULT, [this](bool graceful) { stop(graceful); });
  // Every slot forked; from here on, the loop does all the work.
  start_slots();
  ev_run(EV_DEFAULT, 0);
  spdlog::info("stopped");
  return exit_code_;
}

bool Master::take_inherited_sockets() {
  try {
    inherited_ = InheritedSockets::take_from_environment();
    return true;
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return false;
  }
}

bool Master::start_stats() {
  if (!config_.stats.listen) return true;
  try {
    stats_ = std::make_unique<StatsServer>(EV_DEFAULT, *config_.stats.listen, inherited_.take(socket_name("stats", 0)),
                                           [this] { return snapshot(); });
    spdlog::info("stats on {} (JSON at /, Prometheus at /metrics)", stats_->address().str());
    if (!stats_->address().is_local())
      spdlog::warn("stats on {} can be reached from other hosts, and show every request in flight: "
                   "prefer a unix socket or 127.0.0.1 (or a firewall)",
                   stats_->address().str());
    return true;
  } catch (const std::exception& e) {
    spdlog::critical("stats: {}", e.what());
    return false;
  }
}

ExitCode Master::load_app() {
  try {
    plugin_.load_in_master();
  } catch (const AppLoadError& e) {
    spdlog::critical("cannot load the app: {}", e.what());
    return ExitCode::kAppLoadError;
  }
  plugin_.register_fork_hooks(hooks_);
  return ExitCode::kOk;
}

bool Master::open_spool() {
  if (config_.spooler.processes == 0 || config_.spooler.dir.empty()) return true;
  try {
    spool_ = std::make_unique<SpoolUpkeep>(config_.spooler);
    return true;
  } catch (const std::exception& e) {
    spdlog::critical("[spooler] dir: {}", e.what());
    return false;
  }
}

int Master::wanted(Role role) const {
  if (role == Role::kWorker) return listeners_.empty() ? 0 : config_.server.workers;  // a vassal may only run jobs
  return spool_ ? config_.spooler.processes : 0;
}

void Master::create_scoreboard() {
  // Room for each slot's active process and its successor, and for TTIN to add a few.
  scoreboard_ = std::make_unique<Scoreboard>(2 * (wanted(Role::kWorker) + wanted(Role::kSpooler)) + 16,
                                             config_.server.threads);
  events_ = make_pipe(O_NONBLOCK);
}

void Master::watch(struct ev_loop* loop) {
  const std::initializer_list<int> signals = kMasterSignals;  // the stray ones are caught since main()
  w_->signals.resize(signals.size());
  for (std::size_t i = 0; i < signals.size(); ++i) {
    ev_signal_init(&w_->signals[i], MasterCallbacks::signal, signals.begin()[i]);
    w_->signals[i].data = this;
    ev_signal_start(loop, &w_->signals[i]);
  }
  ::signal(SIGPIPE, SIG_IGN);
  ev_child_init(&w_->child, MasterCallbacks::child, 0, 0);  // every child: one place reaps
  w_->child.data = this;
  ev_child_start(loop, &w_->child);
  ev_io_init(&w_->events, MasterCallbacks::events, events_.read.get(), EV_READ);
  w_->events.data = this;
  ev_io_start(loop, &w_->events);
  ev_init(&w_->stop_deadline, MasterCallbacks::stop_deadline);
  w_->stop_deadline.data = this;
  // Harakiri is checked every tenth of its value; heartbeats every second;
  // RSS every kRssSampleMs.
  double period = 1.0;
  for (Role role : {Role::kWorker, Role::kSpooler})
    if (harakiri(role).count() > 0) period = std::min(period, std::clamp(to_seconds(harakiri(role)) / 10, 0.01, 1.0));
  if (config_.lifetime.max_rss > 0) period = std::min(period, kRssSampleMs / 1000.0);
  // A Redis spool's claims are renewed every third of the visibility timeout.
  if (spool_) period = std::min(period, std::chrono::duration<double>(spool_->period()).count());
  ev_timer_init(&w_->scan, MasterCallbacks::scan, period, period);
  w_->scan.data = this;
  ev_timer_start(loop, &w_->scan);
}

void Master::start_slots() {
  for (Role role : {Role::kWorker, Role::kSpooler})
    for (int i = 0; i < wanted(role); ++i) add_slot(role);
}

bool Master::become_configured_user() {
  auto who = resolve_credentials(config_.vassal.uid, config_.vassal.gid);
  if (!who) {
    spdlog::critical("{}", who.error());
    return false;
  }
  if (!*who) return true;
  if (auto why = cannot_become(**who)) {
    spdlog::critical("[vassal] uid/gid: {}", *why);
    return false;
  }
  try {
    if (::geteuid() == 0) {
      become(**who);
      spdlog::info("running as {}", (*who)->label);
    }
  } catch (const std::exception& e) {
    spdlog::critical("cannot become {}: {}", (*who)->label, e.what());
    return false;
  }
  return true;
}

Slot* Master::slot_of(const Child& p) {
  auto& v = slots(p.role);
  return p.slot >= 1 && p.slot <= static_cast<int>(v.size()) ? v[static_cast<std::size_t>(p.slot - 1)].get() : nullptr;
}

Duration Master::max_lifetime(Role role) const {
  return role == Role::kWorker ? config_.lifetime.max_worker_lifetime : config_.spooler.max_lifetime;
}

Duration Master::harakiri(Role role) const {
  return role == Role::kWorker ? config_.lifetime.harakiri : config_.spooler.harakiri;
}

VassalSnapshot Master::snapshot() const {
  VassalSnapshot snap;
  auto now = std::chrono::steady_clock::now();
  std::int64_t now_ms = monotonic_ms();
  snap.vassal = config_.vassal.name;
  snap.master_pid = ::getpid();
  snap.uptime_seconds = std::chrono::duration<double>(now - started_).count();
  snap.threads = config_.server.threads;
  snap.respawns = respawns_;
  snap.requests = retired_requests_;
  for (const auto& s : slots_)
    if (!s->removed) snap.workers_wanted++;
  if (spool_) {
    SpoolerSnapshot sp;
    sp.dir = spool_->queue().where();
    sp.processes_wanted = static_cast<int>(spooler_slots_.size());
    sp.jobs = retired_jobs_;
    sp.recovered = spool_->jobs_recovered();
    try {
      sp.queued = spool_->queue().count(JobState::kQueued);
      sp.failed = spool_->queue().count(JobState::kFailed);
    } catch (const std::exception& e) {
      spdlog::warn("spool: cannot count jobs: {}", e.what());
    }
    sp.respawns = spooler_respawns_;
    snap.spooler = std::move(sp);
  }
  for (const auto& [pid, p] : processes_) {
    const ProcessRecord& rec = scoreboard_->process(p->record);
    WorkerSnapshot w;
    w.id = p->slot;
    w.pid = pid;
    w.generation = p->generation;
    w.state = p->retiring ? "retiring" : !p->ready ? "starting" : p->role == Role::kWorker ? "serving" : "running";
    w.requests = rec.requests.load(std::memory_order_relaxed);
    w.age_seconds = std::chrono::duration<double>(now - p->born).count();
    if (ev_is_active(&p->lifetime)) w.retires_in_seconds = ev_timer_remaining(EV_DEFAULT, &p->lifetime);
    for (int t = 0; t < scoreboard_->threads(); ++t) {
      if (auto busy = scoreboard_->in_flight(p->record, t))
        w.busy.push_back({t + 1, busy->request, static_cast<double>(now_ms - busy->started_ms) / 1000});
    }
    if (p->role == Role::kSpooler) {
      snap.spooler->jobs += w.requests;
      snap.spooler->processes.push_back(std::move(w));
      continue;
    }
    snap.requests += w.requests;
    snap.workers.push_back(std::move(w));
  }
  auto by_slot = [](const WorkerSnapshot& a, const WorkerSnapshot& b) {
    return std::tie(a.id, a.generation) < std::tie(b.id, b.generation);
  };
  std::sort(snap.workers.begin(), snap.workers.end(), by_slot);
  if (snap.spooler) std::sort(snap.spooler->processes.begin(), snap.spooler->processes.end(), by_slot);
  return snap;
}

void Master::add_slot(Role role) {
  auto& slots = this->slots(role);
  // A slot TTOU removed is reused first, so ids stay 1..workers.
  for (auto& s : slots) {
    if (s->removed && s->active == 0 && s->successor == 0) {
      s->removed = false;
      spawn(*s);
      return;
    }
  }
  auto s = std::make_unique<Slot>();
  s->role = role;
  s->id = static_cast<int>(slots.size()) + 1;
  s->master = this;
  ev_init(&s->respawn, MasterCallbacks::respawn);
  s->respawn.data = s.get();
  slots.push_back(std::move(s));
  spawn(*slots.back());
}

void Master::remove_slot() {
  for (auto it = slots_.rbegin(); it != slots_.rend(); ++it) {
    Slot& s = **it;
    if (s.removed) continue;
    s.removed = true;
    ev_timer_stop(EV_DEFAULT, &s.respawn);
    spdlog::info("{}: removed (TTOU)", s.name());
    if (s.successor) retire(s.successor);
    if (s.active) retire(s.active);
    return;
  }
}

void Master::spawn(Slot& s) {
  int record = scoreboard_->claim(s.id, s.generation + 1);
  if (record < 0) {
    spdlog::error("{}: scoreboard full, not starting it", s.name());
    return;
  }
  const pid_t master = ::getpid();
  const std::string label = "vassal " + config_.vassal.name + ": " + s.name();
  const std::string owner = s.role == Role::kSpooler
                                ? spool_->owner_for(s.id, s.generation + 1)
                                : std::string();

  pid_t pid;
  auto fork_started = std::chrono::steady_clock::now();
  try {
    pid = fork_process(hooks_, [&]() -> ExitCode {
      // Die with the master, even if it is SIGKILLed; and if it already died
      // between fork and here, leave now.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != master) return ExitCode::kFailure;
      if (stats_) stats_->close_in_child();
      if (emperor_) emperor_->close_in_child();
      set_process_label(label);
      set_process_title(label);
      try {
        ChildContext child{config_, plugin_, *scoreboard_, record, events_.write.get(), s.id};
        return s.role == Role::kWorker ? run_worker(child, listeners_) : run_spooler(child, listeners_, owner);
      } catch (const AppLoadError& e) {
        spdlog::critical("cannot load the app: {}", e.what());
        return ExitCode::kAppLoadError;
      } catch (const std::exception& e) {
        spdlog::critical("{} failed: {}", s.name(), e.what());
        return ExitCode::kFailure;
      }
    });
  } catch (const ForkError& e) {
    scoreboard_->release(record);
    spdlog::error("{}: {}", s.name(), e.what());
    s.quick_deaths++;
    schedule_respawn(s);
    return;
  }
  scoreboard_->process(record).pid = pid;
  // A fork whose before-hooks waited (for the GIL, a logging lock) took long:
  // say so, and re-read the clock so the new child's deadlines start now,
  // not when this loop iteration began.
  auto fork_took = std::chrono::steady_clock::now() - fork_started;
  if (fork_took > std::chrono::seconds(1))
    spdlog::warn("{}: forking took {}", s.name(), format_duration(std::chrono::duration_cast<Duration>(fork_took)));
  ev_now_update(EV_DEFAULT);
  auto p = std::make_unique<Child>();
  p->pid = pid;
  p->role = s.role;
  p->slot = s.id;
  p->name = s.name();
  p->spool_owner = owner;
  p->record = record;
  p->generation = ++s.generation;
  p->born = std::chrono::steady_clock::now();
  p->master = this;
  ev_init(&p->lifetime, MasterCallbacks::lifetime);
  p->lifetime.data = p.get();
  ev_init(&p->dump_then_kill, MasterCallbacks::dump_then_kill);
  p->dump_then_kill.data = p.get();
  ev_timer_init(&p->deadline, MasterCallbacks::deadline, to_seconds(config_.lifetime.ready_timeout), 0.);
  p->deadline.data = p.get();
  ev_timer_start(EV_DEFAULT, &p->deadline);
  if (s.active == 0) s.active = pid;
  else s.successor = pid;
  spdlog::info("{} started (pid {}, generation {})", s.name(), pid, p->generation);
  processes_[pid] = std::move(p);
}

void Master::on_message(const WorkerMessage& m) {
  auto it = processes_.find(m.pid);
  if (it == processes_.end()) return;
  Child& p = *it->second;
  switch (m.event) {
    case WorkerEvent::kReady:
      on_ready(p);
      break;
    case WorkerEvent::kRequestLimit:
      if (Slot* s = slot_of(p); s && s->active == p.pid && !p.retiring)
        replace(*s, RespawnCause::kMaxRequests,
                (p.role == Role::kWorker ? "served " : "ran ") + std::to_string(scoreboard_->process(p.record).requests.load()) +
                    (p.role == Role::kWorker ? " requests" : " jobs"));
      break;
  }
}

void Master::on_ready(Child& p) {
  if (p.ready || p.retiring) return;
  p.ready = true;
  ev_timer_stop(EV_DEFAULT, &p.deadline);
  if (max_lifetime(p.role).count() > 0) {
    ev_timer_set(&p.lifetime, to_seconds(max_lifetime(p.role)) * jitter_fraction(), 0.);
    ev_timer_start(EV_DEFAULT, &p.lifetime);
  }
  Slot* s = slot_of(p);
  if (!s || s->successor != p.pid) {
    announce_if_serving();
    return;
  }
  // The successor serves: only now is its predecessor told to stop.
  pid_t old = s->active;
  s->active = p.pid;
  s->successor = 0;
  if (old) retire(old);
  if (!reload_queue_.empty() && reload_queue_.front() == s) {
    reload_queue_.pop_front();
    reload_next();
  }
}

void Master::replace(Slot& s, RespawnCause cause, const std::string& why) {
  if (stopping_ || s.removed || s.successor) return;  // one replacement at a time per slot
  spdlog::info("{} (pid {}): {}; starting its replacement", s.name(), s.active, why);
  (s.role == Role::kWorker ? respawns_ : spooler_respawns_)[static_cast<int>(cause)]++;
  spawn(s);
}

void Master::reload() {
  if (stopping_) return;
  spdlog::info("reload requested: replacing every worker, one at a time");
  if (emperor_) emperor_->send(emperor_channel::kReloading);
  reload_queue_.clear();
  for (auto* role : {&slots_, &spooler_slots_})
    for (auto& s : *role)
      if (!s->removed) reload_queue_.push_back(s.get());
  reload_next();
}

void Master::add_worker() {
  if (!stopping_) add_slot(Role::kWorker);
}

void Master::remove_worker() {
  if (!stopping_) remove_slot();
}

void Master::reopen_logs() {
  reopen_log();
  spdlog::info("log reopened ({})", signal_name(kReopenLogsSignal));
  signal_workers(kReopenLogsSignal);
}

void Master::reload_next() {
  while (!reload_queue_.empty()) {
    Slot* s = reload_queue_.front();
    if (s && !s->removed && s->active && !s->successor) {
      replace(*s, RespawnCause::kReload, "reload");
      return;
    }
    reload_queue_.pop_front();
  }
  spdlog::info("reload done");
  if (emperor_) emperor_->send(emperor_channel::kReady);
}

void Master::announce_if_serving() {
  if (announced_serving_ || stopping_) return;
  for (auto* role : {&slots_, &spooler_slots_}) {
    for (const auto& s : *role) {
      if (s->removed) continue;
      auto it = processes_.find(s->active);
      if (it == processes_.end() || !it->second->ready) return;
    }
  }
  announced_serving_ = true;
  spdlog::info(spooler_slots_.empty() ? "every worker serving" : "every worker and spooler running");
  if (emperor_) emperor_->send(emperor_channel::kReady);
}

void Master::retire(pid_t pid) {
  auto it = processes_.find(pid);
  if (it == processes_.end() || it->second->retiring) return;
  Child& p = *it->second;
  p.retiring = true;
  ev_timer_stop(EV_DEFAULT, &p.lifetime);
  ::kill(pid, SIGTERM);
  ev_timer_stop(EV_DEFAULT, &p.deadline);
  ev_timer_set(&p.deadline, emperor_channel::child_kill_after(config_.lifetime.graceful_timeout, true), 0.);
  ev_timer_start(EV_DEFAULT, &p.deadline);
}

void Master::kill_process(Child& p, RespawnCause cause, const std::string& why) {
  spdlog::error("{} (pid {}): {}; killing it", p.name, p.pid, why);
  p.kill_reason = why;
  p.kill_cause = cause;
  ::kill(p.pid, SIGKILL);
}

void Master::scan() {
  std::int64_t now = monotonic_ms();
  log_stray_signals();
  if (spool_) {
    // Our spoolers' claims are alive (Redis would otherwise expire them);
    // another vassal sharing this spool may have died holding jobs.
    std::vector<std::string> owners;
    for (const auto& [pid, p] : processes_)
      if (p->role == Role::kSpooler) owners.push_back(p->spool_owner);
    spool_->tick(now, owners);
  }
  for (auto& [pid, pp] : processes_) {
    Child& p = *pp;
    if (!p.ready || !p.kill_reason.empty()) continue;
    std::optional<std::uint64_t> rss;
    if (config_.lifetime.max_rss > 0 && !p.retiring && now >= p.rss_due_ms) {
      p.rss_due_ms = now + kRssSampleMs;
      rss = rss_bytes(p.pid);
    }
    HealthLimits limits{harakiri(p.role), config_.lifetime.max_rss, kHeartbeatTimeoutMs};
    Verdict v = check_health(*scoreboard_, p.record, p.retiring, now, limits, rss);
    switch (v.kind) {
      case Verdict::Kind::kHealthy:
        break;
      case Verdict::Kind::kHarakiri:
        // Ask for every Python thread's stack first (faulthandler, installed
        // in each child), then kill.
        p.kill_reason = "harakiri";
        p.kill_cause = RespawnCause::kHarakiri;
        spdlog::error("{} (pid {}): harakiri: \"{}\" on thread {} ran for {} (limit {}); dumping stacks, killing", p.name,
                      p.pid, v.request, v.thread, format_duration(v.ran), format_duration(limits.harakiri));
        ::kill(p.pid, kStackDumpSignal);
        ev_timer_set(&p.dump_then_kill, kDumpGrace, 0.);
        ev_timer_start(EV_DEFAULT, &p.dump_then_kill);
        break;
      case Verdict::Kind::kNoHeartbeat:
        kill_process(p, RespawnCause::kNoHeartbeat, "no heartbeat for " + format_duration(v.ran) + " (" + where_stuck(p.pid) + ")");
        break;
      case Verdict::Kind::kOverRss:
        if (Slot* s = slot_of(p); s && s->active == p.pid)
          replace(*s, RespawnCause::kMaxRss, "RSS " + format_size(v.rss) + " over max_rss " + format_size(config_.lifetime.max_rss));
        break;
    }
  }
}

void Master::reap(pid_t pid, int status) {
  auto it = processes_.find(pid);
  if (it == processes_.end()) return;  // not ours (a process the app forked and orphaned)
  std::unique_ptr<Child> p = std::move(it->second);
  processes_.erase(it);
  ev_timer_stop(EV_DEFAULT, &p->lifetime);
  ev_timer_stop(EV_DEFAULT, &p->deadline);
  ev_timer_stop(EV_DEFAULT, &p->dump_then_kill);
  std::uint64_t served = scoreboard_->process(p->record).requests.load();
  (p->role == Role::kWorker ? retired_requests_ : retired_jobs_) += served;
  scoreboard_->release(p->record);
  Slot* s = slot_of(*p);
  std::string how = describe_wait_status(status);
  if (p->role == Role::kSpooler) recover_jobs(*p, how);

  if (stopping_) {
    spdlog::info("{} (pid {}) {}", p->name, pid, how);
    check_all_gone();
    return;
  }
  if (p->retiring && p->kill_reason.empty()) {
    spdlog::info("{} (pid {}) retired: {}", p->name, pid, how);
    return;
  }
  if (WIFEXITED(status) && is_permanent_failure(WEXITSTATUS(status))) {
    spdlog::critical("{} (pid {}) {}: restarting cannot help, stopping the vassal", p->name, pid, how);
    exit_code_ = static_cast<ExitCode>(WEXITSTATUS(status));
    stop(false);
    return;
  }
  bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (!p->kill_reason.empty()) spdlog::error("{} (pid {}) {} ({})", p->name, pid, how, p->kill_reason);
  else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) spdlog::error("{} (pid {}) {} (out of memory?)", p->name, pid, how);
  else if (clean) spdlog::info("{} (pid {}) {}", p->name, pid, how);
  else spdlog::warn("{} (pid {}) {}", p->name, pid, how);
  if (!s || s->removed) return;

  // A crash loop is a worker dying before it serves anything. One that has
  // served (killed by an operator, the OOM killer, a crash on one bad
  // request) is replaced at once: its replacement is likely to serve too.
  bool quick = !p->ready || (served == 0 && std::chrono::steady_clock::now() - p->born < kQuickDeath);
  s->quick_deaths = quick ? s->quick_deaths + 1 : 0;
  if (s->successor == pid) {
    s->successor = 0;  // the active process keeps serving; try the replacement again
  } else if (s->active == pid) {
    s->active = s->successor;  // a starting successor takes over when ready
    s->successor = 0;
    if (s->active) return;
  } else {
    return;
  }
  (p->role == Role::kWorker ? respawns_ : spooler_respawns_)[static_cast<int>(p->kill_reason.empty() ? RespawnCause::kDied
                                                                                                       : p->kill_cause)]++;
  schedule_respawn(*s);
}

void Master::recover_jobs(const Child& p, const std::string& how) {
  spool_->spooler_died(p.name, p.spool_owner,
                       p.name + " (pid " + std::to_string(p.pid) + ") " + how + " while running it" +
                           (p.kill_reason.empty() ? "" : " (" + p.kill_reason + ")"));
}

void Master::schedule_respawn(Slot& s) {
  if (s.quick_deaths == 0) {
    spawn(s);
    return;
  }
  // A crash loop: back off exponentially instead of forking as fast as we can.
  double delay = std::min(kMaxBackoff, 0.1 * std::pow(2.0, s.quick_deaths - 1));
  spdlog::warn("{} died {} time(s) in a row right after starting; respawning in {:.1f}s", s.name(), s.quick_deaths, delay);
  ev_timer_stop(EV_DEFAULT, &s.respawn);
  ev_timer_set(&s.respawn, delay, 0.);
  ev_timer_start(EV_DEFAULT, &s.respawn);
}

void Master::signal_workers(int sig) {
  for (auto& [pid, p] : processes_) ::kill(pid, sig);
}

void Master::stop(bool graceful) {
  bool already = stopping_;
  stopping_ = true;
  reload_queue_.clear();
  for (auto* role : {&slots_, &spooler_slots_})
    for (auto& s : *role) ev_timer_stop(EV_DEFAULT, &s->respawn);
  for (auto& [pid, p] : processes_) {
    ev_timer_stop(EV_DEFAULT, &p->lifetime);
    ev_timer_stop(EV_DEFAULT, &p->deadline);
  }
  spdlog::info("{} stop requested", graceful ? "graceful" : "quick");
  if (emperor_ && !already) emperor_->send(emperor_channel::kStopping);
  // A worker not serving yet has no request to finish (and may be stuck
  // before it reads its signals): it is killed, not asked.
  for (auto& [pid, p] : processes_) ::kill(pid, p->ready ? (graceful ? SIGTERM : SIGINT) : SIGKILL);
  if (!already || !graceful) {
    double grace = emperor_channel::child_kill_after(config_.lifetime.graceful_timeout, graceful);
    ev_timer_stop(EV_DEFAULT, &w_->stop_deadline);
    ev_timer_set(&w_->stop_deadline, grace, 0.);
    ev_timer_start(EV_DEFAULT, &w_->stop_deadline);
  }
  check_all_gone();
}

void Master::check_all_gone() {
  if (stopping_ && processes_.empty()) ev_break(EV_DEFAULT, EVBREAK_ALL);
}

void Master::on_stop_deadline() {
  spdlog::warn("children still running after the stop deadline: killing them");
  signal_workers(SIGKILL);
}

}  // namespace suz
