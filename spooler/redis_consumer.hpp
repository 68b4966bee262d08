#pragma once
// A spooler process's side of a Redis spool: claims with the claim script,
// and a second connection subscribed to the queue's wake channel, so a job
// pushed from any host starts at once. While Redis is down it retries with
// a growing backoff (0.1 s to 5 s), saying so once in the log, and carries
// on where it was when Redis is back.
#include <chrono>

#include "core/redis_url.hpp"
#include "spooler/job_queue.hpp"
#include "spooler/redis_connection.hpp"
#include "spooler/retry_backoff.hpp"

namespace suz {

class RedisConsumer final : public JobConsumer {
 public:
  RedisConsumer(RedisUrl url, const ConsumerOptions& options);
  ~RedisConsumer() override;  // sends a finished job's acknowledgement still held

  int wake_fd() const override { return wake_.fd(); }
  void on_wake() override;
  std::optional<ClaimedJob> claim(std::int64_t now_ms, std::optional<std::int64_t>* wake_at_ms) override;
  void done(const ClaimedJob& job) override;
  void retry(const ClaimedJob& job, std::int64_t at_ms, const std::string& error) override;
  void fail(const ClaimedJob& job, const std::string& error) override;
  std::size_t waiting() const override;

 private:
  std::string prefix() const { return redis_key_prefix(url_); }
  bool subscribed();  // (re)subscribes if the backoff allows
  void down(const std::exception& e);
  void up();
  // A settling script, retried on connection errors for up to half the
  // visibility timeout (the claim stays renewed meanwhile); then throws.
  void settle(const RedisScript& script, std::vector<std::string> args);

  RedisUrl url_;
  ConsumerOptions options_;
  mutable RedisConnection commands_;
  RedisConnection wake_;
  // done() is sent with the next claim (the spooler always asks for one
  // right after), or when this goes. Dying in between runs the job again:
  // the same as dying just before acknowledging it.
  std::string unacknowledged_;
  bool down_ = false;
  RetryBackoff backoff_{std::chrono::seconds(5)};
};

}  // namespace suz
