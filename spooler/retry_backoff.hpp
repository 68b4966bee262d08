#pragma once
// When to try an unreachable server again: 0.1 s after the first failure,
// doubling up to a ceiling; any success starts over.
#include <algorithm>
#include <chrono>

namespace suz {

class RetryBackoff {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RetryBackoff(std::chrono::milliseconds ceiling) : ceiling_(ceiling) {}

  void failed() {
    wait_ = wait_.count() == 0 ? std::chrono::milliseconds(100) : std::min(ceiling_, wait_ * 2);
    retry_at_ = Clock::now() + wait_;
  }
  void succeeded() {
    wait_ = std::chrono::milliseconds(0);
    retry_at_ = {};
  }
  // The pause the last failure set (zero after a success).
  std::chrono::milliseconds wait() const { return wait_; }
  // How long until the next try is due (zero: now).
  std::chrono::milliseconds remaining() const {
    return std::max(std::chrono::milliseconds(0),
                    std::chrono::duration_cast<std::chrono::milliseconds>(retry_at_ - Clock::now()));
  }

 private:
  std::chrono::milliseconds ceiling_;
  std::chrono::milliseconds wait_{0};
  Clock::time_point retry_at_{};
};

}  // namespace suz
