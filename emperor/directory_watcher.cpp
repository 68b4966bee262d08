#include "emperor/directory_watcher.hpp"

#include <dirent.h>
#include <spdlog/spdlog.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <system_error>
#include <utility>

#include "core/log.hpp"

namespace suz {

namespace {

// Long enough to merge one save's events, short enough to stay far inside
// the 50 ms in which a change must be noticed.
constexpr double kSettleSeconds = 0.005;
// How often the path is checked besides the parent's events: the parent
// itself may be replaced, or not be watchable.
constexpr double kPathCheckSeconds = 1.0;

// IN_CREATE only matters for what is not a plain file (a plain file gets
// IN_CLOSE_WRITE once written, and should not be read half-written).
constexpr uint32_t kDirMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_ATTRIB | IN_DELETE | IN_MOVED_FROM | IN_CREATE |
                              IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
// In the parent: the directory's own name appearing or going.
constexpr uint32_t kParentMask = IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_ONLYDIR;

std::filesystem::path without_trailing_separator(const std::filesystem::path& p) {
  std::filesystem::path out = p.lexically_normal();
  if (!out.has_filename() && out.has_parent_path() && out != out.root_path()) out = out.parent_path();
  return out;
}

// Present unless the name is certainly not there: a file that cannot be
// examined (EACCES, EIO, ELOOP) is a broken vassal file, not a removed one.
bool name_present(const std::filesystem::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0 || (errno != ENOENT && errno != ENOTDIR);
}

bool names_a_symlink(const std::filesystem::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
}

}  // namespace

bool is_vassal_file(const std::string& name) {
  return name.size() > 5 && name.ends_with(".toml") && name.front() != '.';
}

DirectoryWatcher::DirectoryWatcher(struct ev_loop* loop, std::filesystem::path dir, OnChange on_change)
    : dir_(without_trailing_separator(dir)), on_change_(std::move(on_change)), io_(loop), settle_(loop), poll_(loop) {
  inotify_ = Fd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!inotify_) throw std::system_error(errno, std::generic_category(), "inotify_init1");
  struct stat st {};
  if (::stat(dir_.c_str(), &st) != 0 || (dir_wd_ = ::inotify_add_watch(inotify_.get(), dir_.c_str(), kDirMask)) < 0)
    throw std::system_error(errno, std::generic_category(), "cannot watch " + dir_.string());
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  watch_parent();
  io_.set<DirectoryWatcher, &DirectoryWatcher::read_events>(this);
  io_.start(inotify_.get(), ev::READ);
  settle_.set<DirectoryWatcher, &DirectoryWatcher::on_settled>(this);
  poll_.set<DirectoryWatcher, &DirectoryWatcher::check_path>(this);
  poll_.start(kPathCheckSeconds, kPathCheckSeconds);
  if (auto files = scan()) known_.insert(files->begin(), files->end());
}

DirectoryWatcher::~DirectoryWatcher() = default;

std::optional<std::vector<std::string>> DirectoryWatcher::scan() {
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir_.c_str()), ::closedir);
  std::vector<std::string> files;
  int err = d ? 0 : errno;
  if (d) {
    errno = 0;
    while (dirent* e = ::readdir(d.get())) {
      std::string name = e->d_name;
      if (is_vassal_file(name)) files.push_back(std::move(name));
    }
    err = errno;
  }
  if (err) {
    if (!unlistable_)
      spdlog::error("cannot list the vassal directory {}: {}: its vassals keep running their last good configuration",
                    escaped(dir_.string()), std::strerror(err));
    unlistable_ = true;
    return std::nullopt;
  }
  if (unlistable_) spdlog::info("the vassal directory {} can be listed again", escaped(dir_.string()));
  unlistable_ = false;
  std::sort(files.begin(), files.end());
  return files;
}

void DirectoryWatcher::watch_parent() {
  int wd = ::inotify_add_watch(inotify_.get(), dir_.parent_path().c_str(), kParentMask);
  if (wd < 0 && parent_wd_ != -2)
    spdlog::warn("cannot watch {} ({}): a new directory at {} is noticed within {:.0f}s, not at once",
                 escaped(dir_.parent_path().string()), std::strerror(errno), escaped(dir_.string()), kPathCheckSeconds);
  parent_wd_ = wd < 0 ? -2 : wd;  // -2: failed, and said so
}

void DirectoryWatcher::check_path() {
  struct stat st {};
  bool is_dir = ::stat(dir_.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  int err = is_dir ? 0 : (errno ? errno : ENOTDIR);
  if (is_dir && !missing_ && st.st_dev == dev_ && st.st_ino == ino_) return;
  if (!is_dir) {
    if (dir_wd_ >= 0) ::inotify_rm_watch(inotify_.get(), dir_wd_);
    dir_wd_ = -1;
    if (!missing_)
      spdlog::critical("the vassal directory {} is gone ({}): its vassals keep running; it is watched for again",
                       escaped(dir_.string()), std::strerror(err));
    missing_ = true;
    return;
  }
  int wd = ::inotify_add_watch(inotify_.get(), dir_.c_str(), kDirMask);
  if (wd < 0) {
    if (!missing_)
      spdlog::critical("cannot watch the new vassal directory {}: {}: its vassals keep running", escaped(dir_.string()),
                       std::strerror(errno));
    missing_ = true;
    return;
  }
  if (dir_wd_ >= 0 && dir_wd_ != wd) ::inotify_rm_watch(inotify_.get(), dir_wd_);
  dir_wd_ = wd;
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  missing_ = false;
  spdlog::warn("the vassal directory {} is a new directory (recreated, moved back or swapped): rescanning it",
               escaped(dir_.string()));
  watch_parent();
  rescan();
}

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
        spdlog::warn("inotify queue overflowed: rescanning {}", escaped(dir_.string()));
        rescan();
        continue;
      }
      std::string name(e->len ? e->name : "");
      if (e->wd == parent_wd_) {
        if (name == dir_.filename().string()) check_path();
        continue;
      }
      if (e->wd != dir_wd_) continue;  // a directory no longer at the path
      if (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
        check_path();
        continue;
      }
      if (name.empty()) {
        if (e->mask & IN_ATTRIB) rescan();  // chmod of the directory: what could not be listed may be now
        continue;
      }
      if (!is_vassal_file(name)) continue;
      // A regular file is noted once written (IN_CLOSE_WRITE); anything else
      // named *.toml (a symlink, a directory) when it appears, so a broken one
      // is reported rather than ignored.
      if ((e->mask & IN_CREATE) && !(e->mask & IN_ISDIR) && !names_a_symlink(dir_ / name)) continue;
      note(name);
    }
  }
}

void DirectoryWatcher::note(const std::string& file) {
  pending_.insert(file);
  settle();
}

void DirectoryWatcher::rescan() {
  pending_rescan_ = true;
  settle();
}

void DirectoryWatcher::settle() {
  if (!settle_.is_active()) settle_.start(kSettleSeconds, 0.);
}

void DirectoryWatcher::on_settled() {
  // While the directory is not at its path every name in it is "gone":
  // nothing is reported until it is back, and then rescanned.
  if (missing_) return;
  std::set<std::string> changed, seen;
  changed.swap(pending_);
  if (std::exchange(pending_rescan_, false)) {
    if (auto files = scan()) {
      seen.insert(files->begin(), files->end());
      seen.insert(known_.begin(), known_.end());
    }
  }
  seen.insert(changed.begin(), changed.end());
  for (const std::string& f : seen) {
    // Present while the name is in the directory, whatever it is or points
    // to: a symlink left dangling by a deploy, or a file that cannot be read,
    // is a broken vassal file (reported, the running vassal kept), not a
    // removed one.
    bool present = name_present(dir_ / f);
    if (!present && !known_.contains(f)) continue;
    if (present) known_.insert(f);
    else known_.erase(f);
    on_change_(f, !present ? FileChange::kGone : changed.contains(f) ? FileChange::kChanged : FileChange::kSeen);
  }
}

}  // namespace suz
