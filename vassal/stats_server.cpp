#include "vassal/stats_server.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "core/socket.hpp"
#include "vassal/http_request_parser.hpp"

namespace suz {

namespace {

constexpr std::size_t kMaxClients = 32;
constexpr double kClientTimeout = 5.0;  // seconds for the request head and the answer

std::string response(int status, std::string_view reason, std::string_view type, const std::string& body,
                     bool head, std::string_view extra = {}) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
  out += "Content-Type: " + std::string(type) + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += "Cache-Control: no-store\r\nConnection: close\r\n";
  out += extra;
  out += "\r\n";
  if (!head) out += body;
  return out;
}

}  // namespace

struct StatsServer::Client {
  Client(StatsServer* s, Fd f) : server(s), fd(std::move(f)), io(s->loop_), timeout(s->loop_) {
    io.set<Client, &Client::on_io>(this);
    timeout.set<Client, &Client::on_timeout>(this);
  }
  void on_io(ev::io&, int events) {
    if (events & ev::READ) on_readable();
    else on_writable();
  }
  void on_timeout() { server->drop(this); }

  StatsServer* server;
  Fd fd;
  ev::io io;
  ev::timer timeout;
  HttpRequestParser parser{HttpLimits{.max_header_size = 8 * 1024, .max_body_size = 0}};
  std::string out;
  std::size_t written = 0;

  void answer();
  void on_readable();
  void on_writable();
};

void StatsServer::Client::answer() {
  io.stop();
  if (parser.error_status()) {
    out = response(parser.error_status(), "Bad Request", "text/plain", parser.error_reason() + "\n", false);
  } else {
    const Request& r = parser.request();
    bool head = r.method == "HEAD";
    if (r.method != "GET" && !head)
      out = response(405, "Method Not Allowed", "text/plain", "only GET and HEAD\n", false, "Allow: GET, HEAD\r\n");
    else if (r.path == "/")
      out = response(200, "OK", "application/json", stats_json(server->snapshot_()), head);
    else if (r.path == "/health") {
      Readiness ready = readiness(server->snapshot_());
      out = response(ready.status, ready.status == 200 ? "OK" : "Service Unavailable", "text/plain", ready.reason + "\n", head);
    } else if (r.path == "/metrics")
      out = response(200, "OK", "text/plain; version=0.0.4; charset=utf-8", stats_prometheus(server->snapshot_()),
                     head);
    else
      out = response(404, "Not Found", "text/plain", "try / (JSON), /metrics (Prometheus) or /health\n", head);
  }
  io.start(fd.get(), ev::WRITE);
  on_writable();
}

void StatsServer::Client::on_readable() {
  char buf[4096];
  ssize_t n = ::read(fd.get(), buf, sizeof buf);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {  // gone before asking anything
    server->drop(this);
    return;
  }
  HttpRequestParser::Stop stop = HttpRequestParser::Stop::kNeedMore;
  std::size_t used = 0;
  while (used < static_cast<std::size_t>(n)) {
    used += parser.feed(buf + used, static_cast<std::size_t>(n) - used, &stop);
    if (stop != HttpRequestParser::Stop::kNeedMore) break;
  }
  // The head is all we need; a body (there should be none) is ignored.
  if (stop != HttpRequestParser::Stop::kNeedMore) answer();
}

void StatsServer::Client::on_writable() {
  while (written < out.size()) {
    ssize_t n = ::send(fd.get(), out.data() + written, out.size() - written, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n < 0) break;
    written += static_cast<std::size_t>(n);
  }
  server->drop(this);
}

StatsServer::StatsServer(struct ev_loop* loop, const ListenAddress& address, std::optional<Fd> passed,
                         Snapshot snapshot)
    : loop_(loop), address_(address), accept_watcher_(loop), snapshot_(std::move(snapshot)) {
  if (passed) {
    listener_ = std::move(*passed);
    if (address.kind == ListenAddress::Kind::kTcp) address_ = local_address(listener_);
  } else {
    // Before any other thread exists (see the header): listen_on_private's umask.
    bound_here_ = address.kind == ListenAddress::Kind::kUnix;
    listener_ = listen_on_private(address, 64);
    if (address.kind == ListenAddress::Kind::kTcp) address_ = local_address(listener_);
  }
  listener_.set_nonblocking(true);
  accept_watcher_.set<StatsServer, &StatsServer::accept_clients>(this);
  accept_watcher_.start(listener_.get(), ev::READ);
}

StatsServer::~StatsServer() {
  accept_watcher_.stop();
  while (!clients_.empty()) drop(clients_.front().get());
  if (bound_here_ && address_.kind == ListenAddress::Kind::kUnix && listener_) ::unlink(address_.path.c_str());
}

void StatsServer::close_in_child() noexcept {
  for (auto& c : clients_) c->fd.reset();
  listener_.reset();
}

void StatsServer::accept_clients() {
  for (;;) {
    Fd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN) spdlog::warn("stats: accept on {}: {}", address_.str(), std::strerror(errno));
      return;
    }
    // Beyond a handful of concurrent clients, someone is misbehaving: the
    // master's loop has better things to do.
    if (clients_.size() >= kMaxClients) continue;
    auto c = std::make_unique<Client>(this, std::move(fd));
    c->io.start(c->fd.get(), ev::READ);
    c->timeout.start(kClientTimeout, 0.);
    clients_.push_back(std::move(c));
  }
}

void StatsServer::drop(Client* c) {
  clients_.remove_if([c](const std::unique_ptr<Client>& p) { return p.get() == c; });
}

}  // namespace suz
