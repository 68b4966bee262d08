#pragma once
// One connection to the Redis server of a spool (hiredis, blocking, with
// timeouts), connected on first use and again after any I/O error: a Redis
// that restarts costs the commands in flight, not the connection's owner.
//
// Failures are std::system_error: the connection's errno (ECONNREFUSED,
// ETIMEDOUT, ECONNRESET for a closed connection, EPROTO for an error reply),
// with a message naming the URL (never its password) and what Redis said.
// So the app's spool() raises ConnectionRefusedError, TimeoutError...
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "core/redis_url.hpp"

struct redisContext;
struct redisReply;

namespace suz {

// A std::system_error whose what() is the message as given (no ": strerror"
// appended: the message says it already).
class RedisError : public std::system_error {
 public:
  RedisError(int err, std::string message)
      : std::system_error(err, std::generic_category()), message_(std::move(message)) {}
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string message_;
};

struct RedisReplyFree {
  void operator()(redisReply* r) const;
};
using RedisReply = std::unique_ptr<redisReply, RedisReplyFree>;

// A string or status reply's text; "" for any other reply.
std::string reply_text(const redisReply* r);

// Every key of a queue starts with this (spooler/redis_scripts.hpp).
inline std::string redis_key_prefix(const RedisUrl& url) { return "suz:{" + url.queue + "}:"; }

// A Lua script, loaded into the server once per connection.
struct RedisScript {
  const char* name;  // for messages
  std::string_view prelude, body;  // the script is both, in that order
};

class RedisConnection {
 public:
  RedisConnection(RedisUrl url, std::chrono::milliseconds timeout);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  const RedisUrl& url() const { return url_; }

  // Connects (AUTH, SELECT, scripts loaded) unless connected. Throws.
  void connect();
  bool connected() const { return ctx_ != nullptr; }
  void disconnect();
  int fd() const;  // -1 when not connected
  // The last call failed to connect or timed out (rather than being refused
  // by Redis or losing a connection that had worked): worth not retrying
  // at once. Cleared by the next call that succeeds.
  bool unreachable() const { return unreachable_; }

  // One command; an error reply throws too. Throws std::system_error.
  RedisReply command(const std::vector<std::string>& argv);
  // EVALSHA of a script this connection loaded (once more after NOSCRIPT).
  RedisReply run(const RedisScript& script, const std::vector<std::string>& args);

  // For a subscription: one read of what the socket has (call only when
  // fd() is readable, it blocks otherwise), then every whole message
  // received. Throws, and disconnects, on EOF or an I/O error.
  std::vector<RedisReply> read_pushed();

 private:
  [[noreturn]] void fail(const std::string& doing);
  RedisReply checked(redisReply* reply, const std::string& doing);
  std::string sha_of(const RedisScript& script);

  RedisUrl url_;
  std::chrono::milliseconds timeout_;
  redisContext* ctx_ = nullptr;
  bool unreachable_ = false;
  std::vector<std::pair<const RedisScript*, std::string>> shas_;
};

}  // namespace suz
