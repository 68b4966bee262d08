#pragma once
// The emperor: one Vassal per *.toml file in the vassal directory, kept in
// step with the directory by inotify, and the one place where their master
// processes are reaped (libev's default loop reaps every child).
//
//   TERM       graceful stop of every vassal, then exit; a second TERM, or
//   INT, QUIT  quick stop
//   HUP        reload every vassal (as if each file were touched)
//   USR1       reopen logs: sent on to every master (core/signals.hpp has
//              the whole table, and what the stray signals do)
//
// Its control socket answers `emperor status`, and `emperor reload|stop|
// start NAME` once their outcome is known (emperor/control.hpp).
//
// Under systemd (Type=notify) it reports READY=1 once every boot vassal was
// started, a STATUS= line with the vassals' states, WATCHDOG=1 when the unit
// has WatchdogSec=, and STOPPING=1.
#include <ev++.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/exit_code.hpp"
#include "emperor/directory_watcher.hpp"
#include "emperor/file_reads.hpp"
#include "emperor/control_server.hpp"
#include "emperor/vassal.hpp"

namespace suz {

class Emperor {
 public:
  explicit Emperor(EmperorOptions options);
  ~Emperor();
  Emperor(const Emperor&) = delete;
  Emperor& operator=(const Emperor&) = delete;

  ExitCode run();

 private:
  void on_file(const std::string& file, FileChange change);
  // Reads file off the loop, then gives it to its vassal with event.
  // An operator's answer, if given, waits on the outcome of the event.
  void read_then(const std::string& file, Vassal::Event event, Vassal::Answer answer = {});
  void on_read(const std::string& file, Vassal::Event event, FileRead read, Vassal::Answer answer = {});
  void control(const control::Request& request, ControlServer::Reply reply);
  void report_ready();
  void on_signal(ev::sig& w, int);
  void on_child(ev::child& w, int) { reap(w.rpid, w.rstatus); }
  void reap(pid_t pid, int status);
  void stop(bool graceful);
  void forget_finished();
  std::string status_json() const;
  void notify_systemd();

  EmperorOptions options_;
  struct ev_loop* loop_;
  std::map<std::string, std::unique_ptr<Vassal>> vassals_;
  std::unique_ptr<DirectoryWatcher> watcher_;
  std::vector<std::unique_ptr<ev::sig>> signals_;
  ev::child reaper_;
  ev::timer notify_;
  std::string last_status_;
  std::unique_ptr<ControlServer> control_;
  bool stopping_ = false;
  std::map<std::string, std::uint64_t> read_generation_;  // per file: the read whose result counts
  std::set<std::string> boot_reads_;                      // boot files not read yet
  ev::timer boot_wait_;
  bool ready_reported_ = false;
  static constexpr double kBootReadWait = 5.0;  // seconds before READY=1 without them
  std::unique_ptr<FileReads> reads_;  // last: destroyed first, its callbacks use the rest
};

}  // namespace suz
