#pragma once
// The spool on a directory, Maildir-style, shared safely by any number of
// processes (spoolers, vassals, the `spooler` command) on one filesystem:
//
//   tmp/            jobs being written (invisible to everyone)
//   queue/          jobs waiting; a job arrives by rename, whole or not at all
//   claimed/OWNER/  jobs a spooler runs; claiming is a rename out of queue/,
//                   which exactly one claimer wins
//   failed/         jobs past max_attempts, each with NAME.error beside it
//   corrupt/        files that were not jobs, moved aside with NAME.error
//
// A job's file name carries its priority, not-before time, id and attempt
// (spooler/job.hpp), so choosing the next job opens no file. push() is
// durable: the file is fsynced before the rename and the queue directory
// after it. The other moves are not fsynced: losing one to a crash can only
// make a job run again (at-least-once), never vanish.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "spooler/job.hpp"

namespace suz {

struct JobSpec {
  std::map<std::string, std::string> args;
  std::string body;
  std::optional<std::int64_t> at_ms;  // not before; default now
  int priority = 0;
};

struct ClaimedJob {
  Job job;
  std::filesystem::path path;  // under claimed/OWNER/
};

enum class JobState { kQueued, kClaimed, kFailed };

struct JobEntry {
  JobName name;
  JobState state;
  std::string owner;  // kClaimed: who runs it
  std::filesystem::path path;
};

class DirectoryQueue {
 public:
  // Creates the layout if missing. Throws std::system_error naming the path.
  explicit DirectoryQueue(std::filesystem::path dir);

  const std::filesystem::path& dir() const { return dir_; }

  // Durably enqueues; returns the job's id. Throws std::system_error.
  std::string push(const JobSpec& spec);

  // The next due job (highest priority, then earliest), claimed for owner;
  // nullopt when none is due. Files that are not jobs go to corrupt/ (and
  // are reported through on_corrupt) and the scan goes on.
  std::optional<ClaimedJob> claim(const std::string& owner, std::int64_t now_ms = wall_clock_ms());
  // When the earliest job not yet due becomes due (to sleep until then).
  std::optional<std::int64_t> next_due_ms(std::int64_t now_ms = wall_clock_ms()) const;

  void done(const ClaimedJob& job);
  // Back to the queue, attempt + 1, not before at_ms, with why it failed.
  void retry(const ClaimedJob& job, std::int64_t at_ms, const std::string& error);
  // To failed/, with the error (a traceback) beside it.
  void fail(const ClaimedJob& job, const std::string& error);
  // Every job claimed by owner back to the queue (its process died); how many.
  std::size_t recover(const std::string& owner);

  // Inspection and repair, for the command line.
  std::vector<JobEntry> list(JobState state) const;
  std::optional<JobEntry> find(const std::string& id) const;
  Result<Job> read(const JobEntry& entry) const;
  bool remove(const std::string& id);
  bool requeue_failed(const std::string& id);  // attempts reset

  std::function<void(const std::filesystem::path&, const std::string&)> on_corrupt;

 private:
  void quarantine(const std::filesystem::path& file, const std::string& why);
  std::filesystem::path dir_;
};

}  // namespace suz
