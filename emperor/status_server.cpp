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
    : path_(std::move(path)), render_(std::move(render)), io_(loop) {
  ListenAddress address{ListenAddress::Kind::kUnix, "", 0, path_.string()};
  listener_ = listen_on_private(address, 16);  // the emperor is single-threaded
  listener_.set_nonblocking(true);
  io_.set<StatusServer, &StatusServer::on_accept>(this);
  io_.start(listener_.get(), ev::READ);
}

StatusServer::~StatusServer() {
  if (listener_) ::unlink(path_.c_str());
}

void StatusServer::on_accept() {
  for (;;) {
    Fd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!client) return;
    std::string doc = render_();
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
