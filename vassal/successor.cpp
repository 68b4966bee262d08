#include "vassal/successor.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "core/exit_code.hpp"
#include "core/successor_channel.hpp"

namespace suz {

Successor::Successor(struct ev_loop* loop, const LaunchSpec& spec, Duration ready_timeout, Outcome outcome)
    : outcome_(std::move(outcome)), ready_timeout_(ready_timeout), io_(loop), timer_(loop) {
  Launched launched = launch_master(spec);
  pid_ = launched.pid;
  channel_ = std::move(launched.channel);
  io_.set<Successor, &Successor::on_message>(this);
  io_.start(channel_.get(), ev::READ);
  timer_.set<Successor, &Successor::on_timeout>(this);
  timer_.start(to_seconds(ready_timeout), 0.);
}

void Successor::on_message() {
  char buf[64];
  ssize_t n = ::recv(channel_.get(), buf, sizeof buf, MSG_DONTWAIT);
  if (n < 0) return;
  if (n == 0) {  // exiting: its reaping follows, and says how
    io_.stop();
    return;
  }
  if (std::string_view(buf, static_cast<std::size_t>(n)) != successor_channel::kReady || serving_ || failed_) return;
  serving_ = true;
  timer_.stop();
  io_.stop();
  outcome_.serving();
}

void Successor::on_timeout() {
  if (serving_ || failed_) return;
  failed_ = true;
  io_.stop();
  ::kill(pid_, SIGKILL);  // its workers die with it (PR_SET_PDEATHSIG)
  outcome_.failed("not serving within ready_timeout (" + format_duration(ready_timeout_) + "): killed");
}

void Successor::exited(int status) {
  timer_.stop();
  io_.stop();
  if (serving_ || failed_) return;
  failed_ = true;
  outcome_.failed(describe_wait_status(status) + " before serving");
}

Fd take_predecessor_channel() {
  const char* value = std::getenv(successor_channel::kFdVariable);
  if (!value) return Fd();
  std::string_view text(value);
  int fd = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), fd);
  ::unsetenv(successor_channel::kFdVariable);  // not for the app's own subprocesses
  if (ec != std::errc() || end != text.data() + text.size() || fd < 3) return Fd();
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  return Fd(fd);
}

void tell_predecessor_serving(Fd& channel) {
  if (!channel) return;
  ::send(channel.get(), successor_channel::kReady.data(), successor_channel::kReady.size(), MSG_NOSIGNAL);
  channel.reset();
}

}  // namespace suz
