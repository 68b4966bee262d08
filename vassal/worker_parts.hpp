#pragma once
// The worker's per-connection and per-loop watchers, shared by worker.cpp
// (accepting, timeouts, stopping) and worker_handoff.cpp (how a request
// leaves the I/O thread). Private to the worker.
#include <ev++.h>

#include <list>
#include <memory>
#include <optional>
#include <vector>

#include "vassal/worker.hpp"

namespace suz {

struct Worker::Client {
  Client(Worker* w, struct ev_loop* loop) : worker(w), io(loop), timer(loop) {
    io.set<Client, &Client::on_io>(this);
    timer.set<Client, &Client::on_timer>(this);
  }
  void on_io(ev::io&, int revents) {
    if (revents & ev::WRITE) worker->on_writable(this);
    else worker->on_readable(this);
  }
  void on_timer() { worker->on_timeout(this); }

  Worker* worker;
  std::unique_ptr<Connection> conn;
  ev::io io;
  ev::timer timer;
  bool timing_head = false;  // the timer counts header_timeout, not keep-alive
  // In Worker::idle_ while parked between requests: reclaimable when full.
  std::optional<std::list<Client*>::iterator> idle_at;
};

// The worker's own loop's watchers (the master's, inherited in memory, are
// never touched here).
struct Worker::Watchers {
  struct Accept {
    Accept(Worker* w, const Listener& l, struct ev_loop* loop) : worker(w), listener(l), io(loop) {
      io.set<Accept, &Accept::on_ready>(this);
      io.set(l.fd.get(), ev::READ);
    }
    void on_ready() { worker->accept_from(listener); }
    Worker* worker;
    const Listener& listener;
    ev::io io;
  };
  explicit Watchers(struct ev_loop* loop)
      : signals(loop), returned(loop), graceful(loop), accept_pause(loop), heartbeat(loop), log_turn(loop),
        log_later(loop) {}
  std::vector<std::unique_ptr<Accept>> listeners;
  ev::io signals;
  ev::async returned;
  ev::timer graceful;
  ev::timer accept_pause;
  ev::timer heartbeat;
  ev::prepare log_turn;  // before the loop waits: the turn's request log lines
  ev::timer log_later;   // lines too few to write yet wait at most AccessLog::kMaxDelay
};

}  // namespace suz
