#include "vassal/spool_upkeep.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <random>
#include <sstream>
#include <stdexcept>

#include "core/redis_url.hpp"

namespace suz {
namespace {

// Why a job found abandoned on the spool went back (its error, or in failed).
constexpr const char* kAbandoned = "its spooler died while running it (or, on Redis, stopped renewing its claim)";

}  // namespace

SpoolUpkeep::SpoolUpkeep(const SpoolerConfig& config) : config_(config) {
  // Short calls: the master's loop waits for them. After a failure to reach
  // Redis, calls fail at once for up to 2 s (RedisQueue), so a partitioned
  // Redis costs the loop at most this every few seconds.
  queue_ = open_queue(config.dir, std::chrono::duration_cast<std::chrono::milliseconds>(config.visibility_timeout),
                      std::chrono::milliseconds(300));
  queue_->on_corrupt = [](const std::string& where, const std::string& why) {
    spdlog::error("{}: {}; moved aside", where, why);
  };
  try {
    // Jobs a previous run of this vassal (or any other process on this
    // spool) held when it died go back to the queue now.
    report(queue_->recover_abandoned(kAbandoned, config.max_attempts));
  } catch (const std::exception& e) {
    if (!looks_like_redis_url(config.dir)) throw;
    // Workers serve without Redis; spoolers and upkeep retry until it answers.
    spdlog::error("spool: {}", e.what());
    down_ = true;
  }
  char host[256] = "host";
  ::gethostname(host, sizeof host - 1);
  std::ostringstream prefix;
  prefix << host << "-" << ::getpid() << "-" << std::hex << (std::random_device{}() & 0xffff);
  owner_prefix_ = prefix.str();
}

std::string SpoolUpkeep::owner_for(int slot, int generation) const {
  return owner_prefix_ + "-s" + std::to_string(slot) + "." + std::to_string(generation);
}

void SpoolUpkeep::tick(std::int64_t now_ms, const std::vector<std::string>& owners) {
  if (now_ms < next_tick_ms_) return;
  next_tick_ms_ = now_ms + period().count();
  try {
    queue_->keep_claims(owners);
    report(queue_->recover_abandoned(kAbandoned, config_.max_attempts));
    if (down_) spdlog::warn("spool: {} answers again", queue_->where());
    down_ = false;
  } catch (const std::exception& e) {
    if (!down_) spdlog::error("spool: {}", e.what());
    down_ = true;
  }
}

void SpoolUpkeep::spooler_died(const std::string& name, const std::string& owner, const std::string& why) {
  // A spooler that exits cleanly leaves nothing claimed; one that died in a
  // job leaves that job in its claim area, and it goes back to the queue
  // with the attempt counted (the job may be what killed it).
  try {
    Recovered r = queue_->recover(owner, why, config_.max_attempts);
    jobs_recovered_ += r.requeued;
    if (r.requeued) spdlog::warn("{}: its job went back to the queue", name);
    if (r.failed) spdlog::error("{}: its job had no attempt left; moved to failed/", name);
  } catch (const std::exception& e) {
    spdlog::error("{}: cannot return its claimed jobs to the queue: {} (the next start will)", name, e.what());
  }
}

void SpoolUpkeep::report(const Recovered& r) {
  jobs_recovered_ += r.requeued;
  if (r.requeued || r.failed)
    spdlog::warn("spool: {} job(s) of spoolers that died returned to the queue, {} moved to failed/", r.requeued, r.failed);
  if (r.restored) spdlog::warn("spool: {} job(s) pushed before a reboot restored to the queue", r.restored);
}

}  // namespace suz
