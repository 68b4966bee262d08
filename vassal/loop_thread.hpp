#pragma once
// An ASGI worker's event loop thread, from the worker's side: requests
// whose heads (and small bodies) the I/O thread has read are handed over
// through a queue and an eventfd; each comes back through give_back when
// its response is complete. The loop itself is the plugin's
// (AppPlugin::run_event_loop); this is the LoopHost it runs against.
//
// Lifecycle: start() runs the thread and waits for the app's startup
// (lifespan) -> serving -> stop(bound) asks for the app's shutdown once
// every exchange has come back, and waits for the thread up to the bound
// (a loop stuck in the app is left to the process exit).
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "core/fd.hpp"
#include "vassal/app.hpp"
#include "vassal/connection.hpp"
#include "vassal/loop_host.hpp"

namespace suz {

class LoopThread final : public LoopHost {
 public:
  // Called on the loop thread with each exchange's connection as it comes
  // back: keep says whether it can carry another request.
  using GiveBack = std::function<void(void* client, bool keep)>;
  // turn: where the loop's last turn goes (the scoreboard), 0 when it stops.
  LoopThread(AppPlugin& plugin, int threads, GiveBack give_back, std::atomic<std::int64_t>* turn);
  ~LoopThread() override;
  LoopThread(const LoopThread&) = delete;
  LoopThread& operator=(const LoopThread&) = delete;

  // Starts the loop and waits for the app's startup; false: it failed (the
  // loop has returned and logged why).
  bool start();
  // I/O thread: conn's head is ready and begin_async found its mount.
  void hand_over(void* client, Connection& conn, const MountPoint& mount);
  // Every exchange has come back (or the worker gives up on them): runs
  // the app's shutdown within bound. Returns false if the loop did not
  // finish in time (it is detached then: the process exit ends it).
  bool stop(Duration bound);
  // Stops without the app's shutdown (INT, QUIT).
  void abandon();

  // LoopHost, on the loop thread.
  int wake_fd() const override { return wake_.get(); }
  std::vector<AsyncExchange*> take() override;
  bool stop_requested() const override;
  Duration shutdown_bound() const override;
  void started(bool ok) override;
  void turned() override;

 private:
  class Exchange;
  void wake();
  void finished();  // the loop returned

  AppPlugin& plugin_;
  int threads_;
  GiveBack give_back_;
  std::atomic<std::int64_t>* turn_;
  Fd wake_;  // eventfd
  std::thread thread_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<AsyncExchange*> ready_;
  std::optional<bool> started_;
  bool stop_ = false;
  Duration bound_{0};
  bool finished_ = false;
};

}  // namespace suz
