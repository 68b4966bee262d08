#include "emperor/vassal.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>

#include "core/emperor_channel.hpp"
#include "core/exit_code.hpp"
#include "core/log.hpp"
#include "core/units.hpp"
#include "emperor/vassal_launcher.hpp"

namespace suz {

std::string_view state_name(VassalState s) {
  switch (s) {
    case VassalState::kInvalid: return "invalid";
    case VassalState::kStarting: return "starting";
    case VassalState::kRunning: return "running";
    case VassalState::kReloading: return "reloading";
    case VassalState::kBackoff: return "backoff";
    case VassalState::kStopping: return "stopping";
    case VassalState::kStopped: return "stopped";
  }
  return "unknown";
}

using Clock = std::chrono::steady_clock;

struct Vassal::Process {
  enum class Deadline { kReady, kHeartbeat, kMercy };

  Process(Vassal* v, pid_t p, Fd c) : owner(v), pid(p), channel(std::move(c)), io(v->loop_), timer(v->loop_) {
    io.set<Process, &Process::on_message>(this);
    io.start(channel.get(), ev::READ);
    timer.set<Process, &Process::on_deadline>(this);
  }
  void on_message();
  void on_deadline();

  Vassal* owner;
  pid_t pid;
  Fd channel;
  ev::io io;
  ev::timer timer;
  Deadline deadline = Deadline::kReady;
  bool ready = false;
  bool asked_to_stop = false;
  Clock::time_point started = Clock::now();
  std::optional<Clock::time_point> ready_at;

  void arm(Deadline d, double seconds) {
    deadline = d;
    timer.stop();
    timer.start(seconds, 0.);
  }
};

void Vassal::Process::on_message() {
  char buf[64];
  for (;;) {
    ssize_t n = ::recv(channel.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) return;  // EAGAIN: read everything
    if (n == 0) {       // the master is exiting; its reaping follows
      io.stop();
      return;
    }
    std::string_view message(buf, static_cast<std::size_t>(n));
    if (ready && !asked_to_stop) arm(Deadline::kHeartbeat, owner->options_.heartbeat_timeout);
    if (message == emperor_channel::kReady && !ready) owner->on(Event::kReady, this);
    else if (message == emperor_channel::kReloading) spdlog::info("vassal {}: pid {} reloading its workers", owner->name(), pid);
    else if (message == emperor_channel::kReloadMe && owner->reload_asked_) {
      spdlog::info("vassal {}: pid {} got HUP: loading the file again", owner->name(), pid);
      owner->reload_asked_();
    }
  }
}

void Vassal::Process::on_deadline() {
  switch (deadline) {
    case Deadline::kReady: owner->on(Event::kReadyTimeout, this); break;
    case Deadline::kHeartbeat: owner->on(Event::kHeartbeatMissed, this); break;
    case Deadline::kMercy: owner->on(Event::kMercyElapsed, this); break;
  }
}

Vassal::Vassal(struct ev_loop* loop, const EmperorOptions& options, std::string file, MasterLauncher launcher)
    : loop_(loop),
      options_(options),
      launcher_(std::move(launcher)),
      file_(std::move(file)),
      file_shown_(escaped(file_)),
      path_(options.dir / file_),
      backoff_(loop) {
  backoff_.set<Vassal, &Vassal::on_backoff_elapsed>(this);
}

Vassal::~Vassal() {
  // Whatever is still running is the emperor's to kill (it only forgets a
  // finished vassal, or exits): never leave a master behind.
  for (Process* p : {current_.get(), successor_.get()})
    if (p) launcher_.signal(p->pid, SIGKILL);
  for (auto& p : leaving_) launcher_.signal(p->pid, SIGKILL);
  settle_all("the emperor forgot the vassal (its file is gone, or the emperor stops)");
}

void Vassal::await(Awaited what, Answer answer) { waiters_.emplace_back(what, std::move(answer)); }

void Vassal::settle(Awaited what, bool ok, const std::string& message) {
  std::vector<Answer> due;
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    if (it->first == what) {
      due.push_back(std::move(it->second));
      it = waiters_.erase(it);
    } else {
      ++it;
    }
  }
  for (Answer& a : due) a(ok, message);
}

void Vassal::settle_all(const std::string& why) {
  settle(Awaited::kServing, false, why);
  settle(Awaited::kStopped, false, why);
}

std::string Vassal::name() const {
  return escaped(config_ ? config_->vassal.name : std::filesystem::path(file_).stem().string());
}

pid_t Vassal::pid() const { return current_ ? current_->pid : 0; }

double Vassal::uptime_seconds() const {
  return current_ ? std::chrono::duration<double>(Clock::now() - current_->started).count() : 0;
}

std::optional<double> Vassal::restart_in() const {
  if (!backoff_.is_active()) return std::nullopt;
  return ev_timer_remaining(loop_, const_cast<ev::timer*>(&backoff_));
}

bool Vassal::finished() const { return (!file_present_ || emperor_stopping_) && !has_processes(); }

void Vassal::set_state(VassalState s) {
  if (s == state_) return;
  spdlog::info("vassal {}: {} -> {}", name(), suz::state_name(state_), suz::state_name(s));
  state_ = s;
}

void Vassal::take_read(FileRead read) { read_ = std::move(read); }

bool Vassal::refuse(std::string why) {
  load_error_ = std::move(why);
  spdlog::error("vassal {}: {}", file_shown_, load_error_);
  return false;
}

bool Vassal::load() {
  load_error_ = "the file was not read";
  if (!read_) return false;  // the emperor hands a read over before every event that loads
  if (!read_->text) return refuse(read_->text.error().str());
  loaded_hash_ = std::hash<std::string>{}(*read_->text);
  ConfigResult loaded = parse_vassal_config(*read_->text, path_);
  if (!loaded) {
    for (const ConfigIssue& issue : loaded.error()) spdlog::error("vassal {}: {}", file_shown_, issue.str());
    load_error_ = loaded.error().empty() ? "invalid" : loaded.error().front().str();
    if (loaded.error().size() > 1) load_error_ += fmt::format(" (and {} more in the log)", loaded.error().size() - 1);
    return false;
  }
  // Whom it runs as is part of the configuration: a file that asks for a
  // user it cannot have is invalid like one with a typo.
  std::optional<Credentials> who;
  if (options_.tyrant) {
    const FileOwner& owner = read_->owner;
    if (owner.uid == 0) return refuse("--tyrant: refusing a file owned by root (chown it to the user the app runs as)");
    who = credentials_of_owner(owner.uid, owner.gid);
    if (!loaded->vassal.uid.empty() || !loaded->vassal.gid.empty())
      spdlog::warn("vassal {}: --tyrant: [vassal] uid and gid are ignored; it runs as the file's owner, {}", file_shown_,
                   who->label);
  } else {
    auto resolved = resolve_credentials(loaded->vassal.uid, loaded->vassal.gid);
    if (!resolved) return refuse(resolved.error());
    who = *resolved;
  }
  if (who) {
    if (auto why = cannot_become(*who)) return refuse(*why);
  }
  config_ = std::move(*loaded);
  credentials_ = who;
  return true;
}

bool Vassal::unchanged_since_loaded() const {
  return read_ && read_->text && loaded_hash_ == std::hash<std::string>{}(*read_->text);
}

double Vassal::mercy_seconds(bool graceful) const {
  return emperor_channel::master_kill_after(config_ ? config_->lifetime.graceful_timeout : LifetimeConfig{}.graceful_timeout,
                                            graceful);
}

// ---------------------------------------------------------------------------
// The state machine: every transition of a vassal is made here.
void Vassal::on(Event e, Process* p, int status) {
  switch (e) {
    case Event::kFileSeen:
      if (file_present_ && state_ != VassalState::kStopping && unchanged_since_loaded()) return;
      [[fallthrough]];
    case Event::kRelease:
    case Event::kFilePresent:
    case Event::kReload: {
      file_present_ = true;
      if (emperor_stopping_) {
        settle(Awaited::kServing, false, "the emperor is stopping");
        return;
      }
      if (e == Event::kRelease) {
        if (!held_ && (state_ == VassalState::kRunning || state_ == VassalState::kReloading)) {
          settle(Awaited::kServing, true, fmt::format("already running (pid {})", current_->pid));
          return;
        }
        if (!held_ && state_ == VassalState::kStarting) return;  // answered when it serves
        held_ = false;
      } else if (held_) {
        spdlog::info("vassal {}: stopped by `emperor stop`: the change starts nothing until `emperor start {}`", name(),
                     name());
        settle(Awaited::kServing, false, "stopped by `emperor stop`: `emperor start " + name() + "` starts it");
        return;
      }
      if (state_ == VassalState::kStopping) return;  // started again once the old master is gone
      bool was_serving = state_ == VassalState::kRunning || state_ == VassalState::kReloading;
      if (!load()) {
        if (was_serving || state_ == VassalState::kStarting) {
          spdlog::error("vassal {}: {} is invalid: still running the previous configuration", name(), file_shown_);
          settle(Awaited::kServing, false, load_error_ + ": still running the previous configuration");
        } else {
          backoff_.stop();
          set_state(VassalState::kInvalid);
          settle(Awaited::kServing, false, load_error_);
        }
        return;
      }
      backoff_.stop();
      if (was_serving) {
        // A new master beside the serving one; it takes over once it serves.
        if (successor_) {
          ask_to_stop(*successor_, false);
          leaving_.push_back(std::move(successor_));
        }
        spdlog::info("vassal {}: reloading (pid {} keeps serving until the new master does)", name(), current_->pid);
        if (start(successor_)) set_state(VassalState::kReloading);
        else settle(Awaited::kServing, false, "cannot start a new master: " + last_exit_);
        return;
      }
      if (current_) {  // starting: start over with the new file
        ask_to_stop(*current_, false);
        leaving_.push_back(std::move(current_));
      }
      quick_deaths_ = 0;
      if (start(current_)) {
        set_state(VassalState::kStarting);
      } else {
        settle(Awaited::kServing, false, "cannot start: " + last_exit_);
        enter_backoff();
      }
      return;
    }

    case Event::kHold:
      if (held_ && state_ == VassalState::kStopped) {
        settle(Awaited::kStopped, true, "already stopped");
        return;
      }
      held_ = true;
      [[fallthrough]];
    case Event::kFileGone:
    case Event::kStop:
    case Event::kQuickStop: {
      bool graceful = e != Event::kQuickStop;
      if (e == Event::kFileGone) file_present_ = false;
      else if (e != Event::kHold) emperor_stopping_ = true;
      settle(Awaited::kServing, false,
             e == Event::kHold       ? "stopped by `emperor stop`"
             : e == Event::kFileGone ? "the file was removed"
                                     : "the emperor is stopping");
      backoff_.stop();
      for (Process* q : {current_.get(), successor_.get()})
        if (q && (!q->asked_to_stop || !graceful)) ask_to_stop(*q, graceful);
      for (auto& q : leaving_)
        if (!graceful) ask_to_stop(*q, false);
      if (has_processes()) {
        set_state(VassalState::kStopping);
        return;
      }
      sockets_.clear();
      if (held_ && file_present_) set_state(VassalState::kStopped);
      settle(Awaited::kStopped, true, "stopped");
      return;
    }

    case Event::kReady: {
      p->ready = true;
      p->ready_at = Clock::now();
      p->arm(Process::Deadline::kHeartbeat, options_.heartbeat_timeout);
      if (p == current_.get() && state_ == VassalState::kStarting) {
        spdlog::info("vassal {}: serving (pid {})", name(), p->pid);
        set_state(VassalState::kRunning);
        settle(Awaited::kServing, true, fmt::format("serving (pid {})", p->pid));
      } else if (p == successor_.get() && state_ == VassalState::kReloading) {
        spdlog::info("vassal {}: reloaded: pid {} serves, pid {} stops", name(), p->pid, current_->pid);
        settle(Awaited::kServing, true, fmt::format("reloaded: pid {} serves, pid {} stops", p->pid, current_->pid));
        ask_to_stop(*current_, true);
        leaving_.push_back(std::move(current_));
        current_ = std::move(successor_);
        sockets_.forget_unused();
        set_state(VassalState::kRunning);
      }
      return;
    }

    case Event::kExited: {
      std::string how = describe_wait_status(status);  // "exited with 4 (...)", "killed by SIGKILL"
      std::unique_ptr<Process> gone;
      auto left = std::find_if(leaving_.begin(), leaving_.end(), [p](auto& q) { return q.get() == p; });
      if (left != leaving_.end()) {
        gone = std::move(*left);
        leaving_.erase(left);
        spdlog::info("vassal {}: pid {} {}", name(), p->pid, how);
      } else if (p == successor_.get()) {
        gone = std::move(successor_);
        last_exit_ = how;
        spdlog::error("vassal {}: the new master (pid {}) {} before serving: pid {} keeps serving the previous "
                      "configuration",
                      name(), p->pid, how, current_ ? current_->pid : 0);
        settle(Awaited::kServing, false,
               fmt::format("the new master (pid {}) {} before serving: pid {} keeps serving the previous configuration",
                           p->pid, how, current_ ? current_->pid : 0));
        if (state_ == VassalState::kReloading) set_state(VassalState::kRunning);
      } else if (p == current_.get()) {
        gone = std::move(current_);
        last_exit_ = how;
        if (state_ == VassalState::kStopping) {
          spdlog::info("vassal {}: pid {} {}", name(), p->pid, how);
        } else if (successor_) {
          spdlog::error("vassal {}: pid {} {} while its replacement starts", name(), p->pid, how);
          current_ = std::move(successor_);
          set_state(VassalState::kStarting);
        } else {
          spdlog::error("vassal {}: pid {} {}", name(), p->pid, how);
          settle(Awaited::kServing, false, fmt::format("pid {} {}{}", p->pid, how, gone->ready ? "" : " before serving"));
          bool healthy = gone->ready_at &&
                         std::chrono::duration<double>(Clock::now() - *gone->ready_at).count() >= options_.healthy_after;
          if (healthy) quick_deaths_ = 0;
          enter_backoff();
        }
      }
      if (state_ == VassalState::kStopping && !has_processes()) {
        // The file came back, or `emperor start` came, while the old master stopped.
        bool again = file_present_ && !emperor_stopping_ && !held_;
        if (!again) sockets_.clear();  // else kept: connections waiting in them are served
        if (held_ && file_present_ && !emperor_stopping_) set_state(VassalState::kStopped);
        else if (!again) spdlog::info("vassal {}: stopped", name());
        settle(Awaited::kStopped, true, again ? "stopped, and started again since" : "stopped");
        if (again) {
          state_ = VassalState::kInvalid;
          on(Event::kFilePresent);
        }
      }
      return;
    }

    case Event::kBackoffElapsed:
      if (!load()) {
        set_state(VassalState::kInvalid);
        settle(Awaited::kServing, false, load_error_);
        return;
      }
      if (start(current_)) set_state(VassalState::kStarting);
      else enter_backoff();
      return;

    case Event::kReadyTimeout:
      spdlog::error("vassal {}: pid {} not serving {} after it started: killing it", name(), p->pid,
                    format_duration(std::chrono::duration_cast<Duration>(std::chrono::duration<double>(options_.ready_timeout))));
      launcher_.signal(p->pid, SIGKILL);
      return;

    case Event::kHeartbeatMissed:
      spdlog::error("vassal {}: pid {} sent nothing for {:.0f}s: killing it", name(), p->pid, options_.heartbeat_timeout);
      launcher_.signal(p->pid, SIGKILL);
      return;

    case Event::kMercyElapsed:
      spdlog::error("vassal {}: pid {} still running {:.0f}s after being asked to stop: killing it", name(), p->pid,
                    mercy_seconds(true));
      launcher_.signal(p->pid, SIGKILL);
      return;
  }
}
// ---------------------------------------------------------------------------

void Vassal::enter_backoff() {
  restarts_++;
  quick_deaths_++;
  // The first death of a vassal that was serving: back at once. Repeated
  // quick deaths: 0.5 s, 1 s, 2 s ... up to max_backoff.
  double delay = quick_deaths_ <= 1 ? 0 : std::min(options_.max_backoff, 0.5 * std::pow(2.0, quick_deaths_ - 2));
  if (delay == 0) {
    on(Event::kBackoffElapsed);
    return;
  }
  spdlog::warn("vassal {}: died {} time(s) in a row soon after starting: restarting in {:.1f}s", name(), quick_deaths_,
               delay);
  set_state(VassalState::kBackoff);
  backoff_.start(delay, 0.);
}

bool Vassal::start(std::unique_ptr<Process>& into) {
  LaunchSpec spec;
  spec.program = options_.vassal_program;
  spec.file = path_;
  spec.channel_variable = emperor_channel::kFdVariable;
  spec.environment = {std::string(emperor_channel::kHeartbeatVariable) + "=" +
                      std::to_string(options_.heartbeat_timeout / 3)};
  if (!options_.vassal_logs.empty())
    spec.environment.push_back(std::string(kVassalLogVariable) + "=" + (options_.vassal_logs / (name() + ".log")).string());
  if (credentials_ && ::geteuid() == 0) spec.become = credentials_;
  Launched launched;
  try {
    spec.sockets = sockets_.prepare(*config_);
    launched = launcher_.launch(spec);
  } catch (const std::exception& e) {
    spdlog::error("vassal {}: cannot start: {}", name(), escaped(e.what()));
    last_exit_ = e.what();
    return false;
  }
  auto p = std::make_unique<Process>(this, launched.pid, std::move(launched.channel));
  p->arm(Process::Deadline::kReady, options_.ready_timeout);
  spdlog::info("vassal {}: started pid {} for {}", name(), p->pid, escaped(path_.string()));
  into = std::move(p);
  return true;
}

void Vassal::ask_to_stop(Process& p, bool graceful) {
  p.asked_to_stop = true;
  std::string_view message = graceful ? emperor_channel::kStop : emperor_channel::kQuickStop;
  bool sent = ::send(p.channel.get(), message.data(), message.size(), MSG_NOSIGNAL | MSG_DONTWAIT) >= 0;
  // A master not serving yet may still be importing the app, before its loop
  // reads the channel: the signal's default action ends it at once (and once
  // its loop runs, the signal means the same as the message).
  if (!sent || !p.ready) launcher_.signal(p.pid, graceful ? SIGTERM : SIGINT);
  p.arm(Process::Deadline::kMercy, mercy_seconds(graceful));
}

void Vassal::signal_masters(int sig) const {
  for (Process* p : {current_.get(), successor_.get()})
    if (p) launcher_.signal(p->pid, sig);
  for (const auto& p : leaving_) launcher_.signal(p->pid, sig);
}

bool Vassal::reaped(pid_t pid, int status) {
  Process* p = nullptr;
  for (Process* q : {current_.get(), successor_.get()})
    if (q && q->pid == pid) p = q;
  for (auto& q : leaving_)
    if (q->pid == pid) p = q.get();
  if (!p) return false;
  on(Event::kExited, p, status);
  return true;
}

}  // namespace suz
