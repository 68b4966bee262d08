#include "core/redis_url.hpp"

#include <charconv>

namespace suz {

namespace {

constexpr std::string_view kTcp = "redis://";
constexpr std::string_view kUnix = "redis+unix://";

bool all_digits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

Result<std::string> percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    unsigned v = 0;
    if (i + 2 >= s.size() || std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16).ptr != s.data() + i + 3)
      return unexpected(std::string("a bad %-escape in the password"));
    out += static_cast<char>(v);
    i += 2;
  }
  return out;
}

// "db/queue", "db", or "" into url.
Result<bool> parse_db_queue(std::string_view rest, RedisUrl& url) {
  if (rest.empty()) return true;
  auto slash = rest.find('/');
  std::string_view db = rest.substr(0, slash);
  if (!all_digits(db) || db.size() > 6) return unexpected("database \"" + std::string(db) + "\": expected a number");
  std::from_chars(db.data(), db.data() + db.size(), url.db);
  if (slash == std::string_view::npos) return true;
  std::string_view queue = rest.substr(slash + 1);
  if (queue.empty()) return true;
  if (queue.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
      std::string_view::npos)
    return unexpected("queue \"" + std::string(queue) + "\": use letters, digits, '_', '.' and '-'");
  url.queue = std::string(queue);
  return true;
}

}  // namespace

bool looks_like_redis_url(std::string_view text) { return text.starts_with(kTcp) || text.starts_with(kUnix); }

Result<RedisUrl> parse_redis_url(std::string_view text) {
  RedisUrl url;
  bool unix_form = text.starts_with(kUnix);
  if (!unix_form && !text.starts_with(kTcp))
    return unexpected(std::string("expected redis://host:port/db/queue or redis+unix:///path.sock/db/queue"));
  std::string_view rest = text.substr(unix_form ? kUnix.size() : kTcp.size());
  // user:password@ comes before the first '/' of the host part.
  auto at = rest.find('@');
  if (at != std::string_view::npos && at < rest.find('/')) {
    std::string_view info = rest.substr(0, at);
    auto colon = info.find(':');
    url.user = std::string(info.substr(0, colon));
    if (colon != std::string_view::npos) {
      auto pw = percent_decode(info.substr(colon + 1));
      if (!pw) return unexpected(pw.error());
      url.password = *pw;
    } else {
      // "redis://secret@host": like redis-cli, a lone userinfo is the password.
      url.password = url.user;
      url.user.clear();
    }
    rest = rest.substr(at + 1);
  }
  if (unix_form) {
    if (!rest.starts_with("/")) return unexpected(std::string("expected an absolute socket path after redis+unix://"));
    // /path/sock, /path/sock/DB or /path/sock/DB/QUEUE.
    std::string_view path = rest, tail;
    auto last = rest.rfind('/');
    if (all_digits(rest.substr(last + 1))) {
      path = rest.substr(0, last);
      tail = rest.substr(last + 1);
    } else if (last > 0) {
      auto before = rest.rfind('/', last - 1);
      if (before != std::string_view::npos && all_digits(rest.substr(before + 1, last - before - 1))) {
        path = rest.substr(0, before);
        tail = rest.substr(before + 1);
      }
    }
    if (path.size() < 2) return unexpected(std::string("no socket path"));
    url.unix_path = std::string(path);
    auto ok = parse_db_queue(tail, url);
    if (!ok) return unexpected(ok.error());
    return url;
  }
  auto slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  std::string_view port;
  if (hostport.starts_with("[")) {
    auto close = hostport.find(']');
    if (close == std::string_view::npos) return unexpected(std::string("unclosed [ in the host"));
    url.host = std::string(hostport.substr(1, close - 1));
    if (close + 1 < hostport.size()) {
      if (hostport[close + 1] != ':') return unexpected(std::string("expected :port after ]"));
      port = hostport.substr(close + 2);
    }
  } else {
    auto colon = hostport.find(':');
    url.host = std::string(hostport.substr(0, colon));
    if (colon != std::string_view::npos) port = hostport.substr(colon + 1);
  }
  if (url.host.empty()) return unexpected(std::string("no host"));
  if (!port.empty() || hostport.ends_with(":")) {
    unsigned p = 0;
    if (!all_digits(port) || port.size() > 5 || (std::from_chars(port.data(), port.data() + port.size(), p), p == 0) ||
        p > 65535)
      return unexpected("port \"" + std::string(port) + "\": expected 1-65535");
    url.port = static_cast<std::uint16_t>(p);
  }
  if (slash != std::string_view::npos) {
    auto ok = parse_db_queue(rest.substr(slash + 1), url);
    if (!ok) return unexpected(ok.error());
  }
  return url;
}

std::string RedisUrl::str() const {
  std::string out = unix_path.empty() ? std::string(kTcp) : std::string(kUnix);
  if (!password.empty()) out += user + ":***@";
  if (unix_path.empty()) {
    out += host.find(':') != std::string::npos ? "[" + host + "]" : host;
    out += ":" + std::to_string(port);
  } else {
    out += unix_path;
  }
  return out + "/" + std::to_string(db) + "/" + queue;
}

}  // namespace suz
