#pragma once
// The vassal master: binds the listeners, loads the app once, forks the
// workers and keeps them running. Its libev loop (the default loop: the only
// one that sees signals and children) is the single place where children are
// reaped. Signal handlers only record; all work happens in the loop.
//
//   TERM       graceful stop: workers finish in-flight requests, then exit
//   INT, QUIT  quick stop
//   USR1       reopen log files (and tell the workers)
#include <memory>
#include <vector>

#include "core/config.hpp"
#include "core/exit_code.hpp"
#include "core/fork.hpp"
#include "vassal/app.hpp"
#include "vassal/listener.hpp"
#include "vassal/worker_slot.hpp"

namespace suz {

class Master {
 public:
  Master(const VassalConfig& config, AppPlugin& plugin, ForkHooks& hooks);
  ~Master();
  Master(const Master&) = delete;
  Master& operator=(const Master&) = delete;

  // Binds, loads, serves until stopped. Throws nothing: failures become the
  // exit code (kBootError for sockets, kAppLoadError for the app).
  ExitCode run();

 private:
  friend struct MasterCallbacks;

  bool bind_listeners();
  void spawn_worker(WorkerSlot& slot);
  void reap(pid_t pid, int status);
  void schedule_respawn(WorkerSlot& slot);
  void stop(bool graceful);
  void signal_workers(int sig);
  void on_stop_deadline();
  WorkerSlot* slot_of(pid_t pid);

  const VassalConfig& config_;
  AppPlugin& plugin_;
  ForkHooks& hooks_;
  std::vector<Listener> listeners_;
  std::vector<WorkerSlot> slots_;
  bool stopping_ = false;
  ExitCode exit_code_ = ExitCode::kOk;

  struct Watchers;
  std::unique_ptr<Watchers> w_;
};

}  // namespace suz
