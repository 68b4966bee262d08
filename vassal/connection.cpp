#include "vassal/connection.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "vassal/http_words.hpp"
#include "vassal/uwsgi_packet.hpp"

namespace suz {
namespace {

constexpr std::size_t kMinBuffer = 64 * 1024;
// Unread body left after a response that is still worth reading to keep
// the connection; more than this and closing is cheaper.
constexpr std::uint64_t kMaxDrain = 1 << 20;

}  // namespace

Connection::Connection(Fd fd, Protocol protocol, const ServerRules& rules, Peer peer,
                       const std::atomic<bool>& retiring, ServedObserver* observer)
    : fd_(std::move(fd)),
      protocol_(protocol),
      rules_(rules),
      peer_(std::move(peer)),
      retiring_(retiring),
      observer_(observer),
      buf_(new char[std::max(kMinBuffer, rules.http.max_header_size + 4096)]),
      buf_size_(std::max(kMinBuffer, rules.http.max_header_size + 4096)),
      base_size_(buf_size_),
      parser_(rules.http) {}

std::string Connection::describe() const {
  std::string out = peer_.remote_addr + ":" + peer_.remote_port;
  if (request_) out = request_->method + " " + request_->target + " from " + out;
  return out;
}

// ---- the I/O thread's half: reading a request head without blocking ----

Connection::Head Connection::read_head(bool read_socket) {
  if (read_socket) {
    if (start_ == end_) start_ = end_ = 0;
    if (awaiting_body_) make_room(body_ahead_);
    if (end_ == buf_size_ && start_ > 0) {
      std::memmove(buf_.get(), buf_.get() + start_, end_ - start_);
      end_ -= start_;
      start_ = 0;
    }
    if (end_ < buf_size_) {
      ssize_t n = ::recv(fd_.get(), buf_.get() + end_, buf_size_ - end_, 0);
      if (n == 0) return Head::kClosed;
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return Head::kNeedMore;
        return Head::kClosed;
      }
      end_ += static_cast<std::size_t>(n);
    }
  }
  if (awaiting_body_) {
    if (end_ - start_ < body_ahead_) return Head::kNeedMore;
    awaiting_body_ = false;
    return Head::kReady;
  }
  if (start_ == end_) return Head::kNeedMore;
  if (!head_started_) begin_request();
  Head head = protocol_ == Protocol::kHttp ? parse_http_head() : parse_uwsgi_head();
  if (head == Head::kReady && wants_body_ahead() && end_ - start_ < body_ahead_) {
    awaiting_body_ = true;
    return read_socket ? read_head(true) : Head::kNeedMore;  // the rest may be in the socket already
  }
  return head;
}

Connection::Head Connection::parse_http_head() {
  HttpRequestParser::Stop stop;
  std::size_t n = parser_.feed(buf_.get() + start_, end_ - start_, &stop);
  start_ += n;
  switch (stop) {
    case HttpRequestParser::Stop::kHead:
      request_ = &parser_.request();
      request_->remote_addr = peer_.remote_addr;
      request_->remote_port = peer_.remote_port;
      request_->server_name = peer_.local_addr;
      request_->server_port = peer_.local_port;
      if (std::string why = resolve_forwarded(*request_, rules_.proxies); !why.empty()) {
        error_status_ = 400;
        error_reason_ = why;
        return Head::kError;
      }
      return Head::kReady;
    case HttpRequestParser::Stop::kError:
      error_status_ = parser_.error_status();
      error_reason_ = parser_.error_reason();
      return Head::kError;
    default:
      // A head larger than the whole buffer can never complete.
      if (start_ == 0 && end_ == buf_size_) {
        error_status_ = 431;
        error_reason_ = "request head larger than the buffer";
        return Head::kError;
      }
      return Head::kNeedMore;
  }
}

Connection::Head Connection::parse_uwsgi_head() {
  std::size_t have = end_ - start_;
  if (have < kUwsgiHeaderSize) return Head::kNeedMore;
  std::size_t size = uwsgi_packet_size(buf_.get() + start_);
  if (have < size) return Head::kNeedMore;
  if (!rules_.proxies.uwsgi_allow.contains(peer_.remote_addr)) {
    error_status_ = 403;
    error_reason_ = "uwsgi request from " + peer_.remote_addr + ", not in [server] uwsgi_allow_ips";
    return Head::kError;
  }
  uwsgi_request_ = Request{};
  std::string problem = parse_uwsgi_packet(buf_.get() + start_, size, uwsgi_request_);
  start_ += size;
  if (!problem.empty()) {
    error_status_ = 400;
    error_reason_ = "bad uwsgi packet: " + problem;
    return Head::kError;
  }
  request_ = &uwsgi_request_;
  uwsgi_body_left_ = request_->content_length.value_or(0);
  return Head::kReady;
}

void Connection::begin_request() {
  head_started_ = true;
  started_ = std::chrono::steady_clock::now();
  if (observer_) started_wall_ = std::chrono::system_clock::now();
}

void Connection::send_error() {
  if (error_status_ == 0) return;
  bool sent = true;
  try {
    send_simple(error_status_, reason_phrase(error_status_), true);
  } catch (const ClientError&) {
    sent = false;  // the client is gone already
  }
  // The request as far as it was read.
  Request& r = request_ ? *request_ : protocol_ == Protocol::kHttp ? parser_.request() : uwsgi_request_;
  if (!request_) r.remote_addr = peer_.remote_addr;
  report_served(r, error_status_, sent);
}

void Connection::time_out_request() {
  error_status_ = 408;
  error_reason_ = awaiting_body_ ? "request body stopped arriving for " + format_duration(rules_.io_timeout)
                                 : "request head not complete within " + format_duration(rules_.header_timeout);
  send_error();
}

void Connection::report_served(Request& r, int status, bool complete) {
  if (!observer_) return;
  Served s{r, status, body_sent_, started_wall_, std::chrono::steady_clock::now() - started_, complete};
  observer_->served(s);
}

// ---- the app thread's half: serving one request ----

void Connection::reset_exchange() {
  piece_ = {};
  body_done_ = request_ && !request_->has_body();
  continue_sent_ = false;
  status_.clear();
  headers_.clear();
  headers_sent_ = false;
  content_length_.reset();
  body_sent_ = 0;
  chunked_ = false;
  no_body_ = false;
  close_after_ = protocol_ == Protocol::kUwsgi || !request_->keep_alive || retiring_.load();
  aborted_ = false;
  client_gone_ = false;
  response_complete_ = false;
}

bool Connection::serve(AppPlugin& plugin, int thread_index, const std::vector<MountPoint>& mounts) {
  reset_exchange();
  keep_ = exchange(plugin, thread_index, mounts);
  return settle();
}

bool Connection::settle() {
  if (draining()) return keep_;  // the I/O thread sends the rest, then calls end_exchange()
  return end_exchange();
}

bool Connection::end_exchange() {
  // 499, as nginx logs it: the client left before any response.
  int status = headers_sent_ ? std::atoi(status_.c_str()) : client_gone_ ? 499 : 500;
  report_served(*request_, status, response_complete_);
  if (keep_ && protocol_ == Protocol::kHttp) {
    parser_.reset();
    request_ = nullptr;
    head_started_ = false;
    shrink_buffer();
    if (start_ < end_) begin_request();  // pipelined: the next one has begun
  }
  return keep_;
}

bool Connection::exchange(AppPlugin& plugin, int thread_index, const std::vector<MountPoint>& mounts) {
  Request& r = *request_;
  const MountPoint* mount = mount_for(mounts, r.path);
  try {
    if (!mount) {
      send_simple(404, reason_phrase(404), false);
    } else {
      Exchange exchange{r, *this, *this, mount->prefix, r.path.substr(mount->prefix.size()), mount->app_index};
      plugin.handle(thread_index, exchange);
    }
  } catch (const ClientError&) {
    return false;
  }
  return complete_response();
}

bool Connection::complete_response() {
  try {
    if (aborted_ || client_gone_) {
      if (client_gone_ && !headers_sent_ && parser_.error_status() == 413) {
        send_simple(413, reason_phrase(413), true);
        response_complete_ = true;
      }
      return false;
    }
    if (!finish_response()) return false;
    response_complete_ = true;
    if (!drain_body()) return false;
  } catch (const ClientError&) {
    return false;
  }
  return !close_after_;
}

std::size_t Connection::read(char* out, std::size_t max) {
  if (body_done_ || max == 0) return 0;
  if (request_->expect_continue && !continue_sent_ && !headers_sent_) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    send_all(&kContinue, 1);
    continue_sent_ = true;
  }
  return read_body_bytes(out, max);
}

std::size_t Connection::read_body_bytes(char* out, std::size_t max) {
  if (protocol_ == Protocol::kUwsgi) {
    if (uwsgi_body_left_ == 0) {
      body_done_ = true;
      return 0;
    }
    if (start_ == end_ && recv_some() == 0) return 0;
    std::size_t n = std::min<std::uint64_t>({max, end_ - start_, uwsgi_body_left_});
    std::memcpy(out, buf_.get() + start_, n);
    start_ += n;
    uwsgi_body_left_ -= n;
    return n;
  }
  for (;;) {
    if (!piece_.empty()) {
      std::size_t n = std::min(max, piece_.size());
      std::memcpy(out, piece_.data(), n);
      piece_.remove_prefix(n);
      return n;
    }
    if (parser_.message_complete()) {
      body_done_ = true;
      return 0;
    }
    // Fed even with nothing buffered: the end of a body is a step of the
    // parser's own (after the last piece), not more bytes from the client.
    HttpRequestParser::Stop stop;
    start_ += parser_.feed(buf_.get() + start_, end_ - start_, &stop);
    if (stop == HttpRequestParser::Stop::kNeedMore) {
      if (recv_some() == 0) return 0;
      continue;
    }
    if (stop == HttpRequestParser::Stop::kBody) piece_ = parser_.body_piece();
    if (stop == HttpRequestParser::Stop::kComplete) {
      body_done_ = true;
      return 0;
    }
    if (stop == HttpRequestParser::Stop::kError) {
      client_gone_ = true;
      throw ClientError("bad request body: " + parser_.error_reason());
    }
  }
}

bool Connection::drain_body() {
  if (body_done_) return true;
  // The client was never told to send its body: it may or may not, so the
  // stream position is unknown.
  if (request_->expect_continue && !continue_sent_) return false;
  std::uint64_t drained = 0;
  char sink[16384];
  for (;;) {
    std::size_t n = read_body_bytes(sink, sizeof sink);
    if (n == 0) return body_done_;  // not done: the rest is not here yet (nonblocking_)
    drained += n;
    if (drained > kMaxDrain) return false;
  }
}

// ---- blocking I/O with timeouts ----

void Connection::wait(short events, const char* doing) {
  pollfd p{fd_.get(), events, 0};
  int timeout = static_cast<int>(rules_.io_timeout.count());
  for (;;) {
    int rc = ::poll(&p, 1, timeout > 0 ? timeout : -1);
    if (rc > 0) return;
    if (rc < 0 && errno == EINTR) continue;
    client_gone_ = true;
    throw ClientError(std::string("timed out ") + doing + " after " + format_duration(rules_.io_timeout));
  }
}

std::size_t Connection::recv_some() {
  if (start_ == end_) start_ = end_ = 0;
  for (;;) {
    ssize_t n = ::recv(fd_.get(), buf_.get() + end_, buf_size_ - end_, 0);
    if (n > 0) {
      end_ += static_cast<std::size_t>(n);
      return static_cast<std::size_t>(n);
    }
    if (n == 0) {
      client_gone_ = true;
      throw ClientError("client closed the connection while sending the body");
    }
    if (errno == EAGAIN) {
      if (nonblocking_) return 0;
      wait(POLLIN, "reading the request body");
    } else if (errno != EINTR) {
      client_gone_ = true;
      throw ClientError(std::string("recv: ") + std::strerror(errno));
    }
  }
}

bool Connection::ends_connection(std::uint64_t body_bytes) const {
  return close_after_ && body_done_ && !chunked_ &&
         (no_body_ || (content_length_ && body_sent_ + body_bytes >= *content_length_));
}

void Connection::send_all(const std::string_view* pieces, std::size_t count, bool last) {
  const int flags = MSG_NOSIGNAL | (last ? MSG_MORE : 0);
  iovec iov[8];
  std::size_t n = 0;
  for (std::size_t i = 0; i < count && n < 8; ++i)
    if (!pieces[i].empty()) iov[n++] = {const_cast<char*>(pieces[i].data()), pieces[i].size()};
  if (draining() && !flush_out(false)) {  // what waits goes first
    if (nonblocking_) return queue_out(iov, n);
    if (keep_for_later(iov, n)) return;
    flush_out(true);
  }
  iovec* cur = iov;
  while (n > 0) {
    msghdr msg{};
    msg.msg_iov = cur;
    msg.msg_iovlen = n;
    ssize_t sent = ::sendmsg(fd_.get(), &msg, flags);
    if (sent < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        if (nonblocking_) return queue_out(cur, n);
        if (keep_for_later(cur, n)) return;  // a slow reader: the I/O thread sends it
        wait(POLLOUT, "writing the response");
        continue;
      }
      client_gone_ = true;
      throw ClientError(std::string("send: ") + std::strerror(errno));
    }
    auto left = static_cast<std::size_t>(sent);
    while (n > 0 && left >= cur->iov_len) {
      left -= cur->iov_len;
      ++cur;
      --n;
    }
    if (n > 0) {
      cur->iov_base = static_cast<char*>(cur->iov_base) + left;
      cur->iov_len -= left;
    }
  }
}

}  // namespace suz
