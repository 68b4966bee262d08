#pragma once
// Group commit for pushes: threads that each need their job made durable
// and visible hand it to one leader, which does it for all of them at once.
// A flush costs about as much for sixteen jobs as for one (one fdatasync of
// the push journal, spooler/journal_segment.hpp), so the enqueues in flight
// together pay for one flush, not one each.
//
// The first caller to find no round running leads: it takes every entry
// queued so far, publishes them, and wakes their callers; those that arrive
// meanwhile form the next round. Thread-safe.
//
// Threads that push in a loop return from a round together and come back
// one by one (each needs the GIL to build its next job), so a leader that
// starts at once flushes a round of one while the rest queue behind it:
// rounds go 1, 3, 1, 3. Like PostgreSQL's commit_delay, a leader that knows
// more threads have been pushing lately waits for them a little (at most
// as long as its last round's flush took: measured a little faster than
// half of it with fdatasync rounds), so rounds hold everyone in flight. A lone
// pusher never waits.
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace suz {

class GroupCommit {
 public:
  struct Entry {
    struct Move {
      std::filesystem::path tmp;     // where a job file was written
      std::filesystem::path target;  // where it becomes visible
    };
    std::string record;             // the journal record's payload
    std::vector<Move> moves;        // its jobs' files
    int error = 0;                  // set by publish: 0 or an errno value
    bool done = false;
  };
  // Makes every entry's jobs durable; sets each entry's error. The moves
  // are its caller's to make once commit() returns.
  using Publish = std::function<void(std::vector<Entry*>& batch)>;

  explicit GroupCommit(Publish publish) : publish_(std::move(publish)) {}

  // Blocks until e is published, by this thread or by another; then
  // e.error says how it went.
  void commit(Entry& e);

  struct Stats {
    std::size_t rounds = 0;
    std::size_t entries = 0;
  };
  Stats stats() const;

 private:
  using Clock = std::chrono::steady_clock;
  // Threads that committed within the last few rounds: the round size a
  // leader may wait for. Called with mutex_ held.
  std::size_t recent_pushers(Clock::time_point now);
  void gather_stragglers(std::unique_lock<std::mutex>& lock);

  Publish publish_;
  mutable std::mutex mutex_;
  std::condition_variable done_cv_;
  std::condition_variable arrival_cv_;
  std::vector<Entry*> queued_;
  bool running_ = false;
  std::unordered_map<std::thread::id, Clock::time_point> last_push_;
  Clock::duration last_flush_{};
  Stats stats_;
};

}  // namespace suz
