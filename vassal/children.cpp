#include "vassal/children.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "core/emperor_channel.hpp"
#include "core/signals.hpp"

namespace suz {

namespace {

Action send(pid_t pid, int sig) { return {.kind = Action::Kind::kSignal, .pid = pid, .signal = sig}; }
Action arm(DeadlineKey key, double seconds) { return {.kind = Action::Kind::kArm, .deadline = key, .seconds = seconds}; }
Action disarm(DeadlineKey key) { return {.kind = Action::Kind::kDisarm, .deadline = key}; }
Action tell(std::string_view message) { return {.kind = Action::Kind::kTell, .message = message}; }

std::string fill(std::string pattern, std::uint64_t n) {
  auto at = pattern.find("{}");
  return at == std::string::npos ? pattern : pattern.replace(at, 2, std::to_string(n));
}

}  // namespace

Children::Children(PoolRules workers, PoolRules spoolers, Timings timings, ChildProbes probes)
    : pools_{Pool{Role::kWorker, std::move(workers)}, Pool{Role::kSpooler, std::move(spoolers)}},
      timings_(timings),
      probes_(std::move(probes)) {}

// ---- events ----

Actions Children::start() {
  Actions out;
  for (Pool& p : pools_)
    for (int i = 0; i < p.rules.wanted; ++i) add_slot(p, out);
  return out;
}

Actions Children::forked(Role role, int slot, Forked f, std::int64_t now_ms) {
  Actions out;
  Pool& p = pool(role);
  Slot& s = slot_at(p, slot);
  ChildRecord c;
  c.pid = f.pid;
  c.role = role;
  c.slot = slot;
  c.generation = ++s.generation;
  c.name = slot_name(p, s);
  c.record = f.record;
  c.spool_owner = std::move(f.spool_owner);
  c.born_ms = now_ms;
  (s.active == 0 ? s.active : s.successor) = f.pid;
  spdlog::info("{} started (pid {}, generation {})", c.name, c.pid, c.generation);
  out.push_back(arm(DeadlineKey::of_child(Deadline::kReady, f.pid), to_seconds(timings_.ready_timeout)));
  children_.emplace(f.pid, std::move(c));
  return out;
}

Actions Children::fork_failed(Role role, int slot) {
  Actions out;
  Pool& p = pool(role);
  Slot& s = slot_at(p, slot);
  s.quick_deaths++;
  respawn_after_death(p, s, out);
  return out;
}

Actions Children::ready(pid_t pid) {
  Actions out;
  ChildRecord* c = child(pid);
  if (!c || c->state != ChildState::kStarting) return out;
  c->state = ChildState::kServing;
  c->ready = true;
  out.push_back(disarm(DeadlineKey::of_child(Deadline::kReady, pid)));
  Pool& p = pool(c->role);
  if (p.rules.max_lifetime.count() > 0)
    out.push_back(arm(DeadlineKey::of_child(Deadline::kLifetime, pid), to_seconds(p.rules.max_lifetime) * probes_.jitter()));
  Slot* s = slot_of(*c);
  if (!s || s->successor != pid) {
    announce_if_serving(out);
    return out;
  }
  // The successor serves: only now is its predecessor told to stop.
  pid_t old = s->active;
  s->active = pid;
  s->successor = 0;
  if (old) retire(old, out);
  if (!reload_queue_.empty() && reload_queue_.front().second == s) {
    reload_queue_.pop_front();
    reload_next(out);
  }
  return out;
}

Actions Children::limit_reached(pid_t pid, std::uint64_t done) {
  const ChildRecord* c = find(pid);
  if (!c) return {};
  return replacement_wanted(pid, RespawnCause::kMaxRequests, fill(pool(c->role).rules.work_done, done));
}

Actions Children::replacement_wanted(pid_t pid, RespawnCause cause, const std::string& why) {
  Actions out;
  ChildRecord* c = child(pid);
  if (!c || c->state != ChildState::kServing) return out;
  if (Slot* s = slot_of(*c); s && s->active == pid) replace(pool(c->role), *s, cause, why, out);
  return out;
}

Actions Children::harakiri(pid_t pid, const std::string& what, bool hooked) {
  Actions out;
  ChildRecord* c = child(pid);
  if (!c || !c->ready || c->killed()) return out;
  // Every Python thread's stack first (faulthandler, installed in each
  // child), then the app's @suzerain.harakiri hooks if it has any, then the
  // kill (core/signals.hpp).
  spdlog::error("{} (pid {}): harakiri: {}; dumping stacks{}, killing", c->name, pid, what,
                hooked ? ", running @suzerain.harakiri" : "");
  c->state = ChildState::kDumping;
  c->kill_reason = "harakiri";
  c->kill_cause = RespawnCause::kHarakiri;
  out.push_back(send(pid, kStackDumpSignal));
  if (hooked) out.push_back(send(pid, harakiri_signal()));
  out.push_back(arm(DeadlineKey::of_child(Deadline::kDump, pid), kDumpGrace + (hooked ? kHarakiriHookBound : 0)));
  return out;
}

Actions Children::no_heartbeat(pid_t pid, Duration silence) {
  Actions out;
  ChildRecord* c = child(pid);
  if (!c || !c->ready || c->killed()) return out;
  kill(*c, RespawnCause::kNoHeartbeat, "no heartbeat for " + format_duration(silence) + " (" + probes_.where_stuck(pid) + ")", out);
  return out;
}

Actions Children::deadline(const DeadlineKey& key) {
  Actions out;
  if (key.which == Deadline::kStop) {
    spdlog::warn("children still running after the stop deadline: killing them");
    for (const auto& [pid, c] : children_) out.push_back(send(pid, SIGKILL));
    return out;
  }
  if (key.which == Deadline::kRespawn) {
    Pool& p = pool(key.role);
    Slot& s = slot_at(p, key.slot);
    if (!stopping_ && !s.removed) spawn(p, s, out);
    return out;
  }
  ChildRecord* c = child(key.pid);
  if (!c) return out;
  switch (key.which) {
    case Deadline::kReady:
      if (c->state == ChildState::kStarting)
        kill(*c, RespawnCause::kNotReady, "not serving " + format_duration(timings_.ready_timeout) + " after the fork (" +
                 probes_.where_stuck(c->pid) + ")", out);
      break;
    case Deadline::kLifetime:
      return replacement_wanted(c->pid, RespawnCause::kLifetime,
                                "lifetime of " + format_duration(pool(c->role).rules.max_lifetime) + " (less jitter) reached");
    case Deadline::kGraceful:
      if (c->state == ChildState::kRetiring || c->state == ChildState::kDumping)
        kill(*c, RespawnCause::kDied, "still running " + format_duration(timings_.graceful_timeout) +
                 " after being told to stop (" + probes_.where_stuck(c->pid) + ")", out);
      break;
    case Deadline::kDump:
      c->state = ChildState::kKilling;
      out.push_back(send(c->pid, SIGKILL));
      break;
    default:
      break;
  }
  return out;
}

Actions Children::exited(pid_t pid, int status, std::uint64_t done, std::int64_t now_ms) {
  Actions out;
  auto it = children_.find(pid);
  if (it == children_.end()) return out;  // not ours (a process the app forked and orphaned)
  ChildRecord c = std::move(it->second);
  children_.erase(it);
  Pool& p = pool(c.role);
  p.retired_work += done;
  out.push_back({.kind = Action::Kind::kForget, .pid = pid});
  std::string how = describe_wait_status(status);

  if (stopping_) {
    spdlog::info("{} (pid {}) {}", c.name, pid, how);
    finish_if_gone(out);
    return out;
  }
  if (c.state == ChildState::kRetiring) {
    spdlog::info("{} (pid {}) retired: {}", c.name, pid, how);
    vacate(c);
    return out;
  }
  if (WIFEXITED(status) && is_permanent_failure(WEXITSTATUS(status))) {
    spdlog::critical("{} (pid {}) {}: restarting cannot help, stopping the vassal", c.name, pid, how);
    exit_code_ = static_cast<ExitCode>(WEXITSTATUS(status));
    stop(false, out);
    return out;
  }
  bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (!c.kill_reason.empty()) spdlog::error("{} (pid {}) {} ({})", c.name, pid, how, c.kill_reason);
  else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) spdlog::error("{} (pid {}) {} (out of memory?)", c.name, pid, how);
  else if (clean) spdlog::info("{} (pid {}) {}", c.name, pid, how);
  else spdlog::warn("{} (pid {}) {}", c.name, pid, how);
  Slot* s = slot_of(c);
  if (!s) return out;
  if (s->removed) {
    vacate(c);
    return out;
  }

  // A crash loop is a child dying before it serves anything. One that has
  // served (killed by an operator, the OOM killer, a crash on one bad
  // request) is replaced at once: its replacement is likely to serve too.
  bool quick = !c.ready || (done == 0 && now_ms - c.born_ms < kQuickDeathMs);
  s->quick_deaths = quick ? s->quick_deaths + 1 : 0;
  if (s->successor == pid) {
    s->successor = 0;  // the active child keeps serving; the replacement is tried again
  } else if (s->active == pid) {
    s->active = s->successor;  // a starting successor takes over when ready
    s->successor = 0;
    if (s->active) return out;
  } else {
    return out;
  }
  p.respawns[static_cast<int>(c.kill_reason.empty() ? RespawnCause::kDied : c.kill_cause)]++;
  respawn_after_death(p, *s, out);
  return out;
}

Actions Children::add(Role role) {
  Actions out;
  if (!stopping_) add_slot(pool(role), out);
  return out;
}

Actions Children::remove(Role role) {
  Actions out;
  if (stopping_) return out;
  Pool& p = pool(role);
  for (auto it = p.slots.rbegin(); it != p.slots.rend(); ++it) {
    Slot& s = *it;
    if (s.removed) continue;
    s.removed = true;
    out.push_back(disarm(DeadlineKey::respawn_of(role, s.id)));
    spdlog::info("{}: removed (TTOU)", slot_name(p, s));
    if (s.successor) retire(s.successor, out);
    if (s.active) retire(s.active, out);
    break;
  }
  return out;
}

Actions Children::reload() {
  Actions out;
  if (stopping_) return out;
  spdlog::info("reload requested: replacing every worker, one at a time");
  out.push_back(tell(emperor_channel::kReloading));
  reload_queue_.clear();
  for (Pool& p : pools_)
    for (Slot& s : p.slots)
      if (!s.removed) reload_queue_.emplace_back(&p, &s);
  reload_next(out);
  return out;
}

Actions Children::stop(bool graceful) {
  Actions out;
  stop(graceful, out);
  return out;
}

// ---- what the master reads ----

const ChildRecord* Children::find(pid_t pid) const {
  auto it = children_.find(pid);
  return it == children_.end() ? nullptr : &it->second;
}

int Children::slots_wanted(Role role) const {
  const auto& slots = pool(role).slots;
  return static_cast<int>(std::count_if(slots.begin(), slots.end(), [](const Slot& s) { return !s.removed; }));
}

std::string_view Children::state_name(const ChildRecord& c) const {
  switch (c.state) {
    case ChildState::kStarting: return "starting";
    case ChildState::kServing: return pool(c.role).rules.running_word;
    case ChildState::kRetiring: return "retiring";
    case ChildState::kDumping:
    case ChildState::kKilling: return "killing";
  }
  return "?";
}

// ---- the rules' steps ----

ChildRecord* Children::child(pid_t pid) { return const_cast<ChildRecord*>(std::as_const(*this).find(pid)); }

Children::Slot& Children::slot_at(Pool& p, int id) { return p.slots.at(static_cast<std::size_t>(id - 1)); }

Children::Slot* Children::slot_of(const ChildRecord& c) {
  auto& slots = pool(c.role).slots;
  return c.slot >= 1 && c.slot <= static_cast<int>(slots.size()) ? &slots[static_cast<std::size_t>(c.slot - 1)] : nullptr;
}

void Children::vacate(const ChildRecord& c) {
  // A removed slot, emptied, can be reused by TTIN.
  if (Slot* s = slot_of(c); s && s->removed) {
    if (s->active == c.pid) s->active = 0;
    if (s->successor == c.pid) s->successor = 0;
  }
}

void Children::add_slot(Pool& p, Actions& out) {
  // A slot TTOU removed is reused first, so ids stay 1..wanted.
  for (Slot& s : p.slots) {
    if (s.removed && s.active == 0 && s.successor == 0) {
      s.removed = false;
      spawn(p, s, out);
      return;
    }
  }
  p.slots.push_back(Slot{.id = static_cast<int>(p.slots.size()) + 1});
  spawn(p, p.slots.back(), out);
}

void Children::spawn(Pool& p, Slot& s, Actions& out) {
  out.push_back({.kind = Action::Kind::kSpawn, .role = p.role, .slot = s.id, .generation = s.generation + 1});
}

void Children::replace(Pool& p, Slot& s, RespawnCause cause, const std::string& why, Actions& out) {
  if (stopping_ || s.removed || s.successor) return;  // one replacement at a time per slot
  spdlog::info("{} (pid {}): {}; starting its replacement", slot_name(p, s), s.active, why);
  p.respawns[static_cast<int>(cause)]++;
  spawn(p, s, out);
}

void Children::retire(pid_t pid, Actions& out) {
  ChildRecord* c = child(pid);
  if (!c || c->state == ChildState::kRetiring || c->killed()) return;
  c->state = ChildState::kRetiring;
  out.push_back(disarm(DeadlineKey::of_child(Deadline::kLifetime, pid)));
  out.push_back(disarm(DeadlineKey::of_child(Deadline::kReady, pid)));
  out.push_back(send(pid, SIGTERM));
  out.push_back(arm(DeadlineKey::of_child(Deadline::kGraceful, pid), emperor_channel::child_kill_after(timings_.graceful_timeout, true)));
}

void Children::kill(ChildRecord& c, RespawnCause cause, const std::string& why, Actions& out) {
  spdlog::error("{} (pid {}): {}; killing it", c.name, c.pid, why);
  c.state = ChildState::kKilling;
  c.kill_reason = why;
  c.kill_cause = cause;
  out.push_back(send(c.pid, SIGKILL));
}

void Children::respawn_after_death(Pool& p, Slot& s, Actions& out) {
  if (s.quick_deaths == 0) {
    spawn(p, s, out);
    return;
  }
  // A crash loop: back off exponentially instead of forking as fast as we can.
  double delay = std::min(kMaxBackoff, 0.1 * std::pow(2.0, s.quick_deaths - 1));
  spdlog::warn("{} died {} time(s) in a row right after starting; respawning in {:.1f}s", slot_name(p, s), s.quick_deaths, delay);
  out.push_back(arm(DeadlineKey::respawn_of(p.role, s.id), delay));
}

void Children::reload_next(Actions& out) {
  while (!reload_queue_.empty()) {
    auto [p, s] = reload_queue_.front();
    if (!s->removed && s->active && !s->successor) {
      replace(*p, *s, RespawnCause::kReload, "reload", out);
      return;
    }
    reload_queue_.pop_front();
  }
  spdlog::info("reload done");
  out.push_back(tell(emperor_channel::kReady));
}

void Children::announce_if_serving(Actions& out) {
  if (announced_serving_ || stopping_) return;
  for (Pool& p : pools_) {
    for (const Slot& s : p.slots) {
      if (s.removed) continue;
      const ChildRecord* c = find(s.active);
      if (!c || !c->ready) return;
    }
  }
  announced_serving_ = true;
  spdlog::info(pool(Role::kSpooler).slots.empty() ? "every worker serving" : "every worker and spooler running");
  out.push_back(tell(emperor_channel::kReady));
}

void Children::stop(bool graceful, Actions& out) {
  bool already = stopping_;
  stopping_ = true;
  reload_queue_.clear();
  for (Pool& p : pools_)
    for (const Slot& s : p.slots) out.push_back(disarm(DeadlineKey::respawn_of(p.role, s.id)));
  for (const auto& [pid, c] : children_)
    for (Deadline d : {Deadline::kReady, Deadline::kLifetime, Deadline::kGraceful}) out.push_back(disarm(DeadlineKey::of_child(d, pid)));
  spdlog::info("{} stop requested", graceful ? "graceful" : "quick");
  if (!already) out.push_back(tell(emperor_channel::kStopping));
  // A child not ready yet has no request to finish (and may be stuck before
  // it reads its signals): it is killed, not asked.
  for (const auto& [pid, c] : children_) out.push_back(send(pid, c.ready ? (graceful ? SIGTERM : SIGINT) : SIGKILL));
  if (!already || !graceful)
    out.push_back(arm(DeadlineKey::stop(), emperor_channel::child_kill_after(timings_.graceful_timeout, graceful)));
  finish_if_gone(out);
}

void Children::finish_if_gone(Actions& out) {
  if (stopping_ && children_.empty()) out.push_back({.kind = Action::Kind::kFinished});
}

}  // namespace suz
