// Which backend a spool's address names.
#include <stdexcept>

#include "core/redis_url.hpp"
#include "spooler/directory_consumer.hpp"
#include "spooler/directory_queue.hpp"
#include "spooler/job_queue.hpp"
#include "spooler/redis_consumer.hpp"
#include "spooler/redis_queue.hpp"

namespace suz {

namespace {
RedisUrl redis_url(const std::string& where) {
  auto url = parse_redis_url(where);
  if (!url) throw std::invalid_argument(where + ": " + url.error());
  return *url;
}
}  // namespace

std::unique_ptr<JobQueue> open_queue(const std::string& where, std::chrono::milliseconds visibility_timeout,
                                     std::chrono::milliseconds timeout) {
  if (looks_like_redis_url(where)) return std::make_unique<RedisQueue>(redis_url(where), visibility_timeout, timeout);
  return std::make_unique<DirectoryQueue>(where);
}

std::unique_ptr<JobConsumer> open_consumer(const std::string& where, const ConsumerOptions& options) {
  if (looks_like_redis_url(where)) return std::make_unique<RedisConsumer>(redis_url(where), options);
  return std::make_unique<DirectoryConsumer>(where, options);
}

}  // namespace suz
