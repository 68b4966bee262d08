#pragma once
// One vassal file and the master processes started for it, as a state
// machine. Every transition is in Vassal::on(); everything else only reports
// events to it.
//
//   invalid    the file does not load: logged (file:line:col), nothing runs;
//              left when the file changes
//   starting   a master was started, not yet serving
//   running    its master reported every worker serving
//   reloading  the file changed: a new master starts beside the serving one
//              (on the same sockets) and takes over once serving
//   backoff    the master died unasked: restarted after a delay that grows
//              with quick deaths and resets after a healthy run
//   stopping   the file is gone (or the emperor stops, or `emperor stop`):
//              masters were asked to stop, and are killed after a mercy timeout
//   stopped    held by `emperor stop NAME`: nothing runs, its sockets are
//              closed, file changes are noted but start nothing, until
//              `emperor start NAME` (the hold lives in the emperor's memory)
//
// An operator's command (emperor/control.hpp) waits on an outcome: the
// vassal serving from a master started for it, or its last master gone.
// Every waiter is answered, by the transition that decides it.
#include <ev++.h>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/config.hpp"
#include "core/credentials.hpp"
#include "core/fd.hpp"
#include "emperor/file_reads.hpp"
#include "emperor/vassal_launcher.hpp"
#include "emperor/vassal_sockets.hpp"

namespace suz {

enum class VassalState { kInvalid, kStarting, kRunning, kReloading, kBackoff, kStopping, kStopped };
std::string_view state_name(VassalState s);

struct EmperorOptions {
  std::filesystem::path dir;
  std::string vassal_program;
  double ready_timeout = 60;      // seconds from start to every worker serving
  double heartbeat_timeout = 30;  // seconds without a message from a serving master
  double healthy_after = 10;      // seconds of serving that reset the backoff
  double max_backoff = 30;
  std::filesystem::path status_socket;  // empty: DIR/.emperor.sock
  bool tyrant = false;                  // each vassal runs as its file's owner; root-owned files refused
  std::filesystem::path vassal_logs;    // DIR/NAME.log for each vassal's output; empty: the emperor's own
};

class Vassal {
 public:
  struct Process;  // one master process (vassal.cpp)

  enum class Event {
    kFilePresent,     // new, changed or touched
    kFileSeen,        // there at a rescan of the directory: reloaded only if its bytes changed
    kFileGone,
    kReload,          // the emperor's HUP
    kStop,            // the emperor stops (graceful)
    kQuickStop,
    kReady,           // process: every worker serving
    kExited,          // process: reaped
    kBackoffElapsed,
    kReadyTimeout,    // process: not serving in time
    kHeartbeatMissed, // process
    kMercyElapsed,    // process: did not stop when asked
    kHold,            // `emperor stop NAME`
    kRelease,         // `emperor start NAME` (the file read again first)
  };

  // An operator waiting for an outcome: ok, and what happened.
  using Answer = std::function<void(bool ok, const std::string& message)>;
  enum class Awaited {
    kServing,  // a master started after the wait began serves (reload, start)
    kStopped,  // no master left (stop)
  };

  Vassal(struct ev_loop* loop, const EmperorOptions& options, std::string file, MasterLauncher launcher = {});
  ~Vassal();
  Vassal(const Vassal&) = delete;
  Vassal& operator=(const Vassal&) = delete;

  // p: the process an event is about (kReady, kExited and the process timers).
  void on(Event e, Process* p = nullptr, int status = 0);
  // The file's bytes, read off the loop: handed over before kFilePresent,
  // kFileSeen and kReload, which load them (so does a restart after backoff).
  void take_read(FileRead read);
  // A reaped child: true if it was one of this vassal's.
  bool reaped(pid_t pid, int status);
  // Called when a master of this vassal asks to be reloaded (it got HUP):
  // the emperor reads the file and sends kReload.
  void on_reload_asked(std::function<void()> fn) { reload_asked_ = std::move(fn); }
  // Answers answer once the awaited outcome (or its failure) is known; the
  // event that brings it about is sent next, by the caller.
  void await(Awaited what, Answer answer);
  // Sends sig to every master of this vassal (the emperor's USR1).
  void signal_masters(int sig) const;
  // No file, no process: the emperor can forget it.
  bool finished() const;

  // For `emperor status`.
  const std::string& file() const { return file_; }
  const std::filesystem::path& path() const { return path_; }
  std::string name() const;
  VassalState state() const { return state_; }
  std::string_view state_name() const { return suz::state_name(state_); }
  pid_t pid() const;
  double uptime_seconds() const;
  int restarts() const { return restarts_; }
  std::optional<double> restart_in() const;  // seconds, in backoff
  const std::string& last_exit() const { return last_exit_; }

 private:
  void settle(Awaited what, bool ok, const std::string& message);
  void settle_all(const std::string& why);  // every waiter fails
  bool start(std::unique_ptr<Process>& into);  // a new master on config_; false (logged) if it could not start
  bool load();               // config_ from read_; false (logged) if invalid
  bool refuse(std::string why);  // load()'s failure: why logged and kept for a waiting operator; false
  bool unchanged_since_loaded() const;
  void ask_to_stop(Process& p, bool graceful);
  void enter_backoff();
  void set_state(VassalState s);
  void on_backoff_elapsed() { on(Event::kBackoffElapsed); }
  bool has_processes() const { return current_ || successor_ || !leaving_.empty(); }
  double mercy_seconds(bool graceful) const;  // until a master asked to stop is killed

  struct ev_loop* loop_;
  const EmperorOptions& options_;
  MasterLauncher launcher_;
  std::function<void()> reload_asked_;
  std::vector<std::pair<Awaited, Answer>> waiters_;
  bool held_ = false;        // `emperor stop`: stays stopped until `emperor start`
  std::string load_error_;   // why the last load() failed
  std::string file_;
  std::string file_shown_;  // escaped for the log (core/log.hpp)
  std::filesystem::path path_;
  VassalState state_ = VassalState::kInvalid;
  bool file_present_ = true;
  std::optional<FileRead> read_;            // the file as last read (FileReads, off the loop)
  std::optional<std::size_t> loaded_hash_;  // of the bytes load() last parsed, valid or not
  std::optional<VassalConfig> config_;
  std::optional<Credentials> credentials_;  // whom config_'s masters run as (nullopt: the emperor's user)
  VassalSockets sockets_;
  std::unique_ptr<Process> current_;
  std::unique_ptr<Process> successor_;
  std::vector<std::unique_ptr<Process>> leaving_;  // asked to stop, not yet reaped
  ev::timer backoff_;
  bool emperor_stopping_ = false;
  int quick_deaths_ = 0;
  int restarts_ = 0;
  std::string last_exit_;
};

}  // namespace suz
