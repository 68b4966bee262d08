#pragma once
// A worker process: serves requests on the master's listeners until told to
// stop. One I/O thread (a libev loop of its own) accepts connections, waits
// for request heads and enforces the head and keep-alive timeouts, so idle
// or slow clients never hold an app thread. Complete heads go to the app:
// inline on the loop thread when threads == 1 (no hand-off at all), or to a
// pool of app threads otherwise.
//
// Signals: TERM finishes in-flight requests (up to graceful_timeout) and
// exits; INT and QUIT exit at once.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/exit_code.hpp"
#include "vassal/access_log.hpp"
#include "vassal/app.hpp"
#include "vassal/connection.hpp"
#include "vassal/listener.hpp"
#include "vassal/loop_thread.hpp"
#include "vassal/scoreboard.hpp"


struct ev_loop;

namespace suz {

struct WorkerOptions {
  int id = 1;
  int threads = 1;
  int max_connections = 1000;
  Duration graceful_timeout = std::chrono::seconds(30);
  ServerRules rules;
  std::uint64_t max_requests = 0;  // this process's limit (jitter applied); 0: unlimited
  Scoreboard* scoreboard = nullptr;
  int record = -1;       // this process's record in the scoreboard
  int notify_fd = -1;    // write end of the master's event pipe
  AccessLog* access_log = nullptr;  // [log] access; null: off
  bool asgi = false;  // requests go to the plugin's event loop (threads: its executor's size)
};

class Worker final : public ServedObserver {
 public:
  Worker(AppPlugin& plugin, const std::vector<Listener>& listeners, WorkerOptions options);
  ~Worker() override;
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Runs until stopped. Called in the freshly forked child.
  ExitCode run();
  // After run(): app threads were still in a request when it returned (the
  // graceful timeout ran out). They go on using this worker's connections,
  // mutex and loop until the process exits, so it must not be destroyed.
  bool threads_still_running() const { return detached_; }

  struct Client;  // a connection and its watchers (worker.cpp)

  // Any thread that finished an exchange: its log line and its counts.
  void served(const Served& s) override;

 private:
  void accept_from(const Listener& listener);
  void set_accepting(bool on);
  void resume_accepting_if_room();
  void on_readable(Client* c);
  void on_writable(Client* c);  // a response draining to a slow reader
  void on_timeout(Client* c);
  void dispatch(Client* c);
  void serve_inline(Client* c);
  void after_serve(Client* c, bool keep);
  void next_or_park(Client* c, bool keep);  // an exchange is over: a buffered next request, or after_serve
  void count_request();
  void give_back(Client* c, bool keep);  // any thread: an exchange is over
  void park(Client* c);
  void not_idle(Client* c);
  bool reclaim_idle();
  void close(Client* c);
  void begin_graceful_stop();
  void collect_returned();
  void app_thread(int index);
  void maybe_finish();
  bool serve_until_idle(Connection& conn, int thread);  // true: park the connection
  void heartbeat();
  void graceful_expired();
  void on_signals();  // the signalfd's
  void write_access_log();  // once per loop turn

  AppPlugin& plugin_;
  const std::vector<Listener>& listeners_;
  WorkerOptions options_;
  std::vector<MountPoint> mounts_;
  struct ev_loop* loop_ = nullptr;
  std::atomic<bool> retiring_{false};
  bool accepting_ = false;
  std::vector<std::unique_ptr<Client>> clients_;  // index = fd
  int open_clients_ = 0;
  std::list<Client*> idle_;  // parked between requests, oldest first
  int busy_ = 0;  // dispatched to app threads and not yet returned

  // The hand-off between the loop and app threads (threads > 1).
  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::deque<Client*> work_;
  std::vector<std::pair<Client*, bool>> returned_;
  bool stopping_threads_ = false;
  std::vector<std::thread> threads_;
  bool detached_ = false;
  std::unique_ptr<LoopThread> loop_thread_;  // options_.asgi
  int in_loop_ = 0;  // handed to the event loop and not yet back
  std::chrono::steady_clock::time_point stop_began_{};

  pid_t pid_ = 0;
  Fd signal_fd_;
  struct Watchers;
  std::unique_ptr<Watchers> w_;  // made in run(), on the worker's own loop
};

}  // namespace suz
