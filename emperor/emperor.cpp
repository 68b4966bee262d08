#include "emperor/emperor.hpp"

#include <signal.h>
#include <unistd.h>
#include <spdlog/spdlog.h>

#include <systemd/sd-daemon.h>

#include <algorithm>
#include <iterator>

#include "core/log.hpp"
#include "core/signals.hpp"

namespace suz {

Emperor::Emperor(EmperorOptions options)
    : options_(std::move(options)), loop_(EV_DEFAULT), reaper_(loop_), notify_(loop_), boot_wait_(loop_) {}

Emperor::~Emperor() = default;

ExitCode Emperor::run() {
  catch_stray_signals(kEmperorSignals);
  ::signal(SIGPIPE, SIG_IGN);  // a status client gone: EPIPE from send(), not a stray signal
  for (int sig : kEmperorSignals) {
    auto& w = signals_.emplace_back(std::make_unique<ev::sig>(loop_));
    w->set<Emperor, &Emperor::on_signal>(this);
    w->start(sig);
  }
  reaper_.set<Emperor, &Emperor::on_child>(this);
  reaper_.start(0, 0);

  reads_ = std::make_unique<FileReads>(loop_);
  try {
    watcher_ = std::make_unique<DirectoryWatcher>(loop_, options_.dir,
                                                  [this](const std::string& f, FileChange c) { on_file(f, c); });
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return ExitCode::kBootError;
  }
  std::filesystem::path status_path =
      options_.status_socket.empty() ? options_.dir / ".emperor.sock" : options_.status_socket;
  try {
    control_ = std::make_unique<ControlServer>(
        loop_, status_path, [this](const control::Request& r, ControlServer::Reply reply) { control(r, std::move(reply)); });
  } catch (const std::exception& e) {
    spdlog::critical("status socket: {}", e.what());
    return ExitCode::kBootError;
  }
  std::vector<std::string> files(watcher_->present().begin(), watcher_->present().end());
  spdlog::info("watching {}: {} vassal file(s); status on {}", options_.dir.string(), files.size(),
               status_path.string());
  // Every vassal at once: throttling is for vassals that keep dying, not for
  // boot. Ready once every boot file was read, or kBootReadWait passed (a
  // file on a hung filesystem must not keep systemd waiting).
  boot_reads_.insert(files.begin(), files.end());
  for (const std::string& f : files) on_file(f, FileChange::kChanged);
  boot_wait_.set<Emperor, &Emperor::report_ready>(this);
  if (boot_reads_.empty()) report_ready();
  else boot_wait_.start(kBootReadWait, 0.);

  std::uint64_t watchdog_usec = 0;
  bool watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0;
  // Once a second at least: stray signals are logged from here too.
  double period = watchdog ? std::min(1.0, static_cast<double>(watchdog_usec) / 2e6) : 1.0;
  notify_.set<Emperor, &Emperor::notify_systemd>(this);
  notify_.start(period, period);

  ev_run(loop_, 0);
  notify_.stop();
  boot_wait_.stop();
  control_.reset();
  spdlog::info("stopped");
  return ExitCode::kOk;
}

void Emperor::report_ready() {
  if (ready_reported_) return;
  ready_reported_ = true;
  boot_wait_.stop();
  if (!boot_reads_.empty())
    spdlog::warn("ready, with {} boot vassal file(s) still being read", boot_reads_.size());
  sd_notify(0, "READY=1");
  notify_systemd();
}

void Emperor::on_file(const std::string& file, FileChange change) {
  if (stopping_) return;
  if (change == FileChange::kGone) {
    ++read_generation_[file];  // a read still running is of a file no longer there
    if (auto it = vassals_.find(file); it != vassals_.end()) {
      spdlog::info("vassal file {}: removed", escaped(file));
      it->second->on(Vassal::Event::kFileGone);
    }
    forget_finished();
    return;
  }
  read_then(file, change == FileChange::kChanged ? Vassal::Event::kFilePresent : Vassal::Event::kFileSeen);
}

void Emperor::read_then(const std::string& file, Vassal::Event event, Vassal::Answer answer) {
  std::uint64_t generation = ++read_generation_[file];
  reads_->read(options_.dir / file, [this, file, event, generation, answer = std::move(answer)](FileRead read) mutable {
    if (boot_reads_.erase(file) && boot_reads_.empty()) report_ready();
    if (stopping_) {
      if (answer) answer(false, "the emperor is stopping");
      return;
    }
    // Superseded: a newer read, or the file's removal, came meanwhile (and
    // decides what an operator waiting on this one is told).
    if (read_generation_[file] != generation) {
      auto it = vassals_.find(file);
      if (answer && it != vassals_.end()) it->second->await(Vassal::Awaited::kServing, std::move(answer));
      else if (answer) answer(false, "its file was removed");
      return;
    }
    on_read(file, event, std::move(read), std::move(answer));
  });
}

void Emperor::on_read(const std::string& file, Vassal::Event event, FileRead read, Vassal::Answer answer) try {
  auto it = vassals_.find(file);
  if (answer && it != vassals_.end()) it->second->await(Vassal::Awaited::kServing, std::move(answer));
  if (it == vassals_.end()) {
    if (event == Vassal::Event::kReload || event == Vassal::Event::kRelease) {  // forgotten since
      if (answer) answer(false, "its file was removed");
      return;
    }
    spdlog::info("vassal file {}: new", escaped(file));
    it = vassals_.emplace(file, std::make_unique<Vassal>(loop_, options_, file)).first;
    it->second->on_reload_asked([this, file] { read_then(file, Vassal::Event::kReload); });
    event = Vassal::Event::kFilePresent;
  } else if (event == Vassal::Event::kFilePresent) {
    spdlog::info("vassal file {}: changed", escaped(file));
  }
  it->second->take_read(std::move(read));
  it->second->on(event);
  forget_finished();
} catch (const std::exception& e) {
  // A bug's last line of defence: one file's trouble must not end the emperor.
  spdlog::error("vassal file {}: {}", escaped(file), escaped(e.what()));
}

void Emperor::on_signal(ev::sig& w, int) {
  switch (w.signum) {
    case SIGTERM:
      stop(!stopping_);  // a second TERM escalates
      break;
    case SIGINT:
    case SIGQUIT:
      stop(false);
      break;
    case SIGHUP:
      if (stopping_) break;
      spdlog::info("reloading every vassal");
      for (auto& [file, v] : vassals_) read_then(file, Vassal::Event::kReload);
      break;
    case kReopenLogsSignal:
      spdlog::info("reopening logs: {} sent to every master", signal_name(w.signum));
      reopen_log();
      for (auto& [file, v] : vassals_) v->signal_masters(w.signum);
      break;
    default:
      break;
  }
}

void Emperor::stop(bool graceful) {
  spdlog::info("{} stop of {} vassal(s)", graceful ? "graceful" : "quick", vassals_.size());
  if (!stopping_) sd_notify(0, "STOPPING=1");
  stopping_ = true;
  watcher_.reset();
  for (auto& [file, v] : vassals_) v->on(graceful ? Vassal::Event::kStop : Vassal::Event::kQuickStop);
  forget_finished();
}

void Emperor::reap(pid_t pid, int status) {
  for (auto& [file, v] : vassals_)
    if (v->reaped(pid, status)) break;
  forget_finished();
}

void Emperor::forget_finished() {
  for (auto it = vassals_.begin(); it != vassals_.end();) {
    if (it->second->finished()) it = vassals_.erase(it);
    else ++it;
  }
  if (stopping_ && vassals_.empty()) ev_break(loop_, EVBREAK_ALL);
}

}  // namespace suz

namespace suz {

void Emperor::notify_systemd() {
  log_stray_signals();
  std::map<std::string_view, int> by_state;
  for (const auto& [file, v] : vassals_) by_state[v->state_name()]++;
  std::string status = std::to_string(vassals_.size()) + " vassal(s)";
  for (const auto& [state, n] : by_state) status += ", " + std::to_string(n) + " " + std::string(state);
  if (status != last_status_) {
    sd_notify(0, ("STATUS=" + status).c_str());
    last_status_ = status;
  }
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0) sd_notify(0, "WATCHDOG=1");
}

}  // namespace suz
