#pragma once
// Removes finished job files on a few threads of its own. Unlinking a small
// file whose blocks reached the disk waits on the filesystem (about 0.2 ms
// on this machine's ext4, against 0.01 ms for one still in the page cache),
// which capped a spooler at ~4,000 jobs/s; those waits overlap when several
// threads unlink at once (4 threads: ~23,000/s measured), and the job loop
// no longer waits at all.
//
// The files handed over are already out of every job area (in trash/), so a
// crash before they go can only leave garbage behind, never a job to run
// twice; DirectoryQueue::recover_abandoned() clears what is left.
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

namespace suz {

class FileDisposer {
 public:
  explicit FileDisposer(int threads = 4);
  // Removes what is still queued, then joins the threads.
  ~FileDisposer();
  FileDisposer(const FileDisposer&) = delete;
  FileDisposer& operator=(const FileDisposer&) = delete;

  // Queues path for unlinking; never blocks on the filesystem.
  void dispose(std::filesystem::path path);

 private:
  void run();
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::filesystem::path> pending_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace suz
