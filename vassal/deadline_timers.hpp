#pragma once
// The master's side of the children's named deadlines (vassal/children.hpp):
// one libev timer per deadline armed, found by its key, dropped when it
// fires or its child is reaped.
#include <ev++.h>
#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>

#include "vassal/children.hpp"

namespace suz {

class DeadlineTimers {
 public:
  using Fired = std::function<void(const DeadlineKey&)>;
  DeadlineTimers(struct ev_loop* loop, Fired fired) : loop_(loop), fired_(std::move(fired)) {}

  void arm(const DeadlineKey& key, double seconds);  // restarts one already armed
  void disarm(const DeadlineKey& key) { timers_.erase(key); }
  void forget(pid_t pid);  // every deadline of a reaped child
  std::optional<double> remaining(const DeadlineKey& key) const;

 private:
  struct Timer {
    Timer(DeadlineTimers* o, const DeadlineKey& k, struct ev_loop* loop) : owner(o), key(k), watcher(loop) {
      watcher.set<Timer, &Timer::fire>(this);
    }
    DeadlineTimers* owner;
    DeadlineKey key;
    ev::timer watcher;
    void fire();
  };
  struct ev_loop* loop_;
  Fired fired_;
  std::map<DeadlineKey, std::unique_ptr<Timer>> timers_;
};

}  // namespace suz
