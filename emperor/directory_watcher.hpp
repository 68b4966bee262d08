#pragma once
// Watches the vassal directory with inotify (an ev_io on its fd: ev_stat on a
// directory misses changes within a second). Only `*.toml` files count.
//
// Events for one file are coalesced for a few milliseconds (an editor's save
// is several events: write, close, attrib, or a rename), then reported once
// with what the file is now: present (new, changed or touched) or gone. A
// queue overflow reports every file present and every file known to be gone.
#include <ev.h>

#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "core/fd.hpp"

namespace suz {

class DirectoryWatcher {
 public:
  // file: the file name (no directory); present: whether it exists now.
  using OnChange = std::function<void(const std::string& file, bool present)>;

  // Throws std::system_error when the directory cannot be watched.
  DirectoryWatcher(struct ev_loop* loop, std::filesystem::path dir, OnChange on_change);
  ~DirectoryWatcher();
  DirectoryWatcher(const DirectoryWatcher&) = delete;
  DirectoryWatcher& operator=(const DirectoryWatcher&) = delete;

  // The *.toml files in the directory now, sorted.
  std::vector<std::string> scan() const;
  const std::filesystem::path& dir() const { return dir_; }

 private:
  static void on_readable(struct ev_loop*, ev_io* w, int);
  static void on_settled(struct ev_loop*, ev_timer* w, int);
  void read_events();
  void note(const std::string& file);
  void rescan();

  struct ev_loop* loop_;
  std::filesystem::path dir_;
  OnChange on_change_;
  Fd inotify_;
  ev_io io_{};
  ev_timer settle_{};
  std::set<std::string> pending_;
  std::set<std::string> known_;  // files reported present, to report them gone after an overflow
};

bool is_vassal_file(const std::string& name);

}  // namespace suz
