#include <unistd.h>

#include <algorithm>
#include <tuple>

#include <spdlog/spdlog.h>

#include "core/clock.hpp"
#include "vassal/master.hpp"

// What the stats endpoint shows: the children as the state machine knows
// them, their counters as the scoreboard has them.

namespace suz {

namespace {

// The live children of one role, by slot, and the work they did so far.
std::vector<WorkerSnapshot> children_of(Role role, const Children& children, const Scoreboard& board,
                                        const DeadlineTimers& deadlines, std::uint64_t& work) {
  std::int64_t now_ms = monotonic_ms();
  std::vector<WorkerSnapshot> out;
  for (const auto& [pid, c] : children.children()) {
    if (c.role != role) continue;
    WorkerSnapshot w;
    w.id = c.slot;
    w.pid = pid;
    w.generation = c.generation;
    w.state = children.state_name(c);
    w.requests = board.process(c.record).requests.load(std::memory_order_relaxed);
    w.age_seconds = static_cast<double>(now_ms - c.born_ms) / 1000;
    w.retires_in_seconds = deadlines.remaining(DeadlineKey::of_child(Deadline::kLifetime, pid));
    for (int t = 0; t < board.threads(); ++t) {
      if (auto busy = board.in_flight(c.record, t))
        w.busy.push_back({t + 1, busy->request, static_cast<double>(now_ms - busy->started_ms) / 1000});
    }
    work += w.requests;
    out.push_back(std::move(w));
  }
  std::sort(out.begin(), out.end(), [](const WorkerSnapshot& a, const WorkerSnapshot& b) {
    return std::tie(a.id, a.generation) < std::tie(b.id, b.generation);
  });
  return out;
}

}  // namespace

VassalSnapshot Master::snapshot() const {
  VassalSnapshot snap;
  snap.vassal = config_.vassal.name;
  snap.master_pid = ::getpid();
  snap.uptime_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  snap.threads = config_.server.threads;
  if (!children_) return snap;
  snap.stopping = children_->stopping();
  snap.workers_wanted = children_->slots_wanted(Role::kWorker);
  snap.respawns = children_->respawns(Role::kWorker);
  snap.requests = children_->retired_work(Role::kWorker);
  snap.workers = children_of(Role::kWorker, *children_, *scoreboard_, deadlines_, snap.requests);
  snap.traffic = retired_traffic_;
  for (const auto& [pid, c] : children_->children())
    if (c.role == Role::kWorker) snap.traffic.add(scoreboard_->process(c.record).traffic);
  if (spool_) {
    SpoolerSnapshot sp;
    sp.dir = spool_->queue().where();
    sp.processes_wanted = children_->slots_wanted(Role::kSpooler);
    sp.respawns = children_->respawns(Role::kSpooler);
    sp.jobs = children_->retired_work(Role::kSpooler);
    sp.processes = children_of(Role::kSpooler, *children_, *scoreboard_, deadlines_, sp.jobs);
    sp.recovered = spool_->jobs_recovered();
    try {
      sp.queued = spool_->queue().count(JobState::kQueued);
      sp.failed = spool_->queue().count(JobState::kFailed);
    } catch (const std::exception& e) {
      spdlog::warn("spool: cannot count jobs: {}", e.what());
    }
    snap.spooler = std::move(sp);
  }
  return snap;
}

}  // namespace suz
