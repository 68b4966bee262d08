#pragma once
// One client connection of a worker, for either protocol.
//
// Ownership moves between threads but is never shared: the worker's I/O
// thread owns a connection while it waits for a request head (non-blocking
// reads, see read_head); an app thread owns it while it serves that request
// (blocking reads and writes with the I/O timeout, see serve). The
// connection is the request's BodyReader and ResponseWriter.
#include <sys/types.h>
#include <sys/uio.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/fd.hpp"
#include "core/units.hpp"
#include "vassal/app.hpp"
#include "vassal/forwarded.hpp"
#include "vassal/http_request_parser.hpp"
#include "vassal/served.hpp"

namespace suz {

enum class Protocol { kHttp, kUwsgi };

struct ServerRules {
  HttpLimits http;
  ProxyTrust proxies;
  Duration header_timeout = std::chrono::seconds(10);
  Duration keepalive_timeout = std::chrono::seconds(5);
  Duration io_timeout = std::chrono::seconds(30);
  // Slow clients: a body up to buffer_body is read on the I/O thread before
  // the app runs; a response up to buffer_response that the socket will not
  // take yet is kept in memory and sent by the I/O thread, so the app
  // thread is free. 0: off.
  std::uint64_t buffer_body = 1 << 20;
  std::uint64_t buffer_response = 1 << 20;
};

struct Peer {
  std::string remote_addr, remote_port, local_addr, local_port;
};

class Connection final : public BodyReader, public ResponseWriter {
 public:
  // fd: a non-blocking accepted socket. retiring: set when the worker is
  // stopping, so responses announce Connection: close. observer (may be
  // null) hears of every exchange, the server's own answers included.
  Connection(Fd fd, Protocol protocol, const ServerRules& rules, Peer peer,
             const std::atomic<bool>& retiring, ServedObserver* observer = nullptr);

  enum class Head { kNeedMore, kReady, kClosed, kError };
  // I/O thread. Reads what the socket has without blocking (read_socket) and
  // parses buffered bytes into a request head; kReady once the head is
  // complete and, for a body of at most buffer_body, the body is buffered
  // too (awaiting_body() meanwhile). kError: call send_error().
  Head read_head(bool read_socket = true);
  bool awaiting_body() const { return awaiting_body_; }
  // Answers a malformed request with its status and "Connection: close".
  void send_error();
  // The head did not complete within header_timeout, or a buffered body
  // stopped arriving for io_timeout: 408.
  void time_out_request();
  const std::string& error_reason() const { return error_reason_; }
  // True when part of a next request is already buffered (pipelining) or
  // half-received; an idle connection has none.
  bool has_buffered_bytes() const { return start_ < end_; }
  bool mid_head() const { return head_started_; }

  // App thread: serves the request whose head is ready; returns true when
  // the connection can carry another request. If draining() afterwards,
  // the response's last bytes wait in memory for the I/O thread.
  bool serve(AppPlugin& plugin, int thread_index, const std::vector<MountPoint>& mounts);
  bool draining() const { return out_at_ < out_.size(); }

  // The loop thread's half (ASGI), for the same exchange without blocking:
  // begin_async finds the mount (false: none, a 404 is queued and the
  // exchange goes on to finish_async); writes queue what the socket will not
  // take, without bound (the caller waits for queued() to fall); reads say
  // kWait rather than wait. finish_async completes the response and ends the
  // exchange as serve() does, returning whether the connection can carry
  // another request.
  bool begin_async(const std::vector<MountPoint>& mounts, const MountPoint*& mount);
  enum class BodyRead { kData, kEnd, kWait, kGone };
  BodyRead read_body_nowait(char* buf, std::size_t max, std::size_t& n);
  enum class PeerState { kOpen, kClosed, kFull };
  PeerState peer_state();
  void give_up() { client_gone_ = true; }
  std::size_t queued() const { return out_.size() - out_at_; }
  void flush_nowait();
  bool finish_async(bool ok);

  enum class Drain { kMore, kDone, kFailed };
  // I/O thread, when the socket is writable: sends what it will take of a
  // draining response without blocking. After kDone or kFailed, call
  // end_exchange().
  Drain drain();
  // The client stopped reading: what waits is dropped.
  void abandon_drain();
  // Logs and counts the exchange and readies the connection for the next
  // request; returns whether there can be one.
  bool end_exchange();

  int fd() const { return fd_.get(); }
  const Request& request() const { return *request_; }  // after read_head gave kReady
  Duration io_timeout() const { return rules_.io_timeout; }
  std::string describe() const;
  // "GET /path?query" of the request being served (after read_head gave kReady).
  std::string request_line() const { return request_ ? request_->method + " " + request_->target : ""; }

  // BodyReader
  std::size_t read(char* buf, std::size_t max) override;
  // ResponseWriter
  void start(std::string status, Headers headers) override;
  bool started() const override { return headers_sent_; }
  void write(std::string_view data, bool last = false) override;
  std::size_t send_file(int fd, off_t offset, std::size_t count) override;
  void abort() override { aborted_ = true; }
  bool client_gone() const override { return client_gone_; }

 private:
  Head parse_http_head();
  Head parse_uwsgi_head();
  void reset_exchange();
  bool exchange(AppPlugin& plugin, int thread_index, const std::vector<MountPoint>& mounts);
  // After the app: the response's end, the unread body; whether the
  // connection can carry another request.
  bool complete_response();
  // The exchange is over on this thread: end_exchange(), unless a response
  // still drains (then the I/O thread calls it); whether to keep the connection.
  bool settle();
  void begin_request();
  void report_served(Request& r, int status, bool complete);
  void send_simple(int status, std::string_view reason, bool close);
  void send_headers(std::string_view first_body = {});
  void send_body(std::string_view data);
  bool finish_response();
  bool drain_body();
  std::size_t read_body_bytes(char* out, std::size_t max);

  // Buffering for slow clients (connection_buffering.cpp).
  bool wants_body_ahead();
  void make_room(std::size_t bytes);
  void shrink_buffer();
  void resize_buffer(std::size_t size);
  // Queues what the socket will not take now, if it fits buffer_response.
  bool keep_for_later(const iovec* iov, std::size_t count);
  void queue_out(const iovec* iov, std::size_t count);
  // Sends out_: until empty (blocking, with the I/O timeout), or what the
  // socket takes now; returns whether it is empty.
  bool flush_out(bool block);

  // Blocking I/O with the I/O timeout; throw ClientError (and mark the client
  // gone). recv_some returns 0 when nonblocking_ and nothing is there yet.
  void wait(short events, const char* doing);
  std::size_t recv_some();
  // last: these are the final bytes before the connection is closed. They are
  // sent with MSG_MORE so that close() puts its FIN on their segment: one
  // packet (and one ACK) less per one-request connection.
  void send_all(const std::string_view* pieces, std::size_t count, bool last = false);
  // Whether body_bytes more of the body end the response and the connection
  // closes after it, with nothing left to read first.
  bool ends_connection(std::uint64_t body_bytes) const;

  Fd fd_;
  bool nonblocking_ = false;  // the loop thread's exchange: never poll(2), queue instead
  Protocol protocol_;
  const ServerRules& rules_;
  Peer peer_;
  const std::atomic<bool>& retiring_;
  ServedObserver* observer_;

  // Not value-initialised: zeroing 64 KiB per accepted connection showed up
  // in one-request-per-connection benchmarks.
  std::unique_ptr<char[]> buf_;
  std::size_t buf_size_;
  std::size_t base_size_;  // buf_'s size between requests
  std::size_t start_ = 0, end_ = 0;  // unconsumed bytes are buf_[start_, end_)
  HttpRequestParser parser_;
  Request uwsgi_request_;
  bool head_started_ = false;
  bool awaiting_body_ = false;
  std::size_t body_ahead_ = 0;  // body bytes to buffer before the app runs
  std::chrono::steady_clock::time_point started_{};  // the request's first byte
  std::chrono::system_clock::time_point started_wall_{};
  int error_status_ = 0;
  std::string error_reason_;

  // The exchange in progress.
  Request* request_ = nullptr;
  std::string_view piece_;              // body bytes parsed but not yet read by the app
  std::uint64_t uwsgi_body_left_ = 0;
  bool body_done_ = false;
  bool continue_sent_ = false;
  std::string status_;
  Headers headers_;
  bool headers_sent_ = false;
  std::optional<std::uint64_t> content_length_;
  std::uint64_t body_sent_ = 0;
  bool chunked_ = false;
  bool no_body_ = false;
  bool close_after_ = false;
  bool aborted_ = false;
  bool client_gone_ = false;
  bool response_complete_ = false;  // its last byte was handed over
  bool keep_ = false;                // the connection can carry another request
  std::string out_;                  // response bytes the socket has not taken yet: from out_at_ on
  std::size_t out_at_ = 0;
};

}  // namespace suz
