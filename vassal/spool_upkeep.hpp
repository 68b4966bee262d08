#pragma once
// The master's side of its spool: the claims its spoolers hold are kept
// alive (Redis would expire them), and jobs abandoned by a spooler that died
// (one of its own, or another vassal's on the same spool) go back to the
// queue with the attempt counted. Each call is short: the master's loop
// waits for it. A Redis that does not answer is said once, and again when
// it answers.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "spooler/job_queue.hpp"

namespace suz {

class SpoolUpkeep {
 public:
  // Opens the spool and returns what earlier runs abandoned to the queue.
  // Throws (naming the spool) when it cannot be opened; a Redis that is down
  // at boot is not an error (spoolers and upkeep retry until it answers).
  explicit SpoolUpkeep(const SpoolerConfig& config);

  JobQueue& queue() { return *queue_; }
  // How often tick() wants to run.
  std::chrono::milliseconds period() const { return queue_->upkeep_period(); }
  // The claim area of a slot's next spooler: unique across hosts, masters
  // and generations.
  std::string owner_for(int slot, int generation) const;

  // Periodic: renews the owners' claims, recovers what dead owners left.
  void tick(std::int64_t now_ms, const std::vector<std::string>& owners);
  // A spooler died: what its claim area holds goes back to the queue, with
  // why as the jobs' error ("spooler 1 (pid 123) killed by SIGKILL while
  // running it (harakiri)").
  void spooler_died(const std::string& name, const std::string& owner, const std::string& why);

  std::uint64_t jobs_recovered() const { return jobs_recovered_; }

 private:
  void report(const Recovered& r);

  const SpoolerConfig& config_;
  std::unique_ptr<JobQueue> queue_;
  std::string owner_prefix_;  // host-masterpid-random: claim areas never collide
  std::int64_t next_tick_ms_ = 0;
  bool down_ = false;  // said once, not every tick
  std::uint64_t jobs_recovered_ = 0;
};

}  // namespace suz
