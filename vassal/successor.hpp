#pragma once
// A standalone master's reload on HUP: a new master of the same vassal,
// started on the same sockets with the file as it is now, so that new code
// and config are loaded as the emperor's touch loads them. It takes over
// once every one of its workers serves; the old master then drains and
// exits. One that fails (exits, or is not serving within ready_timeout) is
// killed, and the old master serves on. The contract between the two:
// core/successor_channel.hpp.
#include <ev++.h>
#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>

#include "core/fd.hpp"
#include "core/master_launch.hpp"
#include "core/units.hpp"

namespace suz {

class Successor {
 public:
  struct Outcome {
    std::function<void()> serving;
    std::function<void(const std::string& why)> failed;  // the successor is being killed, or is gone
  };
  // Throws std::runtime_error when it cannot be started.
  Successor(struct ev_loop* loop, const LaunchSpec& spec, Duration ready_timeout, Outcome outcome);
  Successor(const Successor&) = delete;
  Successor& operator=(const Successor&) = delete;

  pid_t pid() const { return pid_; }
  bool serving() const { return serving_; }
  // The master reaped it.
  void exited(int status);

 private:
  void on_message();
  void on_timeout();

  pid_t pid_ = 0;
  Fd channel_;
  Outcome outcome_;
  Duration ready_timeout_;
  bool serving_ = false;
  bool failed_ = false;
  ev::io io_;
  ev::timer timer_;
};

// In the new master: its predecessor's channel, taken from the environment
// (an empty Fd when this master is not a successor).
Fd take_predecessor_channel();
// Tells the predecessor that every worker serves, and closes the channel.
void tell_predecessor_serving(Fd& channel);

}  // namespace suz
