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
//   trash/          finished jobs on their way out (with a FileDisposer)
//   free/           finished jobs' files kept for pushes to reuse, up to
//                   a bound (spooler/free_files.hpp)
//
// A job's file name carries its priority, not-before time, id and attempt
// (spooler/job.hpp), so choosing the next job opens no file.
//
//   journal/        push journals, one per pushing process at a time
//                   (spooler/journal_segment.hpp), and the checkpoint
//
// push() is durable with one small flush: the job is written to
// tmp/push.BOOT.NAME without a sync, its name and bytes are appended to the
// process's journal segment, which is fdatasynced (0.2 ms here, against
// 1.4 ms for syncing the filesystem), and only then is it renamed into
// queue/, where it is whole or absent. Pushes in flight together share the
// flush (spooler/group_commit.hpp). After a crash of the machine,
// recover_abandoned() puts back from the journals whatever did not reach
// the disk (spooler/journal_replay.hpp), and moves pushes left whole in
// tmp/ by an earlier boot into queue/ (BOOT is the boot's id, so it knows
// their writer is gone). The other moves are not synced: losing one to a
// crash can only make a job run again (at-least-once), never vanish.
//
// A live claimer holds an flock on its claimed/OWNER directory (Claimant), so
// any process can tell an abandoned claim area from a busy one and return
// its jobs to the queue.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/fd.hpp"
#include "spooler/file_disposer.hpp"
#include "spooler/job.hpp"
#include "spooler/job_queue.hpp"

namespace suz {

class DirectoryQueue;
class FreeFiles;

// A claim area held by one live process: claimed/OWNER/, created with its
// flock already held (it appears by rename from tmp/), released and removed
// when this goes (if empty; jobs left in it are recovered by others).
class Claimant {
 public:
  Claimant(DirectoryQueue& queue, std::string owner);  // throws std::system_error
  ~Claimant();
  Claimant(const Claimant&) = delete;
  Claimant& operator=(const Claimant&) = delete;

  const std::string& owner() const { return owner_; }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::string owner_;
  std::filesystem::path dir_;
  Fd lock_;
};

class DirectoryQueue final : public JobQueue {
 public:
  // Creates the layout if missing. Throws std::system_error naming the path.
  explicit DirectoryQueue(std::filesystem::path dir);
  ~DirectoryQueue();
  DirectoryQueue(DirectoryQueue&&) noexcept;
  DirectoryQueue& operator=(DirectoryQueue&&) noexcept;

  const std::filesystem::path& dir() const { return dir_; }
  std::string where() const override { return dir_.string(); }

  // Durably enqueues; returns the job's id. Thread-safe; blocks for a disk
  // flush shared with the pushes in flight. Throws std::system_error (ENOSPC,
  // EIO: nothing was made visible) or std::invalid_argument.
  std::string push(const JobSpec& spec) override;
  // Many jobs for the price of one flush; all visible once it returns.
  std::vector<std::string> push_all(const std::vector<JobSpec>& specs) override;

  // The names in queue/, in run order; files there that are not jobs go to
  // corrupt/ (reported through on_corrupt).
  std::vector<JobName> scan();
  // Claims the named job into claim_dir (a Claimant's dir, or claimed/X);
  // nullopt when another claimer won it or it was corrupt (quarantined).
  std::optional<ClaimedJob> try_claim(const std::filesystem::path& claim_dir, const JobName& name);
  // scan() then try_claim() the first due job, for owner (unlocked area).
  std::optional<ClaimedJob> claim(const std::string& owner, std::int64_t now_ms = wall_clock_ms());
  // Syncs the filesystem and says so in journal/checkpoint, so that the
  // jobs finished until now are not replayed after a crash (a spooler does
  // this about once a second while it finishes jobs). Throws
  // std::system_error.
  void checkpoint();
  // When the earliest job not yet due becomes due (to sleep until then).
  std::optional<std::int64_t> next_due_ms(std::int64_t now_ms = wall_clock_ms()) const;

  // Finished: the job file goes into free/ for a push to reuse, or when
  // that is full, away (through trash/ and the disposer, if one is set, so
  // the caller does not wait for the unlink).
  void done(const ClaimedJob& job);
  void set_disposer(FileDisposer* disposer) { disposer_ = disposer; }
  // Back to the queue, attempt + 1, not before at_ms, with why it failed.
  void retry(const ClaimedJob& job, std::int64_t at_ms, const std::string& error);
  // To failed/, with the error (a traceback) beside it.
  void fail(const ClaimedJob& job, const std::string& error);
  // Every job claimed by owner back to the queue, counted as an attempt
  // (the job may be what killed its claimer); to failed/ when that was the
  // last one, with `why` as its error.
  Recovered recover(const std::string& owner, const std::string& why, int max_attempts) override;
  // recover() for every claim area whose owner is gone (no flock held);
  // first, after a reboot, the pushes that did not reach the disk whole
  // back into queue/ (from journal/ and tmp/);
  // removes tmp/ files older than an hour (writers that died mid-push) and
  // trash/ files older than a minute (spoolers that died before removing
  // them).
  Recovered recover_abandoned(const std::string& why, int max_attempts) override;

  // Inspection and repair, for the command line.
  std::vector<JobEntry> list(JobState state) const override;
  std::optional<JobEntry> find(const std::string& id) const override;
  Result<Job> read(const JobEntry& entry) const override;
  bool remove(const std::string& id) override;
  bool requeue_failed(const std::string& id) override;  // attempts reset

  std::optional<std::string> failure(const JobEntry& entry) const override;

 private:
  friend class Claimant;
  void quarantine(const std::filesystem::path& file, const std::string& why);
  std::filesystem::path push_path(const std::string& name) const;  // tmp/push.BOOT.NAME
  // Creates path with bytes, reusing a file from free/ when there is one.
  void write_job_file(const std::filesystem::path& path, const std::string& bytes);
  std::size_t restore_pushes_from_before_a_reboot();
  void fail_file(const std::filesystem::path& file, const std::string& name, const std::string& error);
  std::filesystem::path dir_;
  FileDisposer* disposer_ = nullptr;
  struct Syncs;
  std::unique_ptr<Syncs> syncs_;
  std::unique_ptr<FreeFiles> free_;
};

}  // namespace suz
