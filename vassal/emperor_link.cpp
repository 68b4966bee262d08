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
    : loop_(loop), fd_(std::move(fd)), on_stop_(std::move(on_stop)) {
  ev_io_init(&io_, on_readable, fd_.get(), EV_READ);
  io_.data = this;
  ev_io_start(loop_, &io_);
  ev_timer_init(&heartbeat_, on_heartbeat, heartbeat_seconds, heartbeat_seconds);
  heartbeat_.data = this;
  ev_timer_start(loop_, &heartbeat_);
}

EmperorLink::~EmperorLink() {
  ev_io_stop(loop_, &io_);
  ev_timer_stop(loop_, &heartbeat_);
}

void EmperorLink::send(std::string_view message) {
  if (!fd_) return;
  // A full channel (an emperor not reading) drops a message rather than
  // blocking the master's loop; the next heartbeat says the same.
  if (::send(fd_.get(), message.data(), message.size(), MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EAGAIN)
    spdlog::debug("emperor channel: {}", std::strerror(errno));
}

void EmperorLink::on_readable(struct ev_loop*, ev_io* w, int) {
  auto* self = static_cast<EmperorLink*>(w->data);
  char buf[64];
  ssize_t n = ::recv(self->fd_.get(), buf, sizeof buf, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    spdlog::warn("the emperor is gone: stopping");
    ev_io_stop(self->loop_, &self->io_);
    ev_timer_stop(self->loop_, &self->heartbeat_);
    self->fd_.reset();
    self->on_stop_(false);
    return;
  }
  std::string message(buf, static_cast<std::size_t>(n));
  if (message == emperor_channel::kStop) self->on_stop_(true);
  else if (message == emperor_channel::kQuickStop) self->on_stop_(false);
  else spdlog::warn("emperor channel: unknown message \"{}\"", message);
}

void EmperorLink::on_heartbeat(struct ev_loop*, ev_timer* w, int) { static_cast<EmperorLink*>(w->data)->send(emperor_channel::kHeartbeat); }

}  // namespace suz
