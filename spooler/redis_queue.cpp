#include "spooler/redis_queue.hpp"

#include <hiredis/hiredis.h>

#include <charconv>
#include <stdexcept>
#include <system_error>

#include "spooler/redis_scripts.hpp"

namespace suz {

namespace {

long long num(const std::string& s) {
  long long v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

void check(const JobSpec& spec) {
  if (spec.priority < kMinPriority || spec.priority > kMaxPriority)
    throw std::invalid_argument("priority " + std::to_string(spec.priority) + " out of range -999..999");
}

// A recovery script's {requeued, failed}.
Recovered recovered(const RedisReply& r) {
  Recovered out;
  if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
    out.requeued = static_cast<std::size_t>(r->element[0]->integer);
    out.failed = static_cast<std::size_t>(r->element[1]->integer);
  }
  return out;
}

JobState state_of(const std::string& s) {
  return s == "claimed" ? JobState::kClaimed : s == "failed" ? JobState::kFailed : JobState::kQueued;
}

}  // namespace

JobName redis_job_name(const std::string& id, const std::string& priority, const std::string& at,
                       const std::string& attempts) {
  JobName n;
  n.id = id;
  n.priority = static_cast<int>(num(priority));
  n.at_ms = num(at);
  n.attempt = static_cast<int>(num(attempts));
  return n;
}

class RedisQueue::Lease {
 public:
  explicit Lease(const RedisQueue& q) : q_(q) {
    std::lock_guard<std::mutex> lock(q_.mutex_);
    if (auto wait = q_.backoff_.remaining(); wait.count() > 0)
      throw RedisError(q_.last_errno_,
                       q_.last_error_ + " (not retried for another " + std::to_string(wait.count()) + " ms)");
    if (!q_.idle_.empty()) {
      c_ = std::move(q_.idle_.back());
      q_.idle_.pop_back();
    }
    if (!c_) c_ = std::make_unique<RedisConnection>(q_.url_, q_.timeout_);
  }
  ~Lease() {
    std::lock_guard<std::mutex> lock(q_.mutex_);
    if (c_->unreachable()) {
      q_.backoff_.failed();
      return;
    }
    if (!c_->connected()) return;
    q_.backoff_.succeeded();
    q_.idle_.push_back(std::move(c_));
  }
  // Runs f(connection); a failure to reach Redis is remembered for the
  // message of the calls it turns away.
  template <class F>
  auto operator()(F f) {
    try {
      return f(*c_);
    } catch (const std::system_error& e) {
      if (c_->unreachable()) {
        std::lock_guard<std::mutex> lock(q_.mutex_);
        q_.last_error_ = e.what();
        q_.last_errno_ = e.code().value();
      }
      throw;
    }
  }

 private:
  const RedisQueue& q_;
  std::unique_ptr<RedisConnection> c_;
};

RedisQueue::RedisQueue(RedisUrl url, std::chrono::milliseconds visibility_timeout, std::chrono::milliseconds timeout)
    : url_(std::move(url)), visibility_(visibility_timeout), timeout_(timeout) {}

RedisReply RedisQueue::run(const RedisScript& script, std::vector<std::string> args) const {
  args.insert(args.begin(), prefix());
  Lease c(*this);
  return c([&](RedisConnection& r) { return r.run(script, args); });
}

std::vector<std::string> RedisQueue::push_all(const std::vector<JobSpec>& specs) {
  std::vector<std::string> args, ids;
  for (const JobSpec& spec : specs) {
    check(spec);
    Job job;
    job.name.id = new_job_id();
    job.args = spec.args;
    job.body = spec.body;
    job.created_ms = wall_clock_ms();
    ids.push_back(job.name.id);
    args.push_back(job.name.id);
    args.push_back(encode_job(job));
    args.push_back(std::to_string(spec.priority));
    args.push_back(std::to_string(spec.at_ms.value_or(0)));
  }
  if (ids.empty()) return ids;
  // A connection that breaks mid-call leaves it unknown whether the push
  // happened; pushing the same ids again is harmless (the same hash, the
  // same set member), so one more try on a fresh connection settles it.
  for (int attempt = 0;; ++attempt) {
    try {
      run(redis_scripts::kPush, args);
      return ids;
    } catch (const std::system_error& e) {
      bool was_connected_then_broke = e.code().value() == ECONNRESET || e.code().value() == ETIMEDOUT;
      if (attempt > 0 || !was_connected_then_broke) {
        std::string what = std::string(e.what()) + (was_connected_then_broke ? " (the job may have been queued)" : "");
        throw RedisError(e.code().value(), what);
      }
    }
  }
}

std::string RedisQueue::push(const JobSpec& spec) { return push_all({spec}).front(); }

Recovered RedisQueue::recover(const std::string& owner, const std::string& why, int max_attempts) {
  return recovered(run(redis_scripts::kRecoverOwner, {owner, why, std::to_string(max_attempts)}));
}

Recovered RedisQueue::recover_abandoned(const std::string& why, int max_attempts) {
  return recovered(run(redis_scripts::kRecoverExpired, {why, std::to_string(max_attempts)}));
}

void RedisQueue::keep_claims(const std::vector<std::string>& owners) {
  if (owners.empty()) return;
  std::vector<std::string> args{std::to_string(visibility_.count())};
  args.insert(args.end(), owners.begin(), owners.end());
  run(redis_scripts::kKeepClaims, args);
}

std::chrono::milliseconds RedisQueue::upkeep_period() const {
  // Renewed three times per timeout: one late renewal does not expire a claim.
  return std::max(std::chrono::milliseconds(100), visibility_ / 3);
}

std::vector<JobEntry> RedisQueue::list(JobState state) const {
  const char* name = state == JobState::kClaimed ? "claimed" : state == JobState::kFailed ? "failed" : "queued";
  RedisReply r = run(redis_scripts::kList, {name});
  std::vector<JobEntry> out;
  for (std::size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 5 <= r->elements; i += 5) {
    JobEntry e;
    e.name = redis_job_name(reply_text(r->element[i]), reply_text(r->element[i + 1]), reply_text(r->element[i + 2]), reply_text(r->element[i + 3]));
    e.state = state;
    e.owner = reply_text(r->element[i + 4]);
    out.push_back(std::move(e));
  }
  return out;
}

std::size_t RedisQueue::count(JobState state) const {
  Lease c(*this);
  std::size_t n = 0;
  for (const char* set : state == JobState::kClaimed  ? std::vector<const char*>{"claimed"}
                         : state == JobState::kFailed ? std::vector<const char*>{"failed"}
                                                      : std::vector<const char*>{"ready", "delayed"})
    n += static_cast<std::size_t>(c([&](RedisConnection& rc) { return rc.command({"ZCARD", prefix() + set}); })->integer);
  return n;
}

std::optional<JobEntry> RedisQueue::find(const std::string& id) const {
  RedisReply r = run(redis_scripts::kFind, {id});
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 5) return std::nullopt;
  JobEntry e;
  e.state = state_of(reply_text(r->element[0]));
  e.name = redis_job_name(id, reply_text(r->element[1]), reply_text(r->element[2]), reply_text(r->element[3]));
  e.owner = reply_text(r->element[4]);
  return e;
}

Result<Job> RedisQueue::read(const JobEntry& entry) const {
  Lease c(*this);
  RedisReply r = c([&](RedisConnection& rc) { return rc.command({"HMGET", prefix() + "job:" + entry.name.id, "d", "e"}); });
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING)
    return unexpected(std::string("no such job"));
  auto job = decode_job(entry.name, std::string_view(r->element[0]->str, r->element[0]->len));
  if (job) job->last_error = reply_text(r->element[1]);
  return job;
}

std::optional<std::string> RedisQueue::failure(const JobEntry& entry) const {
  Lease c(*this);
  RedisReply r = c([&](RedisConnection& rc) { return rc.command({"HGET", prefix() + "job:" + entry.name.id, "f"}); });
  if (r->type != REDIS_REPLY_STRING) return std::nullopt;
  return reply_text(r.get());
}

bool RedisQueue::remove(const std::string& id) { return run(redis_scripts::kRemove, {id})->integer == 1; }

bool RedisQueue::requeue_failed(const std::string& id) {
  return run(redis_scripts::kRequeueFailed, {id})->integer == 1;
}

}  // namespace suz
