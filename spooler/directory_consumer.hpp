#pragma once
// A spooler process's side of a directory spool: its own claim area
// (Claimant), what is waiting without rescanning (PendingJobs, woken by
// inotify), and a FileDisposer so finished files are unlinked off the
// job's path.
#include "spooler/background_checkpoint.hpp"
#include "spooler/directory_queue.hpp"
#include "spooler/file_disposer.hpp"
#include "spooler/job_queue.hpp"
#include "spooler/pending_jobs.hpp"

namespace suz {

class DirectoryConsumer final : public JobConsumer {
 public:
  // Throws std::system_error naming the path.
  DirectoryConsumer(const std::filesystem::path& dir, const ConsumerOptions& options);

  int wake_fd() const override { return pending_.fd(); }
  void on_wake() override { pending_.on_readable(); }
  std::optional<ClaimedJob> claim(std::int64_t now_ms, std::optional<std::int64_t>* wake_at_ms) override;
  void done(const ClaimedJob& job) override {
    settled_ = true;
    queue_.done(job);
  }
  void retry(const ClaimedJob& job, std::int64_t at_ms, const std::string& error) override {
    settled_ = true;
    queue_.retry(job, at_ms, error);
  }
  void fail(const ClaimedJob& job, const std::string& error) override {
    settled_ = true;
    queue_.fail(job, error);
  }
  std::size_t waiting() const override { return pending_.size(); }
  // A sync once a second while jobs finish (off this thread), none while
  // idle. Throws what the last one failed with.
  void checkpoint() override;

 private:
  FileDisposer disposer_;  // outlives the queue that hands it files
  DirectoryQueue queue_;
  Claimant claimant_;
  PendingJobs pending_;
  int spread_;
  bool settled_ = false;  // a job finished since the last checkpoint
  BackgroundCheckpoint checkpoints_;  // goes first: it uses queue_
};

}  // namespace suz
