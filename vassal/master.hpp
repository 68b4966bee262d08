#pragma once
// The vassal master: binds the listeners, loads the app once, forks the
// workers and spoolers and keeps the right number of each running. Its libev loop (the
// default loop: the only one that sees signals and children) is the single
// place where children are reaped. Signal handlers only record; all work
// happens in the loop.
//
//   TERM       graceful stop: workers finish in-flight requests, then exit
//   INT, QUIT  quick stop
//   HUP        reload: a new master of this vassal loads the code and the file
//              as they are now and takes over once serving (master_reload.cpp)
//   USR2       every worker and spooler replaced, one at a time, capacity kept
//   TTIN/TTOU  one worker more / less
//   USR1       reopen log files (and tell the workers)
#include <ev++.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/config.hpp"
#include "core/exit_code.hpp"
#include "core/fd.hpp"
#include "core/fork.hpp"
#include "core/inherited_sockets.hpp"
#include "vassal/app.hpp"
#include "vassal/access_log.hpp"
#include "vassal/children.hpp"
#include "vassal/deadline_timers.hpp"
#include "vassal/emperor_link.hpp"
#include "vassal/listener.hpp"
#include "vassal/scoreboard.hpp"
#include "vassal/spool_upkeep.hpp"
#include "vassal/stats.hpp"
#include "vassal/stats_server.hpp"
#include "vassal/successor.hpp"
#include "vassal/worker_events.hpp"

namespace suz {

// Where this master came from, for the one a reload starts.
struct MasterOrigin {
  std::string program;                   // this binary, absolute
  std::vector<std::string> environment;  // as it was before [env] and the app changed it
};

// Which child does what is vassal/children.hpp's; the master carries it out.
class Master {
 public:
  Master(const VassalConfig& config, AppPlugin& plugin, ForkHooks& hooks, MasterOrigin origin);
  ~Master();
  Master(const Master&) = delete;
  Master& operator=(const Master&) = delete;

  // Binds, loads, serves until stopped. Failures become the exit code
  // (kBootError for sockets, kAppLoadError for the app).
  ExitCode run();

 private:
  // The boot, in run()'s order; each logs why it failed.
  bool take_inherited_sockets();
  bool bind_listeners();
  bool start_stats();
  bool become_configured_user();  // [vassal] uid/gid, when started as root
  ExitCode load_app();
  bool open_spool();
  bool open_access_log();          // [log] access, inherited by every worker
  void create_scoreboard();
  void watch();

  // What the loop hears, each handed to the children's state machine.
  void on_signal(ev::sig& w, int);  // the table: core/signals.hpp
  void on_child(ev::child& w, int);
  void on_messages();               // workers -> master (WorkerMessage)
  void on_scan();                   // the periodic health checks and spool upkeep
  void check_children(std::int64_t now_ms);
  void reopen_logs();               // USR1

  // A reload on HUP (master_reload.cpp).
  void reload();
  void successor_serving();
  void successor_failed(const std::string& why);
  void successor_exited(int status);
  LaunchSpec successor_spec() const;
  // What the children's machine tells: to the emperor, the predecessor or
  // systemd (say), and kReady to the app's @suzerain.master_ready too.
  void tell(std::string_view message);
  void say(std::string_view message);

  // The machine's actions, carried out.
  void carry_out(const Actions& actions);
  void spawn(Role role, int slot, int generation);

  VassalSnapshot snapshot() const;

  const VassalConfig& config_;
  AppPlugin& plugin_;
  ForkHooks& hooks_;
  InheritedSockets inherited_;  // from the emperor, until bind_listeners takes them
  std::vector<Listener> listeners_;
  std::unique_ptr<Scoreboard> scoreboard_;
  RequestTotals retired_traffic_;  // what exited workers counted, so counters never go down
  Pipe events_;  // workers -> master (WorkerMessage)
  std::unique_ptr<SpoolUpkeep> spool_;  // when the vassal runs spoolers
  std::unique_ptr<AccessLog> access_log_;  // [log] access; workers write it, the master only opens it
  std::unique_ptr<StatsServer> stats_;
  std::unique_ptr<EmperorLink> emperor_;  // when started by an emperor
  MasterOrigin origin_;
  Fd predecessor_;                         // when started by a master reloading, until serving
  std::unique_ptr<Successor> successor_;   // while a reload is under way
  bool reload_queued_ = false;             // a HUP during a reload: the next one
  bool handed_over_ = false;               // a successor serves: this master drains and exits
  std::unique_ptr<Children> children_;    // from create_scoreboard() on
  DeadlineTimers deadlines_;
  std::unordered_map<pid_t, std::int64_t> rss_due_ms_;  // when max_rss next samples each child
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();

  std::vector<std::unique_ptr<ev::sig>> signals_;
  ev::child reaper_;
  ev::io messages_;
  ev::timer scan_;
};

}  // namespace suz
