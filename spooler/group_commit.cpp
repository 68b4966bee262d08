#include "spooler/group_commit.hpp"

namespace suz {

namespace {
// A thread that has not pushed for this long is not expected back soon.
constexpr auto kRecent = std::chrono::milliseconds(20);
// Never wait longer than this for stragglers, whatever the last flush took.
constexpr auto kMaxDelay = std::chrono::milliseconds(1);
}  // namespace

std::size_t GroupCommit::recent_pushers(Clock::time_point now) {
  std::size_t n = 0;
  for (auto it = last_push_.begin(); it != last_push_.end();) {
    if (now - it->second > kRecent) {
      it = last_push_.erase(it);
    } else {
      ++n;
      ++it;
    }
  }
  return n;
}

void GroupCommit::gather_stragglers(std::unique_lock<std::mutex>& lock) {
  auto now = Clock::now();
  std::size_t expected = recent_pushers(now);
  if (queued_.size() >= expected) return;
  auto delay = std::min<Clock::duration>(last_flush_, kMaxDelay);
  arrival_cv_.wait_until(lock, now + delay, [&] { return queued_.size() >= expected; });
}

void GroupCommit::commit(Entry& e) {
  std::unique_lock<std::mutex> lock(mutex_);
  e.done = false;
  queued_.push_back(&e);
  last_push_[std::this_thread::get_id()] = Clock::now();
  arrival_cv_.notify_one();
  while (!e.done) {
    if (running_) {
      done_cv_.wait(lock);
      continue;
    }
    running_ = true;
    gather_stragglers(lock);
    std::vector<Entry*> batch;
    batch.swap(queued_);
    lock.unlock();
    auto start = Clock::now();
    publish_(batch);
    auto took = Clock::now() - start;
    lock.lock();
    last_flush_ = took;
    stats_.rounds += 1;
    stats_.entries += batch.size();
    for (Entry* x : batch) x->done = true;
    running_ = false;
    done_cv_.notify_all();
  }
}

GroupCommit::Stats GroupCommit::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

}  // namespace suz
