#include "spooler/redis_connection.hpp"

#include <hiredis/hiredis.h>

#include <cerrno>
#include <system_error>

namespace suz {

void RedisReplyFree::operator()(redisReply* r) const { freeReplyObject(r); }

std::string reply_text(const redisReply* r) {
  return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) ? std::string(r->str, r->len)
                                                                              : std::string();
}

namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000), static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

// hiredis says what went wrong as a REDIS_ERR_* kind; the errno it saw for
// I/O errors is in errno at that point.
int errno_of(const redisContext* c, int saved_errno) {
  switch (c ? c->err : REDIS_ERR_OOM) {
    case REDIS_ERR_IO: return saved_errno ? saved_errno : EIO;
    case REDIS_ERR_EOF: return ECONNRESET;
    case REDIS_ERR_OOM: return ENOMEM;
    case REDIS_ERR_PROTOCOL: return EPROTO;
    default: return saved_errno == EAGAIN ? ETIMEDOUT : (saved_errno ? saved_errno : EIO);
  }
}

std::vector<const char*> pointers(const std::vector<std::string>& argv, std::vector<size_t>& lengths) {
  std::vector<const char*> p;
  for (const auto& a : argv) {
    p.push_back(a.data());
    lengths.push_back(a.size());
  }
  return p;
}

}  // namespace

RedisConnection::RedisConnection(RedisUrl url, std::chrono::milliseconds timeout)
    : url_(std::move(url)), timeout_(timeout) {}

RedisConnection::~RedisConnection() { disconnect(); }

void RedisConnection::disconnect() {
  if (ctx_) redisFree(ctx_);
  ctx_ = nullptr;
  shas_.clear();
}

int RedisConnection::fd() const { return ctx_ ? ctx_->fd : -1; }

void RedisConnection::fail(const std::string& doing) {
  int saved = errno;
  int err = errno_of(ctx_, saved);
  std::string why = ctx_ && ctx_->errstr[0] ? ctx_->errstr : std::generic_category().message(err);
  if (err == ETIMEDOUT || (ctx_ && ctx_->err == REDIS_ERR_IO && saved == EAGAIN)) {
    err = ETIMEDOUT;
    why = "no answer within " + std::to_string(timeout_.count()) + " ms";
    unreachable_ = true;
  }
  disconnect();
  throw RedisError(err, url_.str() + ": " + doing + ": " + why);
}

void RedisConnection::connect() {
  if (ctx_) return;
  errno = 0;
  timeval tv = to_timeval(timeout_);
  ctx_ = url_.unix_path.empty() ? redisConnectWithTimeout(url_.host.c_str(), url_.port, tv)
                                : redisConnectUnixWithTimeout(url_.unix_path.c_str(), tv);
  if (!ctx_ || ctx_->err) {
    unreachable_ = true;
    fail("cannot connect");
  }
  if (redisSetTimeout(ctx_, tv) != REDIS_OK) fail("cannot set a timeout");
  if (url_.unix_path.empty()) redisEnableKeepAlive(ctx_);
  if (!url_.password.empty()) {
    std::vector<std::string> auth{"AUTH"};
    if (!url_.user.empty()) auth.push_back(url_.user);
    auth.push_back(url_.password);
    command(auth);
  }
  if (url_.db != 0) command({"SELECT", std::to_string(url_.db)});
}

RedisReply RedisConnection::checked(redisReply* reply, const std::string& doing) {
  if (!reply) fail(doing);
  RedisReply r(reply);
  if (r->type == REDIS_REPLY_ERROR) {
    // The connection is fine; the command was refused (a script error,
    // OOM, READONLY replica, a wrong password...).
    throw RedisError(EPROTO, url_.str() + ": " + doing + ": " + std::string(r->str, r->len));
  }
  return r;
}

RedisReply RedisConnection::command(const std::vector<std::string>& argv) {
  unreachable_ = false;
  connect();
  std::vector<size_t> lengths;
  auto p = pointers(argv, lengths);
  errno = 0;
  return checked(static_cast<redisReply*>(redisCommandArgv(ctx_, static_cast<int>(p.size()), p.data(), lengths.data())),
                 argv.empty() ? "command" : argv[0]);
}

std::string RedisConnection::sha_of(const RedisScript& script) {
  for (const auto& [s, sha] : shas_)
    if (s == &script) return sha;
  RedisReply r = command({"SCRIPT", "LOAD", std::string(script.prelude) + std::string(script.body)});
  if (r->type != REDIS_REPLY_STRING) fail(std::string("loading script ") + script.name);
  shas_.emplace_back(&script, std::string(r->str, r->len));
  return shas_.back().second;
}

RedisReply RedisConnection::run(const RedisScript& script, const std::vector<std::string>& args) {
  connect();
  for (int round = 0;; ++round) {
    std::vector<std::string> argv{"EVALSHA", sha_of(script), "0"};
    argv.insert(argv.end(), args.begin(), args.end());
    try {
      return command(argv);
    } catch (const std::system_error& e) {
      // A SCRIPT FLUSH (or a failover to a server that never saw it).
      if (round > 0 || std::string_view(e.what()).find("NOSCRIPT") == std::string_view::npos) throw;
      shas_.clear();
    }
  }
}

std::vector<RedisReply> RedisConnection::read_pushed() {
  std::vector<RedisReply> out;
  if (!ctx_) return out;
  errno = 0;
  if (redisBufferRead(ctx_) != REDIS_OK) fail("reading a notification");
  for (;;) {
    void* reply = nullptr;
    if (redisGetReplyFromReader(ctx_, &reply) != REDIS_OK) fail("reading a notification");
    if (!reply) return out;
    out.emplace_back(static_cast<redisReply*>(reply));
  }
}

}  // namespace suz
