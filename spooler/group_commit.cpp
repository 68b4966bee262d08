#include "spooler/group_commit.hpp"

namespace suz {

void GroupCommit::commit(Entry& e) {
  std::unique_lock<std::mutex> lock(mutex_);
  e.done = false;
  queued_.push_back(&e);
  while (!e.done) {
    if (running_) {
      done_cv_.wait(lock);
      continue;
    }
    running_ = true;
    std::vector<Entry*> batch;
    batch.swap(queued_);
    lock.unlock();
    publish_(batch);
    lock.lock();
    for (Entry* x : batch) x->done = true;
    running_ = false;
    done_cv_.notify_all();
  }
}

}  // namespace suz
