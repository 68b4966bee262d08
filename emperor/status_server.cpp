#include "emperor/status_server.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "core/socket.hpp"

namespace suz {

StatusServer::StatusServer(struct ev_loop* loop, std::filesystem::path path, Render render)
    : loop_(loop), path_(std::move(path)), render_(std::move(render)) {
  ListenAddress address{ListenAddress::Kind::kUnix, "", 0, path_.string()};
  listener_ = listen_on_private(address, 16);  // the emperor is single-threaded
  listener_.set_nonblocking(true);
  ev_io_init(&io_, on_accept, listener_.get(), EV_READ);
  io_.data = this;
  ev_io_start(loop_, &io_);
}

StatusServer::~StatusServer() {
  ev_io_stop(loop_, &io_);
  if (listener_) ::unlink(path_.c_str());
}

void StatusServer::on_accept(struct ev_loop*, ev_io* w, int) {
  auto* self = static_cast<StatusServer*>(w->data);
  for (;;) {
    Fd client(::accept4(self->listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!client) return;
    std::string doc = self->render_();
    // One document, written at once: it fits a unix socket's buffer (some
    // 200 bytes a vassal); a client that does not read is not waited for.
    ssize_t n = ::send(client.get(), doc.data(), doc.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n != static_cast<ssize_t>(doc.size()))
      spdlog::warn("status: wrote {} of {} bytes to a client", n < 0 ? 0 : n, doc.size());
  }
}

std::string fetch_status(const std::filesystem::path& path) {
  Fd s;
  try {
    s = connect_to(ListenAddress{ListenAddress::Kind::kUnix, "", 0, path.string()});
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string(e.what()) + " (is an emperor running on that directory?)");
  }
  std::string doc;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(s.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error("reading " + path.string() + ": " + std::strerror(errno));
    if (n == 0) break;
    doc.append(buf, static_cast<std::size_t>(n));
  }
  return doc;
}

}  // namespace suz
