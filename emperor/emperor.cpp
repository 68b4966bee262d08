#include "emperor/emperor.hpp"

#include <signal.h>
#include <unistd.h>
#include <spdlog/spdlog.h>

#include <systemd/sd-daemon.h>

#include <algorithm>
#include <iterator>
#include <nlohmann/json.hpp>

#include "core/log.hpp"
#include "core/signals.hpp"

namespace suz {

Emperor::Emperor(EmperorOptions options) : options_(std::move(options)), loop_(EV_DEFAULT) {}

Emperor::~Emperor() {
  for (ev_signal& s : signals_) ev_signal_stop(loop_, &s);
  ev_child_stop(loop_, &child_);
}

ExitCode Emperor::run() {
  catch_stray_signals(kEmperorSignals);
  ::signal(SIGPIPE, SIG_IGN);  // a status client gone: EPIPE from send(), not a stray signal
  const std::initializer_list<int> handled = kEmperorSignals;
  signals_.resize(handled.size());
  for (std::size_t i = 0; i < handled.size(); ++i) {
    ev_signal_init(&signals_[i], [](struct ev_loop*, ev_signal* w, int) {
      static_cast<Emperor*>(w->data)->on_signal(w->signum);
    }, handled.begin()[i]);
    signals_[i].data = this;
    ev_signal_start(loop_, &signals_[i]);
  }
  ev_child_init(&child_, [](struct ev_loop*, ev_child* w, int) {
    static_cast<Emperor*>(w->data)->reap(w->rpid, w->rstatus);
  }, 0, 0);
  child_.data = this;
  ev_child_start(loop_, &child_);

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
    status_ = std::make_unique<StatusServer>(loop_, status_path, [this] { return status_json(); });
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
  ev_timer_init(&boot_wait_, [](struct ev_loop*, ev_timer* w, int) { static_cast<Emperor*>(w->data)->report_ready(); },
                kBootReadWait, 0.);
  boot_wait_.data = this;
  if (boot_reads_.empty()) report_ready();
  else ev_timer_start(loop_, &boot_wait_);

  std::uint64_t watchdog_usec = 0;
  bool watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0;
  // Once a second at least: stray signals are logged from here too.
  double period = watchdog ? std::min(1.0, static_cast<double>(watchdog_usec) / 2e6) : 1.0;
  ev_timer_init(&notify_, [](struct ev_loop*, ev_timer* w, int) { static_cast<Emperor*>(w->data)->notify_systemd(); },
                period, period);
  notify_.data = this;
  ev_timer_start(loop_, &notify_);

  ev_run(loop_, 0);
  ev_timer_stop(loop_, &notify_);
  ev_timer_stop(loop_, &boot_wait_);
  status_.reset();
  spdlog::info("stopped");
  return ExitCode::kOk;
}

void Emperor::report_ready() {
  if (ready_reported_) return;
  ready_reported_ = true;
  ev_timer_stop(loop_, &boot_wait_);
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

void Emperor::read_then(const std::string& file, Vassal::Event event) {
  std::uint64_t generation = ++read_generation_[file];
  reads_->read(options_.dir / file, [this, file, event, generation](FileRead read) {
    if (boot_reads_.erase(file) && boot_reads_.empty()) report_ready();
    // Superseded: a newer read, or the file's removal, came meanwhile.
    if (stopping_ || read_generation_[file] != generation) return;
    on_read(file, event, std::move(read));
  });
}

void Emperor::on_read(const std::string& file, Vassal::Event event, FileRead read) try {
  auto it = vassals_.find(file);
  if (it == vassals_.end()) {
    if (event == Vassal::Event::kReload) return;  // forgotten since
    spdlog::info("vassal file {}: new", escaped(file));
    it = vassals_.emplace(file, std::make_unique<Vassal>(loop_, options_, file)).first;
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

void Emperor::on_signal(int signum) {
  switch (signum) {
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
      spdlog::info("reopening logs: {} sent to every master", signal_name(signum));
      reopen_log();
      for (auto& [file, v] : vassals_) v->signal_masters(signum);
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

std::string Emperor::status_json() const {
  using json = nlohmann::ordered_json;
  json vassals = json::array();
  for (const auto& [file, v] : vassals_) {
    vassals.push_back({{"name", v->name()},
                       {"state", v->state_name()},
                       {"pid", v->pid()},
                       {"uptime_seconds", v->uptime_seconds()},
                       {"restarts", v->restarts()},
                       {"last_exit", v->last_exit()},
                       {"config", v->path().string()}});
  }
  json doc = {{"emperor_pid", ::getpid()}, {"vassals_dir", options_.dir.string()}, {"vassals", vassals}};
  return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

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
