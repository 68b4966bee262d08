#pragma once
// The fork layer: the one function in Suzerain that forks, and the registry
// of hooks that keep a forked child safe when the parent had other threads
// (Python threads, a logging thread) holding locks at the moment of fork.
// The one exception, checked by tests/lint/single_fork.sh, is the fork+exec
// of a master (core/master_launch.cpp, by the emperor and by a master
// reloading on HUP): its child makes only async-signal-safe calls before
// exec, so no Python runs there and no lock matters.
//
// Order (the pthread_atfork / os.register_at_fork convention):
//   before hooks         in reverse registration order, in the parent
//   fork(2)
//   after_parent hooks   in registration order, in the parent
//   after_child hooks    in registration order, in the child
// so a subsystem registered later (Python, which logs) is quiesced before the
// one it depends on (logging) and resumed after it.
#include <sys/types.h>

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/exit_code.hpp"

namespace suz {

struct ForkHook {
  std::string owner;                  // who registered it, for error messages
  std::function<void()> before;       // may throw: the fork is then abandoned
  std::function<void()> after_parent; // should not throw (reported, not rethrown)
  std::function<void()> after_child;  // may throw: the child exits kForkHookFailed
};

// Registration happens on the thread that forks, never concurrently with
// fork_process (the master has a single C++ thread; tests register first).
class ForkHooks {
 public:
  void add(ForkHook hook) { hooks_.push_back(std::move(hook)); }
  const std::vector<ForkHook>& hooks() const { return hooks_; }

 private:
  std::vector<ForkHook> hooks_;
};

// A before hook threw, or fork(2) itself failed. No child exists; every hook
// whose before ran has had its after_parent run, so no lock is left held.
class ForkError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Forks a child that runs child_main and leaves through _exit with its code.
// Returns the child's pid in the parent; never returns in the child.
//
// In the child: signal handlers the parent installed are reset to SIG_DFL
// (they belong to the parent's event loop), after_child hooks run, the
// parent's signal mask is restored, then child_main runs inside a catch-all:
// an exception becomes a message on stderr and ExitCode::kChildUncaught.
// Signals stay blocked from before the first before hook until the child's
// hooks have run, so no handler runs in a half-initialised child.
pid_t fork_process(const ForkHooks& hooks, const std::function<ExitCode()>& child_main);

}  // namespace suz
