// How a request whose head is ready leaves the worker's I/O thread: served
// inline (threads = 1), queued for the app threads, or handed to the ASGI
// event loop; and how its connection comes back.
#include <spdlog/spdlog.h>

#include "vassal/worker.hpp"
#include "vassal/worker_events.hpp"
#include "vassal/worker_parts.hpp"

namespace suz {

void Worker::count_request() {
  if (!options_.scoreboard) return;
  std::uint64_t served = options_.scoreboard->process(options_.record).requests.fetch_add(1, std::memory_order_relaxed) + 1;
  if (options_.max_requests && served == options_.max_requests) notify_master(options_.notify_fd, WorkerEvent::kRequestLimit);
}

bool Worker::serve_until_idle(Connection& conn, int thread) {
  ProcessRecord* record = options_.scoreboard ? &options_.scoreboard->process(options_.record) : nullptr;
  ThreadRecord* slot = record ? &options_.scoreboard->thread(options_.record, thread) : nullptr;
  for (;;) {
    if (slot) slot->begin(conn.request_line());  // what harakiri and the stats read
    bool keep = conn.serve(plugin_, thread, mounts_);
    if (slot) slot->end();
    count_request();
    // A response that promised keep-alive is kept to its word even if the
    // worker started stopping meanwhile: the client may be sending its next
    // request already, which then gets "Connection: close".
    if (!keep) return false;
    if (conn.draining()) return true;  // the I/O thread sends the rest first
    switch (conn.read_head(/*read_socket=*/false)) {  // a pipelined request may be buffered
      case Connection::Head::kReady: continue;
      case Connection::Head::kNeedMore: return true;
      case Connection::Head::kError: conn.send_error(); return false;
      case Connection::Head::kClosed: return false;
    }
  }
}

void Worker::dispatch(Client* c) {
  if (loop_thread_) {
    const MountPoint* mount = nullptr;
    if (!c->conn->begin_async(mounts_, mount)) {  // no app for the path: a 404 is queued
      count_request();
      next_or_park(c, c->conn->finish_async(true));
      return;
    }
    ++in_loop_;
    loop_thread_->hand_over(c, *c->conn, *mount);
    return;
  }
  if (options_.threads == 1) {
    after_serve(c, serve_until_idle(*c->conn, 0));
    return;
  }
  ++busy_;
  if (busy_ >= options_.threads) set_accepting(false);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    work_.push_back(c);
  }
  work_ready_.notify_one();
}

void Worker::after_serve(Client* c, bool keep) {
  if (c->conn->draining()) {  // the app thread is free; the rest goes out from here
    c->io.stop();
    c->io.set(c->conn->fd(), ev::WRITE);
    c->io.start();
    c->timer.start(to_seconds(options_.rules.io_timeout), 0.);
    return;
  }
  if (!keep || options_.rules.keepalive_timeout.count() == 0) {
    close(c);
    return;
  }
  park(c);
  resume_accepting_if_room();  // at max_connections, this idle connection can make room
}

void Worker::app_thread(int index) {
  plugin_.attach_thread(index);
  for (;;) {
    Client* c;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_ready_.wait(lock, [&] { return stopping_threads_ || !work_.empty(); });
      if (work_.empty()) return;
      c = work_.front();
      work_.pop_front();
    }
    give_back(c, serve_until_idle(*c->conn, index));
  }
}

void Worker::give_back(Client* c, bool keep) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    returned_.emplace_back(c, keep);
  }
  w_->returned.send();
}

void Worker::collect_returned() {
  std::vector<std::pair<Client*, bool>> done;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    done.swap(returned_);
  }
  for (auto [c, keep] : done) {
    if (loop_thread_) {
      --in_loop_;
      count_request();
      next_or_park(c, keep);
    } else {
      --busy_;
      after_serve(c, keep);
    }
  }
  resume_accepting_if_room();
}

void Worker::next_or_park(Client* c, bool keep) {
  if (keep && !c->conn->draining()) {
    // A pipelined next request may be buffered already, with nothing more
    // to come (after a drain, or from the loop, which serves one request
    // per connection at a time).
    switch (c->conn->read_head(/*read_socket=*/false)) {
      case Connection::Head::kReady: dispatch(c); return;
      case Connection::Head::kError:
        c->conn->send_error();
        close(c);
        return;
      case Connection::Head::kClosed: close(c); return;
      case Connection::Head::kNeedMore: break;
    }
  }
  after_serve(c, keep);
}

}  // namespace suz
