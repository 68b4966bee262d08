#pragma once
// The vassal master's end of the channel to its emperor (the messages and
// variables: core/emperor_channel.hpp). The end of the channel means the
// emperor is gone: the vassal stops (its PR_SET_PDEATHSIG is the hard
// guarantee; this is the orderly one).
#include <ev++.h>

#include <functional>
#include <memory>
#include <string_view>

#include "core/fd.hpp"

namespace suz {

class EmperorLink {
 public:
  // graceful: true for kStop, false for kQuickStop or a vanished emperor.
  using StopRequested = std::function<void(bool graceful)>;

  // nullptr when this vassal was not started by an emperor.
  static std::unique_ptr<EmperorLink> from_environment(struct ev_loop* loop, StopRequested on_stop);
  ~EmperorLink() = default;
  EmperorLink(const EmperorLink&) = delete;
  EmperorLink& operator=(const EmperorLink&) = delete;

  void send(std::string_view message);
  // In a forked worker: close the channel without touching the master's loop.
  void close_in_child() noexcept { fd_.reset(); }

 private:
  EmperorLink(struct ev_loop* loop, Fd fd, double heartbeat_seconds, StopRequested on_stop);
  void on_readable();
  void on_heartbeat();

  Fd fd_;
  StopRequested on_stop_;
  ev::io io_;
  ev::timer heartbeat_;
};

}  // namespace suz
