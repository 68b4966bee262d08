#include "emperor/emperor.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <iterator>

namespace suz {

Emperor::Emperor(EmperorOptions options) : options_(std::move(options)), loop_(EV_DEFAULT) {}

Emperor::~Emperor() {
  for (ev_signal& s : signals_) ev_signal_stop(loop_, &s);
  ev_child_stop(loop_, &child_);
}

ExitCode Emperor::run() {
  ::signal(SIGPIPE, SIG_IGN);
  const int handled[] = {SIGTERM, SIGINT, SIGQUIT, SIGHUP};
  signals_.resize(std::size(handled));
  for (std::size_t i = 0; i < std::size(handled); ++i) {
    ev_signal_init(&signals_[i], [](struct ev_loop*, ev_signal* w, int) {
      static_cast<Emperor*>(w->data)->on_signal(w->signum);
    }, handled[i]);
    signals_[i].data = this;
    ev_signal_start(loop_, &signals_[i]);
  }
  ev_child_init(&child_, [](struct ev_loop*, ev_child* w, int) {
    static_cast<Emperor*>(w->data)->reap(w->rpid, w->rstatus);
  }, 0, 0);
  child_.data = this;
  ev_child_start(loop_, &child_);

  try {
    watcher_ = std::make_unique<DirectoryWatcher>(loop_, options_.dir,
                                                  [this](const std::string& f, bool present) { on_file(f, present); });
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return ExitCode::kBootError;
  }
  std::vector<std::string> files = watcher_->scan();
  spdlog::info("watching {}: {} vassal file(s)", options_.dir.string(), files.size());
  // Every vassal at once: throttling is for vassals that keep dying, not for boot.
  for (const std::string& f : files) on_file(f, true);
  ev_run(loop_, 0);
  spdlog::info("stopped");
  return ExitCode::kOk;
}

void Emperor::on_file(const std::string& file, bool present) {
  if (stopping_) return;
  auto it = vassals_.find(file);
  if (present) {
    if (it == vassals_.end()) {
      spdlog::info("vassal file {}: new", file);
      it = vassals_.emplace(file, std::make_unique<Vassal>(loop_, options_, file)).first;
    } else {
      spdlog::info("vassal file {}: changed", file);
    }
    it->second->on(Vassal::Event::kFilePresent);
  } else if (it != vassals_.end()) {
    spdlog::info("vassal file {}: removed", file);
    it->second->on(Vassal::Event::kFileGone);
  }
  forget_finished();
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
      for (auto& [file, v] : vassals_) v->on(Vassal::Event::kReload);
      break;
    default:
      break;
  }
}

void Emperor::stop(bool graceful) {
  spdlog::info("{} stop of {} vassal(s)", graceful ? "graceful" : "quick", vassals_.size());
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
