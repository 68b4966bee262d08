#include "tests/support/redis_server.hpp"

#include <signal.h>

#include <stdexcept>

namespace suz::test {

RedisServer::RedisServer() { start(); }

RedisServer::~RedisServer() { kill(); }

std::string RedisServer::socket_path() const { return (dir_.path() / "redis.sock").string(); }

std::string RedisServer::url(const std::string& queue) const { return "redis+unix://" + socket_path() + "/0/" + queue; }

void RedisServer::start() {
  server_ = std::make_unique<Spawned>(std::vector<std::string>{
      "/usr/bin/redis-server", "--port", "0", "--unixsocket", socket_path(), "--unixsocketperm", "700", "--dir",
      dir_.path().string(), "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no"});
  // "Ready to accept connections" (TCP) or "...ready to accept connections at PATH".
  if (!server_->wait_for_line("[Rr]eady to accept connections", std::chrono::seconds(30)))
    throw std::runtime_error("redis-server did not start:\n" + server_->output());
}

void RedisServer::kill() {
  if (server_) server_->stop(SIGKILL, std::chrono::seconds(10));
  server_.reset();
}

}  // namespace suz::test
