#include "emperor/directory_watcher.hpp"

#include <spdlog/spdlog.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

namespace suz {

namespace {

// Long enough to merge one save's events, short enough to stay far inside
// the 50 ms in which a change must be noticed.
constexpr double kSettleSeconds = 0.005;

}  // namespace

bool is_vassal_file(const std::string& name) {
  return name.size() > 5 && name.ends_with(".toml") && name.front() != '.';
}

DirectoryWatcher::DirectoryWatcher(struct ev_loop* loop, std::filesystem::path dir, OnChange on_change)
    : loop_(loop), dir_(std::move(dir)), on_change_(std::move(on_change)) {
  inotify_ = Fd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!inotify_) throw std::system_error(errno, std::generic_category(), "inotify_init1");
  // IN_CREATE only matters for what is not a plain file (a plain file gets
  // IN_CLOSE_WRITE once written, and should not be read half-written).
  uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_ATTRIB | IN_DELETE | IN_MOVED_FROM | IN_CREATE | IN_DELETE_SELF |
                  IN_MOVE_SELF | IN_ONLYDIR;
  if (::inotify_add_watch(inotify_.get(), dir_.c_str(), mask) < 0)
    throw std::system_error(errno, std::generic_category(), "cannot watch " + dir_.string());
  ev_io_init(&io_, on_readable, inotify_.get(), EV_READ);
  io_.data = this;
  ev_io_start(loop_, &io_);
  ev_init(&settle_, on_settled);
  settle_.data = this;
  for (const std::string& f : scan()) known_.insert(f);
}

DirectoryWatcher::~DirectoryWatcher() {
  ev_io_stop(loop_, &io_);
  ev_timer_stop(loop_, &settle_);
}

std::vector<std::string> DirectoryWatcher::scan() const {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    std::string name = entry.path().filename().string();
    if (is_vassal_file(name)) files.push_back(name);
  }
  if (ec) spdlog::error("cannot list {}: {}", dir_.string(), ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

void DirectoryWatcher::on_readable(struct ev_loop*, ev_io* w, int) { static_cast<DirectoryWatcher*>(w->data)->read_events(); }

void DirectoryWatcher::read_events() {
  alignas(inotify_event) char buf[16384];
  for (;;) {
    ssize_t n = ::read(inotify_.get(), buf, sizeof buf);
    if (n <= 0) {
      if (n < 0 && errno != EAGAIN && errno != EINTR) spdlog::error("inotify: {}", std::strerror(errno));
      return;
    }
    for (char* p = buf; p < buf + n;) {
      auto* e = reinterpret_cast<inotify_event*>(p);
      p += sizeof(inotify_event) + e->len;
      if (e->mask & IN_Q_OVERFLOW) {
        spdlog::warn("inotify queue overflowed: rescanning {}", dir_.string());
        rescan();
        continue;
      }
      if (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
        spdlog::critical("the vassal directory {} was removed or moved: no more changes will be seen", dir_.string());
        continue;
      }
      if (e->len == 0) continue;
      std::string name(e->name);
      if (!is_vassal_file(name)) continue;
      // A regular file is noted once written (IN_CLOSE_WRITE); anything else
      // named *.toml (a symlink, a directory) when it appears, so a broken one
      // is reported rather than ignored.
      if ((e->mask & IN_CREATE) && !(e->mask & IN_ISDIR) && !std::filesystem::is_symlink(dir_ / name)) continue;
      note(name);
    }
  }
}

void DirectoryWatcher::note(const std::string& file) {
  pending_.insert(file);
  if (!ev_is_active(&settle_)) {
    ev_timer_set(&settle_, kSettleSeconds, 0.);
    ev_timer_start(loop_, &settle_);
  }
}

void DirectoryWatcher::rescan() {
  for (const std::string& f : scan()) note(f);
  for (const std::string& f : known_) note(f);
}

void DirectoryWatcher::on_settled(struct ev_loop*, ev_timer* w, int) {
  auto* self = static_cast<DirectoryWatcher*>(w->data);
  std::set<std::string> files;
  files.swap(self->pending_);
  for (const std::string& f : files) {
    // Present while the name is in the directory, whatever it is or points
    // to: a symlink left dangling by a deploy, or a file that cannot be read,
    // is a broken vassal file (reported, the running vassal kept), not a
    // removed one.
    std::error_code ec;
    bool present = std::filesystem::exists(std::filesystem::symlink_status(self->dir_ / f, ec));
    if (present) self->known_.insert(f);
    else self->known_.erase(f);
    self->on_change_(f, present);
  }
}

}  // namespace suz
