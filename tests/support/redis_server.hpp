#pragma once
// A real redis-server for a test, on a unix socket in its own temp
// directory (no port to collide with), append-only with an fsync per write
// so that a kill -9 loses nothing it acknowledged. restart() kills it hard
// and starts it again on the same data.
#include <memory>
#include <string>

#include "tests/support/process.hpp"
#include "tests/support/spawned.hpp"

namespace suz::test {

class RedisServer {
 public:
  RedisServer();  // started and accepting; fails the test otherwise
  ~RedisServer();

  // redis+unix:///.../redis.sock/0/QUEUE
  std::string url(const std::string& queue = "jobs") const;
  std::string socket_path() const;
  void kill();   // SIGKILL, as a crash would
  void start();  // on the same data
  void restart() { kill(); start(); }

 private:
  TempDir dir_;
  std::unique_ptr<Spawned> server_;
};

}  // namespace suz::test
