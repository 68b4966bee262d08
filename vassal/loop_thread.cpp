#include "vassal/loop_thread.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <system_error>

#include "core/clock.hpp"
#include "vassal/http_words.hpp"

namespace suz {

// One request as the loop sees it: the connection, owned by the loop
// thread until done().
class LoopThread::Exchange final : public AsyncExchange {
 public:
  Exchange(LoopThread& host, void* client, Connection& conn, const MountPoint& mount)
      : host_(host),
        client_(client),
        conn_(conn),
        script_name_(mount.prefix),
        path_info_(conn.request().path.substr(mount.prefix.size())),
        app_index_(mount.app_index) {}

  const Request& request() const override { return conn_.request(); }
  const std::string& script_name() const override { return script_name_; }
  const std::string& path_info() const override { return path_info_; }
  std::size_t app_index() const override { return app_index_; }
  int fd() const override { return conn_.fd(); }
  Duration io_timeout() const override { return conn_.io_timeout(); }

  Read read_body(char* buf, std::size_t max, std::size_t& n) override {
    switch (conn_.read_body_nowait(buf, max, n)) {
      case Connection::BodyRead::kData: return Read::kData;
      case Connection::BodyRead::kEnd: return Read::kEnd;
      case Connection::BodyRead::kWait: return Read::kWait;
      case Connection::BodyRead::kGone: break;
    }
    return Read::kGone;
  }
  Peer peer() override {
    switch (conn_.peer_state()) {
      case Connection::PeerState::kOpen: return Peer::kOpen;
      case Connection::PeerState::kFull: return Peer::kFull;
      case Connection::PeerState::kClosed: break;
    }
    return Peer::kClosed;
  }
  void give_up(std::string_view why) override {
    spdlog::info("{}: {}, closing", conn_.describe(), why);
    conn_.give_up();
  }
  std::string request_line() const override { return conn_.request_line(); }

  void start(int status, ResponseWriter::Headers headers) override {
    conn_.start(std::to_string(status) + " " + std::string(reason_phrase(status)), std::move(headers));
  }
  void write(std::string_view data, bool last) override {
    if (conn_.client_gone()) return;
    try {
      conn_.write(data, last);
    } catch (const ClientError&) {
    }
  }
  std::size_t queued() const override { return conn_.queued(); }
  void flush() override { conn_.flush_nowait(); }
  bool client_gone() const override { return conn_.client_gone(); }

  void done(bool ok) override {
    host_.give_back_(client_, conn_.finish_async(ok));
    delete this;
  }

 private:
  LoopThread& host_;
  void* client_;
  Connection& conn_;
  std::string script_name_;
  std::string path_info_;
  std::size_t app_index_;
};

LoopThread::LoopThread(AppPlugin& plugin, int threads, GiveBack give_back, std::atomic<std::int64_t>* turn)
    : plugin_(plugin), threads_(threads), give_back_(std::move(give_back)), turn_(turn),
      wake_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (!wake_) throw std::system_error(errno, std::generic_category(), "eventfd");
}

LoopThread::~LoopThread() {
  if (thread_.joinable()) thread_.detach();
}

bool LoopThread::start() {
  thread_ = std::thread([this] {
    plugin_.run_event_loop(*this, threads_);
    finished();
  });
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return started_.has_value() || finished_; });
  bool ok = started_.value_or(false);
  if (!ok) {
    lock.unlock();
    thread_.join();
  }
  return ok;
}

void LoopThread::hand_over(void* client, Connection& conn, const MountPoint& mount) {
  auto* exchange = new Exchange(*this, client, conn, mount);
  bool first;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    first = ready_.empty();
    ready_.push_back(exchange);
  }
  if (first) wake();  // a loop that has not taken the earlier ones yet will take this one with them
}

std::vector<AsyncExchange*> LoopThread::take() {
  std::uint64_t count;  // one read takes the whole count (and EAGAIN when there was none)
  [[maybe_unused]] ssize_t n = ::read(wake_.get(), &count, sizeof count);
  std::vector<AsyncExchange*> out;
  std::lock_guard<std::mutex> lock(mutex_);
  out.swap(ready_);
  return out;
}

bool LoopThread::stop_requested() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stop_;
}

Duration LoopThread::shutdown_bound() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return bound_;
}

void LoopThread::started(bool ok) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    started_ = ok;
  }
  changed_.notify_all();
}

void LoopThread::turned() {
  if (turn_) turn_->store(monotonic_ms(), std::memory_order_relaxed);
}

void LoopThread::finished() {
  if (turn_) turn_->store(0);  // no loop to watch any more
  {
    std::lock_guard<std::mutex> lock(mutex_);
    finished_ = true;
  }
  changed_.notify_all();
}

void LoopThread::wake() {
  std::uint64_t one = 1;
  while (::write(wake_.get(), &one, sizeof one) < 0 && errno == EINTR) {
  }
}

bool LoopThread::stop(Duration bound) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    bound_ = bound;
  }
  wake();
  std::unique_lock<std::mutex> lock(mutex_);
  // A second more than the app's shutdown is given: the loop's own teardown.
  bool done = changed_.wait_for(lock, bound + std::chrono::seconds(1), [&] { return finished_; });
  lock.unlock();
  if (done) thread_.join();
  else thread_.detach();
  return done;
}

void LoopThread::abandon() {
  if (thread_.joinable()) thread_.detach();
}

}  // namespace suz
