#pragma once
// The contract between an ASGI worker and the plugin's event loop: the
// worker's I/O thread accepts, parses heads, buffers small bodies and keeps
// the timeouts between requests, as for WSGI; the loop thread (the plugin's)
// runs the app and owns a connection from the moment it is handed over
// until its response is complete. Nothing here includes Python.h.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/units.hpp"
#include "vassal/app.hpp"
#include "vassal/request.hpp"

namespace suz {

// How often a serving loop says it turned; the master's bound (harakiri, or
// the heartbeat timeout) is many of these.
inline constexpr Duration kLoopTurnInterval = std::chrono::milliseconds(250);

// One request on the loop thread. Its I/O never blocks: what the socket
// will not take is queued, and a read that would wait says so; the loop
// waits for fd() itself. ClientError is never thrown: a client that went
// away shows as kGone, and writes to it are dropped.
class AsyncExchange {
 public:
  virtual ~AsyncExchange() = default;
  virtual const Request& request() const = 0;
  virtual const std::string& script_name() const = 0;  // the mount prefix ("" at the root)
  virtual const std::string& path_info() const = 0;    // request.path without the prefix
  virtual std::size_t app_index() const = 0;
  virtual int fd() const = 0;
  virtual Duration io_timeout() const = 0;  // how long a body read or a write may make no progress

  enum class Read { kData, kEnd, kWait, kGone };
  // Body bytes into buf: kData with n > 0; kEnd when the body is complete;
  // kWait when none are buffered and the socket has none yet.
  virtual Read read_body(char* buf, std::size_t max, std::size_t& n) = 0;
  // After the body, when the socket is readable: whether the client has
  // closed its end. What it sent meanwhile is kept for its next request;
  // kFull: the buffer is full of it, stop watching.
  enum class Peer { kOpen, kClosed, kFull };
  virtual Peer peer() = 0;
  // The client is given up on (it sent or took nothing for io_timeout):
  // logged, and the connection closes when the exchange is done.
  virtual void give_up(std::string_view why) = 0;
  // "GET /path?query", for the app's error lines.
  virtual std::string request_line() const = 0;
  // The status line is made here ("404 Not Found"); headers as for WSGI.
  // Throws std::logic_error after the headers went out.
  virtual void start(int status, ResponseWriter::Headers headers) = 0;
  // last: no more body follows.
  virtual void write(std::string_view data, bool last) = 0;
  // Response bytes the socket has not taken yet.
  virtual std::size_t queued() const = 0;
  // Sends what is queued as far as the socket takes it now.
  virtual void flush() = 0;
  virtual bool client_gone() const = 0;
  // The last call: the response is complete (ok), or the app failed or gave
  // up (not ok: a 500 if nothing was sent, else the connection is closed).
  // The connection goes back to the I/O thread; this object is gone after.
  virtual void done(bool ok) = 0;
};

// The worker, as its event loop sees it. Called on the loop thread unless
// said otherwise.
class LoopHost {
 public:
  virtual ~LoopHost() = default;
  // Readable when take() has something: exchanges, or the request to stop.
  virtual int wake_fd() const = 0;
  virtual std::vector<AsyncExchange*> take() = 0;
  // The worker has stopped handing over requests and every exchange is done:
  // the loop runs the app's shutdown and returns, within shutdown_bound().
  virtual bool stop_requested() const = 0;
  virtual Duration shutdown_bound() const = 0;
  // After the app's startup (lifespan): the worker reports serving, or
  // exits so that the master replaces it (error: the traceback, logged).
  virtual void started(bool ok) = 0;
  // The loop turned (called from a timer on the loop, kLoopTurnInterval
  // apart): what the master's check of a blocked loop reads.
  virtual void turned() = 0;
};

}  // namespace suz
