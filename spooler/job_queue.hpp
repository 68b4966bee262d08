#pragma once
// What every spool backend offers, whatever it keeps jobs in (a directory,
// spooler/directory_queue.hpp; a Redis server, spooler/redis_queue.hpp).
//
// JobQueue is the side of producers and keepers: the app's spool(), the
// `spooler` command line, and the vassal master (which returns the jobs of
// spoolers that died). JobConsumer is a spooler process's side: claim the
// next due job, run it, settle it. Both promise at-least-once: a job
// acknowledged as enqueued is run, perhaps more than once after a crash,
// and never silently dropped.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "spooler/job.hpp"

namespace suz {

struct JobSpec {
  std::map<std::string, std::string> args;
  std::string body;
  std::optional<std::int64_t> at_ms;  // not before; default now
  int priority = 0;
};

enum class JobState { kQueued, kClaimed, kFailed };

struct JobEntry {
  JobName name;
  JobState state;
  std::string owner;            // kClaimed: who runs it
  std::filesystem::path path;   // its file (directory backend), else empty
};

// A job a consumer holds: run it, then done(), retry() or fail().
struct ClaimedJob {
  Job job;
  std::filesystem::path path;  // directory backend: under claimed/OWNER/
};

// What returning dead claimers' jobs did.
struct Recovered {
  std::size_t requeued = 0;
  std::size_t failed = 0;    // that was their last attempt
  std::size_t restored = 0;  // pushed before a reboot but not whole on disk: now in queue/
};

// A job that was not a job (a corrupt file, an undecodable Redis entry):
// where it was, and why; it has been moved aside, never dropped.
using CorruptJobReport = std::function<void(const std::string& where, const std::string& why)>;

class JobQueue {
 public:
  virtual ~JobQueue() = default;

  // The directory or URL, for messages.
  virtual std::string where() const = 0;

  // Durably enqueues; returns the job's id. Thread-safe. Throws
  // std::system_error (the disk is full, Redis is unreachable: nothing was
  // made visible, or for Redis "may have been": the message says which) or
  // std::invalid_argument.
  virtual std::string push(const JobSpec& spec) = 0;
  // Many jobs in one go; all visible once it returns.
  virtual std::vector<std::string> push_all(const std::vector<JobSpec>& specs) = 0;

  // Every job claimed by owner back to the queue, counted as an attempt
  // (the job may be what killed its claimer); to failed when that was the
  // last one, with `why` as its error.
  virtual Recovered recover(const std::string& owner, const std::string& why, int max_attempts) = 0;
  // recover() for every claimer known to be gone (the directory: no flock
  // on its claim area; Redis: past its visibility deadline).
  virtual Recovered recover_abandoned(const std::string& why, int max_attempts) = 0;
  // The claimers named are alive: their claims must not expire (Redis'
  // visibility timeout; the directory needs nothing, its flocks say it).
  virtual void keep_claims(const std::vector<std::string>& owners) { (void)owners; }
  // How often recover_abandoned() and keep_claims() should run.
  virtual std::chrono::milliseconds upkeep_period() const { return std::chrono::seconds(10); }

  // Inspection and repair, for the command line.
  virtual std::vector<JobEntry> list(JobState state) const = 0;
  virtual std::size_t count(JobState state) const { return list(state).size(); }
  virtual std::optional<JobEntry> find(const std::string& id) const = 0;
  virtual Result<Job> read(const JobEntry& entry) const = 0;
  // A failed job's last error (its traceback), if one was kept.
  virtual std::optional<std::string> failure(const JobEntry& entry) const = 0;
  virtual bool remove(const std::string& id) = 0;
  virtual bool requeue_failed(const std::string& id) = 0;  // attempts reset

  CorruptJobReport on_corrupt;
};

class JobConsumer {
 public:
  virtual ~JobConsumer() = default;

  // Readable when jobs may have arrived; then call on_wake(). May change
  // after any call (a reconnect): read it again each time. -1: none now.
  virtual int wake_fd() const = 0;
  virtual void on_wake() = 0;

  // The next due job, claimed for this consumer alone; nullopt when none is
  // due, with *wake_at_ms (wall clock) set to when to look again, if ever
  // without a wake-up (a delayed job comes due, the backend is down and
  // will be retried). Does not throw for a backend that is down.
  virtual std::optional<ClaimedJob> claim(std::int64_t now_ms, std::optional<std::int64_t>* wake_at_ms) = 0;

  // Settle a claimed job. Throw when that cannot be done; the job then
  // stays claimed and goes back to the queue when its claimer is found gone.
  virtual void done(const ClaimedJob& job) = 0;
  virtual void retry(const ClaimedJob& job, std::int64_t at_ms, const std::string& error) = 0;
  virtual void fail(const ClaimedJob& job, const std::string& error) = 0;

  // How many jobs it knows to be waiting (for the start-up log line).
  virtual std::size_t waiting() const = 0;

  // Called about once a second, and at a clean stop: what was settled so
  // far must not run again after a crash of the machine (the directory
  // spool's journal checkpoint). Throws when it cannot.
  virtual void checkpoint() {}
};

// Options of a consumer: who it is, and how many siblings share its queue.
struct ConsumerOptions {
  std::string owner;  // unique among every consumer of the queue
  int siblings = 1;   // this vassal's spooler processes, this one included
  std::chrono::milliseconds visibility_timeout = std::chrono::seconds(60);
  CorruptJobReport on_corrupt;
};

// "redis://..." or "redis+unix://..." (core/redis_url.hpp), else a
// directory. Throw std::system_error or std::invalid_argument naming it.
// timeout: for one call to Redis (connecting, or waiting for a reply).
std::unique_ptr<JobQueue> open_queue(const std::string& where,
                                     std::chrono::milliseconds visibility_timeout = std::chrono::seconds(60),
                                     std::chrono::milliseconds timeout = std::chrono::seconds(2));
std::unique_ptr<JobConsumer> open_consumer(const std::string& where, const ConsumerOptions& options);

}  // namespace suz
