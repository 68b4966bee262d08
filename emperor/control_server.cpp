#include "emperor/control_server.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "core/log.hpp"
#include "core/socket.hpp"

namespace suz {

struct ControlServer::Client {
  Client(ControlServer* s, std::uint64_t i, Fd f) : server(s), id(i), fd(std::move(f)), io(s->loop_), timer(s->loop_) {
    io.set<Client, &Client::on_io>(this);
    io.start(fd.get(), ev::READ);
    timer.set<Client, &Client::on_timeout>(this);
    timer.start(control::kRequestTimeout, 0.);
  }
  void on_io() { server->on_readable(*this); }
  void on_timeout() { server->answer(id, control::error_reply("no request line within the timeout")); }

  ControlServer* server;
  std::uint64_t id;
  Fd fd;
  ev::io io;
  ev::timer timer;
  std::string line;
};

ControlServer::ControlServer(struct ev_loop* loop, std::filesystem::path path, Handler handler)
    : loop_(loop), path_(std::move(path)), handler_(std::move(handler)), io_(loop),
      alive_(std::make_shared<ControlServer*>(this)) {
  ListenAddress address{ListenAddress::Kind::kUnix, "", 0, path_.string()};
  listener_ = listen_on_private(address, 16);  // the emperor is single-threaded
  listener_.set_nonblocking(true);
  io_.set<ControlServer, &ControlServer::on_accept>(this);
  io_.start(listener_.get(), ev::READ);
}

ControlServer::~ControlServer() {
  alive_.reset();
  if (listener_) ::unlink(path_.c_str());
}

void ControlServer::on_accept() {
  for (;;) {
    Fd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!fd) return;
    std::uint64_t id = next_id_++;
    clients_.emplace(id, std::make_unique<Client>(this, id, std::move(fd)));
  }
}

void ControlServer::on_readable(Client& c) {
  char buf[control::kMaxRequestLine];
  ssize_t n = ::recv(c.fd.get(), buf, sizeof buf, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  bool ended = n <= 0;  // the client's shutdown(SHUT_WR), or a reset
  if (n > 0) c.line.append(buf, static_cast<std::size_t>(n));
  std::size_t eol = c.line.find('\n');
  if (eol == std::string::npos && !ended) {
    if (c.line.size() >= control::kMaxRequestLine) answer(c.id, control::error_reply("request line too long"));
    return;
  }
  c.io.stop();
  c.timer.stop();
  control::ParseResult parsed = control::parse_request(std::string_view(c.line).substr(0, eol));
  if (!parsed.request) {
    answer(c.id, control::error_reply(parsed.error));
    return;
  }
  if (parsed.request->verb != control::Verb::kStatus)
    spdlog::info("control: {} {}", control::verb_name(parsed.request->verb), escaped(parsed.request->name));
  std::weak_ptr<ControlServer*> alive = alive_;
  std::uint64_t id = c.id;
  handler_(*parsed.request, [alive, id](const std::string& text) {
    if (auto server = alive.lock()) (*server)->answer(id, text);
  });
}

void ControlServer::answer(std::uint64_t id, const std::string& text) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  // One document, written at once: it fits a unix socket's buffer (some 200
  // bytes a vassal); a client that does not read is not waited for.
  ssize_t n = ::send(it->second->fd.get(), text.data(), text.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n != static_cast<ssize_t>(text.size()))
    spdlog::warn("control: wrote {} of {} bytes to a client", n < 0 ? 0 : n, text.size());
  clients_.erase(it);
}

std::string ask_emperor(const std::filesystem::path& path, const control::Request& request) {
  Fd s;
  try {
    s = connect_to(ListenAddress{ListenAddress::Kind::kUnix, "", 0, path.string()});
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string(e.what()) + " (is an emperor running on that directory?)");
  }
  std::string line = control::request_line(request);
  if (::send(s.get(), line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size()))
    throw std::runtime_error("writing to " + path.string() + ": " + std::strerror(errno));
  ::shutdown(s.get(), SHUT_WR);
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
