#include "spooler/group_sync.hpp"

#include <iterator>

namespace suz {

int GroupSync::wait(int fd) {
  std::unique_lock<std::mutex> lock(mutex_);
  const std::uint64_t ticket = ++requested_;
  while (synced_ < ticket) {
    if (running_) {
      done_cv_.wait(lock);
      continue;
    }
    // Lead: one sync covers every ticket handed out so far.
    running_ = true;
    const std::uint64_t first = synced_ + 1, last = requested_;
    lock.unlock();
    int error = sync_(fd, last - first + 1);
    lock.lock();
    running_ = false;
    synced_ = last;
    if (error) failures_.push_back({first, last, error, last - first + 1});
    done_cv_.notify_all();
  }
  for (auto it = failures_.begin(); it != failures_.end(); ++it) {
    if (ticket < it->first || ticket > it->last) continue;
    int error = it->error;
    if (--it->unread == 0) failures_.erase(it);
    return error;
  }
  return 0;
}

}  // namespace suz
