#pragma once
// What the master knows about its workers, as a snapshot the stats endpoint
// renders: JSON for people and scripts, Prometheus text for scrapers.
#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vassal/request_metrics.hpp"

namespace suz {

// Why a worker was replaced. Counted per vassal; a counter never goes down.
enum class RespawnCause : int {
  kLifetime,      // max_worker_lifetime
  kMaxRequests,   // max_requests
  kMaxRss,        // max_rss
  kHarakiri,      // a request ran longer than harakiri
  kNoHeartbeat,   // its loop stopped turning
  kNotReady,      // not serving within ready_timeout after the fork
  kDied,          // exited or was killed, unasked
  kReload,        // HUP
  kCount
};
std::string_view cause_name(RespawnCause cause);
using RespawnCounts = std::array<std::uint64_t, static_cast<int>(RespawnCause::kCount)>;

struct ThreadSnapshot {
  int thread = 0;            // 1-based
  std::string request;       // "GET /path"
  double running_seconds = 0;
};

struct WorkerSnapshot {
  int id = 0;
  pid_t pid = 0;
  int generation = 0;
  std::string_view state;    // "starting", "serving", "retiring"
  std::uint64_t requests = 0;
  double age_seconds = 0;
  std::optional<double> retires_in_seconds;  // when max_worker_lifetime is set
  std::vector<ThreadSnapshot> busy;          // threads inside a request
};

struct SpoolerSnapshot {
  std::string dir;
  int processes_wanted = 0;
  std::uint64_t jobs = 0;        // run to an end (done, retried or failed), retired processes too
  std::uint64_t recovered = 0;   // returned to the queue after their spooler died
  std::size_t queued = 0;        // in queue/ now (due or not)
  std::size_t failed = 0;        // in failed/ now
  RespawnCounts respawns{};
  std::vector<WorkerSnapshot> processes;  // requests = jobs; busy: the job in hand
};

struct VassalSnapshot {
  std::string vassal;
  pid_t master_pid = 0;
  double uptime_seconds = 0;
  int workers_wanted = 0;
  int threads = 0;
  std::uint64_t requests = 0;  // every worker this master had, retired ones too
  std::array<std::uint64_t, static_cast<int>(RespawnCause::kCount)> respawns{};
  std::vector<WorkerSnapshot> workers;
  RequestTotals traffic;  // latencies and statuses, retired workers too
  std::optional<SpoolerSnapshot> spooler;  // when the vassal runs spoolers
  bool stopping = false;
};

std::string stats_json(const VassalSnapshot& s);

// GET /health, a load balancer's readiness probe: 200 "ok" while every
// wanted worker slot has a serving worker; 503 and why (starting, short of
// capacity, stopping) otherwise.
struct Readiness {
  int status = 200;
  std::string reason = "ok";
};
Readiness readiness(const VassalSnapshot& s);
std::string stats_prometheus(const VassalSnapshot& s);

}  // namespace suz
