#pragma once
// A spooler process: runs the vassal's job handler on queued jobs, one at a
// time, until told to stop, from any JobConsumer (spooler/job_queue.hpp).
// Jobs are found without polling: the backend's wake-up (inotify on queue/,
// a Redis notification) says one arrived, a timer when a delayed one comes
// due. Each job is claimed by exactly one consumer, then done, retried with
// exponential backoff, or moved to failed after max_attempts.
//
// Signals: TERM stops after the job in hand; INT and QUIT end the process at
// once (its claimed job goes back to the queue through the master).
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "core/exit_code.hpp"
#include "core/units.hpp"
#include "vassal/app.hpp"
#include "vassal/scoreboard.hpp"

struct ev_loop;

namespace suz {

struct SpoolerOptions {
  int id = 1;
  std::string where;           // the spool: a directory or a Redis URL
  std::string owner;           // this process's name as a claimer, unique on the spool
  Duration visibility_timeout = std::chrono::seconds(60);  // Redis: a claim not kept alive expires
  int siblings = 1;            // spooler processes of this vassal, this one included
  int max_attempts = 5;
  Duration retry_delay = std::chrono::seconds(5);
  std::uint64_t max_jobs = 0;  // this process's limit (jitter applied); 0: unlimited
  Scoreboard* scoreboard = nullptr;
  int record = -1;
  int notify_fd = -1;          // write end of the master's event pipe
};

// The wait before attempt `attempt + 1` after `attempt` runs failed:
// retry_delay doubled each time, at most an hour.
Duration retry_backoff(Duration retry_delay, int attempt);

class Spooler {
 public:
  Spooler(AppPlugin& plugin, SpoolerOptions options);
  ~Spooler();
  Spooler(const Spooler&) = delete;
  Spooler& operator=(const Spooler&) = delete;

  // Runs until stopped. Called in the freshly forked child.
  ExitCode run();

 private:
  // The loop's callbacks.
  void on_signals();  // the signalfd's
  void on_arrivals();
  void on_due();
  void heartbeat();
  void work();     // a few jobs, if some are due
  void sleep_until(std::optional<std::int64_t> wake_at);  // idle: until an arrival, or then
  void checkpoint();  // what finished must not run again after a crash
  bool at_job_limit() const;
  void watch_arrivals();
  void run_one(struct ClaimedJob& claimed);

  AppPlugin& plugin_;
  SpoolerOptions options_;
  struct ev_loop* loop_ = nullptr;
  ExitCode exit_code_ = ExitCode::kOk;
  std::uint64_t jobs_ = 0;
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace suz
