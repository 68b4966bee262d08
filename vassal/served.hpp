#pragma once
// One finished exchange, as the request log and the request metrics see it:
// answered by the app or by the server itself (a malformed head, a timeout,
// no such mount), completed or cut short by the client.
#include <sys/types.h>

#include <chrono>
#include <cstdint>

#include "vassal/request.hpp"

namespace suz {

struct Served {
  // As far as it was parsed: a malformed head may have no method yet.
  // remote_addr is the resolved client (vassal/forwarded.hpp).
  const Request& request;
  int status = 0;               // 499: the client went away before any response
  std::uint64_t bytes = 0;      // body bytes sent
  std::chrono::system_clock::time_point started;  // the request's first byte read
  std::chrono::nanoseconds duration{0};            // to its last byte sent
  bool complete = true;          // false: the response was cut short
};

// What a worker does with each one (log it, count it). Called on the
// thread that served it: an app thread, or the I/O thread for answers of
// the server's own.
class ServedObserver {
 public:
  virtual ~ServedObserver() = default;
  virtual void served(const Served& s) = 0;
};

}  // namespace suz
