#pragma once
// Watches the vassal directory with inotify (an ev::io on its fd: ev_stat on a
// directory misses changes within a second). Only `*.toml` files count.
//
// Events for one file are coalesced for a few milliseconds (an editor's save
// is several events: write, close, attrib, or a rename), then reported once
// with what the file is now: changed (new, written or touched) or gone.
//
// The directory is watched by its path, not only by its inode, so deploy
// tools' accidents are survived:
//   removed, or moved away   reported as missing (logged once); its files are
//                            not reported gone: the vassals keep running
//   back at the path         (recreated, moved back, or a symlink swapped to a
//                            new directory) watched again, and rescanned
//   unlistable (EACCES ...)  logged once; nothing reported gone
// A rescan (after those, after an inotify queue overflow, or when the
// directory's own attributes change) reports each file there as seen (the
// emperor reloads it only if its bytes changed) and each file no longer
// there as gone. A file whose name is there but cannot be examined is
// present, never gone: its load fails and says why.
#include <ev++.h>
#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/fd.hpp"

namespace suz {

enum class FileChange {
  kChanged,  // new, written, touched: (re)load it
  kSeen,     // there at a rescan: load it if new or if its bytes changed
  kGone,
};

class DirectoryWatcher {
 public:
  // file: the file name (no directory).
  using OnChange = std::function<void(const std::string& file, FileChange change)>;

  // Throws std::system_error when the directory cannot be watched at all.
  DirectoryWatcher(struct ev_loop* loop, std::filesystem::path dir, OnChange on_change);
  ~DirectoryWatcher();
  DirectoryWatcher(const DirectoryWatcher&) = delete;
  DirectoryWatcher& operator=(const DirectoryWatcher&) = delete;

  // The *.toml files the directory held when the watch began (and since
  // reported present), sorted: the emperor's boot set.
  const std::set<std::string>& present() const { return known_; }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  // The *.toml files in the directory now; nullopt (logged once) when it
  // cannot be listed.
  std::optional<std::vector<std::string>> scan();
  void on_settled();
  void read_events();
  void note(const std::string& file);
  void settle();
  // Whether the path still names the watched directory; watches and
  // rescans a new one, or notes it missing.
  void check_path();
  void watch_parent();
  void rescan();

  std::filesystem::path dir_;
  OnChange on_change_;
  Fd inotify_;
  int dir_wd_ = -1;
  int parent_wd_ = -1;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  bool missing_ = false;
  bool unlistable_ = false;
  ev::io io_;
  ev::timer settle_;
  ev::timer poll_;  // while missing: the parent may be gone too, and watch nothing
  std::set<std::string> pending_;
  bool pending_rescan_ = false;
  std::set<std::string> known_;  // files reported present, to report them gone after a rescan
};

bool is_vassal_file(const std::string& name);

}  // namespace suz
