#pragma once
// Where a Redis spool lives, from `[spooler] dir` or the command line:
//
//   redis://[[user]:password@]host[:port][/db[/queue]]
//   redis+unix://[[user]:password@]/path/to/redis.sock[/db[/queue]]
//
// Port 6379, db 0 and queue "default" when left out. In the unix form the
// last segments are db and queue only when db is a number. The password may
// be percent-encoded; str() never shows it.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace suz {

struct RedisUrl {
  std::string host;          // tcp
  std::uint16_t port = 6379;
  std::string unix_path;     // unix: non-empty
  std::string user;          // ACL user (Redis 6+); empty = default
  std::string password;      // empty = no AUTH
  int db = 0;
  std::string queue = "default";

  // The URL with the password masked, for messages.
  std::string str() const;
};

bool looks_like_redis_url(std::string_view text);
Result<RedisUrl> parse_redis_url(std::string_view text);

}  // namespace suz
