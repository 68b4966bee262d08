#pragma once
// Reads vassal files off the emperor's loop, one thread per read: a file on a
// filesystem that hangs (a dead NFS server, a stuck FUSE daemon) holds its
// own thread, never the loop, which goes on supervising every other vassal
// and answering `emperor status` and signals. Each result comes back on the
// loop. A read still running after kSlowRead is logged once; one that never
// ends costs its thread, nothing else.
#include <ev++.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/config_file.hpp"

namespace suz {

// A vassal file's bytes and owner (--tyrant), or why they could not be had.
struct FileRead {
  Result<std::string, ConfigIssue> text = unexpected(ConfigIssue{});
  FileOwner owner;
};

class FileReads {
 public:
  using Done = std::function<void(FileRead)>;
  static constexpr std::chrono::seconds kSlowRead{5};

  explicit FileReads(struct ev_loop* loop);
  // Reads still running are abandoned: their results are dropped.
  ~FileReads();
  FileReads(const FileReads&) = delete;
  FileReads& operator=(const FileReads&) = delete;

  // done runs on the loop once the file is read (never from inside read()).
  void read(const std::filesystem::path& file, Done done);

 private:
  struct Mailbox;  // shared with the threads: outlives this object while a read hangs
  struct Waiting {
    std::filesystem::path file;
    Done done;
    std::chrono::steady_clock::time_point since;
    bool said_slow = false;
  };
  void deliver();
  void check_slow();

  std::shared_ptr<Mailbox> box_;
  ev::async wake_;  // a finished read's
  ev::timer check_;  // for reads still running
  std::map<std::uint64_t, Waiting> waiting_;
  std::uint64_t next_id_ = 0;
};

}  // namespace suz
