#pragma once
// Sockets as owned fds. All are created SOCK_CLOEXEC; listeners are bound by
// the master before it forks so every worker accepts on the same socket.
#include <sys/socket.h>

#include <string>
#include <utility>

#include "core/fd.hpp"
#include "core/listen_address.hpp"

namespace suz {

// Binds and listens. A unix socket path left behind by a dead process is
// replaced; one that a live process still accepts on is an error (EADDRINUSE).
// Throws std::system_error naming the address.
Fd listen_on(const ListenAddress& address, int backlog = 1024);

// The same, but a unix socket is created 0600 (no moment where others may
// connect): for sockets that reveal or control things (stats, status).
// Changes the process-wide umask for the bind: call it while the process
// has a single thread.
Fd listen_on_private(const ListenAddress& address, int backlog);

// Connects (blocking). Throws std::system_error naming the address.
Fd connect_to(const ListenAddress& address);

// The address a socket is bound to (to learn the port after binding port 0).
ListenAddress local_address(const Fd& socket);

// A socket address as text: "10.0.0.1" and port 80, "::1", or unix:PATH.
ListenAddress address_of(const sockaddr_storage& address);

// socketpair(AF_UNIX, type | SOCK_CLOEXEC).
std::pair<Fd, Fd> make_socketpair(int type);

}  // namespace suz
