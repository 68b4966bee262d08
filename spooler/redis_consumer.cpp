#include "spooler/redis_consumer.hpp"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <system_error>
#include <thread>

#include "spooler/redis_queue.hpp"
#include "spooler/redis_scripts.hpp"

namespace suz {

RedisConsumer::RedisConsumer(RedisUrl url, const ConsumerOptions& options)
    : url_(url), options_(options), commands_(url, std::chrono::seconds(5)), wake_(url, std::chrono::seconds(5)) {
  subscribed();
}

RedisConsumer::~RedisConsumer() {
  if (unacknowledged_.empty()) return;
  try {
    settle(redis_scripts::kDone, {prefix(), options_.owner, unacknowledged_});
  } catch (const std::exception& e) {
    spdlog::error("job {}: cannot acknowledge it ({}); it will run again", unacknowledged_, e.what());
  }
}

void RedisConsumer::down(const std::exception& e) {
  backoff_.failed();
  if (!down_) spdlog::error("{}; retrying until it answers", e.what());
  down_ = true;
}

void RedisConsumer::up() {
  if (down_) spdlog::warn("{}: connected again", url_.str());
  down_ = false;
  backoff_.succeeded();
}

bool RedisConsumer::subscribed() {
  if (wake_.connected()) return true;
  if (backoff_.remaining().count() > 0) return false;
  try {
    wake_.command({"SUBSCRIBE", prefix() + "wake"});
    return true;
  } catch (const std::system_error& e) {
    wake_.disconnect();
    down(e);
    return false;
  }
}

void RedisConsumer::on_wake() {
  try {
    wake_.read_pushed();  // what they say does not matter: look again
  } catch (const std::system_error& e) {
    down(e);  // the next claim resubscribes
  }
}

std::optional<ClaimedJob> RedisConsumer::claim(std::int64_t now_ms, std::optional<std::int64_t>* wake_at_ms) {
  wake_at_ms->reset();
  auto retry_later = [&] {
    *wake_at_ms = now_ms + std::max<std::int64_t>(1, backoff_.remaining().count());
    return std::nullopt;
  };
  // Subscribed before claiming: a job pushed between the two still wakes us.
  if (!subscribed()) return retry_later();
  for (;;) {
    RedisReply r;
    try {
      std::vector<std::string> args{prefix(), options_.owner, std::to_string(options_.visibility_timeout.count())};
      if (!unacknowledged_.empty()) args.push_back(unacknowledged_);
      r = commands_.run(redis_scripts::kClaim, args);
      unacknowledged_.clear();
    } catch (const std::system_error& e) {
      down(e);
      return retry_later();
    }
    up();
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) return std::nullopt;
    if (r->elements == 1) {
      *wake_at_ms = now_ms + r->element[0]->integer;
      return std::nullopt;
    }
    std::string id = reply_text(r->element[0]);
    JobName name = redis_job_name(id, reply_text(r->element[2]), reply_text(r->element[3]), reply_text(r->element[4]));
    auto job = decode_job(name, std::string_view(r->element[1]->str, r->element[1]->len));
    if (!job) {
      // Not a job we can read (written by something else): aside to
      // failed with the reason, never run, never dropped.
      std::string why = "not a job: " + job.error();
      if (options_.on_corrupt) options_.on_corrupt(url_.str() + " job " + id, why);
      settle(redis_scripts::kFail, {prefix(), options_.owner, id, why});
      continue;
    }
    job->last_error = reply_text(r->element[5]);
    ClaimedJob claimed;
    claimed.job = std::move(*job);
    return claimed;
  }
}

void RedisConsumer::settle(const RedisScript& script, std::vector<std::string> args) {
  auto give_up = std::chrono::steady_clock::now() + options_.visibility_timeout / 2;
  for (;;) {
    try {
      commands_.run(script, args);
      up();
      return;
    } catch (const std::system_error& e) {
      // An error reply is not going to change; a lost connection may.
      if (e.code().value() == EPROTO) throw;
      down(e);
      if (std::chrono::steady_clock::now() + backoff_.remaining() > give_up) throw;
      std::this_thread::sleep_for(backoff_.remaining());
    }
  }
}

void RedisConsumer::done(const ClaimedJob& job) {
  if (!unacknowledged_.empty()) settle(redis_scripts::kDone, {prefix(), options_.owner, unacknowledged_});
  unacknowledged_ = job.job.name.id;
}

void RedisConsumer::retry(const ClaimedJob& job, std::int64_t at_ms, const std::string& error) {
  std::int64_t delay = std::max<std::int64_t>(0, at_ms - wall_clock_ms());
  settle(redis_scripts::kRetry, {prefix(), options_.owner, job.job.name.id, std::to_string(delay), error});
}

void RedisConsumer::fail(const ClaimedJob& job, const std::string& error) {
  settle(redis_scripts::kFail, {prefix(), options_.owner, job.job.name.id, error});
}

std::size_t RedisConsumer::waiting() const {
  try {
    RedisReply r = commands_.command({"ZCARD", prefix() + "ready"});
    return static_cast<std::size_t>(r->integer);
  } catch (const std::system_error&) {
    return 0;
  }
}

}  // namespace suz
