#pragma once
// The vassal master: binds the listeners, loads the app once, forks the
// workers and spoolers and keeps the right number of each running. Its libev loop (the
// default loop: the only one that sees signals and children) is the single
// place where children are reaped. Signal handlers only record; all work
// happens in the loop.
//
//   TERM       graceful stop: workers finish in-flight requests, then exit
//   INT, QUIT  quick stop
//   HUP        graceful reload: every worker and spooler replaced, one at a time, capacity kept
//   TTIN/TTOU  one worker more / less
//   USR1       reopen log files (and tell the workers)
#include <array>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <vector>

#include "core/config.hpp"
#include "core/exit_code.hpp"
#include "core/fd.hpp"
#include "core/fork.hpp"
#include "core/inherited_sockets.hpp"
#include "spooler/job_queue.hpp"
#include "vassal/app.hpp"
#include "vassal/listener.hpp"
#include "vassal/emperor_link.hpp"
#include "vassal/scoreboard.hpp"
#include "vassal/stats.hpp"
#include "vassal/stats_server.hpp"
#include "vassal/worker_events.hpp"
#include "vassal/slot.hpp"
#include "vassal/spool_upkeep.hpp"

namespace suz {

class Master {
 public:
  Master(const VassalConfig& config, AppPlugin& plugin, ForkHooks& hooks);
  ~Master();
  Master(const Master&) = delete;
  Master& operator=(const Master&) = delete;

  // Binds, loads, serves until stopped. Failures become the exit code
  // (kBootError for sockets, kAppLoadError for the app).
  ExitCode run();

 private:
  friend struct MasterCallbacks;

  // The boot, in run()'s order; each logs why it failed.
  bool take_inherited_sockets();
  bool bind_listeners();
  bool start_stats();
  bool become_configured_user();  // [vassal] uid/gid, when started as root
  ExitCode load_app();
  bool open_spool();
  void create_scoreboard();
  void watch(struct ev_loop* loop);
  void start_slots();
  int wanted(Role role) const;  // how many slots of the role the config asks for
  void add_slot(Role role);
  void spawn(Slot& slot);
  void recover_jobs(const Child& p, const std::string& how);
  void on_message(const WorkerMessage& m);
  void on_ready(Child& p);
  void replace(Slot& slot, RespawnCause cause, const std::string& why);
  void retire(pid_t pid);
  void kill_process(Child& p, RespawnCause cause, const std::string& why);
  void reap(pid_t pid, int status);
  void schedule_respawn(Slot& slot);
  void scan();
  // The signals' handlers (the table: core/signals.hpp).
  void reload();         // HUP
  void add_worker();     // TTIN
  void remove_worker();  // TTOU
  void reopen_logs();    // USR1
  void reload_next();
  void announce_if_serving();  // once: every slot's first worker serves
  void remove_slot();
  void stop(bool graceful);
  void signal_workers(int sig);
  void on_stop_deadline();
  void check_all_gone();
  Slot* slot_of(const Child& p);
  std::vector<std::unique_ptr<Slot>>& slots(Role role) { return role == Role::kWorker ? slots_ : spooler_slots_; }
  // Per role: what max lifetime, harakiri and request (or job) limits apply.
  Duration max_lifetime(Role role) const;
  Duration harakiri(Role role) const;
  VassalSnapshot snapshot() const;

  const VassalConfig& config_;
  AppPlugin& plugin_;
  ForkHooks& hooks_;
  InheritedSockets inherited_;  // from the emperor, until bind_listeners takes them
  std::vector<Listener> listeners_;
  std::unique_ptr<Scoreboard> scoreboard_;
  Pipe events_;  // workers -> master (WorkerMessage)
  std::vector<std::unique_ptr<Slot>> slots_;          // workers
  std::vector<std::unique_ptr<Slot>> spooler_slots_;  // spoolers
  std::unique_ptr<SpoolUpkeep> spool_;  // when the vassal runs spoolers
  std::map<pid_t, std::unique_ptr<Child>> processes_;
  std::deque<Slot*> reload_queue_;  // slots still to replace for HUP
  std::unique_ptr<StatsServer> stats_;
  std::unique_ptr<EmperorLink> emperor_;  // when started by an emperor
  bool announced_serving_ = false;
  RespawnCounts respawns_{};          // workers
  RespawnCounts spooler_respawns_{};
  std::uint64_t retired_requests_ = 0;  // served by worker processes already reaped
  std::uint64_t retired_jobs_ = 0;      // run by spooler processes already reaped
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  bool stopping_ = false;
  ExitCode exit_code_ = ExitCode::kOk;

  struct Watchers;
  std::unique_ptr<Watchers> w_;
};

}  // namespace suz
