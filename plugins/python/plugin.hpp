#pragma once
// Runs a vassal's WSGI apps in embedded CPython.
//
// Apps with interpreter = "main" are imported once in the master and shared
// copy-on-write. Apps with interpreter = "isolated" each get a
// sub-interpreter created in every worker after the fork: CPython deletes
// every sub-interpreter in a forked child (PyOS_AfterFork_Child), and a
// master holding one would hang its children, so the master never has one.
#include <memory>
#include <vector>

#include "core/config.hpp"
#include "vassal/app.hpp"

namespace suz::python {

class PythonPlugin final : public AppPlugin {
 public:
  explicit PythonPlugin(const VassalConfig& config);
  ~PythonPlugin() override;

  void load_in_master() override;
  void register_fork_hooks(ForkHooks& hooks) override;
  void start_worker(int worker_id, int threads) override;
  void attach_thread(int thread_index) override;
  void handle(int thread_index, Exchange& exchange) override;
  void start_spooler(int spooler_id) override;
  JobOutcome run_job(const Job& job) override;
  void run_event_loop(LoopHost& host, int threads) override;
  std::vector<MountPoint> mounts() const override;
  void run_hook(Hook hook, std::string_view detail) override;
  bool hooked(Hook hook) const override;
  void run_harakiri_hook(const StuckRequest& stuck) override;

 private:
  void load_asgi_apps();  // in the master, GIL held
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace suz::python
