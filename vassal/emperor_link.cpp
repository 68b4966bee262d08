#include "vassal/emperor_link.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/emperor_channel.hpp"

namespace suz {

std::unique_ptr<EmperorLink> EmperorLink::from_environment(struct ev_loop* loop, StopRequested on_stop) {
  const char* fd_text = std::getenv(emperor_channel::kFdVariable);
  if (!fd_text) return nullptr;
  const char* heartbeat_text = std::getenv(emperor_channel::kHeartbeatVariable);
  int fd = std::atoi(fd_text);
  double heartbeat = heartbeat_text ? std::atof(heartbeat_text) : 5.0;
  // Meant for this process alone, not for what the app might start.
  ::unsetenv(emperor_channel::kFdVariable);
  ::unsetenv(emperor_channel::kHeartbeatVariable);
  if (fd < 3) return nullptr;
  Fd owned(fd);
  owned.set_cloexec(true);
  owned.set_nonblocking(true);
  return std::unique_ptr<EmperorLink>(new EmperorLink(loop, std::move(owned), heartbeat > 0 ? heartbeat : 5.0,
                                                      std::move(on_stop)));
}

EmperorLink::EmperorLink(struct ev_loop* loop, Fd fd, double heartbeat_seconds, StopRequested on_stop)
    : fd_(std::move(fd)), on_stop_(std::move(on_stop)), io_(loop), heartbeat_(loop) {
  io_.set<EmperorLink, &EmperorLink::on_readable>(this);
  io_.start(fd_.get(), ev::READ);
  heartbeat_.set<EmperorLink, &EmperorLink::on_heartbeat>(this);
  heartbeat_.start(heartbeat_seconds, heartbeat_seconds);
}

void EmperorLink::send(std::string_view message) {
  if (!fd_) return;
  // A full channel (an emperor not reading) drops a message rather than
  // blocking the master's loop; the next heartbeat says the same.
  if (::send(fd_.get(), message.data(), message.size(), MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EAGAIN)
    spdlog::debug("emperor channel: {}", std::strerror(errno));
}

void EmperorLink::on_readable() {
  char buf[64];
  ssize_t n = ::recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    spdlog::warn("the emperor is gone: stopping");
    io_.stop();
    heartbeat_.stop();
    fd_.reset();
    on_stop_(false);
    return;
  }
  std::string message(buf, static_cast<std::size_t>(n));
  if (message == emperor_channel::kStop) on_stop_(true);
  else if (message == emperor_channel::kQuickStop) on_stop_(false);
  else spdlog::warn("emperor channel: unknown message \"{}\"", message);
}

void EmperorLink::on_heartbeat() { send(emperor_channel::kHeartbeat); }

}  // namespace suz
