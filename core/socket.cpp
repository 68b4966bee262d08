#include "core/socket.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace suz {
namespace {

[[noreturn]] void fail(int err, const std::string& what, const ListenAddress& a) {
  throw std::system_error(err, std::generic_category(), what + " " + a.str());
}

sockaddr_un unix_address(const ListenAddress& a) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (a.path.size() >= sizeof sa.sun_path) fail(ENAMETOOLONG, "unix socket path too long:", a);
  std::memcpy(sa.sun_path, a.path.c_str(), a.path.size() + 1);
  return sa;
}

struct AddrInfo {
  addrinfo* head = nullptr;
  ~AddrInfo() { if (head) freeaddrinfo(head); }
};

AddrInfo resolve(const ListenAddress& a, bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = passive ? AI_PASSIVE : 0;
  AddrInfo result;
  std::string port = std::to_string(a.port);
  int rc = getaddrinfo(a.host.empty() ? nullptr : a.host.c_str(), port.c_str(), &hints, &result.head);
  if (rc != 0)
    throw std::runtime_error("cannot resolve " + a.str() + ": " + gai_strerror(rc));
  return result;
}

// A stale socket file refuses connections; a live one accepts them.
bool unix_socket_is_live(const sockaddr_un& sa) {
  Fd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  return probe && ::connect(probe.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0;
}

Fd listen_unix(const ListenAddress& a, int backlog) {
  sockaddr_un sa = unix_address(a);
  struct stat st {};
  if (::lstat(a.path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) fail(EEXIST, "not a socket, refusing to replace:", a);
    if (unix_socket_is_live(sa)) fail(EADDRINUSE, "another process listens on", a);
    ::unlink(a.path.c_str());
  }
  Fd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) fail(errno, "socket", a);
  if (::bind(s.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) < 0) fail(errno, "bind", a);
  if (::listen(s.get(), backlog) < 0) fail(errno, "listen", a);
  return s;
}

Fd listen_tcp(const ListenAddress& a, int backlog) {
  AddrInfo ai = resolve(a, true);
  int last_errno = EADDRNOTAVAIL;
  for (addrinfo* p = ai.head; p; p = p->ai_next) {
    Fd s(::socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC, p->ai_protocol));
    if (!s) {
      last_errno = errno;
      continue;
    }
    int one = 1;
    ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(s.get(), p->ai_addr, p->ai_addrlen) == 0 && ::listen(s.get(), backlog) == 0) return s;
    last_errno = errno;
  }
  fail(last_errno, "bind", a);
}

}  // namespace

Fd listen_on(const ListenAddress& a, int backlog) {
  return a.kind == ListenAddress::Kind::kUnix ? listen_unix(a, backlog) : listen_tcp(a, backlog);
}

Fd connect_to(const ListenAddress& a) {
  if (a.kind == ListenAddress::Kind::kUnix) {
    sockaddr_un sa = unix_address(a);
    Fd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s) fail(errno, "socket", a);
    if (::connect(s.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) < 0) fail(errno, "connect", a);
    return s;
  }
  AddrInfo ai = resolve(a, false);
  int last_errno = ECONNREFUSED;
  for (addrinfo* p = ai.head; p; p = p->ai_next) {
    Fd s(::socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC, p->ai_protocol));
    if (s && ::connect(s.get(), p->ai_addr, p->ai_addrlen) == 0) return s;
    last_errno = errno;
  }
  fail(last_errno, "connect", a);
}

ListenAddress local_address(const Fd& socket) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(socket.get(), reinterpret_cast<sockaddr*>(&ss), &len) < 0)
    throw std::system_error(errno, std::generic_category(), "getsockname");
  return address_of(ss);
}

ListenAddress address_of(const sockaddr_storage& ss) {
  ListenAddress a;
  char host[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_UNIX) {
    a.kind = ListenAddress::Kind::kUnix;
    a.path = reinterpret_cast<const sockaddr_un*>(&ss)->sun_path;
  } else if (ss.ss_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    a.host = host;
    a.port = ntohs(in->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    a.host = host;
    a.port = ntohs(in6->sin6_port);
  }
  return a;
}

std::pair<Fd, Fd> make_socketpair(int type) {
  int fds[2];
  if (::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, fds) < 0)
    throw std::system_error(errno, std::generic_category(), "socketpair");
  return {Fd(fds[0]), Fd(fds[1])};
}

}  // namespace suz

namespace suz {

Fd listen_on_private(const ListenAddress& address, int backlog) {
  if (address.kind != ListenAddress::Kind::kUnix) return listen_on(address, backlog);
  struct RestoreUmask {
    mode_t old;
    ~RestoreUmask() { ::umask(old); }
  } restore{::umask(0177)};
  return listen_on(address, backlog);
}

}  // namespace suz
