#include "vassal/deadline_timers.hpp"

#include <iterator>

namespace suz {

void DeadlineTimers::arm(const DeadlineKey& key, double seconds) {
  auto& t = timers_[key];
  if (!t) t = std::make_unique<Timer>(this, key, loop_);
  t->watcher.stop();
  t->watcher.start(seconds, 0.);
}

void DeadlineTimers::forget(pid_t pid) {
  for (auto it = timers_.begin(); it != timers_.end();)
    it = it->first.pid == pid && pid != 0 ? timers_.erase(it) : std::next(it);
}

std::optional<double> DeadlineTimers::remaining(const DeadlineKey& key) const {
  auto it = timers_.find(key);
  if (it == timers_.end()) return std::nullopt;
  return ev_timer_remaining(loop_, const_cast<ev::timer*>(&it->second->watcher));
}

void DeadlineTimers::Timer::fire() {
  // One-shot: out of the map before the callback, which may arm it again.
  auto it = owner->timers_.find(key);
  std::unique_ptr<Timer> self = std::move(it->second);
  owner->timers_.erase(it);
  owner->fired_(self->key);
}

}  // namespace suz
