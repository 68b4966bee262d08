#include "spooler/background_checkpoint.hpp"

#include <signal.h>

#include <exception>
#include <utility>

namespace suz {

BackgroundCheckpoint::BackgroundCheckpoint(std::function<void()> checkpoint) : checkpoint_(std::move(checkpoint)) {
  // The process's signals stay with its main thread.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  thread_ = std::thread([this] { run(); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

BackgroundCheckpoint::~BackgroundCheckpoint() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void BackgroundCheckpoint::request() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    requested_ = true;
  }
  wake_.notify_one();
}

std::optional<std::string> BackgroundCheckpoint::take_error() {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::exchange(error_, std::nullopt);
}

void BackgroundCheckpoint::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return requested_ || stopping_; });
    if (!requested_) return;  // stopping, nothing asked
    requested_ = false;
    lock.unlock();
    std::optional<std::string> error;
    try {
      checkpoint_();
    } catch (const std::exception& e) {
      error = e.what();
    }
    lock.lock();
    if (error) error_ = std::move(error);
  }
}

}  // namespace suz
