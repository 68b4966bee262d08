// The loop thread's half of a connection (ASGI): the same exchange as
// serve(), driven by the app's event loop instead of a blocking thread.
// Nothing here waits: reads report kWait, writes queue what the socket will
// not take, and the loop watches the socket for when to go on.
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "vassal/connection.hpp"
#include "vassal/http_words.hpp"

namespace suz {

bool Connection::begin_async(const std::vector<MountPoint>& mounts, const MountPoint*& mount) {
  reset_exchange();
  nonblocking_ = true;
  mount = mount_for(mounts, request_->path);
  if (mount) return true;
  try {
    send_simple(404, reason_phrase(404), false);
  } catch (const ClientError&) {
  }
  return false;
}

Connection::BodyRead Connection::read_body_nowait(char* buf, std::size_t max, std::size_t& n) {
  n = 0;
  if (client_gone_) return BodyRead::kGone;
  try {
    n = read(buf, max);
  } catch (const ClientError&) {
    return BodyRead::kGone;
  }
  if (n > 0) return BodyRead::kData;
  return body_done_ ? BodyRead::kEnd : BodyRead::kWait;
}

Connection::PeerState Connection::peer_state() {
  if (client_gone_) return PeerState::kClosed;
  if (end_ == buf_size_ && start_ > 0) {
    std::memmove(buf_.get(), buf_.get() + start_, end_ - start_);
    end_ -= start_;
    start_ = 0;
  }
  if (end_ == buf_size_) return PeerState::kFull;  // a next request fills the buffer: it waits for this one
  ssize_t n = ::recv(fd_.get(), buf_.get() + end_, buf_size_ - end_, 0);
  if (n > 0) {
    end_ += static_cast<std::size_t>(n);
    return PeerState::kOpen;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return PeerState::kOpen;
  client_gone_ = true;
  return PeerState::kClosed;
}

void Connection::flush_nowait() {
  try {
    flush_out(false);
  } catch (const ClientError&) {
    out_.clear();  // client_gone_ is set: nothing more goes out
    out_at_ = 0;
  }
}

bool Connection::finish_async(bool ok) {
  if (!ok) {
    if (!headers_sent_ && !client_gone_) {
      try {
        send_simple(500, reason_phrase(500), false);
      } catch (const ClientError&) {
      }
    } else {
      aborted_ = true;
    }
  }
  keep_ = complete_response();
  nonblocking_ = false;
  return settle();
}

}  // namespace suz
