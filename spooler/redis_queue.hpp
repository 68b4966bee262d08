#pragma once
// The spool on a Redis server (spooler/redis_scripts.hpp has the layout),
// for vassals on several hosts sharing one queue. Same jobs and promises as
// the directory spool: a push that returns is in Redis (as durable as the
// server's appendonly settings make it); a claim is a move only one
// consumer wins; a claim that is not renewed (keep_claims) within the
// visibility timeout goes back to the queue with the attempt counted.
#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

#include "core/redis_url.hpp"
#include "spooler/job_queue.hpp"
#include "spooler/redis_connection.hpp"
#include "spooler/retry_backoff.hpp"

namespace suz {

class RedisQueue final : public JobQueue {
 public:
  // Connects lazily: a Redis that is down fails the calls, not this.
  RedisQueue(RedisUrl url, std::chrono::milliseconds visibility_timeout,
             std::chrono::milliseconds timeout = std::chrono::seconds(2));

  std::string where() const override { return url_.str(); }
  const RedisUrl& url() const { return url_; }
  std::string prefix() const { return redis_key_prefix(url_); }

  std::string push(const JobSpec& spec) override;
  std::vector<std::string> push_all(const std::vector<JobSpec>& specs) override;
  Recovered recover(const std::string& owner, const std::string& why, int max_attempts) override;
  Recovered recover_abandoned(const std::string& why, int max_attempts) override;
  void keep_claims(const std::vector<std::string>& owners) override;
  std::chrono::milliseconds upkeep_period() const override;

  std::vector<JobEntry> list(JobState state) const override;
  std::size_t count(JobState state) const override;
  std::optional<JobEntry> find(const std::string& id) const override;
  Result<Job> read(const JobEntry& entry) const override;
  std::optional<std::string> failure(const JobEntry& entry) const override;
  bool remove(const std::string& id) override;
  bool requeue_failed(const std::string& id) override;

 private:
  // A connection for one call: threads pushing at once each get their own
  // (so the server's appendfsync covers them together); a connection that
  // failed is dropped, the next call connects anew.
  class Lease;
  RedisReply run(const RedisScript& script, std::vector<std::string> args) const;

  RedisUrl url_;
  std::chrono::milliseconds visibility_;
  std::chrono::milliseconds timeout_;
  mutable std::mutex mutex_;
  mutable std::vector<std::unique_ptr<RedisConnection>> idle_;
  // After Redis could not be reached, calls fail at once for a while (0.1 s,
  // doubling to 2 s) instead of each waiting out a connect timeout: a
  // request's spool() and the master's loop are not held up by a partition.
  mutable RetryBackoff backoff_{std::chrono::seconds(2)};
  mutable std::string last_error_;
  mutable int last_errno_ = 0;
};

// The fields of a job hash that make its JobName (shared with the consumer).
JobName redis_job_name(const std::string& id, const std::string& priority, const std::string& at,
                       const std::string& attempts);

}  // namespace suz
