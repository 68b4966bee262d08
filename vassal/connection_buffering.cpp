// Buffering for slow clients, as nginx does in front of an app server: a
// body that trickles in is gathered by the I/O thread before an app thread
// is given the request, and a response a slow reader cannot take yet is
// kept in memory for the I/O thread to send, so the app thread moves on.
// Each is bounded per connection ([server] buffer_body, buffer_response);
// past the bound the connection streams as it always did.
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "vassal/connection.hpp"

namespace suz {
namespace {

// Room past a buffered body for the start of a pipelined next request.
constexpr std::size_t kReadAhead = 4096;

}  // namespace

bool Connection::wants_body_ahead() {
  std::uint64_t body = 0;
  if (protocol_ == Protocol::kUwsgi) body = uwsgi_body_left_;
  else if (!request_->chunked && !request_->expect_continue) body = request_->content_length.value_or(0);
  if (body == 0 || body > rules_.buffer_body) return false;
  body_ahead_ = static_cast<std::size_t>(body);
  return true;
}

void Connection::make_room(std::size_t bytes) {
  if (buf_size_ - start_ < bytes) resize_buffer(std::max(buf_size_, bytes + kReadAhead));
}

// A keep-alive connection does not hold on to a large body's memory.
void Connection::shrink_buffer() {
  if (buf_size_ != base_size_ && end_ - start_ <= base_size_) resize_buffer(base_size_);
}

// The unconsumed bytes, moved to the front of a new buffer of that size.
void Connection::resize_buffer(std::size_t size) {
  std::unique_ptr<char[]> fresh(new char[size]);
  std::memcpy(fresh.get(), buf_.get() + start_, end_ - start_);
  end_ -= start_;
  start_ = 0;
  buf_ = std::move(fresh);
  buf_size_ = size;
}

bool Connection::keep_for_later(const iovec* iov, std::size_t count) {
  std::size_t total = 0;
  for (std::size_t i = 0; i < count; ++i) total += iov[i].iov_len;
  if (out_.size() - out_at_ + total > rules_.buffer_response) return false;
  queue_out(iov, count);
  return true;
}

void Connection::queue_out(const iovec* iov, std::size_t count) {
  if (out_at_ == out_.size()) {
    out_.clear();
    out_at_ = 0;
  }
  for (std::size_t i = 0; i < count; ++i) out_.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
}

bool Connection::flush_out(bool block) {
  while (out_at_ < out_.size()) {
    ssize_t sent = ::send(fd_.get(), out_.data() + out_at_, out_.size() - out_at_, MSG_NOSIGNAL);
    if (sent >= 0) {
      out_at_ += static_cast<std::size_t>(sent);
    } else if (errno == EAGAIN) {
      if (!block) return false;
      wait(POLLOUT, "writing the response");
    } else if (errno != EINTR) {
      client_gone_ = true;
      throw ClientError(std::string("send: ") + std::strerror(errno));
    }
  }
  out_.clear();
  out_at_ = 0;
  return true;
}

Connection::Drain Connection::drain() {
  try {
    return flush_out(false) ? Drain::kDone : Drain::kMore;
  } catch (const ClientError&) {
    abandon_drain();
    return Drain::kFailed;
  }
}

void Connection::abandon_drain() {
  out_.clear();
  out_at_ = 0;
  response_complete_ = false;
  keep_ = false;
}

}  // namespace suz
