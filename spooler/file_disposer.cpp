#include "spooler/file_disposer.hpp"

#include <signal.h>
#include <unistd.h>

namespace suz {

FileDisposer::FileDisposer(int threads) {
  // The process's signals stay with its main thread (its signalfd, or the
  // default action for a quick stop): these threads block them all.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

FileDisposer::~FileDisposer() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void FileDisposer::dispose(std::filesystem::path path) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    pending_.push_back(std::move(path));
  }
  wake_.notify_one();
}

void FileDisposer::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
    if (pending_.empty()) return;  // stopping, and nothing left
    std::filesystem::path path = std::move(pending_.front());
    pending_.pop_front();
    lock.unlock();
    ::unlink(path.c_str());  // ENOENT: a cleanup got there first
    lock.lock();
  }
}

}  // namespace suz
