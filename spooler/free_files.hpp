#pragma once
// free/: finished job files kept for the next pushes to write over, instead
// of unlinking one inode per finished job and allocating one per push.
//
// Why: a spool turns inodes over at thousands a second, and making an inode
// is the dearest part of a push. ext4 without a journal (this machine's
// root filesystem) will not hand out an inode freed in the last minute or
// more, and each allocation walks past every such inode in its group:
// measured, 40% of a vassal's CPU time while enqueueing under load went to
// that walk, and another 20% to threads spinning on tmp/'s lock behind it.
// A journalled filesystem still pays for the inode's bitmap, table and
// journal blocks. PostgreSQL recycles its WAL segments for the same reason.
//
// The pool is bounded by construction: free/ holds at most kFreeSlots files,
// named by slot. A finished file goes into a random empty slot (a rename
// that never replaces), or the usual way out when a few tries find none. A
// pusher takes a file by renaming it to its own name, which exactly one
// taker wins; which slots are full it learns by reading free/ once for
// many takes (in its own shuffled order, so processes seldom race for the
// same slot). Several processes share the pool with no lock.
//
// A recycled file is written over in place, so after a crash of the machine
// its dirent may show older bytes (of the job it held before): every job file
// names its job inside (spooler/job.hpp), and a replay compares a queued
// file with its journal record byte for byte (spooler/journal_replay.cpp).
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "core/fd.hpp"

namespace suz {

constexpr unsigned kFreeSlots = 1024;

class FreeFiles {
 public:
  // dir: the spool's free/ (which must exist). Throws std::system_error.
  explicit FreeFiles(const std::filesystem::path& dir);

  // Moves file into the pool; false (file untouched) when the slots tried
  // were taken or the rename failed.
  bool put(const std::filesystem::path& file);
  // Moves a file of the pool to `to` (which must not exist); false when the
  // slots tried were empty. Thread-safe, like put().
  bool take(const std::filesystem::path& to);

 private:
  bool read_pool();
  Fd dir_;
  // Slots seen full at the last reading of free/, not yet tried.
  std::mutex mutex_;
  std::vector<std::string> seen_;
  // After a reading found the pool empty, takes skip it for a while.
  std::int64_t empty_until_ns_ = 0;
  // After the slots tried were all full, puts skip it for a while.
  std::atomic<std::int64_t> full_until_ns_{0};
};

}  // namespace suz
