#pragma once
// The master's stats endpoint ([stats] listen): a small HTTP/1.1 server on
// the master's own libev loop. Each connection gets one answer and is closed:
//   GET /          the snapshot as JSON
//   GET /metrics   the snapshot as Prometheus text
// A client has a few seconds for its request head; a slow or malformed one is
// dropped (or answered 400) without holding up the master's loop.
#include <ev++.h>

#include <functional>
#include <list>
#include <memory>
#include <optional>

#include "core/fd.hpp"
#include "core/listen_address.hpp"
#include "vassal/stats.hpp"

namespace suz {

class StatsServer {
 public:
  using Snapshot = std::function<VassalSnapshot()>;

  // Binds address (a unix socket is made 0600: the stats name every request
  // in flight; construct it before the app starts threads). Throws std::system_error naming the address.
  // passed: the socket, already bound (by the emperor); otherwise it is bound here.
  StatsServer(struct ev_loop* loop, const ListenAddress& address, std::optional<Fd> passed, Snapshot snapshot);
  ~StatsServer();
  StatsServer(const StatsServer&) = delete;
  StatsServer& operator=(const StatsServer&) = delete;

  const ListenAddress& address() const { return address_; }
  int listen_fd() const { return listener_.get(); }
  // A successor master has the socket now: this one stops answering, and
  // leaves a unix socket's path in place for it.
  void hand_over() {
    accept_watcher_.stop();
    bound_here_ = false;
  }

  // In a forked worker: close every socket of the server without touching
  // the master's loop, which the child never runs.
  void close_in_child() noexcept;

  struct Client;

 private:
  void accept_clients();
  void drop(Client* c);

  struct ev_loop* loop_;
  ListenAddress address_;
  Fd listener_;
  bool bound_here_ = false;  // a unix socket path this process created, and removes
  ev::io accept_watcher_;
  Snapshot snapshot_;
  std::list<std::unique_ptr<Client>> clients_;
};

}  // namespace suz
