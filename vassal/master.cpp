#include "vassal/master.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "core/clock.hpp"
#include "core/emperor_channel.hpp"
#include "core/log.hpp"
#include "core/process_title.hpp"
#include "core/signals.hpp"
#include "vassal/child_main.hpp"
#include "vassal/health.hpp"
#include "vassal/jitter.hpp"

namespace suz {

namespace {

constexpr std::int64_t kHeartbeatTimeoutMs = 30000;  // an idle worker whose loop stopped turning
// max_rss: every worker is sampled this often (a read of /proc/PID/statm, a
// few microseconds), so one growing fast is caught close to the limit: a
// worker idle a moment ago can be past it within the second.
constexpr std::int64_t kRssSampleMs = 100;

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

// A vassal started by systemd itself (Type=notify) says to it what it would
// say to an emperor. Without NOTIFY_SOCKET, sd_notify does nothing; the
// emperor never passes its own on to a master (core/master_launch.cpp).
void tell_systemd(std::string_view message) {
  if (message == emperor_channel::kReady) sd_notify(0, "READY=1\nSTATUS=every worker serving");
  else if (message == emperor_channel::kReloading) sd_notify(0, "RELOADING=1\nSTATUS=reloading");
  else if (message == emperor_channel::kStopping) sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

PoolRules worker_rules(const VassalConfig& c, bool listening) {
  return {.name = "worker",
          .work_done = "served {} requests",
          .running_word = "serving",
          .wanted = listening ? c.server.workers : 0,  // a vassal may only run jobs
          .max_lifetime = c.lifetime.max_worker_lifetime,
          .harakiri = c.lifetime.harakiri,
          .claims_jobs = false};
}

PoolRules spooler_rules(const VassalConfig& c, bool spooling) {
  return {.name = "spooler",
          .work_done = "ran {} jobs",
          .running_word = "running",
          .wanted = spooling ? c.spooler.processes : 0,
          .max_lifetime = c.spooler.max_lifetime,
          .harakiri = c.spooler.harakiri,
          .claims_jobs = true};
}

}  // namespace

Master::Master(const VassalConfig& config, AppPlugin& plugin, ForkHooks& hooks, MasterOrigin origin)
    : config_(config),
      plugin_(plugin),
      hooks_(hooks),
      origin_(std::move(origin)),
      deadlines_(EV_DEFAULT, [this](const DeadlineKey& key) { carry_out(children_->deadline(key)); }) {}

Master::~Master() = default;

ExitCode Master::run() {
  // Started by a master reloading: it waits to hear that this one serves.
  predecessor_ = take_predecessor_channel();
  // Sockets the emperor (or systemd, or the master this one replaces) passed, by name.
  if (!take_inherited_sockets()) return ExitCode::kBootError;
  // The listeners: passed ones kept, the others bound (retrying a port
  // a crashed predecessor's workers still hold).
  if (!bind_listeners()) return ExitCode::kBootError;
  // Before the app loads: the master is still single-threaded (see StatsServer).
  if (!start_stats()) return ExitCode::kBootError;
  // Sockets are bound (ports below 1024 need root); the app is not loaded
  // yet: now is when a vassal started as root becomes its user.
  if (!become_configured_user()) return ExitCode::kBootError;
  // As that user, so that USR1 can reopen it.
  if (!open_access_log()) return ExitCode::kBootError;
  // The app, once, in the master; its fork hooks after logging's.
  if (ExitCode loaded = load_app(); loaded != ExitCode::kOk) return loaded;
  // The spool, when this vassal runs spoolers: what earlier runs abandoned goes back to the queue.
  if (!open_spool()) return ExitCode::kBootError;
  // Shared with every child, so created before the first fork.
  create_scoreboard();
  // Signals, children, the workers' messages, the periodic checks.
  watch();
  // The emperor's channel, when it started us.
  emperor_ = EmperorLink::from_environment(EV_DEFAULT, [this](bool graceful) { carry_out(children_->stop(graceful)); });
  // Every slot forked; from here on, the loop does all the work.
  carry_out(children_->start());
  ev_run(EV_DEFAULT, 0);
  plugin_.run_hook(Hook::kMasterExit);
  spdlog::info("stopped");
  return children_->exit_code();
}

void Master::create_scoreboard() {
  children_ = std::make_unique<Children>(worker_rules(config_, !listeners_.empty()), spooler_rules(config_, spool_ != nullptr),
                                         Timings{config_.lifetime.ready_timeout, config_.lifetime.graceful_timeout},
                                         ChildProbes{where_stuck, jitter_fraction});
  // Room for each slot's active process and its successor, and for TTIN to add a few.
  int slots = 0;
  for (Role role : kRoles) slots += children_->rules(role).wanted;
  scoreboard_ = std::make_unique<Scoreboard>(2 * slots + 16, config_.server.threads);
  events_ = make_pipe(O_NONBLOCK);
}

void Master::watch() {
  for (int sig : kMasterSignals) {  // the stray ones are caught since main()
    auto& w = signals_.emplace_back(std::make_unique<ev::sig>(EV_DEFAULT));
    w->set<Master, &Master::on_signal>(this);
    w->start(sig);
  }
  ::signal(SIGPIPE, SIG_IGN);
  reaper_.set<Master, &Master::on_child>(this);
  reaper_.start(0, 0);  // every child: one place reaps
  messages_.set<Master, &Master::on_messages>(this);
  messages_.start(events_.read.get(), ev::READ);
  // Harakiri is checked every tenth of its value; heartbeats every second;
  // RSS every kRssSampleMs.
  double period = 1.0;
  for (Role role : kRoles)
    if (Duration h = children_->rules(role).harakiri; h.count() > 0) period = std::min(period, std::clamp(to_seconds(h) / 10, 0.01, 1.0));
  if (config_.lifetime.max_rss > 0) period = std::min(period, kRssSampleMs / 1000.0);
  // A Redis spool's claims are renewed every third of the visibility timeout.
  if (spool_) period = std::min(period, std::chrono::duration<double>(spool_->period()).count());
  scan_.set<Master, &Master::on_scan>(this);
  scan_.start(period, period);
}

// libev runs this in the loop, not in the signal handler: the work is safe here.
void Master::on_signal(ev::sig& w, int) {
  switch (w.signum) {
    case SIGTERM: carry_out(children_->stop(true)); break;
    case SIGINT:
    case SIGQUIT: carry_out(children_->stop(false)); break;
    case SIGHUP: reload(); break;
    case kReplaceWorkersSignal: carry_out(children_->reload()); break;
    case SIGTTIN: carry_out(children_->add(Role::kWorker)); break;
    case SIGTTOU: carry_out(children_->remove(Role::kWorker)); break;
    case kReopenLogsSignal: reopen_logs(); break;
    default: break;
  }
}

void Master::reopen_logs() {
  reopen_log();
  if (access_log_) access_log_->reopen();  // for workers forked from now on
  spdlog::info("log reopened ({})", signal_name(kReopenLogsSignal));
  for (const auto& [pid, c] : children_->children()) ::kill(pid, kReopenLogsSignal);
}

void Master::on_child(ev::child& w, int) {
  if (successor_ && w.rpid == successor_->pid()) return successor_exited(w.rstatus);
  const ChildRecord* c = children_->find(w.rpid);
  if (!c) return;  // not ours (a process the app forked and orphaned)
  std::uint64_t done = scoreboard_->process(c->record).requests.load();
  retired_traffic_.add(scoreboard_->process(c->record).traffic);
  scoreboard_->release(c->record);
  if (spool_ && !c->spool_owner.empty())
    spool_->spooler_died(c->name, c->spool_owner,
                         c->name + " (pid " + std::to_string(c->pid) + ") " + describe_wait_status(w.rstatus) +
                             " while running it" + (c->kill_reason.empty() ? "" : " (" + c->kill_reason + ")"));
  carry_out(children_->exited(w.rpid, w.rstatus, done, monotonic_ms()));
}

void Master::on_messages() {
  WorkerMessage m;
  while (::read(events_.read.get(), &m, sizeof m) == sizeof m) {
    const ChildRecord* c = children_->find(m.pid);
    if (!c) continue;
    switch (m.event) {
      case WorkerEvent::kReady: carry_out(children_->ready(m.pid)); break;
      case WorkerEvent::kRequestLimit:
        carry_out(children_->limit_reached(m.pid, scoreboard_->process(c->record).requests.load()));
        break;
    }
  }
}

void Master::on_scan() {
  std::int64_t now = monotonic_ms();
  log_stray_signals();
  if (spool_) {
    // Our spoolers' claims are alive (Redis would otherwise expire them);
    // another vassal sharing this spool may have died holding jobs.
    std::vector<std::string> owners;
    for (const auto& [pid, c] : children_->children())
      if (!c.spool_owner.empty()) owners.push_back(c.spool_owner);
    spool_->tick(now, owners);
  }
  check_children(now);
}

void Master::check_children(std::int64_t now) {
  std::vector<std::pair<pid_t, Verdict>> verdicts;  // acted on after the walk: acting changes the children
  for (const auto& [pid, c] : children_->children()) {
    if (!c.ready || c.killed()) continue;
    bool retiring = c.state == ChildState::kRetiring;
    std::optional<std::uint64_t> rss;
    if (config_.lifetime.max_rss > 0 && !retiring && now >= rss_due_ms_[pid]) {
      rss_due_ms_[pid] = now + kRssSampleMs;
      rss = rss_bytes(pid);
    }
    HealthLimits limits{children_->rules(c.role).harakiri, config_.lifetime.max_rss, kHeartbeatTimeoutMs};
    if (Verdict v = suz::check_health(*scoreboard_, c.record, retiring, now, limits, rss); !v.healthy())
      verdicts.emplace_back(pid, std::move(v));
  }
  for (const auto& [pid, v] : verdicts) {
    switch (v.kind) {
      case Verdict::Kind::kHealthy:
        break;
      case Verdict::Kind::kHarakiri:
        carry_out(children_->harakiri(pid, fmt::format("\"{}\" on thread {} ran for {} (limit {})", v.request, v.thread,
                                                       format_duration(v.ran), format_duration(children_->rules(children_->find(pid)->role).harakiri)),
                                             plugin_.hooked(Hook::kHarakiri)));
        break;
      case Verdict::Kind::kLoopBlocked:  // harakiri's counterpart for an ASGI worker (no request to name)
        carry_out(children_->harakiri(pid, fmt::format("the event loop has not turned for {} (limit {}): a coroutine "
                                                       "or callback blocks it", format_duration(v.ran), format_duration(v.limit)),
                                      /*hooked=*/false));
        break;
      case Verdict::Kind::kNoHeartbeat:
        carry_out(children_->no_heartbeat(pid, v.ran));
        break;
      case Verdict::Kind::kOverRss:
        carry_out(children_->replacement_wanted(
            pid, RespawnCause::kMaxRss, "RSS " + format_size(v.rss) + " over max_rss " + format_size(config_.lifetime.max_rss)));
        break;
    }
  }
}

void Master::tell(std::string_view message) {
  say(message);
  if (message == emperor_channel::kReady) plugin_.run_hook(Hook::kMasterReady);
}

void Master::say(std::string_view message) {
  if (emperor_) return emperor_->send(message);
  if (handed_over_) return;  // the successor speaks for the service now
  if (predecessor_ && message == emperor_channel::kReady) {
    tell_predecessor_serving(predecessor_);
    // systemd follows the service to this process (NotifyAccess=all in the unit).
    sd_notifyf(0, "MAINPID=%d\nREADY=1\nSTATUS=every worker serving", static_cast<int>(::getpid()));
    return;
  }
  tell_systemd(message);
}

void Master::carry_out(const Actions& actions) {
  for (const Action& a : actions) {
    switch (a.kind) {
      case Action::Kind::kSpawn: spawn(a.role, a.slot, a.generation); break;
      case Action::Kind::kSignal: ::kill(a.pid, a.signal); break;
      case Action::Kind::kArm: deadlines_.arm(a.deadline, a.seconds); break;
      case Action::Kind::kDisarm: deadlines_.disarm(a.deadline); break;
      case Action::Kind::kForget:
        deadlines_.forget(a.pid);
        rss_due_ms_.erase(a.pid);
        break;
      case Action::Kind::kTell: tell(a.message); break;
      case Action::Kind::kFinished: ev_break(EV_DEFAULT, EVBREAK_ALL); break;
    }
  }
}

void Master::spawn(Role role, int slot, int generation) {
  const PoolRules& rules = children_->rules(role);
  const std::string name = rules.name + " " + std::to_string(slot);
  int record = scoreboard_->claim(slot, generation);
  if (record < 0) {
    spdlog::error("{}: scoreboard full, not starting it", name);
    return;
  }
  const pid_t master = ::getpid();
  const std::string label = "vassal " + config_.vassal.name + ": " + name;
  const std::string owner = rules.claims_jobs ? spool_->owner_for(slot, generation) : std::string();

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
        ChildContext child{config_, plugin_, *scoreboard_, record, events_.write.get(), slot, owner, access_log_.get()};
        return run_child(role, child, listeners_);
      } catch (const AppLoadError& e) {
        spdlog::critical("cannot load the app: {}", e.what());
        return ExitCode::kAppLoadError;
      } catch (const std::exception& e) {
        spdlog::critical("{} failed: {}", name, e.what());
        return ExitCode::kFailure;
      }
    });
  } catch (const ForkError& e) {
    scoreboard_->release(record);
    spdlog::error("{}: {}", name, e.what());
    carry_out(children_->fork_failed(role, slot));
    return;
  }
  scoreboard_->process(record).pid = pid;
  // A fork whose before-hooks waited (for the GIL, a logging lock) took long:
  // say so, and re-read the clock so the new child's deadlines start now,
  // not when this loop iteration began.
  auto fork_took = std::chrono::steady_clock::now() - fork_started;
  if (fork_took > std::chrono::seconds(1))
    spdlog::warn("{}: forking took {}", name, format_duration(std::chrono::duration_cast<Duration>(fork_took)));
  ev_now_update(EV_DEFAULT);
  carry_out(children_->forked(role, slot, Forked{pid, record, owner}, monotonic_ms()));
}

}  // namespace suz
