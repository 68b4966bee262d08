#include "spooler/free_files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <random>

#include "core/clock.hpp"
#include "spooler/job_files.hpp"

namespace fs = std::filesystem;

namespace suz {

namespace {

// Random slots tried before giving up: with the pool half full, 4 tries
// find one 15 times in 16.
constexpr int kProbes = 4;
// How long takes skip a pool found empty rather than read free/ again.
constexpr std::int64_t kEmptyBackoffNs = 5'000'000;
// How long puts skip a pool found full.
constexpr std::int64_t kFullBackoffNs = 100'000'000;

// This thread's generator, reseeded in a forked child (workers forked from
// one master would otherwise all pick alike).
std::minstd_rand& thread_rng() {
  thread_local std::minstd_rand rng;
  thread_local pid_t seeded_in = 0;
  if (seeded_in != ::getpid()) {
    seeded_in = ::getpid();
    rng.seed(std::random_device{}() ^ static_cast<unsigned>(seeded_in));
  }
  return rng;
}

std::string random_slot() {
  char name[16];
  std::snprintf(name, sizeof name, "slot-%04u", static_cast<unsigned>(thread_rng()() % kFreeSlots));
  return name;
}

}  // namespace

FreeFiles::FreeFiles(const fs::path& dir) : dir_(job_files::open_dir(dir)) {}

bool FreeFiles::put(const fs::path& file) {
  if (monotonic_ns() < full_until_ns_.load(std::memory_order_relaxed)) return false;
  for (int i = 0; i < kProbes; ++i) {
    std::string slot = random_slot();
    if (::renameat2(AT_FDCWD, file.c_str(), dir_.get(), slot.c_str(), RENAME_NOREPLACE) == 0) {
      // This process's own pushes may take it without reading free/.
      std::lock_guard<std::mutex> lock(mutex_);
      if (seen_.size() < kFreeSlots) seen_.push_back(std::move(slot));  // bounded in a process that never takes
      empty_until_ns_ = 0;
      return true;
    }
    if (errno != EEXIST) return false;
  }
  // Nearly full: more jobs are finishing than being pushed (a backlog
  // draining), and each further try would cost a few failed renames.
  full_until_ns_.store(monotonic_ns() + kFullBackoffNs, std::memory_order_relaxed);
  return false;
}

bool FreeFiles::take(const fs::path& to) {
  for (int tries = 0; tries < 2 * kProbes; ++tries) {
    std::string slot;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (seen_.empty() && !read_pool()) return false;
      slot = std::move(seen_.back());
      seen_.pop_back();
    }
    if (::renameat(dir_.get(), slot.c_str(), AT_FDCWD, to.c_str()) == 0) return true;
    if (errno != ENOENT) return false;  // another taker won it when ENOENT
  }
  return false;
}

// Called with mutex_ held.
bool FreeFiles::read_pool() {
  if (monotonic_ns() < empty_until_ns_) return false;
  // A fresh descriptor each time: a directory stream reads from its offset.
  Fd fd(::openat(dir_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  DIR* d = fd ? ::fdopendir(fd.release()) : nullptr;
  if (d) {
    while (dirent* e = ::readdir(d))
      if (std::string_view(e->d_name).starts_with("slot-")) seen_.emplace_back(e->d_name);
    ::closedir(d);
  }
  std::shuffle(seen_.begin(), seen_.end(), thread_rng());
  if (seen_.empty()) empty_until_ns_ = monotonic_ns() + kEmptyBackoffNs;
  return !seen_.empty();
}

}  // namespace suz
